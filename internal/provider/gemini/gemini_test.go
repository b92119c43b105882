package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/provider"
	"github.com/arbiterhq/arbiter/internal/sse"
	wire "github.com/arbiterhq/arbiter/internal/wire/gemini"
)

const testKey = "AIza-test-SECRET-0123456789"

// upstream is a fake Gemini API built on the server-side codec.
type upstream struct {
	*httptest.Server
	mu    sync.Mutex
	calls int
	reqs  []*llm.Request
	hdrs  []http.Header
	urls  []string
}

func newUpstream(t *testing.T, h func(w http.ResponseWriter, r *http.Request, req *llm.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.calls++
		u.hdrs = append(u.hdrs, r.Header.Clone())
		u.urls = append(u.urls, r.URL.String())
		u.mu.Unlock()
		model, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
		var req *llm.Request
		if method == "generateContent" || method == "streamGenerateContent" {
			var err error
			req, err = wire.DecodeRequest(model, body, method == "streamGenerateContent")
			if err != nil {
				t.Errorf("adapter sent a request the codec rejects: %v\n%s", err, body)
				status, b := wire.EncodeError(llm.AsError(err))
				w.WriteHeader(status)
				_, _ = w.Write(b)
				return
			}
			u.mu.Lock()
			u.reqs = append(u.reqs, req)
			u.mu.Unlock()
		}
		h(w, r, req)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() (*llm.Request, http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var req *llm.Request
	if len(u.reqs) > 0 {
		req = u.reqs[len(u.reqs)-1]
	}
	return req, u.hdrs[len(u.hdrs)-1], u.urls[len(u.urls)-1]
}

func newTestProvider(t *testing.T, baseURL string) *Provider {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return New(provider.Config{Name: "gemini-test", BaseURL: baseURL + "/", APIKey: testKey, Client: &http.Client{Transport: tr}})
}

func canned(model string) *llm.Response {
	return &llm.Response{ID: "resp-1", Model: model,
		Choices: []llm.Choice{{FinishReason: llm.FinishToolCalls, Message: llm.Message{Role: llm.RoleAssistant,
			Content:   []llm.Part{{Type: llm.PartText, Text: "Looking it up for you now."}},
			ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}}}},
		Usage: llm.Usage{InputTokens: 900, CachedInputTokens: 800, OutputTokens: 60, ReasoningTokens: 20}}
}

func serveJSON(w http.ResponseWriter, resp *llm.Response) {
	b, _ := wire.EncodeResponse(resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func serveStream(w http.ResponseWriter, resp *llm.Response, stopAfter int) {
	sse.Header(w.Header())
	sw := sse.NewWriter(w)
	enc := wire.NewStreamEncoder(wire.StreamOptions{})
	for i, ev := range llm.Events(resp, 5) {
		if stopAfter > 0 && i == stopAfter {
			return
		}
		_ = enc.Encode(sw, ev)
	}
	_ = enc.Finish(sw)
}

func userRequest(model string) *llm.Request {
	return &llm.Request{Model: model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Weather in Paris?")},
		Tools: []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}`)}}}
}

func TestChatSendsKeyHeaderAndDecodes(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveJSON(w, canned(req.Model)) })
	p := newTestProvider(t, up.URL)
	resp, err := p.Chat(context.Background(), userRequest("models/gemini-2.5-flash"))
	if err != nil {
		t.Fatal(err)
	}
	req, h, u := up.last()
	if u != "/v1beta/models/gemini-2.5-flash:generateContent" || h.Get("x-goog-api-key") != testKey || strings.Contains(u, "key=") {
		t.Fatalf("url %s headers %v", u, h)
	}
	if req.Stream || req.Tools[0].Name != "get_weather" {
		t.Fatalf("decoded upstream request %+v", req)
	}
	want := canned("gemini-2.5-flash")
	if resp.Text() != want.Text() || resp.Usage != want.Usage || resp.Choices[0].FinishReason != llm.FinishToolCalls ||
		resp.Choices[0].Message.ToolCalls[0].Name != "get_weather" || resp.Created == 0 {
		t.Fatalf("resp = %+v", resp)
	}
}

func TestStreamYieldsWholeCallsUsageLastThenEOF(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveStream(w, canned(req.Model), 0) })
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("gemini-2.5-flash"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var evs []llm.Event
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if _, _, u := up.last(); u != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Fatalf("url %s", u)
	}
	if evs[0].Type != llm.EventStart || evs[len(evs)-1].Type != llm.EventUsage {
		t.Fatalf("first %+v last %+v", evs[0], evs[len(evs)-1])
	}
	var a llm.Assembler
	for _, e := range evs {
		a.Add(e)
	}
	got, want := a.Response(), canned("gemini-2.5-flash")
	if !a.Finished() || got.Text() != want.Text() || got.Usage != want.Usage || got.Choices[0].Message.ToolCalls[0].Arguments != `{"city":"Paris"}` {
		t.Fatalf("assembled %+v", got)
	}
}

func TestStreamEndingBeforeFinishReasonIsAnError(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveStream(w, canned(req.Model), 3) })
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Collect(context.Background(), st)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !strings.Contains(le.Message, "finishReason") {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamErrorChunkIsTheUpstreamError(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		_ = enc.Encode(sw, llm.Event{Type: llm.EventText, Text: "partial"})
		_ = enc.Fail(sw, &llm.Error{Kind: llm.KindOverloaded, Message: "The model is overloaded."})
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Collect(context.Background(), st)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindOverloaded || le.Provider != "gemini-test" {
		t.Fatalf("err = %v", err)
	}
}

func TestUntranslatableSchemaFailsBeforeSending(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveJSON(w, canned(req.Model)) })
	p := newTestProvider(t, up.URL)
	req := userRequest("m")
	req.Tools[0].Parameters = json.RawMessage(`{"type":"object","properties":{"x":{"not":{"type":"string"}}}}`)
	_, err := p.Chat(context.Background(), req)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindInvalidRequest || !strings.Contains(le.Message, "not at properties.x") {
		t.Fatalf("err = %v", err)
	}
	if up.calls != 0 {
		t.Fatal("an untranslatable request reached the provider")
	}
}

func TestUpstreamErrorsMapOntoKinds(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		kind       llm.ErrorKind
		retry      time.Duration
	}{
		{"rate limited with RetryInfo", `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}`, 429, llm.KindRateLimited, 7 * time.Second},
		{"overloaded", `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, 503, llm.KindOverloaded, 0},
		{"invalid argument", `{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}`, 400, llm.KindInvalidRequest, 0},
		{"bad key", `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`, 400, llm.KindAuthentication, 0},
		{"unknown model", `{"error":{"code":404,"message":"models/nope is not found for API version v1beta","status":"NOT_FOUND"}}`, 404, llm.KindNotFound, 0},
		{"internal", `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`, 500, llm.KindUpstreamServer, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			p := newTestProvider(t, up.URL)
			for _, call := range []func() error{
				func() error { _, err := p.Chat(context.Background(), userRequest("m")); return err },
				func() error { _, err := p.Stream(context.Background(), userRequest("m")); return err },
			} {
				var le *llm.Error
				if err := call(); !errors.As(err, &le) || le.Kind != tc.kind || le.Status != tc.status || le.RetryAfter != tc.retry {
					t.Fatalf("err = %+v", err)
				}
			}
		})
	}
}

