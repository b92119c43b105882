package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiktoken-go/tokenizer"
	"gopkg.in/yaml.v3"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// These tests check the money end to end: a request goes through Arbiter to the
// emulator, the test reads the usage the provider reported off the wire (its own
// parse of each provider's format), prices it by hand at the published prices below,
// and compares with the ledger's record and the response's cost headers, to the
// nanodollar. Nothing here calls internal/cost: a bug there must show up as a
// difference.

// published are one deployment's prices in nanodollars per million tokens, copied by
// hand from internal/catalog/models.yaml (figures of 2026-08-01). Where a deployment
// has no price for a class, the field holds what the provider bills instead (the
// input price for cache reads without a prompt cache, or for cache writes outside
// Anthropic), so the hand computation below needs no rules of its own.
type published struct{ input, cachedInput, cacheWrite, output int64 }

var (
	gpt4oOpenAI       = published{input: 2_500_000_000, cachedInput: 1_250_000_000, cacheWrite: 2_500_000_000, output: 10_000_000_000}
	o4miniOpenAI      = published{input: 1_100_000_000, cachedInput: 275_000_000, cacheWrite: 1_100_000_000, output: 4_400_000_000}
	haiku35Anthropic  = published{input: 800_000_000, cachedInput: 80_000_000, cacheWrite: 1_000_000_000, output: 4_000_000_000}
	sonnet4Anthropic  = published{input: 3_000_000_000, cachedInput: 300_000_000, cacheWrite: 3_750_000_000, output: 15_000_000_000}
	sonnet37Anthropic = published{input: 3_000_000_000, cachedInput: 300_000_000, cacheWrite: 3_750_000_000, output: 15_000_000_000}
	sonnet37DeepInfra = published{input: 3_300_000_000, cachedInput: 330_000_000, cacheWrite: 3_300_000_000, output: 16_500_000_000}
	// Long-context tiers: a prompt over 200,000 tokens (cached and written ones
	// included) is billed entirely at these prices.
	sonnet4AnthropicLong = published{input: 6_000_000_000, cachedInput: 600_000_000, cacheWrite: 7_500_000_000, output: 22_500_000_000}
	pro25GeminiLong      = published{input: 2_500_000_000, cachedInput: 250_000_000, cacheWrite: 2_500_000_000, output: 15_000_000_000}
	flash25Gemini        = published{input: 300_000_000, cachedInput: 30_000_000, cacheWrite: 300_000_000, output: 2_500_000_000}
	// Llama 3.3 70B has no prompt-cache price anywhere: cache reads are billed as input.
	llama70Together = published{input: 880_000_000, cachedInput: 880_000_000, cacheWrite: 880_000_000, output: 880_000_000}
	llama70Groq     = published{input: 590_000_000, cachedInput: 590_000_000, cacheWrite: 590_000_000, output: 790_000_000}
	// A negotiated price set in the configuration (negotiatedModels below), chosen so
	// that tokens × price leaves fractions of a nanodollar and the single rounding shows.
	gpt4oMiniNegotiated = published{input: 123_456_700, cachedInput: 61_728_300, cacheWrite: 123_456_700, output: 493_827_100}
)

const negotiatedModels = `
- id: gpt-4o-mini
  deployments:
    - {provider: openai, input: 0.1234567, cached_input: 0.0617283, output: 0.4938271}
`

// wireUsage is the usage a provider reported, converted by the test to OpenAI's
// conventions (input includes cache reads and writes, output includes reasoning).
type wireUsage struct{ input, cached, written, output, reasoning int64 }

// handCost is the bill for u at p written out: every class of tokens times its price
// per million tokens, summed in nanodollar-tokens, divided by a million once and
// rounded half up. Reasoning tokens are billed at the output price (none of these
// deployments lists a reasoning price of its own).
func handCost(p published, u wireUsage) money.USD {
	return money.USD((handSum(p, u) + 500_000) / 1_000_000)
}

// handSum is the exact cost in nanodollar-tokens (nanodollars × a million).
func handSum(p published, u wireUsage) int64 {
	uncached := u.input - u.cached - u.written
	visible := u.output - u.reasoning
	return uncached*p.input + u.cached*p.cachedInput + u.written*p.cacheWrite + visible*p.output + u.reasoning*p.output
}

