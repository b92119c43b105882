// Package synth generates plausible synthetic ledger records, for benchmarks, the
// shared store tests and `arbiter ledger-bench`. The prices in it are illustrative,
// not the catalog's.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

type model struct {
	name      string
	providers []string
	in, out   money.PerMTok // per million tokens
	reasoning bool
	weight    float64
}

func models() []model {
	p := money.PerMillion
	return []model{
		{"gpt-4o", []string{"openai", "azure-eastus"}, p(2.5), p(10), false, 8},
		{"gpt-4o-mini", []string{"openai", "azure-eastus"}, p(0.15), p(0.6), false, 25},
		{"o3-mini", []string{"openai"}, p(1.1), p(4.4), true, 4},
		{"claude-sonnet-4", []string{"anthropic", "bedrock-us"}, p(3), p(15), false, 8},
		{"claude-3-5-haiku", []string{"anthropic"}, p(0.8), p(4), false, 10},
		{"gemini-2.5-flash", []string{"gemini"}, p(0.3), p(2.5), true, 15},
		{"gemini-2.5-pro", []string{"gemini"}, p(1.25), p(10), true, 3},
		{"llama-3.3-70b", []string{"groq", "together", "fireworks"}, p(0.59), p(0.79), false, 15},
		{"qwen-2.5-72b", []string{"together", "deepinfra"}, p(0.35), p(0.4), false, 7},
		{"mistral-small", []string{"mistral"}, p(0.1), p(0.3), false, 5},
	}
}

// Options shape the generated workload.
type Options struct {
	From, To time.Time // records are spread evenly over [From, To), in time order
	N        int       // how many records will be drawn (for the spacing)
	Keys     int       // distinct virtual keys (default 50)
	Tenants  int       // distinct tenants (default 10)
	Seed     uint64
}

// Generator draws records; not safe for concurrent use.
type Generator struct {
	opt    Options
	rng    *rand.Rand
	models []model
	cum    []float64
	keyCum []float64
	i      int
	stepNS float64
}

// New returns a generator.
func New(opt Options) *Generator {
	if opt.Keys <= 0 {
		opt.Keys = 50
	}
	if opt.Tenants <= 0 {
		opt.Tenants = 10
	}
	if opt.N <= 0 {
		opt.N = 1
	}
	g := &Generator{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), models: models()}
	var s float64
	for _, m := range g.models {
		s += m.weight
		g.cum = append(g.cum, s)
	}
	s = 0
	for k := range opt.Keys { // Zipf-like: a few keys carry most traffic
		s += 1 / float64(k+1)
		g.keyCum = append(g.keyCum, s)
	}
	g.stepNS = float64(opt.To.Sub(opt.From)) / float64(opt.N)
	return g
}

func pick(cum []float64, r float64) int {
	x := r * cum[len(cum)-1]
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return len(cum) - 1
}

func (g *Generator) logn(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.rng.NormFloat64())
}

func cost(m model, u llm.Usage) money.USD {
	var mt money.Meter
	mt.Add(int64(u.InputTokens-u.CachedInputTokens), m.in)
	mt.Add(int64(u.CachedInputTokens), m.in/2)
	mt.Add(int64(u.OutputTokens), m.out)
	return mt.Total()
}

