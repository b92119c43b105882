package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/deployment"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

// upstream is a fake provider: it answers with the model name and the last user
// text, counts calls, and can be slowed down or made to break its streams.
type upstream struct {
	calls    atomic.Int64
	delay    time.Duration
	cutAfter int // >0: streams fail after this many events
	usage    llm.Usage
}

func (u *upstream) answer(req *llm.Request) *llm.Response {
	text := "answer from " + req.Model + " to: " + req.LastUserText() + ". " + strings.Repeat("More words follow here. ", 4)
	us := u.usage
	if us.InputTokens == 0 {
		us = llm.Usage{InputTokens: 100, OutputTokens: 50}
	}
	return &llm.Response{ID: "up-1", Model: req.Model, Created: 1, Usage: us,
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: llm.FinishStop}}}
}

func (u *upstream) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	u.calls.Add(1)
	select {
	case <-time.After(u.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return u.answer(req), nil
}

type cutStream struct {
	llm.SliceStream
	cut int
	n   int
}

func (c *cutStream) Recv() (llm.Event, error) {
	if c.cut > 0 && c.n >= c.cut {
		return llm.Event{}, &llm.Error{Kind: llm.KindUpstreamServer, Message: "upstream connection reset"}
	}
	c.n++
	return c.SliceStream.Recv()
}

func (u *upstream) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	u.calls.Add(1)
	select {
	case <-time.After(u.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &cutStream{SliceStream: llm.SliceStream{Events: llm.Events(u.answer(req), 8)}, cut: u.cutAfter}, nil
}

type records struct {
	mu   sync.Mutex
	list []ledger.Record
}

func (r *records) Record(rec ledger.Record) {
	r.mu.Lock()
	r.list = append(r.list, rec)
	r.mu.Unlock()
}

func (r *records) all() []ledger.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ledger.Record(nil), r.list...)
}

type fixture struct {
	srv  *httptest.Server
	up   *upstream
	recs *records
}

func newFixture(t *testing.T, withCache bool, keys ...tenant.Key) *fixture {
	t.Helper()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	up := &upstream{}
	reg := deployment.New(cat, []*deployment.Account{
		{Name: "openai", Kind: llm.FormatOpenAI, Client: up},
		{Name: "anthropic", Kind: llm.FormatAnthropic, Client: up},
	})
	recs := &records{}
	o := Options{
		Registry: reg, Executor: executor.New(executor.Config{}), Pricer: reg,
		Keys: tenant.NewKeys(keys, false), Ledger: recs, MaxBodyBytes: 64 << 10, AdminKey: "admin-key-for-tests",
	}
	if withCache {
		o.Cache = cache.NewMemory(cache.MemoryOptions{MaxBytes: 1 << 20})
	}
	srv := httptest.NewServer(New(o).Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, up: up, recs: recs}
}

func (f *fixture) post(t *testing.T, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestBadInputGetsAClearErrorInOpenAIShape(t *testing.T) {
	f := newFixture(t, false)
	cases := []struct {
		name, body string
		status     int
		typ, param string
		msg        string
	}{
		{"malformed JSON", `{"model":"gpt-4o-mini","messages":[`, 400, "invalid_request_error", "", "JSON"},
		{"missing messages", `{"model":"gpt-4o-mini"}`, 400, "invalid_request_error", "messages", "messages"},
		{"wrong type", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":42}]}`, 400, "invalid_request_error", "messages[0].content", "messages[0].content"},
		{"unknown model", `{"model":"gpt-17","messages":[{"role":"user","content":"hi"}]}`, 404, "invalid_request_error", "model", "gpt-17"},
		{"oversized body", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 70<<10) + `"}]}`, 413, "", "", "max_body_bytes"},
		{"empty body", ``, 400, "invalid_request_error", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.post(t, "/v1/chat/completions", c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
				t.Fatalf("not OpenAI's error shape: %s", body)
			}
			if c.typ != "" && e.Error.Type != c.typ {
				t.Errorf("type %q, want %q", e.Error.Type, c.typ)
			}
			if c.param != "" && (e.Error.Param == nil || *e.Error.Param != c.param) {
				t.Errorf("param %v, want %q", e.Error.Param, c.param)
			}
			if !strings.Contains(e.Error.Message, c.msg) {
				t.Errorf("message %q does not mention %q", e.Error.Message, c.msg)
			}
			if resp.Header.Get(HeaderRequestID) == "" {
				t.Error("no request id on an error")
			}
		})
	}
	if f.up.calls.Load() != 0 {
		t.Fatalf("bad input reached the upstream %d times", f.up.calls.Load())
	}
	for _, r := range f.recs.all() {
		if r.Status < 400 || r.ErrorKind == "" {
			t.Errorf("ledger recorded a failed request as %d %q", r.Status, r.ErrorKind)
		}
	}
}

