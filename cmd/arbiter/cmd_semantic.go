package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/arbiterhq/arbiter/internal/embed"
	"github.com/arbiterhq/arbiter/internal/semantic"
)

// cmdEvalCache measures the semantic cache on labelled pairs:
// arbiter eval cache --pairs FILE.jsonl --out DECISIONS.jsonl [--model-dir DIR].
func cmdEvalCache(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pairsPath := fs.String("pairs", "", "labelled pairs, one JSON object a line: {\"a\",\"b\",\"duplicate\",\"source\"}")
	outPath := fs.String("out", "", "where to write one decision a line: {\"i\",\"similarity\",\"hit\"} (\"-\": stdout)")
	modelDir := fs.String("model-dir", embed.DefaultModelDir(), "USE lite model directory (scripts/fetch-model.sh); the static embedder is used when it holds no model")
	holdout := fs.Bool("holdout", false, "for the development file: also score the pairs `arbiter train cache` held out")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: arbiter eval cache --pairs FILE.jsonl --out DECISIONS.jsonl [--model-dir DIR] [--holdout]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pairsPath == "" || *outPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("eval cache: --pairs and --out are required")
	}
	pairs, err := semantic.ReadPairsFile(*pairsPath)
	if err != nil {
		return err
	}
	e, kind, err := embed.Default(*modelDir)
	if err != nil {
		return err
	}
	if kind == embed.KindUSE {
		fmt.Fprintf(stdout, "embedder: full USE lite model from %s\n", *modelDir)
	} else {
		fmt.Fprintf(stdout, "embedder: static per-piece table built into the binary (no model in %q; run scripts/fetch-model.sh for the full model)\n", *modelDir)
	}
	var out io.Writer = stdout
	if *outPath != "-" {
		f, err := os.Create(*outPath)
		if err != nil {
			return fmt.Errorf("eval cache: %w", err)
		}
		defer f.Close()
		out = f
	}
	eo := semantic.EvalOptions{Embedder: e, Kind: kind, Decisions: out, Progress: stderr}
	if *holdout {
		eo.Holdout = semantic.HoldoutMask(pairs, semantic.DefaultTrainOptions())
	}
	res, err := semantic.Evaluate(ctx, pairs, eo)
	if err != nil {
		return err
	}
	if f, ok := out.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return fmt.Errorf("eval cache: writing %s: %w", *outPath, err)
		}
	}
	semantic.WriteEvalSummary(stdout, res)
	return nil
}

// cmdTrainCache trains the semantic cache's verifier:
// arbiter train cache --pairs pairs-dev.jsonl --out internal/semantic/verifier.json.
func cmdTrainCache(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pairsPath := fs.String("pairs", "", "labelled pairs (pairs-dev.jsonl)")
	outPath := fs.String("out", "internal/semantic/verifier.json", "where to write the verifier (embedded at build time)")
	modelDir := fs.String("model-dir", embed.DefaultModelDir(), "USE lite model directory; without it only the static verifier is trained")
	seed := fs.Uint64("seed", semantic.DefaultTrainOptions().Seed, "seed of the held-out split and folds")
	sweep := fs.Bool("sweep", false, "also print precision and recall at a range of thresholds (cross-validated and held out)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: arbiter train cache --pairs FILE.jsonl [--out internal/semantic/verifier.json] [--model-dir DIR] [--seed N] [--sweep]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pairsPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("train cache: --pairs is required")
	}
	pairs, err := semantic.ReadPairsFile(*pairsPath)
	if err != nil {
		return err
	}
	static, err := embed.Static()
	if err != nil {
		return err
	}
	var full embed.Embedder
	if e, kind, err := embed.Default(*modelDir); err != nil {
		return err
	} else if kind == embed.KindUSE {
		full = e
	} else {
		fmt.Fprintf(stderr, "train cache: no USE model in %q: training the static verifier only\n", *modelDir)
	}
	o := semantic.DefaultTrainOptions()
	o.Seed = *seed
	if *sweep {
		o.Sweep = func(kind string, t float64, cv, held []semantic.Metrics) {
			if t < 0.5 {
				return
			}
			fmt.Fprintf(stdout, "sweep %s %.2f cv %s| held-out %s\n", kind, t, sweepLine(cv), sweepLine(held))
		}
	}
	vf, err := semantic.TrainAll(ctx, pairs, full, static, o, stderr)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(vf, "", " ")
	if err != nil {
		return fmt.Errorf("train cache: %w", err)
	}
	if err := os.WriteFile(*outPath, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("train cache: %w", err)
	}
	for i := range vf.Models {
		semantic.WriteTrainSummary(stdout, &vf.Models[i])
	}
	fmt.Fprintf(stdout, "wrote %s\n", *outPath)
	return nil
}

// sweepLine is one side of a --sweep line: QQP and MRPC precision and recall,
// and the false-hit rate of the sources without duplicates.
func sweepLine(ms []semantic.Metrics) string {
	var b strings.Builder
	for _, m := range ms {
		switch {
		case m.Source == "all":
		case m.Actual > 0:
			fmt.Fprintf(&b, "%s P %.3f R %.3f ", m.Source, m.Precision(), m.Recall())
		default:
			fmt.Fprintf(&b, "%s FH %.4f ", m.Source, m.FalseHitRate())
		}
	}
	return b.String()
}
