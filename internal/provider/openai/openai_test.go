package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/provider"
	"github.com/arbiterhq/arbiter/internal/sse"
	wire "github.com/arbiterhq/arbiter/internal/wire/openai"
)

const testKey = "sk-test-SECRET-0123456789"

// upstream is a fake OpenAI host built on the server-side codec.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []*llm.Request
	headers []http.Header
	paths   []string
}

func newUpstream(t *testing.T, h func(w http.ResponseWriter, r *http.Request, req *llm.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := wire.DecodeRequest(body)
		if err != nil {
			t.Errorf("adapter sent a request the codec rejects: %v\n%s", err, body)
			status, b := wire.EncodeError(err.(*llm.Error))
			w.WriteHeader(status)
			w.Write(b)
			return
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, req)
		u.headers = append(u.headers, r.Header.Clone())
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		h(w, r, req)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() (*llm.Request, http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := len(u.reqs) - 1
	return u.reqs[n], u.headers[n], u.paths[n]
}

// newTestProvider returns an adapter with its own transport, so that a test can close
// its idle connections before checking for leaked goroutines.
func newTestProvider(t *testing.T, baseURL string) *Provider {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return New(provider.Config{
		Name: "testhost", BaseURL: baseURL + "/v1/", APIKey: testKey,
		Headers: map[string]string{"HTTP-Referer": "https://arbiter.test"},
		Client:  &http.Client{Transport: tr},
	})
}

func cannedResponse(model string) *llm.Response {
	return &llm.Response{
		ID: "chatcmpl-1", Model: model, Created: 1732000000, SystemFingerprint: "fp_1",
		Choices: []llm.Choice{{Index: 0, FinishReason: llm.FinishStop,
			Message: llm.TextMessage(llm.RoleAssistant, "The answer is 42, as everyone knows.")}},
		Usage: llm.Usage{InputTokens: 30, CachedInputTokens: 10, OutputTokens: 12, ReasoningTokens: 4},
	}
}

func serveJSON(w http.ResponseWriter, resp *llm.Response) {
	b, _ := wire.EncodeResponse(resp)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// serveStream streams resp, honouring the request's include_usage as OpenAI does.
func serveStream(w http.ResponseWriter, req *llm.Request, resp *llm.Response) {
	sse.Header(w.Header())
	sw := sse.NewWriter(w)
	enc := wire.NewStreamEncoder(wire.StreamOptions{IncludeUsage: req.IncludeUsage})
	for _, ev := range llm.Events(resp, 6) {
		enc.Encode(sw, ev)
	}
	enc.Finish(sw)
}

func userRequest(model string) *llm.Request {
	return &llm.Request{Model: model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "What is the answer?")}}
}

func TestChatSendsKeyHeadersAndDecodesResponse(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		serveJSON(w, cannedResponse(req.Model))
	})
	p := newTestProvider(t, up.URL)
	req := userRequest("llama-3.1-8b-instant")
	req.Stream = true // Chat must not stream whatever the request says
	got, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := cannedResponse("llama-3.1-8b-instant"); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	sent, h, path := up.last()
	if path != "/v1/chat/completions" || h.Get("Authorization") != "Bearer "+testKey || h.Get("HTTP-Referer") != "https://arbiter.test" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("path %q headers %v", path, h)
	}
	if sent.Stream || sent.Model != "llama-3.1-8b-instant" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestStreamAlwaysAsksForUsageAndYieldsIt(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		serveStream(w, req, cannedResponse(req.Model))
	})
	p := newTestProvider(t, up.URL)
	req := userRequest("gpt-4o-mini") // the client did not ask for usage
	st, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
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
	st.Close()
	sent, h, _ := up.last()
	if !sent.Stream || !sent.IncludeUsage || h.Get("Accept") != "text/event-stream" {
		t.Fatalf("upstream request: stream %v include_usage %v", sent.Stream, sent.IncludeUsage)
	}
	last := evs[len(evs)-1]
	if last.Type != llm.EventUsage || *last.Usage != cannedResponse("").Usage {
		t.Fatalf("last event %+v, want the usage", last)
	}
	var a llm.Assembler
	for _, ev := range evs {
		a.Add(ev)
	}
	got := a.Response()
	want := cannedResponse("gpt-4o-mini") // system_fingerprint included: chunks relay it
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("assembled %+v\nwant %+v", got, want)
	}
}

