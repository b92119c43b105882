package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ScoreFunc gives a prompt's routing score: higher means more need for the strong model.
type ScoreFunc func(o *Outcome) float64

// PredictorScore scores outcomes with a predictor's raw score (text features only).
func PredictorScore(p *Predictor) ScoreFunc {
	return func(o *Outcome) float64 { return p.Score(Prompt{Text: o.Prompt, Turns: max(o.Turns, 1)}, nil) }
}

var articleKeywords = []string{"analyze", "debug", "architecture", "refactor", "optimize"}

// ArticleRuleScore is the seed article's rule as a score, the baseline to beat: tier
// 2 ("high") for more than 200 words or two keywords, 1 for more than 50 words or one
// keyword, else 0. The tier is the score, so ties within a tier are in random order.
func ArticleRuleScore(o *Outcome) float64 {
	words := len(strings.Fields(o.Prompt))
	lower := strings.ToLower(o.Prompt)
	hits := 0
	for _, k := range articleKeywords {
		if strings.Contains(lower, k) {
			hits++
		}
	}
	switch {
	case words > 200 || hits >= 2:
		return 2
	case words > 50 || hits >= 1:
		return 1
	}
	return 0
}

// WordCountScore ranks prompts by word count alone: the article rule without its tiers.
func WordCountScore(o *Outcome) float64 { return float64(len(strings.Fields(o.Prompt))) }

// EvalResult is one evaluation: the score of every prompt and the metrics per group.
type EvalResult struct {
	Scores  []float64
	Metrics []Metrics // per source group, then "all"
	// Unscored counts prompts without a score for the weak or the strong model: they
	// are scored by the router but left out of the metrics.
	Unscored int
}

// Evaluate scores every outcome with score and computes RouteLLM's metrics per source
// group (the part of the source before '/') and over all prompts.
func Evaluate(outs []Outcome, weak, strong string, score ScoreFunc) (*EvalResult, error) {
	res := &EvalResult{Scores: make([]float64, len(outs))}
	groups := map[string][]Scored{}
	var all []Scored
	for i := range outs {
		o := &outs[i]
		res.Scores[i] = score(o)
		w, s, err := pairScores(o, weak, strong)
		if err != nil {
			res.Unscored++
			continue
		}
		it := Scored{Score: res.Scores[i], Weak: w, Strong: s}
		groups[o.Group()] = append(groups[o.Group()], it)
		all = append(all, it)
	}
	if len(all) == 0 && len(outs) > 0 {
		return nil, fmt.Errorf("evaluate router: no prompt has scores for both %q and %q", weak, strong)
	}
	res.Metrics = measureAll(groups)
	if len(groups) > 1 {
		res.Metrics = append(res.Metrics, Measure("all", all))
	}
	return res, nil
}

// WriteScores writes one JSON line per prompt: {"id": ..., "strong_score": ...}.
func WriteScores(w io.Writer, outs []Outcome, scores []float64) error {
	bw := bufio.NewWriter(w)
	type line struct {
		ID          string  `json:"id"`
		StrongScore float64 `json:"strong_score"`
	}
	enc := json.NewEncoder(bw)
	for i := range outs {
		if err := enc.Encode(line{ID: outs[i].ID, StrongScore: scores[i]}); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	return nil
}

// FormatMetrics renders metrics as an aligned table.
func FormatMetrics(w io.Writer, title string, ms []Metrics) {
	fmt.Fprintf(w, "%s\n", title)
	fmt.Fprintf(w, "  %-12s %6s %7s %7s %6s %8s %8s %10s %12s\n", "group", "n", "weak", "strong", "APGR", "CPT(50%)", "CPT(80%)", "saved@95%", "strong@95%")
	for _, m := range ms {
		fmt.Fprintf(w, "  %-12s %6d %7.3f %7.3f %6.3f %7.1f%% %7.1f%% %9.1f%% %11.1f%%\n",
			m.Group, m.N, m.WeakQuality, m.StrongQuality, m.APGR, 100*m.CPT50, 100*m.CPT80, 100*m.Saved95, 100*m.StrongAt95)
	}
}
