package router

import (
	"math"
)

// vec is one prompt's features: dense hand-made features (standardised by the model),
// hashed word buckets (each present bucket has value 1/sqrt(len(tokens))), and the
// sentence embedding when the model uses one.
type vec struct {
	dense  []float32
	tokens []int32
	emb    []float32
}

// Linear is a logistic-regression scorer over a vec. Its output is the log-odds
// that the strong model is needed.
type Linear struct {
	Mean    []float32 `json:"mean"`
	Std     []float32 `json:"std"`
	Dense   []float32 `json:"dense"`
	HashDim int       `json:"hash_dim"`
	Hash    []float32 `json:"hash,omitempty"`
	EmbDim  int       `json:"emb_dim"`
	Emb     []float32 `json:"emb,omitempty"`
	Bias    float32   `json:"bias"`
}

func tokenValue(n int) float32 {
	if n == 0 {
		return 0
	}
	return float32(1 / math.Sqrt(float64(n)))
}

// blockActive reports whether dense feature j belongs to v's block: the layout is
// the multiple-choice block, the free-form block, then the multiple-choice indicator
// (see Weights). Features of the other block are absent, not zero, so they are
// neither centred nor weighted.
func blockActive(dense []float32, j int) bool {
	n := (len(dense) - 1) / 2
	switch {
	case j == 2*n:
		return true
	case j < n:
		return dense[2*n] == 1
	default:
		return dense[2*n] == 0
	}
}

// standardized returns feature j of v centred and scaled, 0 when it is absent.
func (m *Linear) standardized(dense []float32, j int) float32 {
	if !blockActive(dense, j) {
		return 0
	}
	return (dense[j] - m.Mean[j]) / m.Std[j]
}

// logit returns the model's log-odds for v.
func (m *Linear) logit(v vec) float64 {
	s := float64(m.Bias)
	for j := range v.dense {
		s += float64(m.Dense[j] * m.standardized(v.dense, j))
	}
	if m.HashDim > 0 && len(v.tokens) > 0 {
		tv := float64(tokenValue(len(v.tokens)))
		var h float64
		for _, t := range v.tokens {
			h += float64(m.Hash[t])
		}
		s += h * tv
	}
	if m.EmbDim > 0 && len(v.emb) == m.EmbDim {
		for i, x := range v.emb {
			s += float64(m.Emb[i] * x)
		}
	}
	return s
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// fitConfig controls logistic-regression training.
type fitConfig struct {
	HashDim   int
	EmbDim    int
	L2Dense   float64 // L2 penalty on dense weights (per example, on standardised features)
	L2Hash    float64 // L2 penalty on hashed-word weights
	L2Emb     float64 // L2 penalty on embedding weights
	Iters     int
	LearnRate float64
}

// fitLinear trains a logistic regression on xs with targets ys in [0,1] and example
// weights ws by full-batch Adam: deterministic (no sampling), and at a few thousand
// examples a few hundred full passes take well under a second per feature set.
func fitLinear(xs []vec, ys, ws []float64, cfg fitConfig) *Linear {
	d := len(xs[0].dense)
	m := &Linear{
		Mean: make([]float32, d), Std: make([]float32, d), Dense: make([]float32, d),
		HashDim: cfg.HashDim, Hash: make([]float32, cfg.HashDim),
		EmbDim: cfg.EmbDim, Emb: make([]float32, cfg.EmbDim),
	}
	var wsum float64
	for i := range xs {
		wsum += ws[i]
	}
	// Standardise dense features with the weighted mean and deviation over the
	// prompts whose block they belong to.
	for j := 0; j < d; j++ {
		var mu, v, wa float64
		for i, x := range xs {
			if blockActive(x.dense, j) {
				mu += ws[i] * float64(x.dense[j])
				wa += ws[i]
			}
		}
		if wa == 0 {
			wa = 1
		}
		mu /= wa
		for i, x := range xs {
			if blockActive(x.dense, j) {
				dx := float64(x.dense[j]) - mu
				v += ws[i] * dx * dx
			}
		}
		sd := math.Sqrt(v / wa)
		if sd < 1e-6 {
			sd = 1 // constant on the training data: its weight stays 0
		}
		m.Mean[j], m.Std[j] = float32(mu), float32(sd)
	}
	var ymean float64
	for i := range ys {
		ymean += ws[i] * ys[i]
	}
	ymean /= wsum
	ymean = math.Min(math.Max(ymean, 1e-3), 1-1e-3)
	m.Bias = float32(math.Log(ymean / (1 - ymean)))

	// Parameters in one flat slice: dense, hash, emb, bias.
	n := d + cfg.HashDim + cfg.EmbDim + 1
	theta := make([]float64, n)
	theta[n-1] = float64(m.Bias)
	grad := make([]float64, n)
	m1 := make([]float64, n)
	m2 := make([]float64, n)
	std := make([]float64, len(xs)*d)
	for i, x := range xs {
		for j := 0; j < d; j++ {
			std[i*d+j] = float64(m.standardized(x.dense, j))
		}
	}
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for it := 1; it <= cfg.Iters; it++ {
		clear(grad)
		for i, x := range xs {
			s := theta[n-1]
			row := std[i*d : (i+1)*d]
			for j, v := range row {
				s += theta[j] * v
			}
			toks := x.tokens
			if cfg.HashDim == 0 {
				toks = nil
			}
			tv := float64(tokenValue(len(toks)))
			for _, t := range toks {
				s += theta[d+int(t)] * tv
			}
			if cfg.EmbDim > 0 {
				off := d + cfg.HashDim
				for j, v := range x.emb {
					s += theta[off+j] * float64(v)
				}
			}
			g := ws[i] * (sigmoid(s) - ys[i]) / wsum
			for j, v := range row {
				grad[j] += g * v
			}
			for _, t := range toks {
				grad[d+int(t)] += g * tv
			}
			if cfg.EmbDim > 0 {
				off := d + cfg.HashDim
				for j, v := range x.emb {
					grad[off+j] += g * float64(v)
				}
			}
			grad[n-1] += g
		}
		for j := 0; j < d; j++ {
			grad[j] += cfg.L2Dense * theta[j]
		}
		for j := d; j < d+cfg.HashDim; j++ {
			grad[j] += cfg.L2Hash * theta[j]
		}
		for j := d + cfg.HashDim; j < n-1; j++ {
			grad[j] += cfg.L2Emb * theta[j]
		}
		c1 := 1 - math.Pow(b1, float64(it))
		c2 := 1 - math.Pow(b2, float64(it))
		for j := range theta {
			m1[j] = b1*m1[j] + (1-b1)*grad[j]
			m2[j] = b2*m2[j] + (1-b2)*grad[j]*grad[j]
			theta[j] -= cfg.LearnRate * (m1[j] / c1) / (math.Sqrt(m2[j]/c2) + eps)
		}
	}
	for j := 0; j < d; j++ {
		m.Dense[j] = float32(theta[j])
	}
	for j := 0; j < cfg.HashDim; j++ {
		m.Hash[j] = float32(theta[d+j])
	}
	for j := 0; j < cfg.EmbDim; j++ {
		m.Emb[j] = float32(theta[d+cfg.HashDim+j])
	}
	m.Bias = float32(theta[n-1])
	if cfg.HashDim == 0 {
		m.Hash = nil
	}
	if cfg.EmbDim == 0 {
		m.Emb = nil
	}
	return m
}
