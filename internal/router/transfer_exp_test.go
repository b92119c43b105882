//go:build exp

// Experiments behind the "Honest summary" of docs/router.md, kept runnable:
//
//	go test -tags exp -run 'Exp' -v ./internal/router/
//
// They need the USE lite model (scripts/fetch-model.sh) and the shared data beside
// the repository; they assert nothing and are not part of the test suite.
package router

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/embed"
)

const (
	expWeak   = "mixtral-8x7b-instruct"
	expStrong = "gpt-4-1106-preview"
)

func expDataDir(t *testing.T) string {
	d, err := filepath.Abs("../../../shared/data/router")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExpSubjectTransfer asks whether the sentence embedding can tell, for a subject
// it has not seen, how often GPT-4 gets right what Mixtral gets wrong: each MMLU
// prompt is scored from the other subjects only (leave one subject out), by a kernel
// over subject centroids and by its nearest prompts.
func TestExpSubjectTransfer(t *testing.T) {
	outs, err := ReadOutcomesFile(filepath.Join(expDataDir(t), "outcomes-dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := embed.LoadUSE(embed.DefaultModelDir())
	if err != nil {
		t.Fatal(err)
	}
	var mm []int
	subj := map[string][]int{}
	var texts []string
	for i, o := range outs {
		if strings.HasPrefix(o.Source, "mmlu/") {
			mm = append(mm, i)
			subj[o.Source] = append(subj[o.Source], i)
		}
		texts = append(texts, o.Prompt)
	}
	emb := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += 64 {
		vs, err := m.Embed(context.Background(), texts[i:min(i+64, len(texts))])
		if err != nil {
			t.Fatal(err)
		}
		emb = append(emb, vs...)
	}
	dot := func(a, b []float32) float64 {
		s := 0.0
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	gain := func(i int) float64 {
		if outs[i].Scores[expStrong] > outs[i].Scores[expWeak] {
			return 1
		}
		return 0
	}
	names := make([]string, 0, len(subj))
	for s := range subj {
		names = append(names, s)
	}
	sort.Strings(names)
	cent, rate := map[string][]float32{}, map[string]float64{}
	for s, idx := range subj {
		c := make([]float32, embed.Dim)
		for _, i := range idx {
			for j := range c {
				c[j] += emb[i][j]
			}
			rate[s] += gain(i) / float64(len(idx))
		}
		n := float32(math.Sqrt(dot(c, c)))
		for j := range c {
			c[j] /= n
		}
		cent[s] = c
	}
	report := func(name string, set []int, score func(i int) float64) {
		items := make([]Scored, 0, len(set))
		for _, i := range set {
			items = append(items, Scored{Score: score(i), Weak: outs[i].Scores[expWeak], Strong: outs[i].Scores[expStrong]})
		}
		fmt.Printf("%-44s APGR %.3f\n", name, Measure("mmlu", items).APGR)
	}
	kernel := func(i int, beta float64, use func(s string) bool) float64 {
		var num, den float64
		for _, s := range names {
			if use(s) {
				w := math.Exp(beta * dot(emb[i], cent[s]))
				num, den = num+w*rate[s], den+w
			}
		}
		return num / den
	}
	report("subject oracle (all dev MMLU)", mm, func(i int) float64 { return rate[outs[i].Source] })
	report("word count", mm, func(i int) float64 { return WordCountScore(&outs[i]) })
	for _, beta := range []float64{5, 10, 20, 40} {
		report(fmt.Sprintf("leave-one-subject-out centroids, beta %g", beta), mm, func(i int) float64 {
			return kernel(i, beta, func(s string) bool { return s != outs[i].Source })
		})
	}
	for _, k := range []int{25, 100, 400} {
		report(fmt.Sprintf("leave-one-subject-out %d nearest prompts", k), mm, func(i int) float64 {
			var near []struct{ c, y float64 }
			for _, j := range mm {
				if outs[j].Source != outs[i].Source {
					near = append(near, struct{ c, y float64 }{dot(emb[i], emb[j]), gain(j)})
				}
			}
			sort.Slice(near, func(a, b int) bool { return near[a].c > near[b].c })
			y := 0.0
			for _, n := range near[:k] {
				y += n.y
			}
			return y / float64(k)
		})
	}
	// The shipped split: subjects at even positions train, odd ones are scored.
	train := map[string]bool{}
	var test []int
	for k, s := range names {
		if k%2 == 0 {
			train[s] = true
		} else {
			test = append(test, subj[s]...)
		}
	}
	report("half split: subject oracle", test, func(i int) float64 { return rate[outs[i].Source] })
	report("half split: word count", test, func(i int) float64 { return WordCountScore(&outs[i]) })
	for _, beta := range []float64{5, 10, 20, 40} {
		report(fmt.Sprintf("half split: centroids, beta %g", beta), test, func(i int) float64 {
			return kernel(i, beta, func(s string) bool { return train[s] })
		})
	}
}

// TestExpArenaBench scores the shipped predictor on Arena-Bench v1's open-ended
// prompts, Mixtral against GPT-4-1106 as GPT-4 judged them (1–10): the nearest thing
// in the development data to MT-Bench.
func TestExpArenaBench(t *testing.T) {
	outs, err := ReadArenaBench(filepath.Join(expDataDir(t), "extra"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := DefaultPredictor()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name  string
		score ScoreFunc
	}{{"shipped predictor", PredictorScore(p)}, {"article rule", ArticleRuleScore}, {"word count", WordCountScore}} {
		res, err := Evaluate(outs, expWeak, expStrong, s.score)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Metrics {
			if m.Group == "arena-bench" {
				fmt.Printf("%-20s n %d APGR %.3f saved@95%% %.1f%%\n", s.name, m.N, m.APGR, 100*m.Saved95)
			}
		}
	}
}
