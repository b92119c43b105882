// Package cost prices a response's token usage at a deployment's catalog prices, and
// compares it with what the baseline model would have cost for the same tokens.
//
// All arithmetic is in integer nanodollars through money.Meter: tokens × price per
// million tokens are summed exactly and divided by a million once, so a total is never
// off by accumulated rounding.
package cost

import (
	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// Breakdown is the cost of one usage by token class. Each part is rounded to the
// nanodollar on its own for display; Total is rounded once from the exact sum, so it
// may differ from the sum of the parts by a few nanodollars. Total is what is billed.
type Breakdown struct {
	Input       money.USD // uncached prompt tokens: InputTokens − CachedInputTokens − CacheWriteTokens
	CachedInput money.USD // prompt tokens read from the prompt cache
	CacheWrite  money.USD // prompt tokens written to the prompt cache
	Output      money.USD // completion tokens other than reasoning
	Reasoning   money.USD // reasoning tokens
	Total       money.USD
	Estimated   bool // the usage was counted by Arbiter, not reported by the provider
}

// tokens splits a usage into disjoint classes. Usage follows OpenAI's convention (input
// includes cache reads and writes, output includes reasoning); a provider that reports
// more cached or reasoning tokens than the totals has those classes win and the
// remainder clamp at zero, so no class is ever billed a negative count.
type tokens struct{ uncached, cached, written, output, reasoning int64 }

func split(u llm.Usage) tokens {
	nonneg := func(n int) int64 { return int64(max(n, 0)) }
	t := tokens{cached: nonneg(u.CachedInputTokens), written: nonneg(u.CacheWriteTokens), reasoning: nonneg(u.ReasoningTokens)}
	t.uncached = max(nonneg(u.InputTokens)-t.cached-t.written, 0)
	t.output = max(nonneg(u.OutputTokens)-t.reasoning, 0)
	return t
}

// Of prices u at p (at its long-context tier when the prompt exceeds its threshold).
// Cache reads are billed at the cached-input price, or as input where
// the deployment has no prompt cache; cache writes at the cache-write price, or as input;
// reasoning tokens at the reasoning price where it differs, else as output.
func Of(p catalog.Prices, u llm.Usage) Breakdown {
	p = p.At(u.InputTokens)
	t := split(u)
	part := func(n int64, price money.PerMTok) money.USD {
		var m money.Meter
		m.Add(n, price)
		return m.Total()
	}
	var total money.Meter
	total.Add(t.uncached, p.Input)
	total.Add(t.cached, p.EffectiveCachedInput())
	total.Add(t.written, p.EffectiveCacheWrite())
	total.Add(t.output, p.Output)
	total.Add(t.reasoning, p.EffectiveReasoning())
	return Breakdown{
		Input:       part(t.uncached, p.Input),
		CachedInput: part(t.cached, p.EffectiveCachedInput()),
		CacheWrite:  part(t.written, p.EffectiveCacheWrite()),
		Output:      part(t.output, p.Output),
		Reasoning:   part(t.reasoning, p.EffectiveReasoning()),
		Total:       total.Total(),
		Estimated:   u.Estimated,
	}
}

// Total is Of(p, u).Total.
func Total(p catalog.Prices, u llm.Usage) money.USD { return Of(p, u).Total }

// Embedding is the cost of embedding n input tokens at p (a semantic cache lookup
// through a paid embedding API; a local embedder costs nothing).
func Embedding(p catalog.Prices, n int) money.USD {
	return Total(p, llm.Usage{InputTokens: n})
}
