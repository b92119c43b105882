package router

import (
	"math"
	"sort"
)

// Scored is one prompt for evaluating a router: the router's score (higher = more
// need for the strong model) and what each model actually scored on it (0..1).
type Scored struct {
	Score  float64
	Weak   float64
	Strong float64
}

// Curve is the quality of a router as its threshold is swept: Quality[k] is the mean
// score when the k highest-scored prompts go to the strong model and the rest to the
// weak one (k = 0..n). Prompts with equal router scores are indistinguishable to the
// router, so within a run of ties the curve is the expectation over random tie-breaking
// (a straight line), which is what makes a constant router score exactly 0.5 APGR.
type Curve struct {
	Quality []float64 // len n+1; Quality[0] = all weak, Quality[n] = all strong
}

// NewCurve sweeps the threshold over items.
func NewCurve(items []Scored) Curve {
	n := len(items)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return items[idx[a]].Score > items[idx[b]].Score })
	q := make([]float64, n+1)
	var sum float64
	for _, it := range items {
		sum += it.Weak
	}
	q[0] = sum / float64(max(n, 1))
	for i := 0; i < n; {
		j := i
		var gain float64
		for j < n && items[idx[j]].Score == items[idx[i]].Score {
			gain += items[idx[j]].Strong - items[idx[j]].Weak
			j++
		}
		per := gain / float64(j-i)
		for k := i; k < j; k++ {
			sum += per
			q[k+1] = sum / float64(n)
		}
		i = j
	}
	return Curve{Quality: q}
}

// N is the number of prompts.
func (c Curve) N() int { return len(c.Quality) - 1 }

// WeakQuality is the quality of sending everything to the weak model.
func (c Curve) WeakQuality() float64 { return c.Quality[0] }

// StrongQuality is the quality of sending everything to the strong model.
func (c Curve) StrongQuality() float64 { return c.Quality[len(c.Quality)-1] }

// PGR is the performance gap recovered with k strong calls:
// (quality − weak) / (strong − weak). NaN when the two models score the same.
func (c Curve) PGR(k int) float64 {
	gap := c.StrongQuality() - c.WeakQuality()
	if gap == 0 {
		return math.NaN()
	}
	return (c.Quality[k] - c.WeakQuality()) / gap
}

// APGR is the area under PGR against the share of strong calls (trapezoids over every
// k, the exact limit of RouteLLM's threshold sweep). A random router scores 0.5.
func (c Curve) APGR() float64 {
	n := c.N()
	if n == 0 {
		return math.NaN()
	}
	var area float64
	for k := 0; k < n; k++ {
		area += (c.PGR(k) + c.PGR(k+1)) / 2
	}
	return area / float64(n)
}

// CPT is the smallest share of strong calls whose PGR reaches target (0..1),
// RouteLLM's "call-performance threshold". NaN if the gap is zero.
func (c Curve) CPT(target float64) float64 {
	n := c.N()
	for k := 0; k <= n; k++ {
		p := c.PGR(k)
		if math.IsNaN(p) {
			return math.NaN()
		}
		if p >= target-1e-12 {
			return float64(k) / float64(n)
		}
	}
	return 1
}

// CostSaved is the share of the all-strong cost saved by the cheapest threshold whose
// quality reaches frac (e.g. 0.95) of the strong model's quality, when a weak call costs
// weakCost (e.g. 1/20) of a strong one. It also returns the share of strong calls used.
func (c Curve) CostSaved(frac, weakCost float64) (saved, strongShare float64) {
	n := c.N()
	want := frac * c.StrongQuality()
	strongShare = 1
	for k := 0; k <= n; k++ {
		if c.Quality[k] >= want-1e-12 {
			strongShare = float64(k) / float64(n)
			break
		}
	}
	cost := strongShare + (1-strongShare)*weakCost
	return 1 - cost, strongShare
}

// Metrics are RouteLLM's router metrics for one group of prompts.
type Metrics struct {
	Group         string  `json:"group"`
	N             int     `json:"n"`
	WeakQuality   float64 `json:"weak_quality"`
	StrongQuality float64 `json:"strong_quality"`
	APGR          float64 `json:"apgr"`
	CPT50         float64 `json:"cpt50"`
	CPT80         float64 `json:"cpt80"`
	Saved95       float64 `json:"saved95"`        // share of cost saved at 95% of strong quality
	StrongAt95    float64 `json:"strong_share95"` // share of strong calls at that point
}

// Evaluation constants fixed by the issue: 95% of the strong model's quality, a weak
// call costing 1/20 of a strong one.
const (
	EvalQualityFrac = 0.95
	EvalWeakCost    = 1.0 / 20
)

// Measure computes the metrics of items under the name group.
func Measure(group string, items []Scored) Metrics {
	c := NewCurve(items)
	saved, share := c.CostSaved(EvalQualityFrac, EvalWeakCost)
	return Metrics{
		Group:         group,
		N:             len(items),
		WeakQuality:   c.WeakQuality(),
		StrongQuality: c.StrongQuality(),
		APGR:          c.APGR(),
		CPT50:         c.CPT(0.5),
		CPT80:         c.CPT(0.8),
		Saved95:       saved,
		StrongAt95:    share,
	}
}
