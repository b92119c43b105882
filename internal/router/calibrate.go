package router

import (
	"math"
	"sort"
)

// Isotonic maps a raw score to a probability through a non-decreasing step function
// fitted by pool-adjacent-violators, interpolated linearly between block centres.
// Unlike Platt scaling it assumes nothing about the shape of the score's errors,
// which matters here: the raw scores of a heavily regularised model are squeezed
// towards the base rate.
type Isotonic struct {
	X []float64 `json:"x"` // block centres (mean raw score), increasing
	Y []float64 `json:"y"` // calibrated probability of each block, non-decreasing
}

// fitIsotonic fits P(y=1 | score) on pairs (score, y in [0,1]) with example weights.
// minBlock merges blocks lighter than that total weight into a neighbour, so that no
// step rests on a handful of prompts.
func fitIsotonic(scores, ys, ws []float64, minBlock float64) Isotonic {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	type block struct{ sx, sy, w float64 }
	mean := func(b block) float64 { return b.sy / b.w }
	merge := func(a, b block) block { return block{a.sx + b.sx, a.sy + b.sy, a.w + b.w} }
	var bs []block
	for _, i := range idx {
		bs = append(bs, block{scores[i] * ws[i], ys[i] * ws[i], ws[i]})
		for len(bs) > 1 && mean(bs[len(bs)-2]) >= mean(bs[len(bs)-1]) {
			bs[len(bs)-2] = merge(bs[len(bs)-2], bs[len(bs)-1])
			bs = bs[:len(bs)-1]
		}
	}
	// Merge light blocks into a neighbour; the merged mean lies between the two, so
	// the sequence stays non-decreasing.
	for i := 0; i < len(bs) && len(bs) > 1; {
		if bs[i].w >= minBlock {
			i++
			continue
		}
		j := i + 1
		if j == len(bs) {
			j = i - 1
		}
		lo, hi := min(i, j), max(i, j)
		bs[lo] = merge(bs[lo], bs[hi])
		bs = append(bs[:hi], bs[hi+1:]...)
		i = lo
	}
	var c Isotonic
	for _, b := range bs {
		c.X = append(c.X, b.sx/b.w)
		c.Y = append(c.Y, b.sy/b.w)
	}
	return c
}

// Apply returns the calibrated probability of score.
func (c Isotonic) Apply(score float64) float64 {
	n := len(c.X)
	switch {
	case n == 0:
		return math.NaN()
	case score <= c.X[0]:
		return c.Y[0]
	case score >= c.X[n-1]:
		return c.Y[n-1]
	}
	i := sort.SearchFloat64s(c.X, score) // c.X[i-1] < score <= c.X[i]
	t := (score - c.X[i-1]) / (c.X[i] - c.X[i-1])
	return c.Y[i-1] + t*(c.Y[i]-c.Y[i-1])
}

// Bin is one row of a reliability table: prompts whose predicted probability fell
// in [Lo, Hi), their mean prediction and how often the event actually happened.
type Bin struct {
	Lo, Hi    float64
	N         int
	Predicted float64
	Observed  float64
}

// Reliability says whether predicted probabilities mean what they say: equal-count
// bins of the predictions (so that no row rests on a handful of prompts), the
// expected calibration error (count-weighted mean |predicted − observed| over the
// bins) and the Brier score. ys are 0 or 1.
type Reliability struct {
	Bins  []Bin
	ECE   float64
	Brier float64
}

// MeasureReliability bins ps (predictions) against ys (outcomes) in at most bins
// equal-count bins; ties never straddle two bins.
func MeasureReliability(ps, ys []float64, bins int) Reliability {
	n := len(ps)
	var r Reliability
	if n == 0 || bins <= 0 {
		return r
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	for i := range ps {
		d := ps[i] - ys[i]
		r.Brier += d * d / float64(n)
	}
	for start := 0; start < n; {
		end := min(n, start+(n+bins-1)/bins)
		for end < n && ps[idx[end]] == ps[idx[end-1]] {
			end++
		}
		b := Bin{Lo: ps[idx[start]], Hi: ps[idx[end-1]], N: end - start}
		for _, i := range idx[start:end] {
			b.Predicted += ps[i] / float64(b.N)
			b.Observed += ys[i] / float64(b.N)
		}
		r.ECE += math.Abs(b.Predicted-b.Observed) * float64(b.N) / float64(n)
		r.Bins = append(r.Bins, b)
		start = end
	}
	return r
}
