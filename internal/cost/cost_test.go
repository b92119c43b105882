package cost

import (
	"testing"

	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

func load(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func model(t testing.TB, c *catalog.Catalog, name string) *catalog.Model {
	t.Helper()
	m, ok := c.Lookup(name)
	if !ok {
		t.Fatalf("catalog has no %s", name)
	}
	return m
}

func dep(t testing.TB, c *catalog.Catalog, name, provider string) *catalog.Deployment {
	t.Helper()
	d, ok := model(t, c, name).Deployment(provider)
	if !ok {
		t.Fatalf("%s has no %s deployment", name, provider)
	}
	return d
}

func price(t testing.TB, s string) *catalog.Price {
	t.Helper()
	v, err := money.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	p := catalog.Price(v)
	return &p
}

// Every expectation below is worked by hand from the catalog's published prices, in
// nanodollars (n$): $1 per million tokens is 1,000 n$ per token.
func TestCostMatchesHandComputationToTheNanodollar(t *testing.T) {
	c := load(t)
	// A negotiated-price override: gpt-4o at $2/M in, $1/M cached, $8/M out, and a
	// reasoning price unlike the output price ($3.50/M on a $2.50/M-output model).
	over, err := c.Merge(
		catalog.Override{ID: "gpt-4o", Deployments: []catalog.DeploymentOverride{{Provider: "openai",
			Input: price(t, "2"), CachedInput: price(t, "1"), Output: price(t, "8")}}},
		catalog.Override{ID: "gemini-2.5-flash", Deployments: []catalog.DeploymentOverride{{Provider: "gemini", Reasoning: price(t, "3.50")}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		d    *catalog.Deployment
		u    llm.Usage
		want Breakdown
	}{
		{
			// o4-mini: $1.10 in, $0.275 cached, $4.40 out; reasoning billed as output.
			name: "openai o4-mini cached and reasoning tokens",
			d:    dep(t, c, "o4-mini", "openai"),
			u:    llm.Usage{InputTokens: 12_345, CachedInputTokens: 4_096, OutputTokens: 3_210, ReasoningTokens: 2_048},
			want: Breakdown{
				Input:       9_073_900, // (12,345 − 4,096) × 1,100
				CachedInput: 1_126_400, // 4,096 × 275
				Output:      5_112_800, // (3,210 − 2,048) × 4,400
				Reasoning:   9_011_200, // 2,048 × 4,400
				Total:       24_324_300,
			},
		},
		{
			// gpt-4o: $2.50 in, $1.25 cached, $10 out.
			name: "openai gpt-4o cached tokens",
			d:    dep(t, c, "gpt-4o", "openai"),
			u:    llm.Usage{InputTokens: 2_000, CachedInputTokens: 1_536, OutputTokens: 500},
			want: Breakdown{Input: 1_160_000, CachedInput: 1_920_000, Output: 5_000_000, Total: 8_080_000},
		},
		{
			// Claude Haiku 3.5: $0.80 in, $0.08 cache read, $1.00 cache write, $4 out.
			// Anthropic reports input_tokens 25, cache_read 1,800, cache_creation 2,100;
			// the neutral usage counts all 3,925 as input.
			name: "anthropic claude-3-5-haiku cache read and write",
			d:    dep(t, c, "claude-3-5-haiku-latest", "anthropic"),
			u:    llm.Usage{InputTokens: 3_925, CachedInputTokens: 1_800, CacheWriteTokens: 2_100, OutputTokens: 250},
			want: Breakdown{
				Input:       20_000,    // 25 × 800
				CachedInput: 144_000,   // 1,800 × 80
				CacheWrite:  2_100_000, // 2,100 × 1,000
				Output:      1_000_000, // 250 × 4,000
				Total:       3_264_000,
			},
		},
		{
			// Claude Sonnet 4.5: $3 in, $0.30 read, $3.75 write, $15 out; thinking is output.
			name: "anthropic claude-sonnet-4-5 cache read, write and thinking",
			d:    dep(t, c, "claude-sonnet-4-5", "anthropic"),
			u:    llm.Usage{InputTokens: 6_010, CachedInputTokens: 5_000, CacheWriteTokens: 1_000, OutputTokens: 1_200, ReasoningTokens: 800},
			want: Breakdown{
				Input:       30_000,     // 10 × 3,000
				CachedInput: 1_500_000,  // 5,000 × 300
				CacheWrite:  3_750_000,  // 1,000 × 3,750
				Output:      6_000_000,  // 400 × 15,000
				Reasoning:   12_000_000, // 800 × 15,000
				Total:       23_280_000,
			},
		},
		{
			// Gemini 2.5 Flash: $0.30 in, $0.03 cached content, $2.50 out and thoughts.
			// promptTokenCount 10,000 includes cachedContentTokenCount 7,000; output is
			// candidates 300 + thoughts 1,700.
			name: "gemini 2.5 flash cached content and thoughts",
			d:    dep(t, c, "gemini-2.5-flash", "gemini"),
			u:    llm.Usage{InputTokens: 10_000, CachedInputTokens: 7_000, OutputTokens: 2_000, ReasoningTokens: 1_700},
			want: Breakdown{Input: 900_000, CachedInput: 210_000, Output: 750_000, Reasoning: 4_250_000, Total: 6_110_000},
		},
		{
			// Same usage on DeepInfra's Gemini 2.5 Flash, which lists no cached price:
			// cached tokens are billed as input (10,000 × 300).
			name: "deployment without prompt cache bills cached tokens as input",
			d:    dep(t, c, "gemini-2.5-flash", "deepinfra"),
			u:    llm.Usage{InputTokens: 10_000, CachedInputTokens: 7_000, OutputTokens: 2_000, ReasoningTokens: 1_700},
			want: Breakdown{Input: 900_000, CachedInput: 2_100_000, Output: 750_000, Reasoning: 4_250_000, Total: 8_000_000},
		},
		{
			// Override: thoughts at $3.50 instead of $2.50: 1,700 × 3,500.
			name: "override reasoning price differs from output",
			d:    dep(t, over, "gemini-2.5-flash", "gemini"),
			u:    llm.Usage{InputTokens: 10_000, CachedInputTokens: 7_000, OutputTokens: 2_000, ReasoningTokens: 1_700},
			want: Breakdown{Input: 900_000, CachedInput: 210_000, Output: 750_000, Reasoning: 5_950_000, Total: 7_810_000},
		},
		{
			// Override: negotiated gpt-4o: 464 × 2,000 + 1,536 × 1,000 + 500 × 8,000.
			name: "override negotiated gpt-4o prices",
			d:    dep(t, over, "gpt-4o", "openai"),
			u:    llm.Usage{InputTokens: 2_000, CachedInputTokens: 1_536, OutputTokens: 500},
			want: Breakdown{Input: 928_000, CachedInput: 1_536_000, Output: 4_000_000, Total: 6_464_000},
		},
		{
			// Gemini 2.0 Flash-Lite caches at $0.01875/M = 18.75 n$ a token: 3 cached
			// tokens are 56.25 n$; 98 × 75 + 56.25 + 1 × 300 = 7,706.25, rounded once.
			name: "fractional nanodollar prices round once",
			d:    dep(t, c, "gemini-2.0-flash-lite", "gemini"),
			u:    llm.Usage{InputTokens: 101, CachedInputTokens: 3, OutputTokens: 1},
			want: Breakdown{Input: 7_350, CachedInput: 56, Output: 300, Total: 7_706},
		},
		{
			// DeepSeek V4 Flash: cache hits at $0.0028/M = 2.8 n$ a token.
			// 1,000 × 140 + 9,000 × 2.8 + 100 × 280 = 140,000 + 25,200 + 28,000.
			name: "deepseek cache hit price below a nanodollar per token's tenth",
			d:    dep(t, c, "deepseek-v4-flash", "deepseek"),
			u:    llm.Usage{InputTokens: 10_000, CachedInputTokens: 9_000, OutputTokens: 100},
			want: Breakdown{Input: 140_000, CachedInput: 25_200, Output: 28_000, Total: 193_200},
		},
		{
			// Claude Sonnet 4.5 above 200k prompt tokens bills the whole request at $6 in,
			// $0.60 cache read, $22.50 out: 50,000 × 6,000 + 200,000 × 600 + 1,000 × 22,500.
			name: "anthropic long-context tier applies to the whole request",
			d:    dep(t, c, "claude-sonnet-4-5", "anthropic"),
			u:    llm.Usage{InputTokens: 250_000, CachedInputTokens: 200_000, OutputTokens: 1_000},
			want: Breakdown{Input: 300_000_000, CachedInput: 120_000_000, Output: 22_500_000, Total: 442_500_000},
		},
		{
			// Exactly 200,000 prompt tokens is not above the threshold: base prices.
			name: "long-context threshold is exclusive",
			d:    dep(t, c, "claude-sonnet-4-5", "anthropic"),
			u:    llm.Usage{InputTokens: 200_000, OutputTokens: 1_000},
			want: Breakdown{Input: 600_000_000, Output: 15_000_000, Total: 615_000_000},
		},
		{
			// Gemini 2.5 Pro above 200k: $2.50 in, $15 out and thoughts.
			name: "gemini long-context tier prices thoughts at the tier's output price",
			d:    dep(t, c, "gemini-2.5-pro", "gemini"),
			u:    llm.Usage{InputTokens: 300_000, OutputTokens: 2_000, ReasoningTokens: 1_500},
			want: Breakdown{Input: 750_000_000, Output: 7_500_000, Reasoning: 22_500_000, Total: 780_000_000},
		},
		{
			name: "estimated usage is flagged",
			d:    dep(t, c, "llama-3.3-70b", "groq"),
			u:    llm.Usage{InputTokens: 1_000, OutputTokens: 200, Estimated: true},
			want: Breakdown{Input: 590_000, Output: 158_000, Total: 748_000, Estimated: true},
		},
		{
			name: "zero usage costs nothing",
			d:    dep(t, c, "gpt-4o", "openai"),
			want: Breakdown{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.d.Prices, tc.u); got != tc.want {
				t.Fatalf("Of(%s/%s, %+v)\n got %+v\nwant %+v", tc.d.Provider, tc.d.ModelID, tc.u, got, tc.want)
			}
		})
	}
}

func TestTotalRoundsOnceNotPerClass(t *testing.T) {
	// Half a nanodollar a token for input and output: each part alone rounds up to 1 n$,
	// but the request costs exactly 1 n$.
	p := catalog.Prices{Input: 500_000, Output: 500_000} // $0.0005/M
	got := Of(p, llm.Usage{InputTokens: 1, OutputTokens: 1})
	if got.Input != 1 || got.Output != 1 || got.Total != 1 {
		t.Fatalf("got %+v, want parts 1 and 1, total 1", got)
	}
}

func TestInconsistentUsageNeverBillsNegativeTokens(t *testing.T) {
	p := catalog.Prices{Input: 1_000_000_000, CachedInput: 100_000_000, Output: 2_000_000_000}
	// More cached than input and more reasoning than output (a misreporting provider):
	// the reported classes are billed, the remainders clamp at zero.
	got := Of(p, llm.Usage{InputTokens: 10, CachedInputTokens: 20, OutputTokens: 5, ReasoningTokens: 8})
	want := Breakdown{CachedInput: 2_000, Reasoning: 16_000, Total: 18_000}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := Of(p, llm.Usage{InputTokens: -5, OutputTokens: -1}); got != (Breakdown{}) {
		t.Fatalf("negative counts: got %+v", got)
	}
}

func TestEmbeddingCost(t *testing.T) {
	// text-embedding-3-small at $0.02/M: 12 tokens × 20 n$.
	if got := Embedding(catalog.Prices{Input: 20_000_000}, 12); got != 240 {
		t.Fatalf("Embedding = %d, want 240", got)
	}
}

func BenchmarkOf(b *testing.B) {
	c := load(b)
	p := model(b, c, "o4-mini").Default().Prices
	u := llm.Usage{InputTokens: 12_345, CachedInputTokens: 4_096, OutputTokens: 3_210, ReasoningTokens: 2_048}
	for b.Loop() {
		_ = Of(p, u)
	}
}