func TestStreamYieldsEventsAsTheyArrive(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{IncludeUsage: true})
		enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "c", Model: req.Model})
		enc.Encode(sw, llm.Event{Type: llm.EventText, Text: "first"})
		<-release // the rest only once the client has seen the first text
		enc.Encode(sw, llm.Event{Type: llm.EventText, Text: " second"})
		enc.Encode(sw, llm.Event{Type: llm.EventFinish, FinishReason: llm.FinishStop})
		enc.Finish(sw)
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, want := range []llm.EventType{llm.EventStart, llm.EventText} {
		ev, err := st.Recv()
		if err != nil || ev.Type != want {
			t.Fatalf("got %+v %v, want type %d", ev, err, want)
		}
	}
	close(release)
	if _, err := llm.Collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

func TestStreamWithoutDoneOrFinishIsAnError(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "c", Model: req.Model})
		enc.Encode(sw, llm.Event{Type: llm.EventText, Text: "cut he"})
		// the handler returns: a clean end of body, but no finish and no [DONE]
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Collect(context.Background(), st)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || le.Message != "stream ended before completion" || le.Provider != "testhost" {
		t.Fatalf("got %v", err)
	}
}

func TestStreamFinishedWithoutDoneIsComplete(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{IncludeUsage: true})
		for _, ev := range llm.Events(cannedResponse(req.Model), 0) {
			enc.Encode(sw, ev)
		}
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := llm.Collect(context.Background(), st)
	if err != nil || got.Usage.InputTokens != 30 || got.Text() != "The answer is 42, as everyone knows." {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestStreamMidStreamErrorEvent(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "c", Model: req.Model})
		enc.Fail(sw, &llm.Error{Kind: llm.KindRateLimited, Message: "tokens per minute exceeded"})
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Collect(context.Background(), st)
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindRateLimited || le.Message != "tokens per minute exceeded" {
		t.Fatalf("got %v", err)
	}
}

// slowUpstream streams one text chunk, then waits until its request is cancelled,
// reporting that it saw the cancellation.
func slowUpstream(t *testing.T) (*upstream, chan struct{}) {
	sawCancel := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{})
		enc.Encode(sw, llm.Event{Type: llm.EventStart, ID: "c", Model: req.Model})
		enc.Encode(sw, llm.Event{Type: llm.EventText, Text: "thinking"})
		select {
		case <-r.Context().Done():
			close(sawCancel)
		case <-time.After(30 * time.Second): // a safety net, never the expected path
		}
	})
	return up, sawCancel
}

func waitCancelled(t *testing.T, sawCancel chan struct{}) {
	t.Helper()
	select {
	case <-sawCancel:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream handler never saw its request cancelled")
	}
}

func TestContextCancelAbortsUpstreamWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up, sawCancel := slowUpstream(t)
	p := newTestProvider(t, up.URL)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := p.Stream(ctx, userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	recvErr := make(chan error, 1)
	go func() {
		_, err := st.Recv() // blocked on the slow upstream until the cancel
		recvErr <- err
	}()
	cancel()
	err = <-recvErr
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindCanceled {
		t.Fatalf("Recv after cancel: %v", err)
	}
	waitCancelled(t, sawCancel)
	st.Close()
	up.Close()
}

func TestCloseAbortsUpstreamWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up, sawCancel := slowUpstream(t)
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	waitCancelled(t, sawCancel)
	if _, err := st.Recv(); err == nil || err == io.EOF {
		t.Fatalf("Recv after Close returned %v, want an error", err)
	}
	st.Close() // twice is fine
	up.Close()
}

func TestCompletedStreamLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		serveStream(w, req, cannedResponse(req.Model))
	})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p := New(provider.Config{BaseURL: up.URL + "/v1", Client: &http.Client{Transport: tr}})
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