// upstreamCall is one exchange the emulator answered, as the provider sent it.
type upstreamCall struct {
	path        string
	contentType string
	body        []byte
}

// upstreamLog records every answer the emulator sends, so a test can read the usage
// the provider reported independently of Arbiter's adapters.
type upstreamLog struct {
	mu    sync.Mutex
	calls []upstreamCall
}

func (l *upstreamLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		l.mu.Lock()
		l.calls = append(l.calls, upstreamCall{path: r.URL.Path, contentType: w.Header().Get("Content-Type"), body: tw.buf.Bytes()})
		l.mu.Unlock()
	})
}

// take returns the calls recorded so far and forgets them.
func (l *upstreamLog) take() []upstreamCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.buf.Write(p)
	return t.ResponseWriter.Write(p)
}

func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// newMoneyStack is newStack with the providers pointed at an emulator whose answers
// are recorded.
func newMoneyStack(t *testing.T, ecfg emulator.Config, tweak func(*config.Config)) (*stack, *upstreamLog) {
	t.Helper()
	log := &upstreamLog{}
	return newStackBehind(t, log.wrap(emulator.New(ecfg)), tweak), log
}

// newStackBehind is newStack with the providers pointed at upstream instead.
func newStackBehind(t *testing.T, upstream http.Handler, tweak func(*config.Config)) *stack {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	s := newStack(t, emulator.Config{}, func(c *config.Config) {
		for i := range c.Providers {
			p := &c.Providers[i]
			if strings.HasSuffix(p.BaseURL, "/v1") {
				p.BaseURL = up.URL + "/v1"
			} else {
				p.BaseURL = up.URL
			}
		}
		if tweak != nil {
			tweak(c)
		}
	})
	return s
}