// Next draws the next record.
func (g *Generator) Next() ledger.Record {
	i := g.i
	g.i++
	off := time.Duration(float64(i)*g.stepNS + g.rng.Float64()*g.stepNS)
	key := pick(g.keyCum, g.rng.Float64())
	r := ledger.Record{
		Time:         g.opt.From.Add(off).UTC(),
		RequestID:    fmt.Sprintf("req_%x_%08x", i, g.rng.Uint32()),
		KeyID:        fmt.Sprintf("key_%03d", key),
		Tenant:       fmt.Sprintf("tenant_%02d", key%g.opt.Tenants),
		ClientFormat: llm.FormatOpenAI,
		Status:       200,
		Stream:       g.rng.Float64() < 0.6,
	}
	if g.rng.Float64() < 0.3 {
		r.ClientFormat = llm.FormatAnthropic
	}
	base := g.models[0] // gpt-4o is the configured baseline
	var m model
	if g.rng.Float64() < 0.45 { // auto route: the router picks
		r.RequestedModel, r.Route = "auto", "auto"
		m = g.models[pick(g.cum, g.rng.Float64())]
		r.RouteReason = "cheapest-qualified"
		if m.name == base.name {
			r.RouteReason = "quality-floor"
		}
	} else {
		m = g.models[pick(g.cum, g.rng.Float64())]
		base = m
		r.RequestedModel, r.RouteReason = m.name, "requested"
	}
	r.ServedModel, r.BaselineModel = m.name, base.name
	r.Provider = m.providers[g.rng.IntN(len(m.providers))]
	in := int(g.logn(900, 1.0)) + 10
	out := int(g.logn(220, 0.9)) + 1
	r.Usage = llm.Usage{InputTokens: in, OutputTokens: out}
	if g.rng.Float64() < 0.35 {
		r.Usage.CachedInputTokens = in * g.rng.IntN(90) / 100
	}
	if m.reasoning && g.rng.Float64() < 0.7 {
		r.Usage.ReasoningTokens = int(g.logn(400, 0.8))
		r.Usage.OutputTokens += r.Usage.ReasoningTokens
	}
	r.Usage.Estimated = g.rng.Float64() < 0.01
	r.BaselineCost = cost(base, r.Usage)

	upstreamMS := g.logn(700, 0.7)
	c := g.rng.Float64()
	switch {
	case c < 0.15:
		r.Cache = ledger.CacheHit
	case c < 0.22:
		r.Cache = ledger.CacheSemanticHit
		r.Similarity = 0.90 + g.rng.Float64()*0.1
		r.MatchedEntryID = fmt.Sprintf("sem_%x", g.rng.Uint32())
	case c < 0.25:
		r.Cache = ledger.CacheCoalesced
	case c < 0.40:
		r.Cache = ledger.CacheBypass
	default:
		r.Cache = ledger.CacheMiss
	}
	if r.Cache.Served() {
		r.Provider = "cache"
		r.Cost = 0
		if r.Cache == ledger.CacheSemanticHit {
			r.Cost = 20 // the embedding of the lookup
		}
		r.Saved = r.BaselineCost - r.Cost
		r.SavingCause = ledger.CauseCache
		r.Latency = time.Duration(g.logn(1.2, 0.6) * float64(time.Millisecond))
		r.Overhead = r.Latency
		if r.Cache == ledger.CacheCoalesced {
			r.Latency = time.Duration(upstreamMS * float64(time.Millisecond))
		}
	} else {
		r.Cost = cost(m, r.Usage)
		r.Saved = r.BaselineCost - r.Cost
		switch {
		case r.Saved == 0:
			r.SavingCause = ledger.CauseNone
		case m.name != base.name:
			r.SavingCause = ledger.CauseRouting
		default:
			r.SavingCause = ledger.CauseProvider
		}
		r.Overhead = time.Duration(g.logn(0.4, 0.5) * float64(time.Millisecond))
		r.Latency = time.Duration(upstreamMS*float64(time.Millisecond)) + r.Overhead
		r.Attempts = []ledger.Attempt{{Deployment: r.Provider, Model: m.name, Status: 200,
			Latency: r.Latency - r.Overhead}}
		e := g.rng.Float64()
		switch {
		case e < 0.03: // failed over once, then succeeded
			r.Attempts = append([]ledger.Attempt{{Deployment: "azure-westeu", Model: m.name,
				ErrorKind: llm.KindRateLimited, Status: 429, Latency: 80 * time.Millisecond}}, r.Attempts...)
			r.RouteReason = "failover"
		case e < 0.04:
			r.Status, r.ErrorKind = 502, llm.KindUpstreamServer
			r.Attempts[0].ErrorKind, r.Attempts[0].Status = llm.KindUpstreamServer, 500
			r.Cost, r.BaselineCost, r.Saved, r.SavingCause = 0, 0, 0, ledger.CauseNone
			r.Usage = llm.Usage{}
		case e < 0.05:
			r.Status, r.ErrorKind = 400, llm.KindInvalidRequest
			r.Attempts[0].ErrorKind, r.Attempts[0].Status = llm.KindInvalidRequest, 400
			r.Cost, r.BaselineCost, r.Saved, r.SavingCause = 0, 0, 0, ledger.CauseNone
			r.Usage = llm.Usage{}
		}
	}
	if r.Stream && r.Status == 200 {
		r.TTFT = time.Duration(float64(r.Latency) * (0.1 + 0.3*g.rng.Float64()))
		r.Partial = g.rng.Float64() < 0.005
	}
	return r
}

// Fill draws n records into a new slice.
func (g *Generator) Fill(n int) []ledger.Record {
	out := make([]ledger.Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}
