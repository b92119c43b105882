package cache

import (
	"net/http"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestDecideAppliesPolicyAndHeaders(t *testing.T) {
	chat := func() *llm.Request {
		return &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}}
	}
	on := Policy{Enabled: true, TTL: time.Hour, MaxTTL: 2 * time.Hour, Sampled: SampledSeeded}
	cases := []struct {
		name    string
		req     func() *llm.Request
		policy  Policy
		headers map[string]string
		want    Decision
	}{
		{"plain request", chat, on, nil,
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour}},
		{"disabled", chat, Policy{TTL: time.Hour}, nil,
			Decision{Reason: "disabled"}},
		{"no-store", chat, on, map[string]string{"Cache-Control": "no-store"},
			Decision{Reason: "no-store"}},
		{"no-cache refreshes", chat, on, map[string]string{"Cache-Control": "No-Cache"},
			Decision{Store: true, TTL: time.Hour, Reason: "no-cache"}},
		{"max-age", chat, on, map[string]string{"Cache-Control": "max-age=60"},
			Decision{Lookup: true, Store: true, Semantic: true, MaxAge: time.Minute, TTL: time.Hour}},
		{"max-age and no-store together", chat, on, map[string]string{"Cache-Control": "max-age=60, no-store"},
			Decision{Reason: "no-store"}},
		{"max-age=0 refreshes", chat, on, map[string]string{"Cache-Control": "max-age=0"},
			Decision{Store: true, TTL: time.Hour, Reason: "max-age=0"}},
		{"invalid max-age ignored", chat, on, map[string]string{"Cache-Control": "max-age=soon"},
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour, Reason: "invalid max-age ignored"}},
		{"ttl in seconds", chat, on, map[string]string{"X-Arbiter-Cache-Ttl": "30"},
			Decision{Lookup: true, Store: true, Semantic: true, TTL: 30 * time.Second}},
		{"ttl as duration", chat, on, map[string]string{"x-arbiter-cache-ttl": "90s"},
			Decision{Lookup: true, Store: true, Semantic: true, TTL: 90 * time.Second}},
		{"ttl capped by policy", chat, on, map[string]string{"X-Arbiter-Cache-Ttl": "48h"},
			Decision{Lookup: true, Store: true, Semantic: true, TTL: 2 * time.Hour}},
		{"ttl zero does not store", chat, on, map[string]string{"X-Arbiter-Cache-Ttl": "0"},
			Decision{Lookup: true, Semantic: true, TTL: time.Hour, Reason: "ttl=0"}},
		{"invalid ttl ignored", chat, on, map[string]string{"X-Arbiter-Cache-Ttl": "forever"},
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour, Reason: "invalid x-arbiter-cache-ttl ignored"}},
		{"sampled without seed", func() *llm.Request { r := chat(); r.Temperature = ptr(0.8); return r }, on, nil,
			Decision{Reason: "sampled"}},
		{"sampled with seed", func() *llm.Request { r := chat(); r.Temperature = ptr(0.8); r.Seed = ptr(int64(1)); return r }, on, nil,
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour}},
		{"sampled with seed, policy never", func() *llm.Request { r := chat(); r.Temperature = ptr(0.8); r.Seed = ptr(int64(1)); return r },
			Policy{Enabled: true, TTL: time.Hour, Sampled: SampledNever}, nil,
			Decision{Reason: "sampled"}},
		{"sampled, policy always", func() *llm.Request { r := chat(); r.Temperature = ptr(0.8); return r },
			Policy{Enabled: true, TTL: time.Hour, Sampled: SampledAlways}, nil,
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour}},
		{"temperature zero is not sampled", func() *llm.Request { r := chat(); r.Temperature = ptr(0.0); return r }, on, nil,
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour}},
		{"n > 1 cached as a whole", func() *llm.Request { r := chat(); r.N = ptr(3); return r }, on, nil,
			Decision{Lookup: true, Store: true, Semantic: true, TTL: time.Hour}},
		{"pending tool result: exact only", func() *llm.Request {
			r := chat()
			r.Messages = append(r.Messages,
				llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}},
				llm.Message{Role: llm.RoleTool, ToolCallID: "c", Content: []llm.Part{{Type: llm.PartText, Text: "42"}}})
			return r
		}, on, nil,
			Decision{Lookup: true, Store: true, TTL: time.Hour}},
		{"policy without ttl does not store", chat, Policy{Enabled: true}, nil,
			Decision{Lookup: true, Semantic: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.headers {
				h.Set(k, v)
			}
			if got := Decide(c.req(), c.policy, h); got != c.want {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDecideCoalescesOnlyWhatItMayServe(t *testing.T) {
	r := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}}
	h := http.Header{"Cache-Control": {"no-cache"}}
	if Decide(r, DefaultPolicy(), h).Coalesce() {
		t.Fatal("a no-cache request joined another's call")
	}
	if !Decide(r, DefaultPolicy(), nil).Coalesce() {
		t.Fatal("a cacheable request did not coalesce")
	}
}

func TestPoliciesResolveExactThenLongestPattern(t *testing.T) {
	ps := Policies{
		Default: Policy{Enabled: true, TTL: time.Hour},
		ByModel: map[string]Policy{
			"gpt-4o*":      {Enabled: true, TTL: time.Minute},
			"gpt-4o-mini*": {Enabled: true, TTL: time.Second},
			"auto":         {Enabled: false},
		},
	}
	for model, want := range map[string]Policy{
		"gpt-4o":            {Enabled: true, TTL: time.Minute},
		"gpt-4o-mini-2024":  {Enabled: true, TTL: time.Second},
		"auto":              {Enabled: false},
		"claude-3-5-sonnet": {Enabled: true, TTL: time.Hour},
	} {
		if got := ps.Resolve(model); got != want {
			t.Errorf("%s: %+v, want %+v", model, got, want)
		}
	}
}

func TestStorableRefusesIncompleteAnswers(t *testing.T) {
	choice := func(fr llm.FinishReason) llm.Choice {
		return llm.Choice{Message: llm.TextMessage(llm.RoleAssistant, "x"), FinishReason: fr}
	}
	cases := []struct {
		name string
		resp *llm.Response
		want bool
	}{
		{"complete", &llm.Response{Choices: []llm.Choice{choice(llm.FinishStop)}}, true},
		{"tool calls", &llm.Response{Choices: []llm.Choice{choice(llm.FinishToolCalls)}}, true},
		{"nil", nil, false},
		{"no choices", &llm.Response{}, false},
		{"unfinished", &llm.Response{Choices: []llm.Choice{choice("")}}, false},
		{"truncated", &llm.Response{Choices: []llm.Choice{choice(llm.FinishLength)}}, false},
		{"filtered", &llm.Response{Choices: []llm.Choice{choice(llm.FinishContentFilter)}}, false},
		{"one of n unfinished", &llm.Response{Choices: []llm.Choice{choice(llm.FinishStop), choice("")}}, false},
	}
	for _, c := range cases {
		if got, why := Storable(c.resp); got != c.want {
			t.Errorf("%s: storable=%v (%s), want %v", c.name, got, why, c.want)
		}
	}
}
