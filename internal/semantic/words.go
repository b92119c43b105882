package semantic

import (
	"math"
	"slices"
)

// wordModel scores the content words that only one text of a pair has: a
// logistic regression over indicator features, one weight per word. It learns
// that a missing "best" or "good" rarely changes the question while a missing
// "python" or "quickly" does. Words not in the table share the weight Unknown.
type wordModel struct {
	Bias    float64            `json:"bias"`
	Unknown float64            `json:"unknown"`
	Weights map[string]float64 `json:"weights"`
}

func (w *wordModel) score(a, b *analysis) float64 {
	if w == nil || w.Weights == nil {
		return 0
	}
	s := w.Bias
	for _, x := range mismatched(a, b) {
		if v, ok := w.Weights[x]; ok {
			s += v
		} else {
			s += w.Unknown
		}
	}
	return s
}

// mismatched lists the distinct content words in exactly one of the texts, sorted.
func mismatched(a, b *analysis) []string {
	var out []string
	for _, w := range a.content {
		if !b.stems[w] {
			out = append(out, w)
		}
	}
	for _, w := range b.content {
		if !a.stems[w] {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// unknownWord is the feature that every word below the vocabulary's minimum
// count shares.
const unknownWord = "\x00unknown"

// trainWordModel fits the word weights by full-batch gradient descent with L2
// (deterministic). Words seen in fewer than minCount examples share one weight.
func trainWordModel(docs [][]string, y []bool, minCount int, l2 float64, steps int) *wordModel {
	count := map[string]int{}
	for _, d := range docs {
		for _, w := range d {
			count[w]++
		}
	}
	vocab := map[string]int{unknownWord: 0}
	names := []string{unknownWord}
	keys := make([]string, 0, len(count))
	for w := range count {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	for _, w := range keys {
		if count[w] >= minCount {
			vocab[w] = len(names)
			names = append(names, w)
		}
	}
	rows := make([][]int, len(docs))
	for i, d := range docs {
		for _, w := range d {
			j, ok := vocab[w]
			if !ok {
				j = 0
			}
			rows[i] = append(rows[i], j)
		}
	}
	wt := make([]float64, len(names))
	var bias float64
	g := make([]float64, len(names))
	m := make([]float64, len(names)+1)
	v := make([]float64, len(names)+1)
	const lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
	n := float64(len(docs))
	for step := 1; step <= steps; step++ {
		clear(g)
		var gb float64
		for i, r := range rows {
			z := bias
			for _, j := range r {
				z += wt[j]
			}
			e := sigmoid(z)
			if y[i] {
				e--
			}
			for _, j := range r {
				g[j] += e
			}
			gb += e
		}
		upd := func(k int, grad float64) float64 {
			m[k] = b1*m[k] + (1-b1)*grad
			v[k] = b2*v[k] + (1-b2)*grad*grad
			mh := m[k] / (1 - math.Pow(b1, float64(step)))
			vh := v[k] / (1 - math.Pow(b2, float64(step)))
			return lr * mh / (math.Sqrt(vh) + eps)
		}
		for j := range wt {
			wt[j] -= upd(j, g[j]/n+l2*wt[j])
		}
		bias -= upd(len(names), gb/n)
	}
	out := &wordModel{Bias: round4(bias), Unknown: round4(wt[0]), Weights: make(map[string]float64, len(names))}
	for j, w := range names[1:] {
		if x := round4(wt[j+1]); x != out.Unknown {
			out.Weights[w] = x
		}
	}
	return out
}
