package router

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

//go:embed weights.json
var defaultWeights []byte

// Weights is the trained predictor as stored in weights.json (see docs/router.md).
type Weights struct {
	Version int    `json:"version"`
	Trained string `json:"trained"` // the command, data and split that produced it
	Weak    string `json:"weak"`    // the pair whose outcomes it was trained on
	Strong  string `json:"strong"`
	// Multiple-choice prompts (answer options "A." … on their own lines) and free-form
	// ones have separate dense weights, because MMLU's difficulty cues do not carry
	// over to GSM8K's: MCFeatures and Features list the dense features each block uses
	// (the others are zeroed). Vector layout: MC block, free-form block, MC indicator.
	Features   []string `json:"features"`
	MCFeatures []string `json:"mc_features"`
	Model      Linear   `json:"model"`
	// Calibration maps the model's log-odds to P(strong model strictly better),
	// fitted on out-of-sample predictions (out of fold on the training half, the
	// final model's on the held-out half).
	Calibration Isotonic `json:"calibration"`
	// CalibrationCheck is the calibration fitted on one half and checked on the
	// other (training → held-out, then held-out → training), recorded at training.
	CalibrationCheck []Reliability `json:"calibration_check,omitempty"`
	Gap              GapModel      `json:"gap"`
	// Heldout are the metrics on the half of the development data the weights did
	// not see, recorded at training time.
	Heldout []Metrics `json:"heldout,omitempty"`
	CV      []Metrics `json:"cv,omitempty"`
}

// GapModel generalises the prediction from the trained pair to any two models through
// their quality difference in Arena-Elo points:
//
//	logit P(m worse than r | x) = Scale·u(x) + Slope·(gapRef − gap)/100 + Offset
//
// where u(x) is the calibrated log-odds that the trained strong model beats the
// trained weak one on x, gap = Elo(m) − Elo(r) (negative when m is weaker), gapRef
// the trained pair's gap. At gap = gapRef it reduces to the trained prediction.
type GapModel struct {
	RefGap float64 `json:"ref_gap"` // Elo(weak) − Elo(strong) of the trained pair
	Slope  float64 `json:"slope"`   // log-odds per 100 Elo points
	Source string  `json:"source"`  // what Slope was fitted on
}

// Predictor scores prompts with trained weights. It is immutable and safe for
// concurrent use.
type Predictor struct {
	w      Weights
	free   []bool // dense features in use for free-form prompts
	mcMask []bool // and for multiple-choice prompts
}

// DefaultPredictor returns the predictor with the weights embedded in the binary.
func DefaultPredictor() (*Predictor, error) {
	p, err := ParseWeights(defaultWeights)
	if err != nil {
		return nil, fmt.Errorf("load embedded router weights: %w", err)
	}
	return p, nil
}

// LoadPredictor reads weights from a file written by `arbiter train router`.
func LoadPredictor(path string) (*Predictor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load router weights: %w", err)
	}
	p, err := ParseWeights(b)
	if err != nil {
		return nil, fmt.Errorf("load router weights %s: %w", path, err)
	}
	return p, nil
}

// ParseWeights decodes and checks weights.json.
func ParseWeights(b []byte) (*Predictor, error) {
	var w Weights
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	return newPredictor(w)
}

func newPredictor(w Weights) (*Predictor, error) {
	d := 2*NumDense + 1
	m := &w.Model
	if len(m.Mean) != d || len(m.Std) != d || len(m.Dense) != d {
		return nil, fmt.Errorf("router weights: %d dense weights, want %d", len(m.Dense), d)
	}
	if m.HashDim < 0 || len(m.Hash) != m.HashDim {
		return nil, fmt.Errorf("router weights: %d hashed weights, want %d", len(m.Hash), m.HashDim)
	}
	if len(m.Emb) != m.EmbDim {
		return nil, fmt.Errorf("router weights: %d embedding weights, want %d", len(m.Emb), m.EmbDim)
	}
	for _, s := range m.Std {
		if !(s > 0) {
			return nil, fmt.Errorf("router weights: non-positive feature scale")
		}
	}
	if len(w.Calibration.X) == 0 || len(w.Calibration.X) != len(w.Calibration.Y) {
		return nil, fmt.Errorf("router weights: missing calibration")
	}
	free, err := featureMask(w.Features)
	if err != nil {
		return nil, err
	}
	mc, err := featureMask(w.MCFeatures)
	if err != nil {
		return nil, err
	}
	return &Predictor{w: w, free: free, mcMask: mc}, nil
}

func featureMask(names []string) ([]bool, error) {
	mask := make([]bool, NumDense)
	for _, n := range names {
		found := false
		for j, f := range featureNames {
			if f == n {
				mask[j], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("router weights: unknown feature %q", n)
		}
	}
	return mask, nil
}

// Weights returns a copy of the predictor's weights header (for reports).
func (p *Predictor) Weights() Weights { return p.w }

// UsesEmbedding reports whether the model wants a sentence embedding; Score works
// without one (the embedding term is then left out).
func (p *Predictor) UsesEmbedding() bool { return p.w.Model.EmbDim > 0 }

// featurize builds the model input for a prompt into buf (len 2·NumDense+1): the
// features of the prompt's block (multiple-choice or free-form), only those the block
// uses being computed. emb may be nil.
func featurize(pr Prompt, free, mc []bool, hashDim int, emb []float32, buf []float32) vec {
	var d [64]float32
	dense := d[:NumDense]
	out := buf[:2*NumDense+1]
	clear(out)
	block, mask := out[NumDense:2*NumDense], free
	if isMultipleChoiceText(pr.Text) {
		block, mask = out[:NumDense], mc
		out[2*NumDense] = 1
	}
	denseFeatures(pr, dense, mask)
	for j, x := range dense {
		if mask[j] {
			block[j] = x
		}
	}
	return vec{dense: out, tokens: hashedTokens(pr.Text, hashDim, nil), emb: emb}
}

// Score returns the router's raw score for a prompt: the log-odds that the strong
// model answers it strictly better than the weak one. Higher means more need for the
// strong model. emb is the prompt's sentence embedding, or nil.
func (p *Predictor) Score(pr Prompt, emb []float32) float64 {
	var buf [2*64 + 1]float32
	v := featurize(pr, p.free, p.mcMask, p.w.Model.HashDim, emb, buf[:])
	return p.w.Model.logit(v)
}

// StrongNeed returns the calibrated probability that the trained strong model answers
// better than the trained weak one, given a raw score from Score.
func (p *Predictor) StrongNeed(score float64) float64 { return p.w.Calibration.Apply(score) }

// AsGood returns the calibrated probability that a model answers the prompt at least
// as well as the reference model, given the prompt's raw score and the two models'
// quality difference gapElo = Elo(model) − Elo(reference). A model at least as good as
// the reference gets 1: the router never needs to go above the reference.
func (p *Predictor) AsGood(score, gapElo float64) float64 {
	if gapElo >= 0 {
		return 1
	}
	q := p.StrongNeed(score)
	q = math.Min(math.Max(q, 1e-4), 1-1e-4)
	g := p.w.Gap
	u := math.Log(q/(1-q)) + g.Slope*(g.RefGap-gapElo)/100
	return 1 - sigmoid(u)
}
