//go:build exp

package router

import (
	"math"
	"path/filepath"
	"sort"
	"testing"
)

// TestExpFixedEffects asks whether the dense features carry a within-subject
// signal that transfers to unseen subjects once the subjects' own gain rates are
// taken out: a logistic regression with one intercept per training subject and
// shared feature weights (fitted on the training half's MMLU), scored on the
// held-out half's subjects with the shared weights alone.
func TestExpFixedEffects(t *testing.T) {
	outs, err := ReadOutcomesFile(filepath.Join(expDataDir(t), "outcomes-dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	train := HalfSplit(outs)
	type row struct {
		x       []float64
		y       float64
		subj    int
		w, s    float64
		isTrain bool
	}
	subjIdx := map[string]int{}
	var rows []row
	for i, o := range outs {
		if o.Group() != "mmlu" {
			continue
		}
		d := make([]float32, NumDense)
		denseFeatures(Prompt{Text: o.Prompt, Turns: 1}, d, nil)
		x := make([]float64, NumDense)
		for k, v := range d {
			x[k] = float64(v)
		}
		w, s := o.Scores[expWeak], o.Scores[expStrong]
		y := 0.0
		if s > w {
			y = 1
		}
		k, ok := subjIdx[o.Source]
		if !ok {
			k = len(subjIdx)
			subjIdx[o.Source] = k
		}
		rows = append(rows, row{x, y, k, w, s, train[i]})
	}
	// Standardise on the training rows.
	mean := make([]float64, NumDense)
	sd := make([]float64, NumDense)
	nt := 0.0
	for _, r := range rows {
		if r.isTrain {
			nt++
			for k, v := range r.x {
				mean[k] += v
			}
		}
	}
	for k := range mean {
		mean[k] /= nt
	}
	for _, r := range rows {
		if r.isTrain {
			for k, v := range r.x {
				sd[k] += (v - mean[k]) * (v - mean[k])
			}
		}
	}
	for k := range sd {
		sd[k] = math.Sqrt(sd[k]/nt) + 1e-9
	}
	for _, r := range rows {
		for k := range r.x {
			r.x[k] = (r.x[k] - mean[k]) / sd[k]
		}
	}
	fit := func(use []string, fixed bool, l2 float64) []float64 {
		ix := make([]int, 0, len(use))
		for _, n := range use {
			ix = append(ix, featureIndex[n])
		}
		w := make([]float64, len(ix)+len(subjIdx)+1) // features, subject intercepts, global bias
		for it := 0; it < 3000; it++ {
			g := make([]float64, len(w))
			for _, r := range rows {
				if !r.isTrain {
					continue
				}
				z := w[len(w)-1]
				if fixed {
					z += w[len(ix)+r.subj]
				}
				for a, k := range ix {
					z += w[a] * r.x[k]
				}
				e := 1/(1+math.Exp(-z)) - r.y
				for a, k := range ix {
					g[a] += e * r.x[k]
				}
				if fixed {
					g[len(ix)+r.subj] += e
				}
				g[len(w)-1] += e
			}
			for a := range w {
				gr := g[a] / nt
				if a < len(ix) {
					gr += l2 * w[a]
				}
				w[a] -= 0.5 * gr
			}
		}
		return w[:len(ix)]
	}
	score := func(use []string, w []float64, heldout bool) (float64, []float64) {
		var items []Scored
		for _, r := range rows {
			if r.isTrain == heldout {
				continue
			}
			z := 0.0
			for a, n := range use {
				z += w[a] * r.x[featureIndex[n]]
			}
			items = append(items, Scored{Score: z, Weak: r.w, Strong: r.s})
		}
		return NewCurve(items).APGR(), nil
	}
	// Within-subject APGR on the held-out half: mean over its subjects.
	within := func(use []string, w []float64) float64 {
		by := map[int][]Scored{}
		for _, r := range rows {
			if r.isTrain {
				continue
			}
			z := 0.0
			for a, n := range use {
				z += w[a] * r.x[featureIndex[n]]
			}
			by[r.subj] = append(by[r.subj], Scored{Score: z, Weak: r.w, Strong: r.s})
		}
		s, n := 0.0, 0.0
		for _, items := range by {
			c := NewCurve(items)
			if c.StrongQuality() > c.WeakQuality() {
				s += c.APGR()
				n++
			}
		}
		return s / n
	}
	all := FeatureNames()
	sets := map[string][]string{
		"all dense":   all,
		"length only": {"log_words", "log_stem_words", "log_sentences"},
		"shipped mc":  {"log_words", "log_stem_words", "log_sentences", "multi_step_cues"},
		"no length":   without(all, "log_chars", "log_words", "log_lines", "log_sentences", "log_stem_words", "log_option_words"),
	}
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		use := sets[n]
		for _, fixed := range []bool{false, true} {
			for _, l2 := range []float64{1e-3, 1e-1} {
				w := fit(use, fixed, l2)
				h, _ := score(use, w, true)
				tr, _ := score(use, w, false)
				t.Logf("%-12s fixed effects %-5v l2 %-5g: held-out MMLU APGR %.3f (within its subjects %.3f); training half %.3f",
					n, fixed, l2, h, within(use, w), tr)
			}
		}
	}
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, a := range all {
		keep := true
		for _, d := range drop {
			if a == d {
				keep = false
			}
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}
