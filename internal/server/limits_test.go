package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/servicetest"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

const (
	tinySecret  = "sk-arbiter-tiny-budget-0001"
	otherSecret = "sk-arbiter-other-key-00002"
)

// limitedKeys adds a key with a budget far below one request's cost, another key
// without limits, and extra keys.
func limitedKeys(extra ...config.Key) func(*config.Config) {
	return func(c *config.Config) {
		c.Keys = append([]config.Key{
			{Name: "tiny", Key: tinySecret, Tenant: "t1", Budget: &config.Budget{USD: config.Dollars(money.Dollar / 1_000_000), Period: "day"}},
			{Name: "other", Key: otherSecret, Tenant: "t2"},
		}, extra...)
	}
}

func keyed(base, secret string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0))
}

func anthropicKeyed(base, secret string) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(base+"/"), aoption.WithAPIKey(secret), aoption.WithMaxRetries(0))
}

func anthropicParams(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: "gpt-4o-mini", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))}}
}

// wantBudgetRefusal checks openai-go's view of a budget refusal.
func wantBudgetRefusal(t *testing.T, err error) {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *openai.Error, got %T %v", err, err)
	}
	id := tenant.KeyID(tinySecret)
	if e.StatusCode != 429 || e.Type != "insufficient_quota" || e.Code != "insufficient_quota" ||
		!strings.Contains(e.Message, id) || !strings.Contains(e.Message, "daily budget of $0.000001") ||
		!strings.Contains(e.Message, "resets at") || strings.Contains(e.Message, tinySecret) {
		t.Fatalf("refusal: status %d type %q code %q message %q", e.StatusCode, e.Type, e.Code, e.Message)
	}
}

func adminKeys(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/admin/keys", nil)
	req.Header.Set("Authorization", "Bearer admin-test-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/admin/keys: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestBudgetRefusesUpstreamInBothWireFormatsServesCacheHitsAndSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	withDir := func(c *config.Config) { limitedKeys()(c); c.Ledger.DataDir = dir }
	s := newStack(t, emulator.Config{}, withDir)
	ctx := context.Background()
	tiny, other := keyed(s.arbSrv.URL, tinySecret), keyed(s.arbSrv.URL, otherSecret)

	first := params("gpt-4o-mini", "What is the capital of Australia?")
	var raw *http.Response
	if _, err := tiny.Chat.Completions.New(ctx, first, option.WithResponseInto(&raw)); err != nil {
		t.Fatalf("first request, within budget: %v", err)
	}
	if raw.Header.Get("X-Arbiter-Budget-Remaining-Usd") != "0.000001" {
		t.Fatalf("remaining before the first request: %q", raw.Header.Get("X-Arbiter-Budget-Remaining-Usd"))
	}
	upstream := s.emu.Stats().Total.Requests

	// Its cost is over the budget: the next request that would go upstream is refused.
	_, err := tiny.Chat.Completions.New(ctx, params("gpt-4o-mini", "And of Canada?"), option.WithResponseInto(&raw))
	wantBudgetRefusal(t, err)
	if raw.Header.Get("X-Should-Retry") != "false" {
		t.Fatalf("x-should-retry %q", raw.Header.Get("X-Should-Retry"))
	}
	ac := anthropicKeyed(s.arbSrv.URL, tinySecret)
	_, err = ac.Messages.New(ctx, anthropicParams("And of Brazil?"))
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 429 || string(ae.Type()) != "rate_limit_error" ||
		!strings.Contains(ae.RawJSON(), tenant.KeyID(tinySecret)) || strings.Contains(ae.RawJSON(), tinySecret) {
		t.Fatalf("anthropic refusal: %v", err)
	}
	if got := s.emu.Stats().Total.Requests; got != upstream {
		t.Fatalf("refused requests reached the provider: %d upstream calls, want %d", got, upstream)
	}

	// A cache hit costs nothing: still served.
	if _, err := tiny.Chat.Completions.New(ctx, first, option.WithResponseInto(&raw)); err != nil || raw.Header.Get("X-Arbiter-Cache") != "hit" {
		t.Fatalf("cache hit over budget: %v, cache %q", err, raw.Header.Get("X-Arbiter-Cache"))
	}
	// Another key is unaffected.
	if _, err := other.Chat.Completions.New(ctx, params("gpt-4o-mini", "And of Canada?")); err != nil {
		t.Fatalf("another key: %v", err)
	}

	body := adminKeys(t, s.arbSrv.URL)
	for _, want := range []string{tenant.KeyID(tinySecret), `"remaining_usd": "0.00"`, `"exhausted": true`, `"usd": "0.000001"`, `"period": "day"`, tenant.KeyID(otherSecret)} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin/keys lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, tinySecret) || strings.Contains(body, otherSecret) {
		t.Fatalf("/admin/keys shows a secret:\n%s", body)
	}

	// Restart on the same data directory: the spend comes back from the ledger.
	s.close()
	s2 := newStack(t, emulator.Config{}, withDir)
	tiny2 := keyed(s2.arbSrv.URL, tinySecret)
	_, err = tiny2.Chat.Completions.New(ctx, params("gpt-4o-mini", "And of Chile?"))
	wantBudgetRefusal(t, err)
	if s2.emu.Stats().Total.Requests != 0 {
		t.Fatal("after the restart a refused request reached the provider")
	}
}