func TestAnthropicClientsGetAnthropicErrors(t *testing.T) {
	f := newFixture(t, false)
	resp, body := f.post(t, "/v1/messages", `{"model":"nope","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != 404 || json.Unmarshal(body, &e) != nil || e.Type != "error" || e.Error.Type != "not_found_error" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestVirtualKeysAreRequiredWhenConfigured(t *testing.T) {
	f := newFixture(t, false, tenant.Key{Name: "a", Secret: "sk-arb-aaaaaaaaaaaaaaaa", Tenant: "a"})
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if resp, b := f.post(t, "/v1/chat/completions", body, "Authorization", "Bearer sk-wrong"); resp.StatusCode != 401 || bytes.Contains(b, []byte("sk-wrong")) {
		t.Fatalf("wrong key: %d %s", resp.StatusCode, b)
	}
	if resp, b := f.post(t, "/v1/chat/completions", body, "Authorization", "Bearer sk-arb-aaaaaaaaaaaaaaaa"); resp.StatusCode != 200 {
		t.Fatalf("right key: %d %s", resp.StatusCode, b)
	}
}

func TestCachedAnswerIsServedWithHeadersAndSavings(t *testing.T) {
	f := newFixture(t, true)
	body := `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"What is the capital of France?"}]}`
	r1, b1 := f.post(t, "/v1/chat/completions", body)
	r2, b2 := f.post(t, "/v1/chat/completions", body)
	if r1.Header.Get(HeaderCache) != "miss" || r2.Header.Get(HeaderCache) != "hit" {
		t.Fatalf("cache headers %q then %q", r1.Header.Get(HeaderCache), r2.Header.Get(HeaderCache))
	}
	if f.up.calls.Load() != 1 {
		t.Fatalf("upstream called %d times", f.up.calls.Load())
	}
	if r2.Header.Get("Age") == "" || r2.Header.Get(HeaderCost) != "0.00" {
		t.Fatalf("hit headers: age %q cost %q", r2.Header.Get("Age"), r2.Header.Get(HeaderCost))
	}
	var a1, a2 struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	json.Unmarshal(b1, &a1)
	json.Unmarshal(b2, &a2)
	if a1.Choices[0].Message.Content == "" || a1.Choices[0].Message.Content != a2.Choices[0].Message.Content {
		t.Fatalf("answers differ: %q vs %q", a1.Choices[0].Message.Content, a2.Choices[0].Message.Content)
	}
	recs := f.recs.all()
	if len(recs) != 2 || recs[1].Cache != ledger.CacheHit || recs[1].Cost != 0 || recs[1].Saved <= 0 || recs[1].Saved != recs[0].Cost {
		t.Fatalf("ledger: %+v", recs)
	}
}

func TestCacheNeverServesAnotherTenant(t *testing.T) {
	f := newFixture(t, true,
		tenant.Key{Name: "a", Secret: "sk-arb-tenant-a-0000000", Tenant: "a"},
		tenant.Key{Name: "b", Secret: "sk-arb-tenant-b-0000000", Tenant: "b"})
	body := `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"secret plans"}]}`
	f.post(t, "/v1/chat/completions", body, "Authorization", "Bearer sk-arb-tenant-a-0000000")
	r, _ := f.post(t, "/v1/chat/completions", body, "Authorization", "Bearer sk-arb-tenant-b-0000000")
	if r.Header.Get(HeaderCache) != "miss" || f.up.calls.Load() != 2 {
		t.Fatalf("tenant b got %q after tenant a; upstream calls %d", r.Header.Get(HeaderCache), f.up.calls.Load())
	}
}

func TestCachedAnswerCrossesWireFormats(t *testing.T) {
	f := newFixture(t, true)
	f.post(t, "/v1/chat/completions", `{"model":"claude-3-5-haiku-latest","max_tokens":100,"temperature":0,"messages":[{"role":"user","content":"hello"}]}`)
	r, b := f.post(t, "/v1/messages", `{"model":"claude-3-5-haiku-latest","max_tokens":100,"temperature":0,"messages":[{"role":"user","content":"hello"}]}`, "anthropic-version", "2023-06-01")
	if r.Header.Get(HeaderCache) != "hit" || !bytes.Contains(b, []byte(`"type":"message"`)) {
		t.Fatalf("anthropic client after openai client: %q %s", r.Header.Get(HeaderCache), b)
	}
}

func TestStreamedHitIsReplayedInSeveralChunks(t *testing.T) {
	f := newFixture(t, true)
	body := `{"model":"gpt-4o-mini","temperature":0,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream me"}]}`
	f.post(t, "/v1/chat/completions", body)
	r, b := f.post(t, "/v1/chat/completions", body)
	if r.Header.Get(HeaderCache) != "hit" {
		t.Fatalf("second stream: cache %q", r.Header.Get(HeaderCache))
	}
	chunks := bytes.Count(b, []byte("data: {"))
	if chunks < 5 || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("data: [DONE]")) || !bytes.Contains(b, []byte(`"choices":[],`)) {
		t.Fatalf("replayed stream has %d chunks:\n%s", chunks, b)
	}
}

