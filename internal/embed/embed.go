// Package embed turns text into unit-length sentence vectors, offline.
//
// Two embedders share one interface and one SentencePiece tokenizer:
//
//   - USE: Google's Universal Sentence Encoder lite (a 2-layer transformer), run
//     in pure Go from the TF.js graph model that scripts/fetch-model.sh fetches.
//     It reproduces the TF.js outputs (cosine ≥ 0.9999, see the golden test).
//   - StaticEmbedder: a per-piece table distilled from that model and embedded in
//     the binary, so it works with no model directory at all. A sentence vector
//     is the weighted mean of its pieces' vectors: microseconds, lower quality.
//     It is meant as a cheap first stage ("nothing near") and as the fallback.
//
// Both return 512-dimensional L2-normalised vectors, so a dot product is the cosine.
// Vectors from different embedders live in different spaces and must not be
// compared with each other; Default reports which kind it returned.
package embed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Embedder maps texts to unit-length vectors of Dim() floats, one per text, in order.
// Implementations are safe for concurrent use.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Dim() int
}

// Dim is the width of every vector this package produces.
const Dim = 512

// MaxTokens caps the pieces of one text that are embedded; later pieces are
// ignored. It is the cap built into the USE graph itself (ClipToMaxLength).
const MaxTokens = 128

// Kinds reported by Default.
const (
	KindUSE    = "use-lite"
	KindStatic = "static"
)

// DefaultModelDir is where scripts/fetch-model.sh puts the model unless
// ARBITER_MODEL_DIR says otherwise: $HOME/.cache/arbiter/use-lite.
func DefaultModelDir() string {
	if d := os.Getenv("ARBITER_MODEL_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "arbiter", "use-lite")
}

// Default returns the full USE model when dir holds it, else the embedded static
// embedder; kind is KindUSE or KindStatic. A dir that exists but holds a broken
// model is an error rather than a silent fallback, so a bad deployment is noticed.
func Default(dir string) (e Embedder, kind string, err error) {
	if dir != "" {
		if _, statErr := os.Stat(filepath.Join(dir, "model.json")); statErr == nil {
			m, err := LoadUSE(dir)
			if err != nil {
				return nil, "", err
			}
			return m, KindUSE, nil
		} else if !errors.Is(statErr, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("embed: checking model dir %s: %w", dir, statErr)
		}
	}
	s, err := Static()
	if err != nil {
		return nil, "", err
	}
	return s, KindStatic, nil
}

// Dot is Σ a[i]·b[i] over len(a) (b at least as long), with the CPU's vector
// instructions where it has them. Its sum is ordered differently from a plain
// loop's, so results can differ from one in the last bits: use it to rank
// vectors, not where a value must be reproduced exactly.
func Dot(a, b []float32) float32 { return dotVec(a, b) }

// DotInt8 is Σ a[i]·q[i] over len(q) (a at least as long), with the CPU's
// vector instructions where it has them; like Dot, for ranking.
func DotInt8(a []float32, q []int8) float32 { return dotInt8Vec(a, q) }
