package router

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// arenaBenchElo are the LMArena (lmsys) text ratings of 2024-12-31 of the models
// judged in Arena-Bench v1, keyed by Arena-Bench's names; they place each model on the
// quality scale the catalog uses. Source: lmsys_arena_2024-12-31.csv.
var arenaBenchElo = map[string]float64{
	"gpt-4-1106-preview":                 1250,
	"gpt-4-0314":                         1186,
	"claude-1":                           1149,
	"claude-2.1":                         1118,
	"gpt-3.5-turbo":                      1117, // GPT-3.5-Turbo-0613, the default at the time
	"claude-instant-1":                   1111,
	"mixtral-8x7b-instruct":              1114,
	"Llama-2-70b-chat":                   1093,
	"vicuna-33b-v1.3":                    1091,
	"Starling-LM-7B-alpha":               1088,
	"openchat_3.5":                       1077,
	"gpt-3.5-turbo-1106":                 1068,
	"mistralai/Mistral-7B-Instruct-v0.1": 1008,
	"palm-2-chat-bison-001":              1004,
}

// Elo gap of the pair the outcomes data compares: Mixtral-8x7B-Instruct (1114) against
// GPT-4-1106-preview (1250), same table.
const outcomesRefGap = 1114.0 - 1250.0

// FitGap fits how the chance that a model answers worse than the reference grows with
// their Elo gap, from Arena-Bench's per-model GPT-4 judgements (reference:
// gpt-4-1106-preview; "worse" means a strictly lower score). The model is a logistic
// regression on the gap with one intercept for the data set, so that the slope does
// not absorb how hard Arena-Bench's prompts are.
func FitGap(arena []Outcome) (GapModel, error) {
	const ref = "gpt-4-1106-preview"
	type row struct{ x, y float64 }
	var rows []row
	for _, o := range arena {
		rs, ok := o.Scores[ref]
		if !ok {
			continue
		}
		// Sorted names keep the float sums, and so the weights file, byte-identical
		// from run to run.
		for _, m := range slices.Sorted(maps.Keys(o.Scores)) {
			s := o.Scores[m]
			elo, known := arenaBenchElo[m]
			if m == ref || !known {
				continue
			}
			y := 0.0
			if s < rs {
				y = 1
			}
			rows = append(rows, row{x: (arenaBenchElo[ref] - elo) / 100, y: y})
		}
	}
	if len(rows) < 100 {
		return GapModel{}, fmt.Errorf("fit gap model: only %d judgements", len(rows))
	}
	// Two parameters: Newton's method converges in a few steps.
	var a, b float64
	for it := 0; it < 50; it++ {
		var ga, gb, haa, hab, hbb float64
		for _, r := range rows {
			p := sigmoid(a + b*r.x)
			ga += p - r.y
			gb += (p - r.y) * r.x
			w := p * (1 - p)
			haa += w
			hab += w * r.x
			hbb += w * r.x * r.x
		}
		det := haa*hbb - hab*hab
		if det == 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a, b = a-da, b-db
		if math.Abs(da)+math.Abs(db) < 1e-10 {
			break
		}
	}
	return GapModel{RefGap: outcomesRefGap, Slope: b,
		Source: fmt.Sprintf("Arena-Bench v1: %d GPT-4 judgements of 13 models against gpt-4-1106-preview, LMArena 2024-12-31 Elo", len(rows))}, nil
}
