package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/router"
)

// cmdEvalRouter scores an outcomes file with the router and prints RouteLLM's metrics:
// arbiter eval router --outcomes FILE.jsonl --weak W --strong S --out SCORES.jsonl.
func cmdEvalRouter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outcomes := fs.String("outcomes", "", "outcomes file (JSON lines: id, source, prompt, scores per model)")
	weak := fs.String("weak", "mixtral-8x7b-instruct", "weak model's name in the outcomes' scores")
	strong := fs.String("strong", "gpt-4-1106-preview", "strong model's name in the outcomes' scores")
	out := fs.String("out", "", "write one {\"id\", \"strong_score\"} line per prompt here")
	weights := fs.String("weights", "", "router weights file (default: the weights built into the binary)")
	baselines := fs.Bool("baselines", true, "also print the article's rule and word count as baselines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *outcomes == "" {
		return fmt.Errorf("--outcomes is required")
	}
	pred, err := loadPredictor(*weights)
	if err != nil {
		return err
	}
	outs, err := router.ReadOutcomesFile(*outcomes)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := router.Evaluate(outs, *weak, *strong, router.PredictorScore(pred))
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if res.Unscored > 0 {
		fmt.Fprintf(stderr, "warning: %d prompts lack a score for %s or %s: scored, but left out of the metrics\n", res.Unscored, *weak, *strong)
	}
	if *out != "" {
		if err := writeScoresFile(*out, outs, res.Scores); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "weights: %s\n", pred.Weights().Trained)
	router.FormatMetrics(stdout, fmt.Sprintf("router (%d prompts scored in %v; weak call = 1/20 of a strong one)", len(outs), elapsed.Round(time.Millisecond)), res.Metrics)
	writeCalibration(stdout, pred, outs, res.Scores, *weak, *strong)
	if *baselines {
		for _, b := range []struct {
			name  string
			score router.ScoreFunc
		}{{"article rule (word count > 50/200, keywords analyze, debug, architecture, refactor, optimize)", router.ArticleRuleScore}, {"word count", router.WordCountScore}} {
			r, err := router.Evaluate(outs, *weak, *strong, b.score)
			if err != nil {
				return err
			}
			router.FormatMetrics(stdout, "baseline: "+b.name, r.Metrics)
		}
	}
	return ctx.Err()
}

// writeCalibration prints whether the predictor's calibrated P(strong strictly
// better) matches what happened, per source group and binned over all prompts: the
// probability the router's quality targets are read against.
func writeCalibration(w io.Writer, pred *router.Predictor, outs []router.Outcome, scores []float64, weak, strong string) {
	var ps, ys []float64
	byGroup := map[string][2][]float64{}
	var groups []string
	for i := range outs {
		ws, ok1 := outs[i].Scores[weak]
		ss, ok2 := outs[i].Scores[strong]
		if !ok1 || !ok2 {
			continue
		}
		p, y := pred.StrongNeed(scores[i]), 0.0
		if ss > ws {
			y = 1
		}
		ps, ys = append(ps, p), append(ys, y)
		g := outs[i].Group()
		if _, seen := byGroup[g]; !seen {
			groups = append(groups, g)
		}
		byGroup[g] = [2][]float64{append(byGroup[g][0], p), append(byGroup[g][1], y)}
	}
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "calibration of P(%s strictly better than %s), the probability quality targets are read against\n", strong, weak)
	fmt.Fprintf(w, "  %-12s %6s %10s %9s %7s %7s\n", "group", "n", "predicted", "observed", "ECE", "Brier")
	for _, g := range groups {
		r := router.MeasureReliability(byGroup[g][0], byGroup[g][1], 10)
		fmt.Fprintf(w, "  %-12s %6d %10.3f %9.3f %7.3f %7.3f\n", g, len(byGroup[g][0]), mean(byGroup[g][0]), mean(byGroup[g][1]), r.ECE, r.Brier)
	}
	r := router.MeasureReliability(ps, ys, 10)
	fmt.Fprintf(w, "  %-12s %6d %10.3f %9.3f %7.3f %7.3f\n", "all", len(ps), mean(ps), mean(ys), r.ECE, r.Brier)
	fmt.Fprintf(w, "  all prompts in equal-count bins of the prediction:\n")
	for _, b := range r.Bins {
		fmt.Fprintf(w, "    predicted %.3f–%.3f  n %5d  mean predicted %.3f  observed %.3f\n", b.Lo, b.Hi, b.N, b.Predicted, b.Observed)
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(1, len(xs)))
}

