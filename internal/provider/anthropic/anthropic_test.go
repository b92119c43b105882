package anthropic

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
	wire "github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

const testKey = "sk-ant-test-SECRET-0123456789"

// upstream is a fake Anthropic built on the server-side codec.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	reqs   []*llm.Request
	hdrs   []http.Header
	paths  []string
}

func newUpstream(t *testing.T, h func(w http.ResponseWriter, r *http.Request, req *llm.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := wire.DecodeRequest(body)
		if err != nil {
			t.Errorf("adapter sent a request the codec rejects: %v\n%s", err, body)
			status, b := wire.EncodeError(llm.AsError(err))
			w.WriteHeader(status)
			_, _ = w.Write(b)
			return
		}
		u.mu.Lock()
		u.bodies = append(u.bodies, body)
		u.reqs = append(u.reqs, req)
		u.hdrs = append(u.hdrs, r.Header.Clone())
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		h(w, r, req)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() ([]byte, *llm.Request, http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := len(u.reqs) - 1
	return u.bodies[n], u.reqs[n], u.hdrs[n], u.paths[n]
}

func newTestProvider(t *testing.T, baseURL string, opts ...Option) *Provider {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return New(provider.Config{Name: "anthropic-test", BaseURL: baseURL + "/", APIKey: testKey,
		Headers: map[string]string{"anthropic-beta": "prompt-caching-2024-07-31"},
		Client:  &http.Client{Transport: tr}}, opts...)
}

func canned(model string) *llm.Response {
	return &llm.Response{ID: "msg_1", Model: model,
		Choices: []llm.Choice{{FinishReason: llm.FinishToolCalls, Message: llm.Message{Role: llm.RoleAssistant,
			Content:   []llm.Part{{Type: llm.PartText, Text: "Looking it up for you now."}},
			ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`}}}}},
		Usage: llm.Usage{InputTokens: 1200, CachedInputTokens: 1000, CacheWriteTokens: 150, OutputTokens: 30}}
}

func serveJSON(w http.ResponseWriter, resp *llm.Response) {
	b, _ := wire.EncodeResponse(resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func serveStream(w http.ResponseWriter, resp *llm.Response, stopAfter int) {
	sse.Header(w.Header())
	sw := sse.NewWriter(w)
	enc := wire.NewStreamEncoder(wire.StreamOptions{Ping: true})
	for i, ev := range llm.Events(resp, 5) {
		if stopAfter > 0 && i == stopAfter {
			return // connection ends without message_stop
		}
		_ = enc.Encode(sw, ev)
	}
	_ = enc.Finish(sw)
}

func userRequest(model string) *llm.Request {
	return &llm.Request{Model: model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Weather in Paris?")},
		Tools: []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}}
}

func TestChatSendsHeadersDefaultMaxTokensAndDecodes(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveJSON(w, canned(req.Model)) })
	p := newTestProvider(t, up.URL, WithMaxTokens(func(model string) int {
		if model == "claude-big" {
			return 64000
		}
		return 0
	}))
	resp, err := p.Chat(context.Background(), userRequest("claude-big"))
	if err != nil {
		t.Fatal(err)
	}
	_, req, h, path := up.last()
	if path != "/v1/messages" || h.Get("x-api-key") != testKey || h.Get("anthropic-version") != "2023-06-01" ||
		h.Get("anthropic-beta") != "prompt-caching-2024-07-31" || h.Get("Authorization") != "" {
		t.Fatalf("path %s headers %v", path, h)
	}
	if *req.MaxTokens != 64000 || req.Stream {
		t.Fatalf("max_tokens %d stream %v", *req.MaxTokens, req.Stream)
	}
	want := canned("claude-big")
	if resp.Text() != want.Text() || resp.Usage != want.Usage || resp.Choices[0].Message.ToolCalls[0] != want.Choices[0].Message.ToolCalls[0] || resp.Created == 0 {
		t.Fatalf("resp = %+v", resp)
	}
	if _, err := p.Chat(context.Background(), userRequest("claude-small")); err != nil {
		t.Fatal(err)
	}
	if _, req, _, _ := up.last(); *req.MaxTokens != wire.DefaultMaxTokens {
		t.Fatalf("fallback max_tokens = %d", *req.MaxTokens)
	}
}

func TestChatJSONSchemaComesBackAsText(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		if req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceTool || req.ToolChoice.Name != "answer" {
			t.Errorf("json schema not forced as a tool: %+v", req.ToolChoice)
		}
		serveJSON(w, &llm.Response{ID: "msg_2", Model: req.Model, Choices: []llm.Choice{{FinishReason: llm.FinishToolCalls,
			Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "toolu_2", Name: "answer", Arguments: `{"n":1}`}}}}}})
	})
	p := newTestProvider(t, up.URL)
	req := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "n?")},
		ResponseFormat: &llm.ResponseFormat{Type: llm.ResponseJSONSchema, Name: "answer", Schema: json.RawMessage(`{"type":"object"}`)}}
	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != `{"n":1}` || len(resp.Choices[0].Message.ToolCalls) != 0 || resp.Choices[0].FinishReason != llm.FinishStop {
		t.Fatalf("resp = %+v", resp.Choices[0])
	}
}

func TestStreamYieldsEventsUsageLastThenEOF(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveStream(w, canned(req.Model), 0) })
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
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
	if _, req, h, _ := up.last(); !req.Stream || h.Get("Accept") != "text/event-stream" {
		t.Fatal("stream not requested")
	}
	args := 0
	for _, e := range evs {
		if e.Type == llm.EventToolArgs {
			args++
		}
	}
	if args < 3 {
		t.Errorf("tool arguments came in %d fragments, want them incremental", args)
	}
	if evs[0].Type != llm.EventStart || evs[0].Created == 0 || evs[len(evs)-1].Type != llm.EventUsage {
		t.Fatalf("first %+v last %+v", evs[0], evs[len(evs)-1])
	}
	var a llm.Assembler
	for _, e := range evs {
		a.Add(e)
	}
	got, want := a.Response(), canned("m")
	if !a.Finished() || got.Text() != want.Text() || got.Usage != want.Usage || got.Choices[0].Message.ToolCalls[0] != want.Choices[0].Message.ToolCalls[0] {
		t.Fatalf("assembled %+v", got)
	}
}

func TestStreamEndingBeforeMessageStopIsAnError(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { serveStream(w, canned(req.Model), 4) })
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Collect(context.Background(), st)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !strings.Contains(le.Message, "message_stop") || !le.Retryable() {
		t.Fatalf("err = %v, want a retryable upstream error naming message_stop", err)
	}
}

func TestStreamErrorEventIsTheUpstreamError(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		_ = enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "msg_x"})
		_ = enc.Encode(sw, llm.Event{Type: llm.EventText, Text: "partial"})
		_ = enc.Fail(sw, &llm.Error{Kind: llm.KindOverloaded, Message: "Overloaded"})
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Collect(context.Background(), st)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindOverloaded || le.Provider != "anthropic-test" {
		t.Fatalf("err = %v", err)
	}
}

func TestUpstreamErrorsMapOntoKinds(t *testing.T) {
	for _, tc := range []struct {
		status int
		typ    string
		kind   llm.ErrorKind
		retry  time.Duration
	}{
		{529, "overloaded_error", llm.KindOverloaded, 2 * time.Second},
		{429, "rate_limit_error", llm.KindRateLimited, 2 * time.Second},
		{400, "invalid_request_error", llm.KindInvalidRequest, 0},
		{401, "authentication_error", llm.KindAuthentication, 0},
		{404, "not_found_error", llm.KindNotFound, 0},
		{413, "request_too_large", llm.KindRequestTooLarge, 0},
		{500, "api_error", llm.KindUpstreamServer, 0},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
				if tc.retry > 0 {
					w.Header().Set("Retry-After", "2")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, `{"type":"error","error":{"type":"`+tc.typ+`","message":"nope"},"request_id":"req_1"}`)
			})
			p := newTestProvider(t, up.URL)
			for _, call := range []func() error{
				func() error { _, err := p.Chat(context.Background(), userRequest("m")); return err },
				func() error { _, err := p.Stream(context.Background(), userRequest("m")); return err },
			} {
				var le *llm.Error
				if err := call(); !errors.As(err, &le) || le.Kind != tc.kind || le.Status != tc.status || le.RetryAfter != tc.retry || le.Message != "nope" {
					t.Fatalf("err = %+v", err)
				}
			}
		})
	}
}

// slowUpstream sends the start of a stream, then waits until the client goes away,
// reporting the cancellation on the returned channel.
func slowUpstream(t *testing.T) (*upstream, chan struct{}) {
	saw := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		_ = enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "msg_slow"})
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
	<-saw // the upstream saw the request go away
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
	_ = st.Close()
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
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+r.Header.Get("x-api-key")+`"}}`)
		},
		"echoed in plain text": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "bad gateway for "+r.Header.Get("x-api-key"))
		},
		"echoed in a stream error event": func(w http.ResponseWriter, r *http.Request) {
			sse.Header(w.Header())
			_ = sse.NewWriter(w).Write("error", []byte(`{"type":"error","error":{"type":"api_error","message":"key `+testKey+` revoked"}}`))
		},
		"echoed in a malformed body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"`+testKey+`",`)
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
			for _, err := range []error{err1, err2} {
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

func TestConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := New(provider.Config{BaseURL: url, APIKey: testKey})
	_, err := p.Chat(context.Background(), userRequest("m"))
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !le.Retryable() || strings.Contains(err.Error(), testKey) {
		t.Fatalf("err = %v", err)
	}
}