// redisPrefix is a key prefix of this test alone; its keys go when it ends.
func redisPrefix(t *testing.T) string {
	return servicetest.RedisPrefix(t, servicetest.Redis(t))
}

func TestTwoGatewaysSharingRedisShareBudgetsAndRateLimits(t *testing.T) {
	prefix := redisPrefix(t)
	rpmSecret := "sk-arbiter-two-per-minute-3"
	shared := func(c *config.Config) {
		limitedKeys(config.Key{Name: "rpm", Key: rpmSecret, Tenant: "t3", RateLimit: &config.RateLimit{RequestsPerMinute: 2}})(c)
		c.Cache.Redis = &config.Redis{Addr: "127.0.0.1:6379", Prefix: prefix}
	}
	a := newStack(t, emulator.Config{}, shared)
	b := newStack(t, emulator.Config{}, shared)
	ctx := context.Background()
	ta, tb := keyed(a.arbSrv.URL, tinySecret), keyed(b.arbSrv.URL, tinySecret)
	if _, err := ta.Chat.Completions.New(ctx, params("gpt-4o-mini", "spent on replica a")); err != nil {
		t.Fatal(err)
	}
	_, err := tb.Chat.Completions.New(ctx, params("gpt-4o-mini", "refused on replica b"))
	wantBudgetRefusal(t, err)

	ra, rb := keyed(a.arbSrv.URL, rpmSecret), keyed(b.arbSrv.URL, rpmSecret)
	for i, c := range []openai.Client{ra, rb} {
		if _, err := c.Chat.Completions.New(ctx, params("gpt-4o-mini", "request "+strconv.Itoa(i))); err != nil {
			t.Fatalf("request %d of 2: %v", i+1, err)
		}
	}
	_, err = ra.Chat.Completions.New(ctx, params("gpt-4o-mini", "the third in a minute"))
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != 429 || e.Type != "requests" || e.Code != "rate_limit_exceeded" {
		t.Fatalf("third request across replicas: %v", err)
	}
}

