//go:build exp

package router

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestExpOpenEnded asks whether AlpacaEval's judgements (805 instructions, 58 models
// against gpt-4-1106-preview) teach the free-form block what makes an open-ended
// prompt need the strong model, checked on Arena-Bench (Mixtral vs GPT-4-1106,
// GPT-4 judge) and on GSM8K, which it never sees.
func TestExpOpenEnded(t *testing.T) {
	dir := expDataDir(t)
	alp, err := ReadAlpacaEval(filepath.Join(dir, "extra"))
	if err != nil {
		t.Fatal(err)
	}
	arena, err := ReadArenaBench(filepath.Join(dir, "extra"))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := ReadOutcomesFile(filepath.Join(dir, "outcomes-dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var gsm []Outcome
	for _, o := range outs {
		if o.Source == "gsm8k" {
			gsm = append(gsm, o)
		}
	}
	sets := map[string][]string{
		"all37": FeatureNames(),
		"words": {"log_words"},
		"size":  {"log_chars", "log_words", "log_lines", "log_sentences"},
		"no-size": func() []string {
			var s []string
			for _, n := range FeatureNames() {
				if !strings.HasPrefix(n, "log_") {
					s = append(s, n)
				}
			}
			return s
		}(),
		"task": {"log_words", "math_symbol_share", "math_notation", "code_symbol_share", "code_keywords", "code_fence", "q_calculate", "q_prove", "q_write", "q_why_explain", "multi_step_cues", "digit_share", "log_numbers"},
	}
	labels := map[string]func(o *Outcome) (float64, bool){
		"mixtral pair": func(o *Outcome) (float64, bool) {
			p, ok := o.Scores["mixtral-8x7b-instruct"]
			return 1 - p, ok
		},
		"mean of 57 models": func(o *Outcome) (float64, bool) {
			s, n := 0.0, 0
			for m, p := range o.Scores {
				if m != "gpt-4-1106-preview" {
					s += 1 - p
					n++
				}
			}
			return s / float64(max(n, 1)), n > 0
		},
	}
	names := make([]string, 0)
	for k := range sets {
		names = append(names, k)
	}
	sort.Strings(names)
	for ln, label := range labels {
		for _, sn := range names {
			mask, err := featureMask(sets[sn])
			if err != nil {
				t.Fatal(err)
			}
			var xs []vec
			var ys, ws []float64
			var keep []int
			for i := range alp {
				y, ok := label(&alp[i])
				if !ok {
					continue
				}
				buf := make([]float32, 2*NumDense+1)
				xs = append(xs, featurize(Prompt{Text: alp[i].Prompt, Turns: 1}, mask, mask, 0, nil, buf))
				ys, ws, keep = append(ys, y), append(ws, 1), append(keep, i)
			}
			fc := fitConfig{L2Dense: 1e-2, Iters: 300, LearnRate: 0.05}
			// 5-fold CV on AlpacaEval, scored as a router of the Mixtral pair.
			oof := make([]float64, len(xs))
			for f := 0; f < 5; f++ {
				var fx []vec
				var fy, fw []float64
				for i := range xs {
					if i%5 != f {
						fx, fy, fw = append(fx, xs[i]), append(fy, ys[i]), append(fw, ws[i])
					}
				}
				m := fitLinear(fx, fy, fw, fc)
				for i := range xs {
					if i%5 == f {
						oof[i] = m.logit(xs[i])
					}
				}
			}
			var items []Scored
			for j, i := range keep {
				if p, ok := alp[i].Scores["mixtral-8x7b-instruct"]; ok {
					items = append(items, Scored{Score: oof[j], Weak: p, Strong: 1 - p})
				}
			}
			cv := Measure("alpaca", items).APGR
			m := fitLinear(xs, ys, ws, fc)
			score := func(o *Outcome) float64 {
				buf := make([]float32, 2*NumDense+1)
				return m.logit(featurize(Prompt{Text: o.Prompt, Turns: 1}, mask, mask, 0, nil, buf))
			}
			ar, err := Evaluate(arena, expWeak, expStrong, score)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := Evaluate(gsm, expWeak, expStrong, score)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("%-18s %-8s alpaca CV %.3f  arena %.3f  gsm8k %.3f\n", ln, sn, cv, ar.Metrics[0].APGR, gs.Metrics[0].APGR)
		}
	}
}
