package semantic

import (
	"math"
	"slices"
)

// gbdt is a small gradient-boosted tree ensemble for binary classification
// (logistic loss): the score is Bias plus the leaf value of every tree, and the
// probability its logistic. Trees are arrays of nodes; a node with Feature < 0 is
// a leaf.
type gbdt struct {
	Bias  float64  `json:"bias"`
	Trees [][]node `json:"trees"`
}

type node struct {
	Feature   int     `json:"f"`           // -1 for a leaf
	Threshold float64 `json:"t,omitempty"` // go left when x[Feature] <= Threshold
	Left      int     `json:"l,omitempty"`
	Right     int     `json:"r,omitempty"`
	Value     float64 `json:"v,omitempty"` // leaf value
}

func (m *gbdt) score(x []float64) float64 {
	s := m.Bias
	for _, t := range m.Trees {
		i := 0
		for t[i].Feature >= 0 {
			if x[t[i].Feature] <= t[i].Threshold {
				i = t[i].Left
			} else {
				i = t[i].Right
			}
		}
		s += t[i].Value
	}
	return s
}

func (m *gbdt) prob(x []float64) float64 { return sigmoid(m.score(x)) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// gbdtParams are the training settings; everything is deterministic (no
// sampling), so the same data gives the same model byte for byte.
type gbdtParams struct {
	Trees        int     `json:"trees"`
	Depth        int     `json:"depth"`
	LearningRate float64 `json:"learning_rate"`
	MinLeaf      int     `json:"min_leaf"` // fewest examples in a leaf
	L2           float64 `json:"l2"`       // regularisation of leaf values
	Bins         int     `json:"bins"`     // candidate thresholds per feature
}

// trainGBDT fits an ensemble to rows x (each numFeatures wide) with labels y and
// example weights w (nil: all 1). Split search is over per-feature quantile bins
// with gradient histograms.
func trainGBDT(x [][]float64, y []bool, w []float64, p gbdtParams) *gbdt {
	n := len(x)
	if n == 0 {
		return &gbdt{}
	}
	nf := len(x[0])
	if w == nil {
		w = make([]float64, n)
		for i := range w {
			w[i] = 1
		}
	}
	// Quantile thresholds per feature, and each example's bin.
	thr := make([][]float64, nf)
	bins := make([][]uint8, nf)
	vals := make([]float64, n)
	for f := 0; f < nf; f++ {
		for i := range x {
			vals[i] = x[i][f]
		}
		s := slices.Clone(vals)
		slices.Sort(s)
		var t []float64
		for k := 1; k < p.Bins; k++ {
			v := s[k*n/p.Bins]
			if len(t) == 0 || v > t[len(t)-1] {
				t = append(t, v)
			}
		}
		// Drop a threshold equal to the maximum: it would split nothing off.
		if len(t) > 0 && t[len(t)-1] >= s[n-1] {
			t = t[:len(t)-1]
		}
		thr[f] = t
		b := make([]uint8, n)
		for i, v := range vals {
			b[i] = uint8(sort64(t, v))
		}
		bins[f] = b
	}

	var pos, tot float64
	for i := range y {
		tot += w[i]
		if y[i] {
			pos += w[i]
		}
	}
	base := math.Log(pos / (tot - pos))
	m := &gbdt{Bias: base}
	score := make([]float64, n)
	for i := range score {
		score[i] = base
	}
	g := make([]float64, n)
	h := make([]float64, n)
	idx := make([]int, n)
	for t := 0; t < p.Trees; t++ {
		for i := range x {
			pr := sigmoid(score[i])
			yy := 0.0
			if y[i] {
				yy = 1
			}
			g[i] = w[i] * (pr - yy)
			h[i] = w[i] * math.Max(pr*(1-pr), 1e-6)
			idx[i] = i
		}
		var tree []node
		grow(&tree, idx, 0, p, g, h, bins, thr)
		for i := range x {
			score[i] += leafValue(tree, x[i])
		}
		m.Trees = append(m.Trees, tree)
	}
	return m
}

// sort64 is the bin of v: the count of thresholds below v.
func sort64(t []float64, v float64) int {
	lo, hi := 0, len(t)
	for lo < hi {
		mid := (lo + hi) / 2
		if v <= t[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func leafValue(t []node, x []float64) float64 {
	i := 0
	for t[i].Feature >= 0 {
		if x[t[i].Feature] <= t[i].Threshold {
			i = t[i].Left
		} else {
			i = t[i].Right
		}
	}
	return t[i].Value
}

// grow appends the subtree over examples idx to tree and returns its root index.
func grow(tree *[]node, idx []int, depth int, p gbdtParams, g, h []float64, bins [][]uint8, thr [][]float64) int {
	var G, H float64
	for _, i := range idx {
		G += g[i]
		H += h[i]
	}
	me := len(*tree)
	*tree = append(*tree, node{Feature: -1, Value: -p.LearningRate * G / (H + p.L2)})
	if depth >= p.Depth || len(idx) < 2*p.MinLeaf {
		return me
	}
	parentGain := G * G / (H + p.L2)
	bestGain, bestF, bestB := 1e-9, -1, 0
	var hg, hh [256]float64
	var hc [256]int
	for f := range bins {
		nb := len(thr[f]) + 1
		clear(hg[:nb])
		clear(hh[:nb])
		clear(hc[:nb])
		for _, i := range idx {
			b := bins[f][i]
			hg[b] += g[i]
			hh[b] += h[i]
			hc[b]++
		}
		var lg, lh float64
		lc := 0
		for b := 0; b < nb-1; b++ {
			lg += hg[b]
			lh += hh[b]
			lc += hc[b]
			rc := len(idx) - lc
			if lc < p.MinLeaf || rc < p.MinLeaf {
				continue
			}
			rg, rh := G-lg, H-lh
			gain := lg*lg/(lh+p.L2) + rg*rg/(rh+p.L2) - parentGain
			if gain > bestGain {
				bestGain, bestF, bestB = gain, f, b
			}
		}
	}
	if bestF < 0 {
		return me
	}
	var left, right []int
	for _, i := range idx {
		if int(bins[bestF][i]) <= bestB {
			left = append(left, i)
		} else {
			right = append(right, i)
		}
	}
	l := grow(tree, left, depth+1, p, g, h, bins, thr)
	r := grow(tree, right, depth+1, p, g, h, bins, thr)
	(*tree)[me] = node{Feature: bestF, Threshold: thr[bestF][bestB], Left: l, Right: r}
	return me
}
