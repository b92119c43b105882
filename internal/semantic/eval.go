package semantic

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/embed"
	"github.com/arbiterhq/arbiter/internal/llm"
)

// EvalOptions configure Evaluate.
type EvalOptions struct {
	Embedder embed.Embedder // the full model (or the static one when Kind is static)
	Kind     string
	Static   embed.Embedder // nil: embed.Static()
	// Decisions receives one JSON line per pair, in order (nil: none).
	Decisions io.Writer
	// Progress receives a line now and then (nil: none).
	Progress io.Writer
	// Holdout, when set, also scores the pairs it marks (see HoldoutMask).
	Holdout []bool
}

// EvalResult summarises an evaluation.
type EvalResult struct {
	Kind      string
	Threshold float64
	Pairs     int
	Texts     int // distinct texts embedded
	Metrics   []Metrics
	// HoldoutMetrics score only the pairs EvalOptions.Holdout marks.
	HoldoutMetrics []Metrics
	// EmbedTime is the wall time of embedding every distinct text in batches;
	// LookupTime the total time of the Store and Lookup calls after that
	// (embeddings served from the batch); Lookups their count.
	EmbedTime, LookupTime time.Duration
	LookupP50, LookupP99  time.Duration
	Lookups               int
	Wall                  time.Duration
}

// decisionLine is the output format of `arbiter eval cache`.
type decisionLine struct {
	I          int     `json:"i"`
	Similarity float64 `json:"similarity"`
	Hit        bool    `json:"hit"`
}

// Evaluate runs every pair through a Cache with the default configuration: it
// stores A as the answer of a single-user-turn request (tenant "eval", model
// "eval-model"), looks up B in the same scope, records the decision and removes
// the entry again so that pairs do not see each other. The texts are embedded
// up front in batches on all cores; the Cache then gets them from that batch
// through its ordinary Embedder interface, so the decisions are exactly the
// ones the gateway's path makes.
func Evaluate(ctx context.Context, pairs []Pair, o EvalOptions) (*EvalResult, error) {
	start := time.Now()
	if o.Static == nil && o.Kind != embed.KindStatic {
		st, err := embed.Static()
		if err != nil {
			return nil, fmt.Errorf("semantic: eval: %w", err)
		}
		o.Static = st
	}
	texts, _ := distinctTexts(pairs)
	res := &EvalResult{Kind: o.Kind, Pairs: len(pairs), Texts: len(texts)}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	progress("embedding %d distinct texts with %s…", len(texts), o.Kind)
	t0 := time.Now()
	full, err := embedAll(ctx, o.Embedder, texts)
	if err != nil {
		return nil, err
	}
	memoFull := newMemoEmbedder(o.Embedder, texts, full)
	var memoStatic embed.Embedder
	if o.Static != nil {
		sv, err := embedAll(ctx, o.Static, texts)
		if err != nil {
			return nil, err
		}
		memoStatic = newMemoEmbedder(o.Static, texts, sv)
	}
	res.EmbedTime = time.Since(t0)
	progress("embedded in %s", res.EmbedTime.Round(time.Millisecond))

	c, err := New(Options{Embedder: memoFull, Kind: o.Kind, Static: memoStatic, MaxBytes: 1 << 30})
	if err != nil {
		return nil, err
	}
	res.Threshold = c.Verifier().Model().Threshold
	var w *bufio.Writer
	if o.Decisions != nil {
		w = bufio.NewWriter(o.Decisions)
	}
	hits := make([]bool, len(pairs))
	durs := make([]time.Duration, 0, len(pairs))
	for i, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		req := &llm.Request{Model: "eval-model", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, p.A)}}
		sc, err := cache.PrefixKey("eval", req)
		if err != nil {
			return nil, fmt.Errorf("semantic: eval: pair %d: %w", i, err)
		}
		key, err := cache.KeyFor("eval", req)
		if err != nil {
			return nil, fmt.Errorf("semantic: eval: pair %d: %w", i, err)
		}
		e := &cache.Entry{
			Response: &llm.Response{Model: "eval-model", Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "answer to pair "+fmt.Sprint(i))}}},
			Model:    "eval-model",
			Provider: "eval",
		}
		t := time.Now()
		if err := c.Store(ctx, sc, p.A, key, e, time.Hour); err != nil {
			return nil, fmt.Errorf("semantic: eval: pair %d: %w", i, err)
		}
		d, err := c.Explain(ctx, sc, p.B, 0)
		if err != nil {
			return nil, fmt.Errorf("semantic: eval: pair %d: %w", i, err)
		}
		durs = append(durs, time.Since(t))
		if _, err := c.Remove(ctx, key); err != nil {
			return nil, err
		}
		hits[i] = d.Hit != nil
		if w != nil {
			b, _ := json.Marshal(decisionLine{I: i, Similarity: round6(d.Similarity), Hit: hits[i]})
			w.Write(b)
			w.WriteByte('\n')
		}
		if (i+1)%10000 == 0 {
			progress("%d/%d pairs", i+1, len(pairs))
		}
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("semantic: eval: writing decisions: %w", err)
		}
	}
	for _, d := range durs {
		res.LookupTime += d
	}
	res.Lookups = len(durs)
	if len(durs) > 0 {
		sort.Slice(durs, func(a, b int) bool { return durs[a] < durs[b] })
		res.LookupP50 = durs[len(durs)/2]
		res.LookupP99 = durs[len(durs)*99/100]
	}
	res.Metrics = Score(pairs, hits, nil)
	if o.Holdout != nil {
		res.HoldoutMetrics = Score(pairs, hits, func(i int) bool { return i < len(o.Holdout) && o.Holdout[i] })
	}
	res.Wall = time.Since(start)
	return res, nil
}

