package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/money"
)

func mustLoad(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestEmbeddedCatalogCoversTheMainProvidersAndModels(t *testing.T) {
	c := mustLoad(t)
	if c.AsOf() != "2026-08-01" {
		t.Errorf("AsOf = %q, want 2026-08-01", c.AsOf())
	}
	if n := c.Len(); n < 40 || n > 80 {
		t.Errorf("catalog has %d models, want a curated 40–80", n)
	}
	for _, name := range []string{
		"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5", "gpt-5-mini",
		"claude-3-5-haiku-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-20250514", "claude-sonnet-4-5",
		"claude-opus-4-1", "claude-haiku-4-5", "gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro",
		"gemini-2.5-flash-lite", "llama-3.3-70b", "llama-4-maverick", "mixtral-8x7b-instruct", "qwen3-32b",
		"deepseek-chat", "deepseek-reasoner", "deepseek-r1", "gpt-oss-120b", "gpt-4-1106-preview",
	} {
		if _, ok := c.Lookup(name); !ok {
			t.Errorf("Lookup(%q) found nothing", name)
		}
	}
	want := []string{"anthropic", "deepinfra", "deepseek", "fireworks", "gemini", "groq", "mistral", "openai", "together"}
	if got := c.Providers(); !slices.Equal(got, want) {
		t.Errorf("Providers() = %v, want %v", got, want)
	}
}

func TestEmbeddedPricesAreExactNanodollars(t *testing.T) {
	c := mustLoad(t)
	cases := []struct {
		model, provider string
		get             func(Prices) money.PerMTok
		want            money.PerMTok
	}{
		{"gpt-4o-mini", "openai", func(p Prices) money.PerMTok { return p.CachedInput }, 75_000_000},
		{"gpt-4o", "openai", func(p Prices) money.PerMTok { return p.BatchOutput }, 5_000_000_000},
		{"claude-3-5-haiku-latest", "anthropic", func(p Prices) money.PerMTok { return p.CacheWrite }, 1_000_000_000},
		{"claude-3-5-haiku-latest", "anthropic", func(p Prices) money.PerMTok { return p.CachedInput }, 80_000_000},
		{"gemini-2.0-flash-lite", "gemini", func(p Prices) money.PerMTok { return p.CachedInput }, 18_750_000},
		{"deepseek-v4-flash", "deepseek", func(p Prices) money.PerMTok { return p.CachedInput }, 2_800_000},
		{"llama-3.1-8b", "groq", func(p Prices) money.PerMTok { return p.Output }, 80_000_000},
	}
	for _, tc := range cases {
		m, ok := c.Lookup(tc.model)
		if !ok {
			t.Fatalf("no model %s", tc.model)
		}
		d, ok := m.Deployment(tc.provider)
		if !ok {
			t.Fatalf("%s has no %s deployment", tc.model, tc.provider)
		}
		if got := tc.get(d.Prices); got != tc.want {
			t.Errorf("%s on %s: price %d, want %d", tc.model, tc.provider, got, tc.want)
		}
	}
}

func TestEveryModelIsCompleteAndRated(t *testing.T) {
	c := mustLoad(t)
	for _, m := range c.Models() {
		if m.Quality.Score <= 0 || m.Quality.Score >= 1 || m.Quality.Source == "" {
			t.Errorf("%s: quality %+v", m.ID, m.Quality)
		}
		if m.Quality.Estimated != strings.HasPrefix(m.Quality.Source, "estimate") {
			t.Errorf("%s: estimated=%v but source %q", m.ID, m.Quality.Estimated, m.Quality.Source)
		}
		if !m.Has(Streaming) {
			t.Errorf("%s does not stream", m.ID)
		}
		if m.MaxOutputTokens > m.ContextWindow {
			t.Errorf("%s: max output %d above context %d", m.ID, m.MaxOutputTokens, m.ContextWindow)
		}
		for _, d := range m.Deployments {
			if d.ModelID != m.ID || d.Prices.Input <= 0 || d.Prices.Output <= 0 {
				t.Errorf("%s: deployment %+v", m.ID, d)
			}
		}
	}
}

func TestOpenModelsAreServedByCompetingHosts(t *testing.T) {
	c := mustLoad(t)
	for _, id := range []string{"llama-3.3-70b", "gpt-oss-120b", "llama-4-scout", "mixtral-8x7b"} {
		m, _ := c.Lookup(id)
		if m == nil || len(m.Deployments) < 3 {
			t.Fatalf("%s: want at least three deployments, got %v", id, m)
		}
		prices := map[money.PerMTok]bool{}
		for _, d := range m.Deployments {
			prices[d.Prices.Output] = true
		}
		if len(prices) < 2 {
			t.Errorf("%s: every host charges the same, nothing to arbitrage", id)
		}
	}
	// The vendor's own API is the default deployment where it sells the model.
	m, _ := c.Lookup("mixtral-8x7b")
	if m.Default().Provider != "mistral" {
		t.Errorf("mixtral default = %s, want mistral", m.Default().Provider)
	}
}

func TestLookupIgnoresCaseAndFindsAliases(t *testing.T) {
	c := mustLoad(t)
	for _, name := range []string{"CLAUDE-3-5-HAIKU-LATEST", " claude-3-5-haiku-20241022 ", "claude-3-5-haiku"} {
		m, ok := c.Lookup(name)
		if !ok || m.ID != "claude-3-5-haiku" {
			t.Errorf("Lookup(%q) = %v, %v", name, m, ok)
		}
	}
	if _, ok := c.Lookup("no-such-model"); ok {
		t.Error("Lookup found a model that does not exist")
	}
	m, d, ok := c.LookupDeployment("groq", "llama-3.3-70b-versatile")
	if !ok || m.ID != "llama-3.3-70b" || d.Provider != "groq" {
		t.Errorf("LookupDeployment = %v %v %v", m, d, ok)
	}
}

func TestFiltersAreSortedAndCorrect(t *testing.T) {
	c := mustLoad(t)
	ids := func(ms []*Model) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.ID
		}
		return out
	}
	all := ids(c.Models())
	if !slices.IsSorted(all) {
		t.Error("Models() not sorted by ID")
	}
	for _, m := range c.ByProvider("anthropic") {
		if _, ok := m.Deployment("anthropic"); !ok {
			t.Errorf("ByProvider(anthropic) returned %s", m.ID)
		}
	}
	vis := c.WithCapabilities(Vision, Tools)
	if len(vis) == 0 || !slices.IsSorted(ids(vis)) {
		t.Fatalf("WithCapabilities(vision, tools) = %v", ids(vis))
	}
	for _, m := range vis {
		if !m.Has(Vision) || !m.Has(Tools) {
			t.Errorf("%s lacks vision or tools", m.ID)
		}
	}
	if slices.Contains(ids(vis), "mixtral-8x7b") {
		t.Error("mixtral-8x7b listed as a vision model")
	}
}

