//go:build exp

package router

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/embed"
)

func TestExpRarity(t *testing.T) {
	outs, err := ReadOutcomesFile(filepath.Join(expDataDir(t), "outcomes-dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	arena, err := ReadArenaBench(filepath.Join(expDataDir(t), "extra"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := embed.Static()
	if err != nil {
		t.Fatal(err)
	}
	tok := st.Tokenizer()
	type feat struct {
		name string
		f    func(text string) float64
	}
	stats := func(text string) (mean, minv, perWord, split3, unk float64) {
		ids := tok.Encode(nil, text)
		if len(ids) == 0 {
			return
		}
		minv = 0
		words, pieces, inWord := 0, 0, 0
		long := 0
		for _, id := range ids {
			p := tok.Piece(id)
			if id == 0 {
				unk++
			}
			mean += p.Score
			minv = math.Min(minv, p.Score)
			if strings.HasPrefix(p.Text, "▁") {
				if inWord >= 3 {
					long++
				}
				words++
				inWord = 0
			}
			inWord++
			pieces++
		}
		if inWord >= 3 {
			long++
		}
		mean /= float64(len(ids))
		perWord = float64(pieces) / float64(max(words, 1))
		split3 = float64(long) / float64(max(words, 1))
		unk /= float64(len(ids))
		return
	}
	stemOf := func(t string) string { s, _, _ := splitOptions(t); return s }
	feats := []feat{
		{"mean piece logp (whole)", func(t string) float64 { m, _, _, _, _ := stats(t); return -m }},
		{"mean piece logp (stem)", func(t string) float64 { m, _, _, _, _ := stats(stemOf(t)); return -m }},
		{"min piece logp (stem)", func(t string) float64 { _, m, _, _, _ := stats(stemOf(t)); return -m }},
		{"pieces per word (stem)", func(t string) float64 { _, _, p, _, _ := stats(stemOf(t)); return p }},
		{"share words >=3 pieces (stem)", func(t string) float64 { _, _, _, s, _ := stats(stemOf(t)); return s }},
		{"pieces per word (options)", func(t string) float64 {
			_, r, _ := splitOptions(t)
			if r == "" {
				return 0
			}
			_, _, p, _, _ := stats(r)
			return p
		}},
		{"mean piece logp (options)", func(t string) float64 {
			_, r, _ := splitOptions(t)
			if r == "" {
				return 0
			}
			m, _, _, _, _ := stats(r)
			return -m
		}},
		{"word count", func(t string) float64 { return float64(len(strings.Fields(t))) }},
	}
	apgr := func(idx []int, os []Outcome, f func(string) float64) float64 {
		items := make([]Scored, 0, len(idx))
		for _, i := range idx {
			items = append(items, Scored{Score: f(os[i].Prompt), Weak: os[i].Scores[expWeak], Strong: os[i].Scores[expStrong]})
		}
		return Measure("", items).APGR
	}
	subj := map[string][]int{}
	var mm, gsm []int
	for i, o := range outs {
		if strings.HasPrefix(o.Source, "mmlu/") {
			subj[o.Source] = append(subj[o.Source], i)
			mm = append(mm, i)
		} else {
			gsm = append(gsm, i)
		}
	}
	names := make([]string, 0)
	for s := range subj {
		names = append(names, s)
	}
	sort.Strings(names)
	var ar []int
	for i, o := range arena {
		if _, ok := o.Scores[expWeak]; ok {
			if _, ok := o.Scores[expStrong]; ok {
				ar = append(ar, i)
			}
		}
	}
	fmt.Printf("%-32s %8s %8s %8s %8s %8s\n", "feature", "mmlu", "within", ">0.5", "gsm8k", "arena")
	for _, ft := range feats {
		within, above := 0.0, 0
		for _, s := range names {
			a := apgr(subj[s], outs, ft.f)
			within += a / float64(len(names))
			if a > 0.5 {
				above++
			}
		}
		fmt.Printf("%-32s %8.3f %8.3f %5d/%d %8.3f %8.3f\n", ft.name, apgr(mm, outs, ft.f), within, above, len(names), apgr(gsm, outs, ft.f), apgr(ar, arena, ft.f))
	}
}
