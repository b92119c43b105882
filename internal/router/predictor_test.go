package router

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestIsotonicIsMonotoneAndMatchesBlockRates(t *testing.T) {
	// Scores 0..99; y = 1 for score ≥ 50 except two flipped labels.
	var s, y, w []float64
	for i := 0; i < 100; i++ {
		s = append(s, float64(i))
		v := 0.0
		if i >= 50 {
			v = 1
		}
		if i == 10 || i == 90 {
			v = 1 - v
		}
		y, w = append(y, v), append(w, 1)
	}
	c := fitIsotonic(s, y, w, 10)
	for i := 1; i < len(c.Y); i++ {
		if c.Y[i] < c.Y[i-1] {
			t.Fatalf("calibration decreases: %v", c.Y)
		}
	}
	if p := c.Apply(-5); p > 0.15 {
		t.Errorf("P(low score) = %v, want about 0.1", p)
	}
	if p := c.Apply(200); p < 0.85 {
		t.Errorf("P(high score) = %v, want about 0.9", p)
	}
	var mean float64
	for _, v := range s {
		mean += c.Apply(v)
	}
	if mean /= 100; math.Abs(mean-0.5) > 0.05 {
		t.Errorf("mean calibrated probability %v, want the base rate 0.5", mean)
	}
}

func TestDefaultWeightsLoadAndScore(t *testing.T) {
	p, err := DefaultPredictor()
	if err != nil {
		t.Fatal(err)
	}
	w := p.Weights()
	if w.Weak == "" || w.Strong == "" || w.Trained == "" || len(w.Heldout) == 0 {
		t.Errorf("weights lack provenance: weak %q strong %q trained %q heldout %d", w.Weak, w.Strong, w.Trained, len(w.Heldout))
	}
	for _, text := range []string{"", "hi", strings.Repeat("A long maths word problem with 3 numbers and 4 steps. ", 40), "Which is right?\nA. x\nB. y\nC. z\nD. w\nAnswer:"} {
		s := p.Score(Prompt{Text: text, Turns: 1}, nil)
		q := p.StrongNeed(s)
		if math.IsNaN(s) || q < 0 || q > 1 {
			t.Errorf("Score(%.20q) = %v, StrongNeed %v", text, s, q)
		}
		if s2 := p.Score(Prompt{Text: text, Turns: 1}, nil); s2 != s {
			t.Errorf("Score is not deterministic: %v then %v", s, s2)
		}
	}
}

func TestAsGoodFallsAsTheGapGrows(t *testing.T) {
	p, err := DefaultPredictor()
	if err != nil {
		t.Fatal(err)
	}
	s := p.Score(Prompt{Text: "Explain how a transformer's attention works, with the maths.", Turns: 1}, nil)
	prev := 1.0
	for _, gap := range []float64{0, -20, -80, -136, -250, -400} {
		got := p.AsGood(s, gap)
		if got > prev {
			t.Errorf("AsGood(gap %v) = %v rises above %v", gap, got, prev)
		}
		prev = got
	}
	// At the trained pair's gap it is the calibrated prediction itself.
	if got, want := p.AsGood(s, outcomesRefGap), 1-p.StrongNeed(s); math.Abs(got-want) > 1e-3 {
		t.Errorf("AsGood at the trained gap = %v, want 1 − StrongNeed = %v", got, want)
	}
}

