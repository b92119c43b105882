package emulator

import (
	"math"
	"strings"
	"unicode"
)

// Embed returns one unit vector of dims dimensions per text, a deterministic function
// of the text. Vectors are sums of pseudo-random ±1 directions, one per word (feature
// hashing), plus a small per-text component: texts sharing most words are close
// (cosine near 1), unrelated texts are nearly orthogonal, and two different texts are
// never identical. That is enough for a semantic cache's tests to behave as with a
// real embedding model on paraphrases that keep their words.
func Embed(texts []string, dims int) [][]float32 {
	if dims <= 0 {
		dims = 1536
	}
	out := make([][]float32, len(texts))
	acc := make([]float64, dims)
	for i, t := range texts {
		clear(acc)
		words := strings.FieldsFunc(strings.ToLower(t), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
		for _, w := range words {
			addDirection(acc, hashString(w), 1)
		}
		// The whole text adds a little, so distinct texts never embed identically.
		addDirection(acc, hashString(t)^0x5bd1e995, 0.25)
		var norm float64
		for _, v := range acc {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		vec := make([]float32, dims)
		for j, v := range acc {
			vec[j] = float32(v / norm)
		}
		out[i] = vec
	}
	return out
}

// addDirection adds weight times a pseudo-random ±1 vector seeded by seed.
func addDirection(acc []float64, seed uint64, weight float64) {
	r := newRNG(seed)
	var bits uint64
	for j := range acc {
		if j%64 == 0 {
			bits = r.next()
		}
		if bits&1 == 1 {
			acc[j] += weight
		} else {
			acc[j] -= weight
		}
		bits >>= 1
	}
}

// EmbeddingDims is the native dimension of well-known embedding models, 1536 otherwise.
func EmbeddingDims(model string) int {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "text-embedding-3-large"), strings.Contains(m, "gemini-embedding"):
		return 3072
	case strings.Contains(m, "text-embedding-004"), strings.Contains(m, "text-embedding-005"),
		strings.Contains(m, "embedding-001"), strings.Contains(m, "multilingual-embedding"):
		return 768
	}
	return 1536
}
