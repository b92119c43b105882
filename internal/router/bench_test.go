package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/embed"
	"github.com/arbiterhq/arbiter/internal/money"
)

// benchPrompts are typical last user turns: a chat question, a multiple-choice
// question, a maths word problem, a pasted document with an instruction.
var benchPrompts = []string{
	"What's a good name for a golden retriever puppy?",
	"Which of the following best describes the role of the Federal Reserve?\nA. It sets fiscal policy\nB. It conducts monetary policy\nC. It collects taxes\nD. It writes laws\nAnswer:",
	"A bakery sells 48 muffins in the morning and three times as many in the afternoon. If each muffin costs $2.50 and a quarter of the afternoon sales were discounted by 20%, how much money did the bakery make?",
	"Summarise the following report and list its three main risks.\n\n" + strings.Repeat("The quarterly figures show steady growth in the core business, while the new division is still loss-making and depends on one large customer. ", 60),
}

// benchCandidates is a catalog-sized list: 40 models on one to four providers.
func benchCandidates() []Candidate {
	var cs []Candidate
	providers := []string{"openai", "groq", "together", "fireworks"}
	for m := 0; m < 40; m++ {
		for p := 0; p <= m%4; p++ {
			cs = append(cs, Candidate{
				Model: fmt.Sprintf("model-%02d", m), Provider: providers[p],
				Quality: 0.3 + 0.6*float64(m)/40, EstCost: money.USD(1000 * (m + 1) * (p + 2)),
				ContextWindow: 128000, Caps: Caps{Tools: true, JSONSchema: true, Vision: m%2 == 0},
				Healthy: true, LatencyP50: time.Duration(200+50*p) * time.Millisecond, ErrorRate: 0.01 * float64(p),
			})
		}
	}
	return cs
}

// reportPercentiles records p50 and p99 of the per-decision durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkDecide times one routing decision (features, prediction for every
// candidate, choice and plan) without the embedding.
func BenchmarkDecide(b *testing.B) {
	p, err := DefaultPredictor()
	if err != nil {
		b.Fatal(err)
	}
	r := New(p)
	cs := benchCandidates()
	route := DefaultRoutes()[RouteAuto]
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := Request{Prompt: Prompt{Text: benchPrompts[i%len(benchPrompts)], Turns: 1}, InputTokens: 500, MaxOutputTokens: 500}
		start := time.Now()
		if _, err := r.Decide(req, route, cs); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}

// BenchmarkDecideWithStaticEmbedding adds the static embedder's sentence vector of the
// last turn, as the gateway computes it for the semantic cache, to each decision.
func BenchmarkDecideWithStaticEmbedding(b *testing.B) {
	p, err := DefaultPredictor()
	if err != nil {
		b.Fatal(err)
	}
	e, err := embed.Static()
	if err != nil {
		b.Skipf("static embedder unavailable: %v", err)
	}
	r := New(p)
	cs := benchCandidates()
	route := DefaultRoutes()[RouteAuto]
	ctx := context.Background()
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		text := benchPrompts[i%len(benchPrompts)]
		start := time.Now()
		v, err := e.Embed(ctx, []string{text})
		if err != nil {
			b.Fatal(err)
		}
		req := Request{Prompt: Prompt{Text: text, Turns: 1}, Embedding: v[0], InputTokens: 500, MaxOutputTokens: 500}
		if _, err := r.Decide(req, route, cs); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}