func TestUpstreamErrorsMapOntoKinds(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       llm.ErrorKind
		code       string
		retryAfter time.Duration
		msg        string
	}{
		{"context length by code", 400, nil, `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`, llm.KindContextLength, "context_length_exceeded", 0, "This model's maximum context length is 8192 tokens."},
		{"context length in words (vLLM)", 400, nil, `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","param":null,"code":400}`, llm.KindContextLength, "400", 0, ""},
		{"rate limit with retry-after seconds", 429, map[string]string{"Retry-After": "20"}, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`, llm.KindRateLimited, "rate_limit_exceeded", 20 * time.Second, "Rate limit reached"},
		{"retry-after-ms wins", 429, map[string]string{"Retry-After": "20", "Retry-After-Ms": "1500"}, `{"error":{"message":"slow","type":"tokens","code":"rate_limit_exceeded"}}`, llm.KindRateLimited, "rate_limit_exceeded", 1500 * time.Millisecond, "slow"},
		{"quota", 429, nil, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, llm.KindRateLimited, "insufficient_quota", 0, ""},
		{"overloaded 529", 529, nil, `{"error":{"message":"Overloaded","type":"overloaded_error"}}`, llm.KindOverloaded, "", 0, "Overloaded"},
		{"503", 503, nil, `{"error":{"message":"The engine is currently overloaded","type":"server_error"}}`, llm.KindOverloaded, "", 0, ""},
		{"500 plain text", 500, nil, `Internal Server Error`, llm.KindUpstreamServer, "", 0, "upstream returned HTTP 500: Internal Server Error"},
		{"401", 401, nil, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, llm.KindAuthentication, "invalid_api_key", 0, ""},
		{"404 model", 404, nil, `{"error":{"message":"The model 'x' does not exist","type":"invalid_request_error","code":"model_not_found"}}`, llm.KindNotFound, "model_not_found", 0, ""},
		{"403", 403, nil, `{"error":{"message":"Country not supported","type":"permission_error"}}`, llm.KindPermission, "", 0, ""},
		{"ollama string error", 404, nil, `{"error":"model \"llama9\" not found, try pulling it first"}`, llm.KindNotFound, "", 0, `model "llama9" not found, try pulling it first`},
		{"fastapi detail", 422, nil, `{"detail":"bad field"}`, llm.KindInvalidRequest, "", 0, "bad field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			p := newTestProvider(t, up.URL)
			for _, call := range []func() error{
				func() error { _, err := p.Chat(context.Background(), userRequest("m")); return err },
				func() error { _, err := p.Stream(context.Background(), userRequest("m")); return err },
			} {
				var le *llm.Error
				if err := call(); !errors.As(err, &le) {
					t.Fatalf("error %v is not an *llm.Error", err)
				}
				if le.Kind != tc.kind || le.Code != tc.code || le.RetryAfter != tc.retryAfter || le.Status != tc.status || le.Provider != "testhost" {
					t.Fatalf("got kind %s code %q retry %v status %d provider %q", le.Kind, le.Code, le.RetryAfter, le.Status, le.Provider)
				}
				if tc.msg != "" && le.Message != tc.msg {
					t.Fatalf("message %q, want %q", le.Message, tc.msg)
				}
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(429)
		io.WriteString(w, `{"error":{"message":"later","type":"rate_limit_error"}}`)
	})
	p := newTestProvider(t, up.URL)
	_, err := p.Chat(context.Background(), userRequest("m"))
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindRateLimited || le.RetryAfter < 60*time.Second || le.RetryAfter > 91*time.Second {
		t.Fatalf("got %v (retry after %v)", err, le.RetryAfter)
	}
}

func TestAPIKeyNeverAppearsInErrors(t *testing.T) {
	bodies := map[string]func(w http.ResponseWriter, r *http.Request){
		"echoed in error message": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
		},
		"echoed in a plain-text error": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, "bad gateway for "+r.Header.Get("Authorization"))
		},
		"echoed in a mid-stream error": func(w http.ResponseWriter, r *http.Request) {
			sse.Header(w.Header())
			sw := sse.NewWriter(w)
			sw.Write("", []byte(`{"error":{"message":"key `+testKey+` revoked","type":"authentication_error"}}`))
		},
		"echoed in a malformed body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"`+testKey+`",`)
		},
	}
	for name, h := range bodies {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) { h(w, r) })
			p := newTestProvider(t, up.URL)
			var errs []error
			_, err := p.Chat(context.Background(), userRequest("m"))
			errs = append(errs, err)
			st, err := p.Stream(context.Background(), userRequest("m"))
			if err == nil {
				_, err = llm.Collect(context.Background(), st)
			}
			errs = append(errs, err)
			for _, err := range errs {
				if err == nil {
					t.Fatal("no error")
				}
				var le *llm.Error
				errors.As(err, &le)
				for e := error(le); e != nil; e = errors.Unwrap(e) {
					if strings.Contains(e.Error(), testKey) {
						t.Fatalf("key leaked: %q", e.Error())
					}
				}
				if strings.Contains(le.Message, testKey) {
					t.Fatalf("key leaked in message: %q", le.Message)
				}
			}
		})
	}
}