func TestEmbedUsesBatchEndpoint(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ *llm.Request) {
		b, _ := wire.EncodeEmbeddingResponse(&llm.EmbeddingResponse{Vectors: [][]float32{{1, 2}, {3, 4}}}, true)
		_, _ = w.Write(b)
	})
	p := newTestProvider(t, up.URL)
	dims := 2
	out, err := p.Embed(context.Background(), &llm.EmbeddingRequest{Model: "text-embedding-004", Input: []string{"a", "b"}, Dimensions: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if _, h, u := up.last(); u != "/v1beta/models/text-embedding-004:batchEmbedContents" || h.Get("x-goog-api-key") != testKey {
		t.Fatalf("url %s", u)
	}
	if len(out.Vectors) != 2 || out.Vectors[1][1] != 4 || out.Model != "text-embedding-004" {
		t.Fatalf("out = %+v", out)
	}
	_, err = p.Embed(context.Background(), &llm.EmbeddingRequest{Model: "text-embedding-004", Input: []string{"only one"}})
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer {
		t.Fatalf("a count mismatch must be an error, got %v", err)
	}
}

func slowUpstream(t *testing.T) (*upstream, chan struct{}) {
	saw := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		_ = enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "slow"})
		_ = enc.Encode(sw, llm.Event{Type: llm.EventText, Text: "thinking"})
		<-r.Context().Done()
		close(saw)
	})
	return up, saw
}

func TestContextCancelAbortsUpstreamWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up, saw := slowUpstream(t)
	p := newTestProvider(t, up.URL)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := p.Stream(ctx, userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // start, text
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 1)
	go func() { _, err := st.Recv(); errc <- err }()
	cancel()
	err = <-errc
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindCanceled {
		t.Fatalf("Recv after cancel = %v", err)
	}
	<-saw
	_ = st.Close()
	up.Close()
}

func TestCloseAbortsUpstreamWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up, saw := slowUpstream(t)
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	<-saw
	if _, err := st.Recv(); err == nil || err == io.EOF {
		t.Fatalf("Recv after Close = %v, want an error", err)
	}
	up.Close()
}

func TestCompletedStreamsLeaveNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveStream(w, canned(req.Model), 0) })
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p := New(provider.Config{BaseURL: up.URL, APIKey: testKey, Client: &http.Client{Transport: tr}})
	for i := 0; i < 3; i++ {
		st, err := p.Stream(context.Background(), userRequest("m"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := llm.Collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
	}
	tr.CloseIdleConnections()
	up.Close()
}

func TestAPIKeyNeverAppearsInErrors(t *testing.T) {
	for name, h := range map[string]func(w http.ResponseWriter, r *http.Request){
		"echoed in an error body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"API key not valid: `+r.Header.Get("x-goog-api-key")+`","status":"INVALID_ARGUMENT"}}`)
		},
		"echoed in plain text": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "bad gateway for "+r.Header.Get("x-goog-api-key"))
		},
		"echoed in a stream error chunk": func(w http.ResponseWriter, r *http.Request) {
			sse.Header(w.Header())
			_ = sse.NewWriter(w).Write("", []byte(`{"error":{"code":500,"message":"key `+testKey+` revoked","status":"INTERNAL"}}`))
		},
		"echoed in a malformed body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"responseId":"`+testKey+`",`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { h(w, r) })
			p := newTestProvider(t, up.URL)
			_, err1 := p.Chat(context.Background(), userRequest("m"))
			st, err2 := p.Stream(context.Background(), userRequest("m"))
			if err2 == nil {
				_, err2 = llm.Collect(context.Background(), st)
			}
			_, err3 := p.Embed(context.Background(), &llm.EmbeddingRequest{Model: "e", Input: []string{"x"}})
			for _, err := range []error{err1, err2, err3} {
				if err == nil {
					t.Fatal("no error")
				}
				for e := err; e != nil; e = errors.Unwrap(e) {
					if strings.Contains(e.Error(), testKey) {
						t.Fatalf("key leaked: %q", e.Error())
					}
				}
			}
		})
	}
}
