package cost

import (
	"testing"

	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestSavingsAreAttributedToTheirCause(t *testing.T) {
	c := load(t)
	gpt4o, mini := model(t, c, "gpt-4o"), model(t, c, "gpt-4o-mini")
	llama, mixtral := model(t, c, "llama-3.3-70b"), model(t, c, "mixtral-8x7b")
	cachedUsage := llm.Usage{InputTokens: 2_000, CachedInputTokens: 1_536, OutputTokens: 500}
	plain := llm.Usage{InputTokens: 1_000, OutputTokens: 200}
	cases := []struct {
		name             string
		baseline, served *catalog.Model
		provider         string // "" = served's default deployment
		u                llm.Usage
		want             Savings
	}{
		{
			// gpt-4o 8,080,000 n$ (see cost_test); gpt-4o-mini: 464 × 150 + 1,536 × 75 + 500 × 600.
			name: "cheaper model is routing", baseline: gpt4o, served: mini, u: cachedUsage,
			want: Savings{Baseline: 8_080_000, Actual: 484_800, Saved: 7_595_200, Cause: CauseRouting, Routing: 7_595_200},
		},
		{
			// Llama 3.3 70B's default is Together ($0.88/$0.88): 1,200 × 880; Groq:
			// 1,000 × 590 + 200 × 790.
			name: "same model at a cheaper host is provider", baseline: llama, served: llama, provider: "groq", u: plain,
			want: Savings{Baseline: 1_056_000, Actual: 748_000, Saved: 308_000, Cause: CauseProvider, Provider: 308_000},
		},
		{
			// gpt-4o: 1,000 × 2,500 + 200 × 10,000 = 4,500,000; Llama on Together 1,056,000;
			// on DeepInfra ($0.13/$0.39) 130,000 + 78,000 = 208,000.
			name: "other model at a cheaper host splits routing and provider", baseline: gpt4o, served: llama, provider: "deepinfra", u: plain,
			want: Savings{Baseline: 4_500_000, Actual: 208_000, Saved: 4_292_000, Cause: CauseRouting, Routing: 3_444_000, Provider: 848_000},
		},
		{
			// Mixtral's default (Mistral, $0.70/$0.70) has no prompt cache: the baseline
			// bills the 1,536 cached tokens in full: 2,500 × 700.
			name: "baseline without prompt cache prices cached tokens as input", baseline: mixtral, served: mini, u: cachedUsage,
			want: Savings{Baseline: 1_750_000, Actual: 484_800, Saved: 1_265_200, Cause: CauseRouting, Routing: 1_265_200},
		},
		{
			name: "baseline at its default deployment saves nothing", baseline: gpt4o, served: gpt4o, u: cachedUsage,
			want: Savings{Baseline: 8_080_000, Actual: 8_080_000},
		},
		{
			name: "dearer model saves a negative amount", baseline: mini, served: gpt4o, u: cachedUsage,
			want: Savings{Baseline: 484_800, Actual: 8_080_000, Saved: -7_595_200, Cause: CauseRouting, Routing: -7_595_200},
		},
		{
			name: "unknown baseline invents no savings", baseline: nil, served: mini, u: cachedUsage,
			want: Savings{Baseline: 484_800, Actual: 484_800},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d *catalog.Deployment
			if tc.provider != "" {
				d = dep(t, c, tc.served.ID, tc.provider)
			}
			got := Served(tc.baseline, tc.served, d, tc.u)
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if got.Routing+got.Provider+got.Cache != got.Saved || got.Baseline-got.Actual != got.Saved {
				t.Fatalf("parts do not add up: %+v", got)
			}
		})
	}
}

func TestServedByADeploymentOutsideTheCatalog(t *testing.T) {
	c := load(t)
	gpt4o := model(t, c, "gpt-4o")
	private := &catalog.Deployment{Provider: "acme", Name: "l70", Prices: catalog.Prices{Input: 100_000_000, Output: 100_000_000}}
	u := llm.Usage{InputTokens: 1_000, OutputTokens: 200}
	// gpt-4o 4,500,000 n$; the private deployment 1,200 × 100.
	want := Savings{Baseline: 4_500_000, Actual: 120_000, Saved: 4_380_000, Cause: CauseRouting, Routing: 4_380_000}
	if got := Served(gpt4o, nil, private, u); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := Served(gpt4o, nil, nil, u); got != (Savings{}) {
		t.Errorf("nothing to price: got %+v", got)
	}
}

func TestCacheHitSavesTheBaselineLessTheLookup(t *testing.T) {
	c := load(t)
	haiku, sonnet := model(t, c, "claude-3-5-haiku-latest"), model(t, c, "claude-sonnet-4-5")
	u := llm.Usage{InputTokens: 3_925, CachedInputTokens: 1_800, CacheWriteTokens: 2_100, OutputTokens: 250}
	// Exact hit: the whole 3,264,000 n$ (see cost_test) is saved.
	if got, want := CacheHit(haiku, haiku, u, 0), (Savings{Baseline: 3_264_000, Saved: 3_264_000, Cause: CauseCache, Cache: 3_264_000}); got != want {
		t.Errorf("exact hit: got %+v, want %+v", got, want)
	}
	// Semantic hit with a 12-token embedding at $0.02/M (240 n$).
	lookup := Embedding(catalog.Prices{Input: 20_000_000}, 12)
	want := Savings{Baseline: 3_264_000, Actual: 240, Saved: 3_263_760, Cause: CauseCache, Cache: 3_263_760}
	if got := CacheHit(haiku, haiku, u, lookup); got != want {
		t.Errorf("semantic hit: got %+v, want %+v", got, want)
	}
	// The baseline, not the model that produced the cached answer, sets the saving:
	// Sonnet 4.5 would have charged 25 × 3,000 + 1,800 × 300 + 2,100 × 3,750 + 250 × 15,000.
	if got := CacheHit(sonnet, haiku, u, 0); got.Baseline != 12_240_000 || got.Saved != 12_240_000 {
		t.Errorf("sonnet baseline: got %+v, want 12,240,000 saved", got)
	}
	// Unknown baseline: priced at the original model; unknown both: nothing saved.
	if got := CacheHit(nil, haiku, u, 0); got.Saved != 3_264_000 {
		t.Errorf("fallback to original: got %+v", got)
	}
	if got := CacheHit(nil, nil, u, lookup); got != (Savings{Baseline: 240, Actual: 240}) {
		t.Errorf("no prices: got %+v", got)
	}
}