func TestMalformedUpstreamJSONIsUpstreamServerError(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":        `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi`,
		"wrong type":       `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":42}}]}`,
		"no choices":       `{"id":"x","object":"chat.completion"}`,
		"not json at all":  `<html>oops</html>`,
		"usage not object": `{"id":"x","choices":[{"index":0,"message":{"content":"a"}}],"usage":"many"}`,
	} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, body)
			})
			p := newTestProvider(t, up.URL)
			_, err := p.Chat(context.Background(), userRequest("m"))
			var le *llm.Error
			if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !strings.HasPrefix(le.Message, "malformed response from upstream") {
				t.Fatalf("got %v", err)
			}
		})
	}
	t.Run("malformed chunk", func(t *testing.T) {
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
			sse.Header(w.Header())
			sse.NewWriter(w).Write("", []byte(`{"id":"x","choices":[{"delta":{"content":`))
		})
		p := newTestProvider(t, up.URL)
		st, err := p.Stream(context.Background(), userRequest("m"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = llm.Collect(context.Background(), st)
		var le *llm.Error
		if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !strings.HasPrefix(le.Message, "malformed response from upstream") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestConnectionRefusedIsUpstreamServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := newTestProvider(t, url)
	_, err := p.Chat(context.Background(), userRequest("m"))
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !le.Retryable() {
		t.Fatalf("got %v", err)
	}
}

func TestStreamFromHostThatIgnoresStreamFlag(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		serveJSON(w, cannedResponse(req.Model))
	})
	p := newTestProvider(t, up.URL)
	st, err := p.Stream(context.Background(), userRequest("m"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := llm.Collect(context.Background(), st)
	if err != nil || got.Text() != "The answer is 42, as everyone knows." || got.Usage.OutputTokens != 12 {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestEmbed(t *testing.T) {
	vecs := [][]float32{{0.25, -1.5, 3e-7}, {1, 2, 3}}
	for _, format := range []string{"float", "base64"} {
		t.Run(format, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				req, err := wire.DecodeEmbeddingRequest(body)
				if err != nil || r.URL.Path != "/v1/embeddings" || len(req.Input) != 2 || *req.Dimensions != 3 {
					t.Errorf("bad embeddings request %s: %v", body, err)
				}
				b, _ := wire.EncodeEmbeddingResponse(&llm.EmbeddingResponse{Model: req.Model, Vectors: vecs, Usage: llm.Usage{InputTokens: 9}}, format)
				w.Header().Set("Content-Type", "application/json")
				w.Write(b)
			}))
			defer srv.Close()
			p := newTestProvider(t, srv.URL)
			dims := 3
			got, err := p.Embed(context.Background(), &llm.EmbeddingRequest{Model: "text-embedding-3-small", Input: []string{"a", "b"}, Dimensions: &dims})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Vectors, vecs) || got.Usage.InputTokens != 9 || got.Model != "text-embedding-3-small" {
				t.Fatalf("got %+v", got)
			}
		})
	}
}
