package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseExpandsEnvAndAppliesDefaults(t *testing.T) {
	src := `
server:
  addr: 127.0.0.1:9999
providers:
  - name: openai
    api_key: ${OPENAI_KEY}
  - name: groq
    api_key: ${GROQ:-fallback-key}
executor:
  first_byte_timeout: 2.5
  idle_timeout: 300ms
`
	c, err := Parse("a.yaml", []byte(src), env(map[string]string{"OPENAI_KEY": "sk-test"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Providers[0].APIKey != "sk-test" || c.Providers[1].APIKey != "fallback-key" {
		t.Fatalf("keys not expanded: %+v", c.Providers)
	}
	if c.Providers[0].Kind != "openai" || c.Providers[0].BaseURL != "https://api.openai.com/v1" {
		t.Fatalf("openai defaults: %+v", c.Providers[0])
	}
	if c.Providers[1].Kind != "openai" || !strings.Contains(c.Providers[1].BaseURL, "groq") {
		t.Fatalf("groq defaults: %+v", c.Providers[1])
	}
	if c.Executor.FirstByteTimeout.D() != 2500*time.Millisecond || c.Executor.IdleTimeout.D() != 300*time.Millisecond {
		t.Fatalf("durations: %v %v", c.Executor.FirstByteTimeout.D(), c.Executor.IdleTimeout.D())
	}
	if c.Server.MaxBodyBytes != DefaultMaxBodyBytes || c.Ledger.FlushInterval.D() != time.Second {
		t.Fatal("defaults not applied")
	}
}

func TestErrorsNameFileLineAndField(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unset secret", "providers:\n  - name: openai\n    api_key: ${NOPE}\n", []string{"c.yaml:3", "NOPE is not set"}},
		{"unknown field", "server:\n  adr: x\n", []string{"c.yaml:2", "adr"}},
		{"bad kind", "providers:\n  - name: x\n    kind: cohere\n    base_url: http://h\n", []string{"c.yaml:3", "providers.0.kind", "cohere"}},
		{"bad addr", "server:\n  addr: nope\n", []string{"c.yaml:2", "server.addr"}},
		{"wrong type", "server:\n  max_body_bytes: lots\n", []string{"c.yaml:2", "lots"}},
		{"short key", "keys:\n  - name: a\n    key: short\n    tenant: t\n", []string{"c.yaml:3", "keys.0.key", "16 characters"}},
		{"bad duration", "executor:\n  idle_timeout: soon\n", []string{"c.yaml:2", "soon"}},
		{"zero budget", keyWith("    budget: {usd: 0, period: day}\n"), []string{"c.yaml:5", "keys.0.budget.usd", "more than 0"}},
		{"negative budget", keyWith("    budget:\n      usd: -5\n"), []string{"c.yaml:6", "keys.0.budget.usd"}},
		{"budget not a number", keyWith("    budget: {usd: lots}\n"), []string{"c.yaml:5", "lots"}},
		{"bad period", keyWith("    budget:\n      usd: 5\n      period: week\n"), []string{"c.yaml:7", "keys.0.budget.period", "week"}},
		{"negative rpm", keyWith("    rate_limit:\n      requests_per_minute: -1\n"), []string{"c.yaml:6", "keys.0.rate_limit.requests_per_minute"}},
		{"negative tpm", keyWith("    rate_limit:\n      tokens_per_minute: -1\n"), []string{"c.yaml:6", "keys.0.rate_limit.tokens_per_minute"}},
		{"unknown limit field", keyWith("    rate_limit:\n      rpm: 5\n"), []string{"c.yaml:6", "rpm"}},
		{"route to unknown provider", "routes:\n  gpt-4o:\n    deployments: [nobody/gpt-4o]\n", []string{"c.yaml:3", "routes.gpt-4o.deployments.0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.src), env(nil))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// keyWith is a valid key entry followed by extra lines (from line 5).
func keyWith(extra string) string {
	return "keys:\n  - name: a\n    key: sk-arbiter-0123456789\n    tenant: t\n" + extra
}

func TestKeyBudgetsAndRateLimitsAreReadExactly(t *testing.T) {
	src := keyWith("    budget: {usd: 0.1, period: day}\n    rate_limit: {requests_per_minute: 60, tokens_per_minute: 0}\n") +
		"  - name: b\n    key: sk-arbiter-abcdefghij\n    tenant: t\n    budget: {usd: 50}\n"
	c, err := Parse("c.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Keys[0], c.Keys[1]
	if a.Budget == nil || a.Budget.USD.USD() != money.Dollar/10 || a.Budget.Period != "day" {
		t.Fatalf("key a budget: %+v", a.Budget)
	}
	if a.RateLimit == nil || a.RateLimit.RequestsPerMinute != 60 || a.RateLimit.TokensPerMinute != 0 {
		t.Fatalf("key a rate limit: %+v", a.RateLimit)
	}
	if b.Budget == nil || b.Budget.USD.USD() != 50*money.Dollar || b.Budget.Period != "month" || b.RateLimit != nil {
		t.Fatalf("key b: budget %+v (period defaults to month), rate %+v", b.Budget, b.RateLimit)
	}
}

func TestSecretsNeverInValidationErrors(t *testing.T) {
	src := "providers:\n  - name: x\n    kind: bogus\n    api_key: sk-very-secret-value\n    base_url: http://h\n"
	_, err := Parse("c.yaml", []byte(src), env(nil))
	if err == nil || strings.Contains(err.Error(), "sk-very-secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	if _, err := FromEnv(env(nil)); !errors.Is(err, ErrNoProviders) || !strings.Contains(err.Error(), "arbiter demo") {
		t.Fatalf("no keys: %v", err)
	}
	c, err := FromEnv(env(map[string]string{
		"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
		"ANTHROPIC_API_KEY": "a-1", "GOOGLE_API_KEY": "g-1", "GROQ_API_KEY": "q-1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Provider{}
	for _, p := range c.Providers {
		got[p.Name] = p
	}
	if got["openai"].BaseURL != "http://127.0.0.1:1/v1" || got["anthropic"].BaseURL != "https://api.anthropic.com" ||
		got["gemini"].APIKey != "g-1" || got["groq"].Kind != "openai" || len(got) != 4 {
		t.Fatalf("providers: %+v", got)
	}
}
