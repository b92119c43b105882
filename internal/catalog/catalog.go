// Package catalog is Arbiter's list of models: who serves each one, at what price per
// million tokens, with which context window and capabilities, and how good it is.
//
// The defaults are embedded (models.yaml, written by `go run ./internal/catalog/gen`
// from public price lists and ratings, dated in its header); a user's configuration can
// override or add any model, deployment or price through Merge. A Catalog is immutable
// once built, so one value can be shared by every request without locking.
package catalog

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/money"
)

//go:generate go run ./gen -out models.yaml

//go:embed models.yaml
var embedded []byte

// Capability is something a model can do that a request may need.
type Capability string

// The capabilities the router filters on.
const (
	Tools      Capability = "tools"       // function / tool calling
	Vision     Capability = "vision"      // image input
	JSONSchema Capability = "json_schema" // structured output constrained by a JSON schema
	Streaming  Capability = "streaming"   // server-sent token streaming
	Reasoning  Capability = "reasoning"   // thinking / reasoning tokens
)

// Capabilities lists every known capability in display order.
var capabilities = []Capability{Tools, Vision, JSONSchema, Streaming, Reasoning}

// AllCapabilities returns every known capability in display order.
func AllCapabilities() []Capability { return slices.Clone(capabilities) }

// ParseCapability returns the capability named s, or an error naming the valid ones.
func ParseCapability(s string) (Capability, error) {
	c := Capability(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(capabilities, c) {
		return c, nil
	}
	names := make([]string, len(capabilities))
	for i, k := range capabilities {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown capability %q (want one of %s)", s, strings.Join(names, ", "))
}

// Prices are one deployment's prices per million tokens. Input and Output are always
// set; a zero optional price means the deployment does not offer that tier, and the
// Effective* methods say what such tokens cost instead.
type Prices struct {
	Input       money.PerMTok // uncached prompt tokens
	CachedInput money.PerMTok // prompt tokens read from the prompt cache (0: no prompt cache)
	CacheWrite  money.PerMTok // prompt tokens written to the cache (Anthropic; 0: billed as input)
	Output      money.PerMTok // completion tokens
	Reasoning   money.PerMTok // reasoning tokens where billed apart from output (0: at Output)
	BatchInput  money.PerMTok // batch API input (0: no batch API)
	BatchOutput money.PerMTok // batch API output (0: no batch API)
	LongContext LongContext   // dearer prices for long prompts, if the deployment has them
}

// LongContext is a long-context price tier: a request whose prompt (all input tokens,
// cached or not) exceeds Above tokens is billed entirely at these prices, as Anthropic,
// Google and OpenAI bill their long-context tiers. A zero price keeps the base price.
type LongContext struct {
	Above       int // prompt tokens; 0 means no tier
	Input       money.PerMTok
	CachedInput money.PerMTok
	CacheWrite  money.PerMTok
	Output      money.PerMTok
}

// At returns the prices that apply to a request with promptTokens input tokens: the
// long-context tier's where the prompt exceeds its threshold, else p itself.
func (p Prices) At(promptTokens int) Prices {
	lc := p.LongContext
	if lc.Above <= 0 || promptTokens <= lc.Above {
		return p
	}
	q := p
	for _, f := range []struct {
		dst *money.PerMTok
		v   money.PerMTok
	}{
		{&q.Input, lc.Input}, {&q.CachedInput, lc.CachedInput}, {&q.CacheWrite, lc.CacheWrite}, {&q.Output, lc.Output},
	} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	q.LongContext = LongContext{}
	return q
}

// HasPromptCache reports whether the deployment bills cache reads at their own price.
func (p Prices) HasPromptCache() bool { return p.CachedInput > 0 }

// EffectiveCachedInput is the price of a token read from the prompt cache; a deployment
// without a prompt cache bills such tokens as ordinary input.
func (p Prices) EffectiveCachedInput() money.PerMTok {
	if p.CachedInput > 0 {
		return p.CachedInput
	}
	return p.Input
}

// EffectiveCacheWrite is the price of a token written to the prompt cache; providers
// that do not charge for writing bill those tokens as ordinary input.
func (p Prices) EffectiveCacheWrite() money.PerMTok {
	if p.CacheWrite > 0 {
		return p.CacheWrite
	}
	return p.Input
}

// EffectiveReasoning is the price of a reasoning token: its own price where the
// provider lists one, else the output price (reasoning tokens are output tokens).
func (p Prices) EffectiveReasoning() money.PerMTok {
	if p.Reasoning > 0 {
		return p.Reasoning
	}
	return p.Output
}

// Deployment is one provider serving one model under the provider's own model name.
type Deployment struct {
	ModelID  string // the catalog model this deploys
	Provider string // provider key: "openai", "anthropic", "gemini", "groq", "together", ...
	Name     string // the model name the provider's API expects
	Prices   Prices
}

// ReferenceElo is the LMArena (2025-08-06 text leaderboard) rating the quality scale is
// centred on: a model of this rating, about GPT-4o-2024-08-06, scores 0.5.
const ReferenceElo = 1300.0

// QualityFromElo maps an Arena rating on the 2025-08-06 scale to the catalog's quality
// scale: the Elo probability that a human prefers the model's answer to that of a model
// rated ReferenceElo, rounded to three decimals. Use it to put models outside the
// catalog (in training data, say) on the same scale.
func QualityFromElo(elo float64) float64 {
	return math.Round(1000/(1+math.Pow(10, (ReferenceElo-elo)/400))) / 1000
}

// EloFromQuality inverts QualityFromElo (up to its rounding) for q in (0,1).
func EloFromQuality(q float64) float64 {
	return ReferenceElo - 400*math.Log10(1/q-1)
}

// Quality is a model's general quality on one scale in [0,1] and where it came from.
type Quality struct {
	Score     float64
	Source    string // e.g. "lmarena 2025-08-06: 1336"
	Estimated bool   // no rating exists: the score is a documented guess
}

// Model is one model and every deployment of it. Deployments[0] is the default one: the
// deployment a counterfactual is priced at. Values returned by a Catalog are shared
// and must be treated as read-only.
type Model struct {
	ID              string
	Aliases         []string
	Family          string // e.g. "gpt-4.1", "claude-sonnet", "llama-3"
	Vendor          string // who made it: openai, anthropic, google, meta, ...
	ContextWindow   int    // maximum input tokens
	MaxOutputTokens int
	Capabilities    []Capability // sorted in display order
	Quality         Quality
	Deprecated      string // YYYY-MM-DD the vendor retires the model, if announced
	Deployments     []Deployment
}

// Retired reports whether the model's announced retirement date is on or before day
// (YYYY-MM-DD): a router should not send it traffic.
func (m *Model) Retired(day string) bool { return m.Deprecated != "" && m.Deprecated <= day }

// Has reports whether the model has every given capability.
func (m *Model) Has(caps ...Capability) bool {
	for _, c := range caps {
		if !slices.Contains(m.Capabilities, c) {
			return false
		}
	}
	return true
}

// Default returns the deployment counterfactuals are priced at.
func (m *Model) Default() *Deployment { return &m.Deployments[0] }

// Deployment returns the model's deployment on provider.
func (m *Model) Deployment(provider string) (*Deployment, bool) {
	for i := range m.Deployments {
		if m.Deployments[i].Provider == provider {
			return &m.Deployments[i], true
		}
	}
	return nil, false
}

// Catalog is an immutable, validated set of models.
type Catalog struct {
	asOf    string
	sources []string
	models  []*Model          // sorted by ID
	byName  map[string]*Model // lower-cased ID and aliases
}

// Load returns the embedded catalog.
func Load() (*Catalog, error) {
	c, err := Parse(embedded)
	if err != nil {
		return nil, fmt.Errorf("load embedded catalog: %w", err)
	}
	return c, nil
}

// AsOf is the date the catalog's figures were taken (YYYY-MM-DD).
func (c *Catalog) AsOf() string { return c.asOf }

// Sources names where the figures came from.
func (c *Catalog) Sources() []string { return slices.Clone(c.sources) }

// Len is the number of models.
func (c *Catalog) Len() int { return len(c.models) }

// Models returns every model sorted by ID.
func (c *Catalog) Models() []*Model { return slices.Clone(c.models) }

// Lookup finds a model by ID or alias, ignoring case.
func (c *Catalog) Lookup(name string) (*Model, bool) {
	if m, ok := c.byName[name]; ok { // the usual case: already lower-case, no spaces
		return m, true
	}
	m, ok := c.byName[strings.ToLower(strings.TrimSpace(name))]
	return m, ok
}

// LookupDeployment finds the deployment a provider serves under its own model name
// (as a provider reports it in a response), ignoring case.
func (c *Catalog) LookupDeployment(provider, name string) (*Model, *Deployment, bool) {
	for _, m := range c.models {
		for i := range m.Deployments {
			d := &m.Deployments[i]
			if d.Provider == provider && strings.EqualFold(d.Name, name) {
				return m, d, true
			}
		}
	}
	return nil, nil, false
}

// ByProvider returns the models provider serves, sorted by ID.
func (c *Catalog) ByProvider(provider string) []*Model {
	var out []*Model
	for _, m := range c.models {
		if _, ok := m.Deployment(provider); ok {
			out = append(out, m)
		}
	}
	return out
}

// WithCapabilities returns the models that have every given capability, sorted by ID.
func (c *Catalog) WithCapabilities(caps ...Capability) []*Model {
	var out []*Model
	for _, m := range c.models {
		if m.Has(caps...) {
			out = append(out, m)
		}
	}
	return out
}

// Providers returns every provider with at least one deployment, sorted.
func (c *Catalog) Providers() []string {
	seen := map[string]bool{}
	for _, m := range c.models {
		for _, d := range m.Deployments {
			seen[d.Provider] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