func TestMergeChangesPricesWithoutTouchingTheOriginal(t *testing.T) {
	c := mustLoad(t)
	in := Price(2_000_000_000)
	merged, err := c.Merge(Override{ID: "gpt-4o-2024-08-06", Deployments: []DeploymentOverride{{Provider: "openai", Input: &in}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := merged.Lookup("gpt-4o")
	if m.Default().Prices.Input != 2_000_000_000 || m.Default().Prices.Output != 10_000_000_000 {
		t.Errorf("merged prices %+v: want input 2.00 and output kept at 10.00", m.Default().Prices)
	}
	orig, _ := c.Lookup("gpt-4o")
	if orig.Default().Prices.Input != 2_500_000_000 {
		t.Errorf("Merge changed the original catalog: input %d", orig.Default().Prices.Input)
	}
}

func TestMergeAddsPrivateModelFromYAML(t *testing.T) {
	c := mustLoad(t)
	ovs, err := ParseOverrides([]byte(`
- id: acme-llama-70b
  aliases: [acme]
  family: llama-3
  vendor: meta
  context_window: 131072
  max_output_tokens: 8192
  capabilities: [tools, streaming]
  quality: {score: 0.5, source: internal eval}
  deployments:
    - {provider: acme, name: llama70b, input: "$0.30", output: 0.3, cached_input: 0.000001}
- id: llama-3.3-70b
  deployments:
    - {provider: acme, name: l33, input: 0.10, output: 0.10, default: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := c.Merge(ovs...)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := merged.Lookup("ACME")
	if !ok || m.ID != "acme-llama-70b" || !m.Has(Tools) || m.Has(Vision) {
		t.Fatalf("Lookup(acme) = %+v", m)
	}
	if p := m.Default().Prices; p.Input != 300_000_000 || p.Output != 300_000_000 || p.CachedInput != 1_000 {
		t.Errorf("prices %+v", p)
	}
	l, _ := merged.Lookup("llama-3.3-70b")
	if l.Default().Provider != "acme" || len(l.Deployments) != 5 {
		t.Errorf("llama-3.3-70b default %s with %d deployments", l.Default().Provider, len(l.Deployments))
	}
	if !slices.Contains(merged.Providers(), "acme") || merged.Len() != c.Len()+1 {
		t.Errorf("providers %v, %d models", merged.Providers(), merged.Len())
	}
}

func TestMergeRemovesModelsAndDeployments(t *testing.T) {
	c := mustLoad(t)
	merged, err := c.Merge(
		Override{ID: "gpt-4o", Remove: true},
		Override{ID: "llama-3.3-70b", Deployments: []DeploymentOverride{{Provider: "groq", Remove: true}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := merged.Lookup("gpt-4o-2024-08-06"); ok {
		t.Error("removed model still found by alias")
	}
	l, _ := merged.Lookup("llama-3.3-70b")
	if _, ok := l.Deployment("groq"); ok {
		t.Error("removed deployment still there")
	}
}

func TestMergeRejectsInvalidOverridesWithClearErrors(t *testing.T) {
	c := mustLoad(t)
	neg := Price(-1_000_000_000)
	one := Price(1_000_000_000)
	ctx, out := 1000, 100
	cases := []struct {
		name string
		o    Override
		want string
	}{
		{"negative price", Override{ID: "gpt-4o", Deployments: []DeploymentOverride{{Provider: "openai", Output: &neg}}},
			`model "gpt-4o": deployment "openai": negative output price`},
		{"unknown capability", Override{ID: "gpt-4o", Capabilities: &[]string{"tools", "telepathy"}},
			`unknown capability "telepathy"`},
		{"duplicate alias", Override{ID: "gpt-4.1", Aliases: []string{"gpt-4o-mini-2024-07-18"}},
			`name "gpt-4o-mini-2024-07-18" is already used by model`},
		{"new model without quality", Override{ID: "x", ContextWindow: &ctx, MaxOutputTokens: &out,
			Deployments: []DeploymentOverride{{Provider: "p", Input: &one, Output: &one}}}, "needs a quality score"},
		{"new deployment without prices", Override{ID: "gpt-4o", Deployments: []DeploymentOverride{{Provider: "azure", Input: &one}}},
			"needs input and output prices"},
		{"remove unknown model", Override{ID: "nope", Remove: true}, "not in the catalog"},
		{"quality out of range", Override{ID: "gpt-4o", Quality: &QualityOverride{Score: 1.5, Source: "x"}}, "outside [0,1]"},
		{"missing id", Override{}, "missing id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Merge(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Merge error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseRejectsUnknownFieldsAndBadPrices(t *testing.T) {
	if _, err := ParseOverrides([]byte("- id: gpt-4o\n  pricez: 1\n")); err == nil || !strings.Contains(err.Error(), `line 2: unknown field "pricez"`) {
		t.Errorf("unknown field: err = %v", err)
	}
	if _, err := ParseOverrides([]byte("- id: gpt-4o\n  deployments:\n    - {provider: openai, inptu: 1}\n")); err == nil || !strings.Contains(err.Error(), `line 3: unknown field "inptu"`) {
		t.Errorf("unknown nested field: err = %v", err)
	}
	if _, err := ParseOverrides([]byte("- id: gpt-4o\n  deployments: [{provider: openai, input: cheap}]\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad price: err = %v", err)
	}
}

func TestMergeErrorsNameTheOverridesLine(t *testing.T) {
	c := mustLoad(t)
	ovs, err := ParseOverrides([]byte(`
- id: gpt-4o
  deployments: [{provider: openai, input: 1}]
- id: gpt-4o-mini
  deployments: [{provider: openai, output: -0.5}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Merge(ovs...)
	if err == nil || !strings.Contains(err.Error(), `line 4: model "gpt-4o-mini": deployment "openai": negative output price`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeOverridesAcceptsAnEmptyNode(t *testing.T) {
	if o, err := DecodeOverrides(nil); o != nil || err != nil {
		t.Errorf("nil node: %v, %v", o, err)
	}
	if _, err := ParseOverrides([]byte("id: gpt-4o\n")); err == nil || !strings.Contains(err.Error(), "must be a list") {
		t.Errorf("mapping instead of list: err = %v", err)
	}
}

func TestRetiredComparesAnnouncedDate(t *testing.T) {
	c := mustLoad(t)
	m, _ := c.Lookup("gpt-4-1106-preview")
	if !m.Retired("2026-08-01") || m.Retired("2026-01-01") {
		t.Errorf("gpt-4-1106-preview deprecated %q", m.Deprecated)
	}
	g, _ := c.Lookup("gpt-5")
	if g.Retired("2026-08-01") {
		t.Error("gpt-5 reported retired")
	}
}

func TestEffectivePricesFallBack(t *testing.T) {
	p := Prices{Input: 10, Output: 40}
	if p.EffectiveCachedInput() != 10 || p.EffectiveCacheWrite() != 10 || p.EffectiveReasoning() != 40 || p.HasPromptCache() {
		t.Errorf("fallbacks wrong: %+v", p)
	}
	p = Prices{Input: 10, CachedInput: 1, CacheWrite: 12, Output: 40, Reasoning: 50}
	if p.EffectiveCachedInput() != 1 || p.EffectiveCacheWrite() != 12 || p.EffectiveReasoning() != 50 || !p.HasPromptCache() {
		t.Errorf("own prices ignored: %+v", p)
	}
}

func TestLongContextTierAppliesAboveItsThreshold(t *testing.T) {
	c := mustLoad(t)
	ovs, err := ParseOverrides([]byte(`
- id: gpt-4o
  deployments:
    - {provider: openai, long_context: {above: 100000, input: 5.00, output: 20.00}}
`))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := c.Merge(ovs...)
	if err != nil {
		t.Fatal(err)
	}
	p := merged.mustModel(t, "gpt-4o").Default().Prices
	if got := p.At(100_000); got.Input != 2_500_000_000 || got.Output != 10_000_000_000 {
		t.Errorf("at the threshold: %+v, want base prices", got)
	}
	got := p.At(100_001)
	if got.Input != 5_000_000_000 || got.Output != 20_000_000_000 || got.CachedInput != 1_250_000_000 {
		t.Errorf("above the threshold: %+v, want tier input/output and base cached price", got)
	}
}

func (c *Catalog) mustModel(t *testing.T, name string) *Model {
	t.Helper()
	m, ok := c.Lookup(name)
	if !ok {
		t.Fatalf("no model %s", name)
	}
	return m
}

func TestQualityFromEloRoundTrips(t *testing.T) {
	if QualityFromElo(ReferenceElo) != 0.5 {
		t.Errorf("reference scores %v", QualityFromElo(ReferenceElo))
	}
	for _, elo := range []float64{1100, 1266, 1400, 1650} {
		q := QualityFromElo(elo)
		if back := EloFromQuality(q); back < elo-3 || back > elo+3 {
			t.Errorf("Elo %v → %v → %v", elo, q, back)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	c, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok := c.Lookup("claude-3-5-haiku-latest"); !ok {
			b.Fatal("missing")
		}
	}
}
