package semantic

import (
	_ "embed" // the trained verifier ships inside the binary
	"encoding/json"
	"fmt"
	"slices"
)

// verifierJSON is internal/semantic/verifier.json, written by
// `arbiter train cache --pairs … --out internal/semantic/verifier.json`.
//
//go:embed verifier.json
var verifierJSON []byte

// VerifierModel is a trained pair classifier for one embedder kind, with its
// operating point. Vectors of different embedders have different cosine
// distributions, so each kind has its own model.
type VerifierModel struct {
	Embedder string   `json:"embedder"` // embed.KindUSE or embed.KindStatic
	Features []string `json:"features"` // names, in input order; must match this build
	// Floor is the least cosine for which a candidate is verified at all; below
	// it a lookup misses without running the classifier.
	Floor float64 `json:"floor"`
	// Threshold is the default operating point: the least classifier probability
	// that counts as a hit.
	Threshold float64 `json:"threshold"`
	// StaticFloor is the least static-embedding cosine of a candidate for it to be
	// worth the full model (the first stage); 0 disables the first stage.
	StaticFloor float64     `json:"static_floor"`
	Words       wordModel   `json:"words"`
	Net         pairNet     `json:"net"`
	Model       gbdt        `json:"model"`
	Training    TrainReport `json:"training"`
}

// VerifierFile is the content of verifier.json.
type VerifierFile struct {
	Note   string          `json:"note"`
	Models []VerifierModel `json:"models"`
}

// Verifier decides whether a cached text's answer is right for a new text.
type Verifier struct{ m *VerifierModel }

// DefaultVerifier returns the embedded verifier trained for embedder kind.
func DefaultVerifier(kind string) (*Verifier, error) {
	return ParseVerifier(verifierJSON, kind)
}

// ParseVerifier reads a verifier file and returns its model for embedder kind.
func ParseVerifier(data []byte, kind string) (*Verifier, error) {
	var f VerifierFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("semantic: parsing verifier: %w", err)
	}
	for i := range f.Models {
		m := &f.Models[i]
		if m.Embedder != kind {
			continue
		}
		if !slices.Equal(m.Features, featureNames[:]) {
			return nil, fmt.Errorf("semantic: verifier for %s was trained on features %v, this build computes %v (retrain with arbiter train cache)", kind, m.Features, featureNames)
		}
		return &Verifier{m: m}, nil
	}
	return nil, fmt.Errorf("semantic: no verifier trained for embedder %q", kind)
}

// Model returns the verifier's parameters (read-only).
func (v *Verifier) Model() *VerifierModel { return v.m }

// Verdict is the verifier's decision on one pair.
type Verdict struct {
	Hit         bool
	Probability float64 // classifier output; 0 when a guard or the floor refused first
	Guard       Guard   // the guard that refused, if any
}

// judge decides on cached text a and new text b with embedding vectors va and
// vb (nil: unknown, as for Judge), embedding cosines cos and cosStatic, at
// probability threshold (0: the model's default).
func (v *Verifier) judge(a, b *analysis, va, vb []float32, cos, cosStatic, threshold float64) Verdict {
	if a.norm == b.norm && sameMultiset(a.numbers, b.numbers) {
		// The same text up to case, spacing and punctuation.
		return Verdict{Hit: true, Probability: 1}
	}
	if g := guard(a, b); g != GuardNone {
		return Verdict{Guard: g}
	}
	if cos < v.m.Floor {
		return Verdict{}
	}
	f := features(a, b, cos, cosStatic)
	f[fWords] = v.m.Words.score(a, b)
	f[fNet] = v.m.Net.score(va, vb)
	p := v.m.Model.prob(f[:])
	if threshold <= 0 {
		threshold = v.m.Threshold
	}
	return Verdict{Hit: p >= threshold, Probability: p}
}

// Judge is judge on raw texts (for tests, tools and explanations). It has no
// embedding vectors, so the pair network contributes a neutral logit of 0: the
// probability is close to, not the same as, what a lookup computes.
func (v *Verifier) Judge(cached, query string, cos, cosStatic, threshold float64) Verdict {
	return v.judge(analyze(cached), analyze(query), nil, nil, cos, cosStatic, threshold)
}