func writeScoresFile(path string, outs []router.Outcome, scores []float64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	if err := router.WriteScores(f, outs, scores); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func loadPredictor(path string) (*router.Predictor, error) {
	if path == "" {
		return router.DefaultPredictor()
	}
	return router.LoadPredictor(path)
}

// cmdTrainRouter trains the router's predictor and writes its weights:
// arbiter train router --outcomes outcomes-dev.jsonl --extra DIR --out internal/router/weights.json.
func cmdTrainRouter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outcomes := fs.String("outcomes", "", "development outcomes file (outcomes-dev.jsonl)")
	extra := fs.String("extra", "", "directory with Arena-Bench v1 judgements (router/extra), for the quality-gap model")
	out := fs.String("out", "internal/router/weights.json", "where to write the weights")
	all := fs.Bool("all", false, "train on all the outcomes instead of the training half (no held-out report)")
	def := router.DefaultTrainConfig()
	features := fs.String("features", strings.Join(def.Features, ","), "dense features for free-form prompts (comma-separated; see docs/router.md)")
	mcFeatures := fs.String("mc-features", strings.Join(def.MCFeatures, ","), "dense features for multiple-choice prompts")
	hashDim := fs.Int("hash-dim", def.HashDim, "hashed word buckets (0: none)")
	l2Hash := fs.Float64("l2-hash", def.L2Hash, "L2 penalty on hashed-word weights")
	l2Dense := fs.Float64("l2-dense", def.L2Dense, "L2 penalty on dense-feature weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *outcomes == "" || *extra == "" {
		return fmt.Errorf("--outcomes and --extra are required")
	}
	outs, err := router.ReadOutcomesFile(*outcomes)
	if err != nil {
		return err
	}
	arena, err := router.ReadArenaBench(*extra)
	if err != nil {
		return err
	}
	gap, err := router.FitGap(arena)
	if err != nil {
		return err
	}
	cfg := def
	cfg.AllData = *all
	cfg.Features, cfg.MCFeatures = splitList(*features), splitList(*mcFeatures)
	cfg.HashDim, cfg.L2Hash, cfg.L2Dense = *hashDim, *l2Hash, *l2Dense
	w, rep, err := router.Train(ctx, outs, gap, cfg)
	if err != nil {
		return err
	}
	split := "the training half (router.HalfSplit: MMLU subjects at even positions by name, other prompts with an even FNV-1a hash of their id)"
	if *all {
		split = "all prompts"
	}
	w.Trained = fmt.Sprintf("arbiter train router --outcomes %s --extra %s%s; trained on %s of %s: %d prompts",
		filepath.Base(*outcomes), filepath.Base(filepath.Clean(*extra)), map[bool]string{true: " --all", false: ""}[*all], split, filepath.Base(*outcomes), rep.TrainN)
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode weights: %w", err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write weights: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes): %d training prompts, gap slope %.3f log-odds per 100 Elo\n", *out, len(b), rep.TrainN, gap.Slope)
	router.FormatMetrics(stdout, fmt.Sprintf("grouped %d-fold cross-validation on the training prompts (MMLU folds by subject; metrics per fold, averaged)", cfg.Folds), rep.CV)
	if len(rep.Heldout) > 0 {
		router.FormatMetrics(stdout, fmt.Sprintf("held-out half (%d prompts the weights never saw)", rep.HeldoutN), rep.Heldout)
		router.FormatMetrics(stdout, "baseline on the held-out half: article rule", rep.HeldoutArticle)
		router.FormatMetrics(stdout, "baseline on the held-out half: word count", rep.HeldoutWords)
	}
	for i, r := range rep.CrossCalibration {
		fmt.Fprintf(stdout, "calibration fitted on the %s, checked on the %s: ECE %.3f, Brier %.3f\n",
			[]string{"training half (out of fold)", "held-out half"}[i], []string{"held-out half", "training half"}[i], r.ECE, r.Brier)
	}
	if len(rep.CrossCalibration) > 0 {
		fmt.Fprintln(stdout, "the shipped calibration is fitted on both halves' out-of-sample scores")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// candidateSource lists the candidates for a request; the gateway's comes from the
// catalog and the executor's health view.
type candidateSource func(ctx context.Context, req router.Request) ([]router.Candidate, error)

// cmdRoute prints the router's decision for a prompt without sending it, using every
// deployment in the embedded catalog as a healthy candidate:
// arbiter route --explain [--route auto] "prompt".
func cmdRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cmdRouteWith(ctx, args, stdout, stderr, catalogCandidates)
}