func TestParseWeightsRejectsBrokenFiles(t *testing.T) {
	good, err := DefaultPredictor()
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Weights){
		"short dense":     func(w *Weights) { w.Model.Dense = w.Model.Dense[:3] },
		"no calibration":  func(w *Weights) { w.Calibration = Isotonic{} },
		"unknown feature": func(w *Weights) { w.Features = []string{"vibes"} },
		"zero scale":      func(w *Weights) { w.Model.Std = make([]float32, len(w.Model.Std)) },
	} {
		t.Run(name, func(t *testing.T) {
			w := good.Weights()
			w.Model.Dense = append([]float32(nil), w.Model.Dense...)
			mutate(&w)
			b, _ := json.Marshal(w)
			if _, err := ParseWeights(b); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestFeaturesSeeFormatAndShape(t *testing.T) {
	mc := "Which of the following is NOT a prime?\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer:"
	d := make([]float32, NumDense)
	denseFeatures(Prompt{Text: mc, Turns: 1}, d, nil)
	get := func(name string) float32 {
		for i, n := range featureNames {
			if n == name {
				return d[i]
			}
		}
		t.Fatalf("no feature %s", name)
		return 0
	}
	if !isMultipleChoiceText(mc) || get("mc_options") != 1 {
		t.Errorf("four options not seen: mc_options = %v", get("mc_options"))
	}
	if get("numeric_options") != 1 || get("negation") == 0 {
		t.Errorf("numeric_options %v, negation %v", get("numeric_options"), get("negation"))
	}
	denseFeatures(Prompt{Text: "Tom has 3 apples and buys 2.5 more. How many does he have?", Turns: 1}, d, nil)
	if get("mc_options") != 0 || get("log_numbers") == 0 || get("decimal_or_fraction") != 1 || get("q_how_many_much") != 1 {
		t.Errorf("word problem features wrong: %v", d)
	}
}

func TestHashedTokensAreUniqueAndCaseFolded(t *testing.T) {
	got := hashedTokens("Cat cat CAT dog a 42", 1024, nil)
	if len(got) != 2 {
		t.Errorf("buckets %v, want 2 (cat, dog; single letters and numbers skipped)", got)
	}
}

// synthetic outcomes: the strong model is needed exactly on long prompts.
func synthetic(n int) []Outcome {
	var out []Outcome
	for i := 0; i < n; i++ {
		words := 5 + (i*37)%200
		long := words > 100
		w, s := 1.0, 1.0
		if long {
			w = 0
		}
		src := "gsm8k"
		if i%2 == 0 {
			src = fmt.Sprintf("mmlu/s%d", i%10)
		}
		text := strings.Repeat("word ", words)
		if strings.HasPrefix(src, "mmlu") {
			text += "\nA. x\nB. y\nC. z\nD. w\nAnswer:"
		}
		out = append(out, Outcome{ID: fmt.Sprint("p", i), Source: src, Prompt: text,
			Scores: map[string]float64{"weak": w, "strong": s}})
	}
	return out
}

func TestTrainLearnsASignalAndIsDeterministic(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.Weak, cfg.Strong = "weak", "strong"
	cfg.Iters = 200
	outs := synthetic(400)
	w1, rep, err := Train(context.Background(), outs, GapModel{RefGap: -136, Slope: 1.7}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Compare with a perfect router on the same held-out prompts.
	var held []Outcome
	for i, in := range HalfSplit(outs) {
		if !in {
			held = append(held, outs[i])
		}
	}
	oracle, err := Evaluate(held, "weak", "strong", func(o *Outcome) float64 { return o.Scores["strong"] - o.Scores["weak"] })
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range rep.Heldout {
		if best := oracle.Metrics[i].APGR; m.APGR < best-0.01 {
			t.Errorf("held-out %s APGR %.3f on a learnable signal, a perfect router gets %.3f", m.Group, m.APGR, best)
		}
	}
	w2, _, err := Train(context.Background(), outs, GapModel{RefGap: -136, Slope: 1.7}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := json.Marshal(w1)
	b2, _ := json.Marshal(w2)
	if !bytes.Equal(b1, b2) {
		t.Error("two trainings on the same data differ")
	}
}

func TestEvaluateWritesOneScorePerPromptAndGroupsBySource(t *testing.T) {
	outs := synthetic(40)
	res, err := Evaluate(outs, "weak", "strong", WordCountScore)
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, m := range res.Metrics {
		groups = append(groups, m.Group)
	}
	if strings.Join(groups, ",") != "gsm8k,mmlu,all" {
		t.Errorf("groups %v, want gsm8k, mmlu, all", groups)
	}
	var buf bytes.Buffer
	if err := WriteScores(&buf, outs, res.Scores); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(outs) {
		t.Fatalf("%d lines, want %d", len(lines), len(outs))
	}
	var first struct {
		ID          string   `json:"id"`
		StrongScore *float64 `json:"strong_score"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.ID != "p0" || first.StrongScore == nil {
		t.Errorf("first line %s: want {\"id\":\"p0\",\"strong_score\":…}", lines[0])
	}
	if _, err := Evaluate(outs, "weak", "nobody", WordCountScore); err == nil {
		t.Error("no prompt scored for the strong model: want an error")
	}
	outs[0].Scores = map[string]float64{"weak": 1}
	res, err = Evaluate(outs, "weak", "strong", WordCountScore)
	if err != nil || res.Unscored != 1 || len(res.Scores) != len(outs) {
		t.Errorf("one prompt without a strong score: err %v, unscored %d, %d scores; want it scored but left out of the metrics", err, res.Unscored, len(res.Scores))
	}
}

func TestArticleRuleTiers(t *testing.T) {
	for _, tt := range []struct {
		text string
		want float64
	}{
		{"hello", 0},
		{"please debug this", 1},
		{"analyze and refactor", 2},
		{strings.Repeat("w ", 60), 1},
		{strings.Repeat("w ", 201), 2},
	} {
		if got := ArticleRuleScore(&Outcome{Prompt: tt.text}); got != tt.want {
			t.Errorf("ArticleRuleScore(%.20q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestBasicPassMatchesTheFullPass(t *testing.T) {
	texts := []string{"", "a", "3.14 is pi. Really? Yes!", "1,5.3 and 1./2 and 1,.5\n\nNext line.", "Ünïcödé wörds 中文 and 12.5%",
		"Which is it?\nA. 1.5\nB. 2\nC. x\nD. y\nAnswer:"}
	// Deterministic pseudo-random strings over a tricky alphabet.
	alphabet := []rune("ab Z9.,/?!\n中é-")
	x := uint32(1)
	for n := 0; n < 300; n++ {
		var sb strings.Builder
		for k := 0; k < n%40; k++ {
			x = x*1664525 + 1013904223
			sb.WriteRune(alphabet[int(x>>16)%len(alphabet)])
		}
		texts = append(texts, sb.String())
	}
	need := make([]bool, NumDense)
	for j, n := range featureNames {
		need[j] = basicFeatures[n]
	}
	full := make([]float32, NumDense)
	lean := make([]float32, NumDense)
	for _, text := range texts {
		denseFeatures(Prompt{Text: text, Turns: 1}, full, nil)
		denseFeatures(Prompt{Text: text, Turns: 1}, lean, need)
		for j, n := range featureNames {
			if need[j] && full[j] != lean[j] {
				t.Errorf("%q: %s = %v in the full pass, %v in the basic one", text, n, full[j], lean[j])
			}
		}
	}
}