// payloads returns the JSON documents of a body: the body itself, or the data lines
// of an event stream.
func payloads(c upstreamCall) [][]byte {
	if !strings.HasPrefix(c.contentType, "text/event-stream") {
		return [][]byte{c.body}
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(c.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data:")
		if d = strings.TrimSpace(d); ok && d != "[DONE]" && d != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

// reportedUsage reads the usage of one upstream answer in the provider's own wire
// format: OpenAI's usage object (last one of a stream), Anthropic's usage (of
// message_start, updated by message_delta, in a stream) whose input_tokens excludes
// cache reads and writes, or Gemini's usageMetadata whose candidatesTokenCount
// excludes thoughts.
func reportedUsage(t *testing.T, c upstreamCall) wireUsage {
	t.Helper()
	var u wireUsage
	found := false
	for _, p := range payloads(c) {
		switch {
		case strings.HasPrefix(c.path, "/v1/chat/completions"):
			var v struct {
				Usage *struct {
					PromptTokens        int64 `json:"prompt_tokens"`
					CompletionTokens    int64 `json:"completion_tokens"`
					PromptTokensDetails struct {
						CachedTokens int64 `json:"cached_tokens"`
					} `json:"prompt_tokens_details"`
					CompletionTokensDetails struct {
						ReasoningTokens int64 `json:"reasoning_tokens"`
					} `json:"completion_tokens_details"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(p, &v); err != nil {
				t.Fatalf("upstream OpenAI payload %s: %v", p, err)
			}
			if v.Usage != nil {
				found = true
				u = wireUsage{input: v.Usage.PromptTokens, cached: v.Usage.PromptTokensDetails.CachedTokens,
					output: v.Usage.CompletionTokens, reasoning: v.Usage.CompletionTokensDetails.ReasoningTokens}
			}
		case strings.HasPrefix(c.path, "/v1/messages"):
			type anthropicUsage struct {
				InputTokens              *int64 `json:"input_tokens"`
				OutputTokens             *int64 `json:"output_tokens"`
				CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
				CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
			}
			var v struct {
				Usage   *anthropicUsage `json:"usage"`
				Message *struct {
					Usage *anthropicUsage `json:"usage"`
				} `json:"message"`
			}
			if err := json.Unmarshal(p, &v); err != nil {
				t.Fatalf("upstream Anthropic payload %s: %v", p, err)
			}
			for _, au := range []*anthropicUsage{func() *anthropicUsage {
				if v.Message != nil {
					return v.Message.Usage
				}
				return nil
			}(), v.Usage} {
				if au == nil {
					continue
				}
				found = true
				// Anthropic counts input apart from cache reads and writes; convert.
				plain := u.input - u.cached - u.written
				if au.InputTokens != nil {
					plain = *au.InputTokens
				}
				if au.CacheReadInputTokens != nil {
					u.cached = *au.CacheReadInputTokens
				}
				if au.CacheCreationInputTokens != nil {
					u.written = *au.CacheCreationInputTokens
				}
				if au.OutputTokens != nil {
					u.output = *au.OutputTokens
				}
				u.input = plain + u.cached + u.written
			}
		case strings.HasPrefix(c.path, "/v1beta/models/") || strings.HasPrefix(c.path, "/v1/models/"):
			var v struct {
				UsageMetadata *struct {
					PromptTokenCount        int64 `json:"promptTokenCount"`
					CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
					CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
					ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
				} `json:"usageMetadata"`
			}
			if err := json.Unmarshal(p, &v); err != nil {
				t.Fatalf("upstream Gemini payload %s: %v", p, err)
			}
			if m := v.UsageMetadata; m != nil {
				found = true
				u = wireUsage{input: m.PromptTokenCount, cached: m.CachedContentTokenCount,
					output: m.CandidatesTokenCount + m.ThoughtsTokenCount, reasoning: m.ThoughtsTokenCount}
			}
		default:
			t.Fatalf("unexpected upstream path %s", c.path)
		}
	}
	if !found {
		t.Fatalf("upstream %s reported no usage:\n%s", c.path, c.body)
	}
	return u
}

// exchangeResult is what a client saw of one request.
type exchangeResult struct {
	status  int
	header  http.Header
	trailer http.Header
	body    string
}

// send posts one chat request to Arbiter in the client's wire format ("openai" or
// "anthropic") and reads the whole answer.
func send(t *testing.T, base, format, model, prompt string, stream, includeUsage, deterministic bool) exchangeResult {
	t.Helper()
	body := map[string]any{
		"model":      model,
		"max_tokens": 1024,
		"messages":   []map[string]any{{"role": "user", "content": prompt}},
	}
	if stream {
		body["stream"] = true
		if includeUsage {
			body["stream_options"] = map[string]any{"include_usage": true}
		}
	}
	if deterministic {
		body["temperature"] = 0
	}
	b, _ := json.Marshal(body)
	path := "/v1/chat/completions"
	if format == "anthropic" {
		path = "/v1/messages"
	}
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if format == "anthropic" {
		req.Header.Set("x-api-key", "sk-client")
		req.Header.Set("anthropic-version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer sk-client")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", format, model, resp.StatusCode, rb)
	}
	return exchangeResult{status: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, body: string(rb)}
}

// recordOf waits for the writer to flush a request's record and returns it.
func recordOf(t *testing.T, st ledger.Store, id string) *ledger.Record {
	t.Helper()
	if id == "" {
		t.Fatal("the response has no x-arbiter-request-id")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := st.Get(context.Background(), id)
		if err == nil {
			return rec
		}
		if !errors.Is(err, ledger.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("ledger record %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// takeCalls waits until the emulator has logged n answers (its handler logs after
// the last byte, which may be just after Arbiter has finished) and returns them.
func takeCalls(t *testing.T, l *upstreamLog, n int) []upstreamCall {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var calls []upstreamCall
	for {
		calls = append(calls, l.take()...)
		if len(calls) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(calls) != n {
		t.Fatalf("upstream calls: %d, want %d", len(calls), n)
	}
	return calls
}

// checkMoneyHeaders compares the cost and saving a client was told with the ledger:
// in headers for a whole body, in trailers at the end of a stream.
func checkMoneyHeaders(t *testing.T, r exchangeResult, rec *ledger.Record, stream bool) {
	t.Helper()
	h := r.header
	if stream {
		h = r.trailer
		if r.header.Get("X-Arbiter-Cost-Usd") != "" {
			t.Errorf("a stream's cost was sent in a header, before the usage was known")
		}
	}
	for _, c := range []struct {
		name string
		want money.USD
	}{{"X-Arbiter-Cost-Usd", rec.Cost}, {"X-Arbiter-Saved-Usd", rec.Saved}} {
		v := h.Get(c.name)
		got, err := money.ParseDecimal(v)
		if err != nil {
			t.Errorf("%s %q (stream %v): %v", c.name, v, stream, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %s, the ledger says %s", c.name, got.Decimal(), c.want.Decimal())
		}
	}
}

// longPrompt is about 2,000 tokens by the emulator's count, so that the cache reads
// and writes the emulator is told to report fit inside the prompt.
func longPrompt(tag string) string { return promptOf(tag, 80) }

// promptOf repeats a sentence of about 25 tokens n times after a tag.
func promptOf(tag string, n int) string {
	return tag + ": " + strings.Repeat("The quarterly ledger reconciles every invoice against its purchase order and flags the differences. ", n)
}

func TestLedgerCostsEqualHandComputationForEveryPriceStructure(t *testing.T) {
	// Odd token counts, so that no class happens to cost a round figure.
	ecfg := emulator.Config{Models: map[string]emulator.ModelConfig{
		"gpt-4o":                             {Usage: emulator.UsageOverride{CachedInputTokens: 1037}},
		"o4-mini":                            {Usage: emulator.UsageOverride{CachedInputTokens: 517, ReasoningTokens: 211}},
		"claude-3-5-haiku-20241022":          {Usage: emulator.UsageOverride{CachedInputTokens: 1037, CacheWriteTokens: 389}},
		"claude-sonnet-4-20250514":           {Usage: emulator.UsageOverride{CachedInputTokens: 611, CacheWriteTokens: 293}},
		"gemini-2.5-pro":                     {Usage: emulator.UsageOverride{CachedInputTokens: 1777, ReasoningTokens: 321}},
		"gemini-2.5-flash":                   {Usage: emulator.UsageOverride{CachedInputTokens: 777, ReasoningTokens: 123}},
		"llama-3.3-70b-versatile":            {Usage: emulator.UsageOverride{CachedInputTokens: 501}},
		"anthropic/claude-3-7-sonnet-latest": {Usage: emulator.UsageOverride{CachedInputTokens: 613}},
		"gpt-4o-mini":                        {Usage: emulator.UsageOverride{CachedInputTokens: 333}},
	}}
	s, upstream := newMoneyStack(t, ecfg, func(c *config.Config) {
		c.Routes = map[string]config.Route{
			// Routing: the only candidate is Gemini, savings against GPT-4o.
			"budget": {Models: []string{"gemini-2.5-flash"}, Baseline: "gpt-4o"},
			// Provider choice: the same model bought elsewhere, cheaper (Groq) or dearer
			// (DeepInfra) than its default deployment.
			"llama-3.3-70b":     {Deployments: []string{"groq"}},
			"claude-3-7-sonnet": {Deployments: []string{"deepinfra"}},
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(negotiatedModels), &doc); err != nil {
			t.Fatal(err)
		}
		c.Models = *doc.Content[0]
	})

	type classes struct{ cached, written, reasoning, longContext bool }
	cases := []struct {
		name         string
		format       string // the client's wire format
		model        string // what the client asks for
		includeUsage bool   // an OpenAI-format stream that asks for usage itself
		long         bool   // a prompt past the 200,000-token long-context threshold
		served       string // catalog model and provider that answer
		provider     string
		actual       published
		baseline     published
		baselineID   string
		cause        ledger.SavingCause
		want         classes // the token classes the usage must show, so the case tests them
	}{
		{name: "openai/gpt-4o cached input", format: "openai", model: "gpt-4o", includeUsage: true,
			served: "gpt-4o", provider: "openai", actual: gpt4oOpenAI, baseline: gpt4oOpenAI, baselineID: "gpt-4o",
			cause: ledger.CauseNone, want: classes{cached: true}},
		{name: "openai/o4-mini cached input and reasoning", format: "openai", model: "o4-mini",
			served: "o4-mini", provider: "openai", actual: o4miniOpenAI, baseline: o4miniOpenAI, baselineID: "o4-mini",
			cause: ledger.CauseNone, want: classes{cached: true, reasoning: true}},
		{name: "anthropic/claude-3-5-haiku cache read and write", format: "anthropic", model: "claude-3-5-haiku-latest",
			served: "claude-3-5-haiku", provider: "anthropic", actual: haiku35Anthropic, baseline: haiku35Anthropic, baselineID: "claude-3-5-haiku",
			cause: ledger.CauseNone, want: classes{cached: true, written: true}},
		{name: "openai client/claude-sonnet-4 cache read and write", format: "openai", model: "claude-sonnet-4", includeUsage: true,
			served: "claude-sonnet-4", provider: "anthropic", actual: sonnet4Anthropic, baseline: sonnet4Anthropic, baselineID: "claude-sonnet-4",
			cause: ledger.CauseNone, want: classes{cached: true, written: true}},
		{name: "anthropic/claude-sonnet-4 long-context tier", format: "anthropic", model: "claude-sonnet-4", long: true,
			served: "claude-sonnet-4", provider: "anthropic", actual: sonnet4AnthropicLong, baseline: sonnet4AnthropicLong, baselineID: "claude-sonnet-4",
			cause: ledger.CauseNone, want: classes{cached: true, written: true, longContext: true}},
		{name: "openai client/gemini-2.5-pro long-context tier", format: "openai", model: "gemini-2.5-pro", long: true,
			served: "gemini-2.5-pro", provider: "gemini", actual: pro25GeminiLong, baseline: pro25GeminiLong, baselineID: "gemini-2.5-pro",
			cause: ledger.CauseNone, want: classes{cached: true, reasoning: true, longContext: true}},
		{name: "openai client/gemini-2.5-flash cached content and thoughts", format: "openai", model: "gemini-2.5-flash", includeUsage: true,
			served: "gemini-2.5-flash", provider: "gemini", actual: flash25Gemini, baseline: flash25Gemini, baselineID: "gemini-2.5-flash",
			cause: ledger.CauseNone, want: classes{cached: true, reasoning: true}},
		{name: "anthropic client/gemini-2.5-flash cached content and thoughts", format: "anthropic", model: "gemini-2.5-flash",
			served: "gemini-2.5-flash", provider: "gemini", actual: flash25Gemini, baseline: flash25Gemini, baselineID: "gemini-2.5-flash",
			cause: ledger.CauseNone, want: classes{cached: true, reasoning: true}},
		{name: "routing/budget route to gemini against gpt-4o", format: "openai", model: "budget", includeUsage: true,
			served: "gemini-2.5-flash", provider: "gemini", actual: flash25Gemini, baseline: gpt4oOpenAI, baselineID: "gpt-4o",
			cause: ledger.CauseRouting, want: classes{cached: true, reasoning: true}},
		{name: "provider/llama on groq against together, cache reads billed as input", format: "openai", model: "llama-3.3-70b",
			served: "llama-3.3-70b", provider: "groq", actual: llama70Groq, baseline: llama70Together, baselineID: "llama-3.3-70b",
			cause: ledger.CauseProvider, want: classes{cached: true}},
		{name: "provider/claude-3-7-sonnet on deepinfra costs more than anthropic", format: "openai", model: "claude-3-7-sonnet",
			served: "claude-3-7-sonnet", provider: "deepinfra", actual: sonnet37DeepInfra, baseline: sonnet37Anthropic, baselineID: "claude-3-7-sonnet",
			cause: ledger.CauseProvider, want: classes{cached: true}},
		{name: "negotiated/gpt-4o-mini price with sub-nanodollar remainders", format: "openai", model: "gpt-4o-mini",
			served: "gpt-4o-mini", provider: "openai", actual: gpt4oMiniNegotiated, baseline: gpt4oMiniNegotiated, baselineID: "gpt-4o-mini",
			cause: ledger.CauseNone, want: classes{cached: true}},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			name := tc.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				prompt := longPrompt(name)
				if tc.long {
					prompt = promptOf(name, 8200)
				}
				r := send(t, s.arbSrv.URL, tc.format, tc.model, prompt, stream, tc.includeUsage, false)
				if c := r.header.Get("X-Arbiter-Cache"); c == "hit" || c == "semantic-hit" {
					t.Fatalf("answered from cache (%s): this case needs an upstream call", c)
				}
				u := reportedUsage(t, takeCalls(t, upstream, 1)[0])
				if tc.want.cached && u.cached == 0 || tc.want.written && u.written == 0 || tc.want.reasoning && u.reasoning == 0 ||
					tc.want.longContext != (u.input > 200_000) {
					t.Fatalf("the provider's usage %+v lacks a token class this case is about (%+v)", u, tc.want)
				}
				rec := recordOf(t, s.arb.Store, r.header.Get("X-Arbiter-Request-Id"))

				wantUsage := llm.Usage{InputTokens: int(u.input), CachedInputTokens: int(u.cached), CacheWriteTokens: int(u.written),
					OutputTokens: int(u.output), ReasoningTokens: int(u.reasoning)}
				if rec.Usage != wantUsage {
					t.Errorf("ledger usage %+v, the provider reported %+v", rec.Usage, wantUsage)
				}
				wantCost, wantBase := handCost(tc.actual, u), handCost(tc.baseline, u)
				if tc.actual == gpt4oMiniNegotiated && handSum(tc.actual, u)%1_000_000 == 0 {
					t.Fatalf("usage %+v costs a whole number of nanodollars: the rounding is not exercised", u)
				}
				t.Logf("usage in %d (cached %d, written %d) out %d (reasoning %d): cost %s, baseline %s, saved %s",
					u.input, u.cached, u.written, u.output, u.reasoning, wantCost.Decimal(), wantBase.Decimal(), (wantBase - wantCost).Decimal())
				if rec.Cost != wantCost || rec.BaselineCost != wantBase || rec.Saved != wantBase-wantCost {
					t.Errorf("ledger cost %d, baseline %d, saved %d nanodollars; by hand %d, %d, %d (usage %+v)",
						rec.Cost, rec.BaselineCost, rec.Saved, wantCost, wantBase, wantBase-wantCost, u)
				}
				if rec.ServedModel != tc.served || rec.Provider != tc.provider || rec.BaselineModel != tc.baselineID || rec.SavingCause != tc.cause {
					t.Errorf("ledger says served %s by %s against %s, cause %q; want %s by %s against %s, cause %q",
						rec.ServedModel, rec.Provider, rec.BaselineModel, rec.SavingCause, tc.served, tc.provider, tc.baselineID, tc.cause)
				}
				if rec.Stream != stream || rec.Status != http.StatusOK || rec.Partial {
					t.Errorf("ledger stream %v status %d partial %v", rec.Stream, rec.Status, rec.Partial)
				}
				checkMoneyHeaders(t, r, rec, stream)
				// Usage was asked for upstream for the ledger's sake; a client that did
				// not ask for it must not get it.
				if stream && tc.format == "openai" && !tc.includeUsage && strings.Contains(r.body, `"usage":{`) {
					t.Errorf("usage sent to an OpenAI stream that did not ask for it")
				}
			})
		}
	}
}

// TestLedgerCostsEqualHandComputationOnCacheHit: a hit costs nothing and saves what
// the baseline would have cost for the cached answer's tokens, whether it is replayed
// as a body or as a stream.
func TestLedgerCostsEqualHandComputationOnCacheHit(t *testing.T) {
	ecfg := emulator.Config{Models: map[string]emulator.ModelConfig{
		"gpt-4o": {Usage: emulator.UsageOverride{CachedInputTokens: 1037}},
	}}
	s, upstream := newMoneyStack(t, ecfg, nil)
	prompt := longPrompt("cache hit")

	miss := send(t, s.arbSrv.URL, "openai", "gpt-4o", prompt, false, false, true)
	if c := miss.header.Get("X-Arbiter-Cache"); c != "miss" {
		t.Fatalf("first request: cache %q, want miss", c)
	}
	u := reportedUsage(t, takeCalls(t, upstream, 1)[0])
	first := recordOf(t, s.arb.Store, miss.header.Get("X-Arbiter-Request-Id"))
	if want := handCost(gpt4oOpenAI, u); first.Cost != want || first.Saved != 0 {
		t.Fatalf("miss: cost %d saved %d, want %d and 0", first.Cost, first.Saved, want)
	}

	for _, tc := range []struct {
		name   string
		format string
		stream bool
	}{{"body", "openai", false}, {"stream", "openai", true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, s.arbSrv.URL, tc.format, "gpt-4o", prompt, tc.stream, true, true)
			if c := r.header.Get("X-Arbiter-Cache"); c != "hit" {
				t.Fatalf("cache %q, want hit", c)
			}
			if calls := upstream.take(); len(calls) != 0 {
				t.Fatalf("a cache hit called the provider %d times", len(calls))
			}
			rec := recordOf(t, s.arb.Store, r.header.Get("X-Arbiter-Request-Id"))
			base := handCost(gpt4oOpenAI, u)
			if rec.Cost != 0 || rec.BaselineCost != base || rec.Saved != base {
				t.Errorf("hit: cost %d, baseline %d, saved %d; want 0, %d, %d", rec.Cost, rec.BaselineCost, rec.Saved, base, base)
			}
			if rec.Cache != ledger.CacheHit || rec.SavingCause != ledger.CauseCache || rec.Provider != "cache" {
				t.Errorf("hit recorded as cache %q cause %q provider %q", rec.Cache, rec.SavingCause, rec.Provider)
			}
			checkMoneyHeaders(t, r, rec, tc.stream)
		})
	}
}

// withoutUsage plays an OpenAI-compatible host that reports no usage: it removes the
// usage object from answers, and the usage chunk from streams.
func withoutUsage(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		body := rec.Body.Bytes()
		strip := func(doc []byte) ([]byte, bool) {
			var m map[string]any
			if json.Unmarshal(doc, &m) != nil || m["usage"] == nil {
				return doc, true
			}
			if ch, _ := m["choices"].([]any); len(ch) == 0 && m["object"] == "chat.completion.chunk" {
				return nil, false // the stream's usage-only chunk
			}
			delete(m, "usage")
			out, _ := json.Marshal(m)
			return out, true
		}
		var out bytes.Buffer
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
			for _, event := range strings.SplitAfter(string(body), "\n\n") {
				data, ok := strings.CutPrefix(strings.TrimSpace(event), "data: ")
				if !ok || data == "[DONE]" {
					out.WriteString(event)
					continue
				}
				if doc, keep := strip([]byte(data)); keep {
					out.WriteString("data: " + string(doc) + "\n\n")
				}
			}
		} else {
			doc, _ := strip(body)
			out.Write(doc)
		}
		w.WriteHeader(rec.Code)
		w.Write(out.Bytes())
	})
}

// answerText is the text of the first choice of an OpenAI-format answer or stream.
func answerText(t *testing.T, r exchangeResult, stream bool) string {
	t.Helper()
	if !stream {
		var v struct {
			Choices []struct {
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || len(v.Choices) == 0 {
			t.Fatalf("answer %s: %v", r.body, err)
		}
		return v.Choices[0].Message.Content
	}
	var b strings.Builder
	for _, p := range payloads(upstreamCall{contentType: "text/event-stream", body: []byte(r.body)}) {
		var v struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			t.Fatalf("stream chunk %s: %v", p, err)
		}
		for _, c := range v.Choices {
			b.WriteString(c.Delta.Content)
		}
	}
	return b.String()
}

// TestLedgerCostsEqualHandComputationWhenUsageIsEstimated: a host that reports no
// usage is billed on Arbiter's own count, o200k_base tokens with OpenAI's chat framing
// (3 tokens per message and 3 to prime the reply), and the record says it is an
// estimate.
func TestLedgerCostsEqualHandComputationWhenUsageIsEstimated(t *testing.T) {
	s := newStackBehind(t, withoutUsage(emulator.New(emulator.Config{})), nil)
	codec, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		t.Fatal(err)
	}
	count := func(text string) int64 {
		n, err := codec.Count(text)
		if err != nil {
			t.Fatal(err)
		}
		return int64(n)
	}
	gpt4oMiniOpenAI := published{input: 150_000_000, cachedInput: 75_000_000, cacheWrite: 150_000_000, output: 600_000_000}
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			prompt := longPrompt(fmt.Sprintf("estimated usage, stream %v", stream))
			r := send(t, s.arbSrv.URL, "openai", "gpt-4o-mini", prompt, stream, true, false)
			rec := recordOf(t, s.arb.Store, r.header.Get("X-Arbiter-Request-Id"))
			u := wireUsage{input: 3 + 3 + count(prompt), output: count(answerText(t, r, stream))}
			want := llm.Usage{InputTokens: int(u.input), OutputTokens: int(u.output), Estimated: true}
			if rec.Usage != want {
				t.Errorf("ledger usage %+v, counted by hand %+v", rec.Usage, want)
			}
			if c := handCost(gpt4oMiniOpenAI, u); rec.Cost != c || rec.BaselineCost != c || rec.Saved != 0 {
				t.Errorf("ledger cost %d baseline %d saved %d; by hand %d, %d, 0", rec.Cost, rec.BaselineCost, rec.Saved, c, c)
			}
			checkMoneyHeaders(t, r, rec, stream)
		})
	}
}