// post sends a raw chat request with a key and returns the response and body.
func post(t *testing.T, url, secret, body string, anthropicFormat bool) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if anthropicFormat {
		req.Header.Set("x-api-key", secret)
		req.Header.Set("anthropic-version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func chatBody(text string) string {
	return `{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":` + strconv.Quote(text) + `}]}`
}

func retryAfterWithin(t *testing.T, h http.Header, lo, hi int) {
	t.Helper()
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < lo || n > hi {
		t.Fatalf("Retry-After %q, want %d..%d", h.Get("Retry-After"), lo, hi)
	}
}

func TestRateLimitRequestsPerMinuteRefusesTheNextWithRetryAfterAndHeaders(t *testing.T) {
	secret := "sk-arbiter-three-per-minute"
	s := newStack(t, emulator.Config{}, limitedKeys(config.Key{Name: "rpm", Key: secret, Tenant: "t3", RateLimit: &config.RateLimit{RequestsPerMinute: 3}}))
	url := s.arbSrv.URL + "/v1/chat/completions"
	for i := range 3 {
		resp, body := post(t, url, secret, chatBody("question "+strconv.Itoa(i)), false)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("x-ratelimit-limit-requests") != "3" || h.Get("x-ratelimit-remaining-requests") != strconv.Itoa(2-i) ||
			h.Get("x-ratelimit-reset-requests") == "" || h.Get("x-ratelimit-limit-tokens") != "" {
			t.Fatalf("request %d: %d %v %s", i+1, resp.StatusCode, h, body)
		}
	}
	resp, body := post(t, url, secret, chatBody("one too many"), false)
	if resp.StatusCode != 429 || !strings.Contains(body, `"type":"requests"`) || !strings.Contains(body, `"code":"rate_limit_exceeded"`) ||
		resp.Header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("4th request: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	retryAfterWithin(t, resp.Header, 1, 20) // one request refills every 20s

	// Anthropic clients get Anthropic's headers and error type.
	resp, body = post(t, s.arbSrv.URL+"/v1/messages", secret, chatBody("and once more"), true)
	h := resp.Header
	if resp.StatusCode != 429 || !strings.Contains(body, `"rate_limit_error"`) || h.Get("anthropic-ratelimit-requests-limit") != "3" ||
		h.Get("anthropic-ratelimit-requests-remaining") != "0" || h.Get("x-ratelimit-limit-requests") != "" {
		t.Fatalf("anthropic client: %d %v %s", resp.StatusCode, h, body)
	}
	if _, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-requests-reset")); err != nil {
		t.Fatalf("anthropic reset %q: %v", h.Get("anthropic-ratelimit-requests-reset"), err)
	}
	retryAfterWithin(t, h, 1, 20)

	// Keys without a rate limit get no rate-limit headers and no refusal.
	resp, _ = post(t, url, otherSecret, chatBody("unlimited"), false)
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit-requests") != "" {
		t.Fatalf("unlimited key: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestRateLimitTokensPerMinuteRefusesOnceTheBucketIsSpent(t *testing.T) {
	secret := "sk-arbiter-fifty-tokens-min"
	s := newStack(t, emulator.Config{}, limitedKeys(config.Key{Name: "tpm", Key: secret, Tenant: "t4", RateLimit: &config.RateLimit{TokensPerMinute: 50}}))
	url := s.arbSrv.URL + "/v1/chat/completions"
	long := strings.Repeat("Tell me everything about rivers, bridges and the towns built beside them. ", 8)
	resp, body := post(t, url, secret, chatBody(long), false)
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit-tokens") != "50" || resp.Header.Get("x-ratelimit-remaining-tokens") != "50" {
		t.Fatalf("first request (bucket full): %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post(t, url, secret, chatBody("short"), false)
	if resp.StatusCode != 429 || !strings.Contains(body, `"type":"tokens"`) || resp.Header.Get("x-ratelimit-remaining-tokens") != "0" {
		t.Fatalf("after a request of more than 50 tokens: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	retryAfterWithin(t, resp.Header, 1, 600)
}

// redisProxy forwards TCP to Redis until killed, to take Redis away from a running
// gateway.
type redisProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newRedisProxy(t *testing.T) *redisProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", "127.0.0.1:6379")
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *redisProxy) kill() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestRateLimitAndBudgetFailOpenWhenRedisGoesDown(t *testing.T) {
	prefix := redisPrefix(t)
	proxy := newRedisProxy(t)
	secret := "sk-arbiter-one-per-minute-5"
	s := newStack(t, emulator.Config{}, func(c *config.Config) {
		limitedKeys(config.Key{Name: "one", Key: secret, Tenant: "t5", RateLimit: &config.RateLimit{RequestsPerMinute: 1}})(c)
		c.Cache.Redis = &config.Redis{Addr: proxy.ln.Addr().String(), Prefix: prefix}
	})
	ctx := context.Background()
	one, tiny := keyed(s.arbSrv.URL, secret), keyed(s.arbSrv.URL, tinySecret)
	if _, err := one.Chat.Completions.New(ctx, params("gpt-4o-mini", "while Redis is up")); err != nil {
		t.Fatal(err)
	}
	proxy.kill() // Redis is now a closed port
	for i := range 3 {
		if _, err := one.Chat.Completions.New(ctx, params("gpt-4o-mini", "Redis is down "+strconv.Itoa(i))); err != nil {
			t.Fatalf("one-per-minute key, request %d with Redis down: %v", i+2, err)
		}
		if _, err := tiny.Chat.Completions.New(ctx, params("gpt-4o-mini", "budget with Redis down "+strconv.Itoa(i))); err != nil {
			t.Fatalf("budgeted key, request %d with Redis down: %v", i+1, err)
		}
	}
	resp, err := http.Get(s.arbSrv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(m), "arbiter_limits_store_errors_total") || strings.Contains(string(m), "arbiter_limits_store_errors_total 0\n") {
		t.Fatalf("store errors not counted:\n%s", grepLines(string(m), "arbiter_limits"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestSpendByKeySumsTheLedgerSinceAPeriodStartIncludingALifetime(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Noon yesterday: every record lies well inside its day whenever the test runs.
	now := tenant.PeriodDay.Window(time.Now()).Start.Add(-12 * time.Hour)
	day := tenant.PeriodDay.Window(now).Start
	recs := []ledger.Record{
		{RequestID: "r1", Time: day.Add(-time.Hour), KeyID: "key_a", Cost: 5, Status: 200},     // yesterday
		{RequestID: "r2", Time: day.Add(time.Second), KeyID: "key_a", Cost: 7, Status: 200},    // today
		{RequestID: "r3", Time: now.Add(-time.Second), KeyID: "key_a", Cost: 11, Status: 200},  // today
		{RequestID: "r4", Time: now.Add(-time.Second), KeyID: "key_b", Cost: 100, Status: 200}, // another key
	}
	if err := st.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	today, err := spendByKey(ctx, st, day, now)
	if err != nil {
		t.Fatal(err)
	}
	life, err := spendByKey(ctx, st, tenant.PeriodTotal.Window(now).Start, now)
	if err != nil {
		t.Fatal(err)
	}
	if today["key_a"] != 18 || today["key_b"] != 100 || life["key_a"] != 23 {
		t.Fatalf("today %v, lifetime %v", today, life)
	}
}