func TestMidStreamFailureEndsWithAnErrorEvent(t *testing.T) {
	f := newFixture(t, false)
	f.up.cutAfter = 4
	r, b := f.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"break"}]}`)
	if r.StatusCode != 200 || !bytes.Contains(b, []byte(`"error"`)) || bytes.Contains(b, []byte("[DONE]")) {
		t.Fatalf("a broken stream must end in an error event, not [DONE]:\n%s", b)
	}
	r, b = f.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"break"}]}`)
	if !bytes.Contains(b, []byte("event: error")) || bytes.Contains(b, []byte("message_stop")) {
		t.Fatalf("anthropic stream:\n%s", b)
	}
	recs := f.recs.all()
	if len(recs) != 2 || !recs[0].Partial || recs[0].ErrorKind != llm.KindUpstreamServer {
		t.Fatalf("ledger: %+v", recs)
	}
}

func TestIdenticalRequestsInFlightShareOneUpstreamCall(t *testing.T) {
	f := newFixture(t, true)
	f.up.delay = 300 * time.Millisecond
	body := `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"burst"}]}`
	var wg sync.WaitGroup
	var hits atomic.Int64
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, b := f.post(t, "/v1/chat/completions", body)
			if r.StatusCode == 200 && bytes.Contains(b, []byte("answer from")) {
				hits.Add(1)
			}
		}()
	}
	wg.Wait()
	if f.up.calls.Load() != 1 || hits.Load() != 50 {
		t.Fatalf("upstream calls %d, good answers %d", f.up.calls.Load(), hits.Load())
	}
}

func TestAdminNeedsTheAdminKey(t *testing.T) {
	f := newFixture(t, true)
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/cache/stats", nil)
	resp, _ := http.DefaultClient.Do(req)
	if resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer admin-key-for-tests")
	resp, _ = http.DefaultClient.Do(req)
	if resp.StatusCode != 200 {
		t.Fatalf("admin key: %d", resp.StatusCode)
	}
}

func TestCountTokensAnswersInAnthropicsShape(t *testing.T) {
	f := newFixture(t, false)
	r, b := f.post(t, "/v1/messages/count_tokens", `{"model":"claude-3-5-haiku-latest","messages":[{"role":"user","content":"hello world"}]}`, "anthropic-version", "2023-06-01")
	var out struct {
		InputTokens int `json:"input_tokens"`
	}
	if r.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.InputTokens < 2 {
		t.Fatalf("%d %s", r.StatusCode, b)
	}
	if f.up.calls.Load() != 0 {
		t.Fatal("counting tokens called the upstream")
	}
}