// cmdRouteWith is cmdRoute with the candidates supplied by the caller.
func cmdRouteWith(ctx context.Context, args []string, stdout, stderr io.Writer, cands candidateSource) error {
	fs := flag.NewFlagSet("route", flag.ContinueOnError)
	fs.SetOutput(stderr)
	explain := fs.Bool("explain", false, "print the decision and every candidate considered")
	routeName := fs.String("route", router.RouteAuto, "route: auto, auto:cheap, auto:balanced, auto:best")
	target := fs.Float64("target", 0, "override the route's quality target (0..1)")
	baseline := fs.String("baseline", "", "reference model (default: the route's, else the best candidate)")
	maxTokens := fs.Int("max-tokens", 512, "the request's max_tokens, for prices and context windows")
	inTokens := fs.Int("input-tokens", 0, "estimated prompt tokens (default: characters / 4)")
	tools := fs.Bool("tools", false, "the request uses tools")
	vision := fs.Bool("vision", false, "the request has images")
	schema := fs.Bool("json-schema", false, "the request asks for JSON-schema output")
	weights := fs.String("weights", "", "router weights file (default: built in)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: arbiter route --explain [flags] "prompt"`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one prompt argument")
	}
	routes := router.DefaultRoutes()
	route, ok := routes[*routeName]
	if !ok {
		return fmt.Errorf("unknown route %q (built in: auto, auto:cheap, auto:balanced, auto:best)", *routeName)
	}
	if *target > 0 {
		route.QualityTarget = *target
	}
	if *baseline != "" {
		route.Baseline = *baseline
	}
	pred, err := loadPredictor(*weights)
	if err != nil {
		return err
	}
	text := fs.Arg(0)
	req := router.Request{
		Prompt:          router.Prompt{Text: text, Turns: 1},
		InputTokens:     *inTokens,
		MaxOutputTokens: *maxTokens,
		Needs:           router.Needs{Tools: *tools, Vision: *vision, JSONSchema: *schema},
	}
	if req.InputTokens == 0 {
		req.InputTokens = len(text)/4 + 1
	}
	cs, err := cands(ctx, req)
	if err != nil {
		return err
	}
	d, err := router.New(pred).Decide(req, route, cs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "route %s → %s on %s (%s), predicted %.3f as good as %s\n", d.Route, d.Chosen.Model, d.Chosen.Provider, d.Chosen.EstCost, d.Predicted, d.Reference)
	fmt.Fprintf(stdout, "reason: %s\n", d.Reason)
	fmt.Fprintf(stdout, "strong-need score %.3f (P(%s beats %s) = %.3f)\n", d.Score, pred.Weights().Strong, pred.Weights().Weak, pred.StrongNeed(d.Score))
	for i, c := range d.Fallbacks {
		fmt.Fprintf(stdout, "fallback %d: %s on %s (%s)\n", i+1, c.Model, c.Provider, c.EstCost)
	}
	if *explain {
		fmt.Fprintf(stdout, "\n%-34s %-12s %8s %12s %12s  %s\n", "model", "provider", "quality", "est. cost", "P(as good)", "")
		for _, c := range d.Considered {
			note := c.Rejected
			if note == "" && c.Predicted >= route.QualityTarget {
				note = "meets target"
			}
			fmt.Fprintf(stdout, "%-34s %-12s %8.3f %12s %12.3f  %s\n", c.Model, c.Provider, c.Quality, c.EstCost, c.Predicted, note)
		}
	}
	return nil
}

// catalogCandidates offers every deployment in the embedded catalog as a healthy
// candidate, priced for the request's estimated tokens.
func catalogCandidates(_ context.Context, req router.Request) ([]router.Candidate, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	var out []router.Candidate
	for _, m := range cat.Models() {
		for _, d := range m.Deployments {
			var meter money.Meter
			meter.Add(int64(req.InputTokens), d.Prices.Input)
			meter.Add(int64(req.MaxOutputTokens), d.Prices.Output)
			out = append(out, router.Candidate{
				Model:         m.ID,
				Provider:      d.Provider,
				Quality:       m.Quality.Score,
				EstCost:       meter.Total(),
				ContextWindow: m.ContextWindow,
				Caps: router.Caps{
					Tools:      m.Has(catalog.Tools),
					Vision:     m.Has(catalog.Vision),
					JSONSchema: m.Has(catalog.JSONSchema),
				},
				Healthy: true,
			})
		}
	}
	return out, nil
}