func round6(x float64) float64 {
	return float64(int64(x*1e6+0.5*sign(x))) / 1e6
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// memoEmbedder serves precomputed vectors and embeds anything else with the
// underlying embedder. Read-only after construction.
type memoEmbedder struct {
	e    embed.Embedder
	vecs map[string][]float32
}

func newMemoEmbedder(e embed.Embedder, texts []string, vecs [][]float32) *memoEmbedder {
	m := &memoEmbedder{e: e, vecs: make(map[string][]float32, len(texts))}
	for i, t := range texts {
		m.vecs[t] = vecs[i]
	}
	return m
}

func (m *memoEmbedder) Dim() int { return m.e.Dim() }

func (m *memoEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, ok := m.vecs[t]
		if !ok {
			vs, err := m.e.Embed(ctx, []string{t})
			if err != nil {
				return nil, err
			}
			v = vs[0]
		}
		out[i] = v
	}
	return out, nil
}

// WriteEvalSummary prints the metrics and timings of an evaluation.
func WriteEvalSummary(w io.Writer, r *EvalResult) {
	fmt.Fprintf(w, "embedder: %s   operating point: verifier probability ≥ %.3f   pairs: %d\n", r.Kind, r.Threshold, r.Pairs)
	FormatMetrics(w, r.Metrics)
	if r.HoldoutMetrics != nil {
		fmt.Fprintln(w, "the part of the development file that training held out (never trained on):")
		FormatMetrics(w, r.HoldoutMetrics)
	}
	perText := time.Duration(0)
	if r.Texts > 0 {
		perText = r.EmbedTime / time.Duration(r.Texts)
	}
	perLookup := time.Duration(0)
	if r.Lookups > 0 {
		perLookup = r.LookupTime / time.Duration(r.Lookups)
	}
	fmt.Fprintf(w, "embedding: %d distinct texts in %s (batched, all cores; %s per text)\n", r.Texts, r.EmbedTime.Round(time.Millisecond), perText.Round(time.Microsecond))
	fmt.Fprintf(w, "store+lookup after embedding: mean %s, p50 %s, p99 %s per pair\n", perLookup.Round(time.Microsecond), r.LookupP50.Round(time.Microsecond), r.LookupP99.Round(time.Microsecond))
	fmt.Fprintf(w, "time per lookup including its share of embedding: %s; wall time %s\n", (perLookup + r.EmbedTime/time.Duration(max(1, r.Pairs))).Round(time.Microsecond), r.Wall.Round(time.Millisecond))
}
