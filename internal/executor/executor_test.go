package executor

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// fake is a provider whose outcomes are scripted per call; after the script it succeeds.
type fake struct {
	mu     sync.Mutex
	script []error
	calls  int
	// hang makes a call block until its context ends.
	hang bool
	// events is what a successful stream yields; cutAfter > 0 breaks it after that many.
	cutAfter int
}

func (f *fake) next() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.script) == 0 {
		return nil
	}
	err := f.script[0]
	f.script = f.script[1:]
	return err
}

func (f *fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fake) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	if f.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &llm.Response{Model: req.Model, Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "ok from "+req.Model), FinishReason: llm.FinishStop}}}, nil
}

type fakeStream struct {
	ctx    context.Context
	evs    []llm.Event
	cut    int
	hangAt int
	n      int
}

func (s *fakeStream) Recv() (llm.Event, error) {
	if s.hangAt > 0 && s.n == s.hangAt {
		<-s.ctx.Done()
		return llm.Event{}, s.ctx.Err()
	}
	if s.cut > 0 && s.n == s.cut {
		return llm.Event{}, &llm.Error{Kind: llm.KindUpstreamServer, Message: "connection reset"}
	}
	if s.n >= len(s.evs) {
		return llm.Event{}, io.EOF
	}
	s.n++
	return s.evs[s.n-1], nil
}
func (s *fakeStream) Close() error { return nil }

func (f *fake) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	resp := &llm.Response{Model: req.Model, Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "ok from "+req.Model), FinishReason: llm.FinishStop}}}
	s := &fakeStream{ctx: ctx, evs: llm.Events(resp, 3), cut: f.cutAfter}
	if f.hang {
		s.hangAt = 1
	}
	return s, nil
}

func dep(id string, f *fake) *Deployment {
	return &Deployment{ID: id, Provider: id, Model: "m", UpstreamModel: id + "-model", Client: f}
}

type sleepLog struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func quietExecutor(cfg Config) (*Executor, *sleepLog) {
	e := New(cfg)
	log := &sleepLog{}
	e.sleep = func(ctx context.Context, d time.Duration) error {
		log.mu.Lock()
		log.sleeps = append(log.sleeps, d)
		log.mu.Unlock()
		return nil
	}
	return e, log
}

var req = &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}}

func TestFailoverTable(t *testing.T) {
	cases := []struct {
		name       string
		first      error
		wantServed string
		wantCalls  [2]int
		wantKind   llm.ErrorKind
	}{
		{"server error fails over", &llm.Error{Kind: llm.KindUpstreamServer, Status: 500}, "b", [2]int{1, 1}, ""},
		{"overload fails over", &llm.Error{Kind: llm.KindOverloaded, Status: 529}, "b", [2]int{1, 1}, ""},
		{"timeout fails over", &llm.Error{Kind: llm.KindTimeout}, "b", [2]int{1, 1}, ""},
		{"provider key rejected fails over", &llm.Error{Kind: llm.KindAuthentication, Status: 401}, "b", [2]int{1, 1}, ""},
		{"invalid request does not", &llm.Error{Kind: llm.KindInvalidRequest, Status: 400}, "", [2]int{1, 0}, llm.KindInvalidRequest},
		{"content filter does not by default", &llm.Error{Kind: llm.KindContentFilter}, "", [2]int{1, 0}, llm.KindContentFilter},
		{"connection refused fails over", errors.New("dial tcp: connection refused"), "b", [2]int{1, 1}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := &fake{script: []error{c.first}}, &fake{}
			e, _ := quietExecutor(Config{})
			res, err := e.Chat(context.Background(), Plan{Deployments: []*Deployment{dep("a", a), dep("b", b)}}, req)
			if got := [2]int{a.Calls(), b.Calls()}; got != c.wantCalls {
				t.Fatalf("calls = %v, want %v", got, c.wantCalls)
			}
			if c.wantKind != "" {
				var f *Failure
				if !errors.As(err, &f) || f.Err.Kind != c.wantKind {
					t.Fatalf("err = %v, want kind %s", err, c.wantKind)
				}
				return
			}
			if err != nil || res.Deployment.ID != c.wantServed {
				t.Fatalf("res=%v err=%v", res, err)
			}
			if len(res.Attempts) != 2 || res.Attempts[0].Kind == "" || res.Attempts[1].Kind != "" {
				t.Fatalf("attempts = %+v", res.Attempts)
			}
		})
	}
}

func TestRetryAfterIsWaitedWhenTheDeadlineAllows(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindRateLimited, Status: 429, RetryAfter: 2 * time.Second}}}
	e, log := quietExecutor(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.Chat(ctx, Plan{Deployments: []*Deployment{dep("a", a)}}, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.sleeps) != 1 || log.sleeps[0] < 1900*time.Millisecond || log.sleeps[0] > 2*time.Second {
		t.Fatalf("slept %v, want one wait of about 2s", log.sleeps)
	}
	if res.Attempts[1].Waited != log.sleeps[0] {
		t.Fatalf("attempt records wait %v", res.Attempts[1].Waited)
	}
}

func TestRetryAfterBeyondDeadlineSkipsToNextDeployment(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindRateLimited, Status: 429, RetryAfter: 2 * time.Second}}}
	b := &fake{}
	e, log := quietExecutor(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := e.Chat(ctx, Plan{Deployments: []*Deployment{dep("a", a), dep("b", b)}}, req)
	if err != nil || res.Deployment.ID != "b" {
		t.Fatalf("res=%v err=%v", res, err)
	}
	if len(log.sleeps) != 0 || a.Calls() != 1 {
		t.Fatalf("sleeps %v, calls to a %d: want no wait and no retry of a", log.sleeps, a.Calls())
	}
	// Alone, a deployment that cannot be back in time is not waited for either.
	a2 := &fake{script: []error{&llm.Error{Kind: llm.KindRateLimited, Status: 429, RetryAfter: 2 * time.Second}}}
	_, err = e.Chat(ctx, Plan{Deployments: []*Deployment{dep("a2", a2)}}, req)
	var f *Failure
	if !errors.As(err, &f) || f.Err.Kind != llm.KindRateLimited || len(log.sleeps) != 0 {
		t.Fatalf("err=%v sleeps=%v", err, log.sleeps)
	}
}

func TestBackoffRetriesSameDeploymentWithJitter(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindUpstreamServer, Status: 500}}}
	e, log := quietExecutor(Config{BackoffBase: 100 * time.Millisecond, RetriesPerDeployment: 1})
	res, err := e.Chat(context.Background(), Plan{Deployments: []*Deployment{dep("a", a)}}, req)
	if err != nil || a.Calls() != 2 {
		t.Fatalf("err=%v calls=%d", err, a.Calls())
	}
	if len(log.sleeps) != 1 || log.sleeps[0] < 50*time.Millisecond || log.sleeps[0] > 100*time.Millisecond {
		t.Fatalf("backoff %v, want within [50ms,100ms]", log.sleeps)
	}
	_ = res
}

func TestContextLengthGoesToLargerWindow(t *testing.T) {
	small := &fake{script: []error{&llm.Error{Kind: llm.KindContextLength, Status: 400}}}
	same, big := &fake{}, &fake{}
	ds := []*Deployment{dep("small", small), dep("same", same), dep("big", big)}
	ds[0].ContextWindow, ds[1].ContextWindow, ds[2].ContextWindow = 8000, 8000, 128000
	e, _ := quietExecutor(Config{})
	res, err := e.Chat(context.Background(), Plan{Deployments: ds}, req)
	if err != nil || res.Deployment.ID != "big" || same.Calls() != 0 {
		t.Fatalf("res=%v err=%v same=%d", res, err, same.Calls())
	}
}

func TestBreakerOpensMovesTrafficAndProbesBack(t *testing.T) {
	failing := make([]error, 100)
	for i := range failing {
		failing[i] = &llm.Error{Kind: llm.KindUpstreamServer, Status: 500}
	}
	a, b := &fake{script: failing}, &fake{}
	e, _ := quietExecutor(Config{RetriesPerDeployment: -1, Breaker: BreakerConfig{ConsecutiveFailures: 3, Window: 10 * time.Second, CoolDown: time.Minute}})
	clock := time.Unix(1_700_000_000, 0)
	e.now = func() time.Time { return clock }
	plan := Plan{Deployments: []*Deployment{dep("a", a), dep("b", b)}}
	for i := 0; i < 3; i++ {
		if _, err := e.Chat(context.Background(), plan, req); err != nil {
			t.Fatal(err)
		}
	}
	if a.Calls() != 3 || !hasState(e, "a", BreakerOpen) {
		t.Fatalf("after 3 failures: calls=%d health=%+v", a.Calls(), e.Health())
	}
	for i := 0; i < 10; i++ {
		res, err := e.Chat(context.Background(), plan, req)
		if err != nil || res.Deployment.ID != "b" || len(res.Attempts) != 1 {
			t.Fatalf("with a open: res=%+v err=%v", res, err)
		}
	}
	if a.Calls() != 3 {
		t.Fatalf("an open breaker spent %d attempts", a.Calls()-3)
	}
	// After the cool-down one probe goes to a; it succeeds and closes the breaker.
	a.mu.Lock()
	a.script = nil
	a.mu.Unlock()
	clock = clock.Add(time.Minute + time.Second)
	res, err := e.Chat(context.Background(), plan, req)
	if err != nil || res.Deployment.ID != "a" || !hasState(e, "a", BreakerClosed) {
		t.Fatalf("probe: res=%v err=%v health=%+v", res, err, e.Health())
	}
}

func hasState(e *Executor, id string, s BreakerState) bool {
	for _, h := range e.Health() {
		if h.Deployment == id {
			return h.State == s
		}
	}
	return false
}

func TestAllBreakersOpenStillTriesOne(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindUpstreamServer}}}
	e, _ := quietExecutor(Config{RetriesPerDeployment: -1, Breaker: BreakerConfig{ConsecutiveFailures: 1, Window: time.Second, CoolDown: time.Hour}})
	plan := Plan{Deployments: []*Deployment{dep("a", a)}}
	_, _ = e.Chat(context.Background(), plan, req)
	res, err := e.Chat(context.Background(), plan, req)
	if err != nil || res.Deployment.ID != "a" {
		t.Fatalf("res=%v err=%v", res, err)
	}
}

// Breakers opened by other requests while this one was failing over must not end it
// with attempts to spare: the chaos test caught 1 request in 2,000 doing that.
func TestBreakersOpenedMidRequestStillLetAProbeThrough(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindUpstreamServer, Status: 500}}}
	b := &fake{script: []error{&llm.Error{Kind: llm.KindOverloaded, Status: 529}}}
	e, _ := quietExecutor(Config{RetriesPerDeployment: -1, Breaker: BreakerConfig{ConsecutiveFailures: 1, Window: time.Second, CoolDown: time.Hour}})
	// Another request's failure opens b's breaker.
	if _, err := e.Chat(context.Background(), Plan{Deployments: []*Deployment{dep("b", b)}}, req); err == nil {
		t.Fatal("b's scripted failure did not fail")
	}
	if !hasState(e, "b", BreakerOpen) {
		t.Fatalf("b's breaker is not open: %+v", e.Health())
	}
	// This request fails on a, and b (healthy again) is behind its open breaker.
	res, err := e.Chat(context.Background(), Plan{Deployments: []*Deployment{dep("a", a), dep("b", b)}}, req)
	if err != nil || res.Deployment.ID != "b" || len(res.Attempts) != 2 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

func TestStreamFailsOverBeforeFirstByteOnly(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindOverloaded, Status: 529}}}
	b := &fake{cutAfter: 3}
	e, _ := quietExecutor(Config{})
	res, err := e.Stream(context.Background(), Plan{Deployments: []*Deployment{dep("a", a), dep("b", b)}}, req)
	if err != nil || res.Deployment.ID != "b" {
		t.Fatalf("res=%v err=%v", res, err)
	}
	defer res.Stream.Close()
	n := 0
	for {
		_, err := res.Stream.Recv()
		if err != nil {
			if le := llm.AsError(err); err == io.EOF || le.Kind != llm.KindUpstreamServer {
				t.Fatalf("mid-stream break surfaced as %v", err)
			}
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("relayed %d events before the cut, want 3", n)
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("first byte", func(t *testing.T) {
		a, b := &fake{hang: true}, &fake{}
		e, _ := quietExecutor(Config{FirstByte: 20 * time.Millisecond})
		res, err := e.Stream(context.Background(), Plan{Deployments: []*Deployment{dep("a", a), dep("b", b)}}, req)
		if err != nil || res.Deployment.ID != "b" || res.Attempts[0].Kind != llm.KindTimeout {
			t.Fatalf("res=%+v err=%v", res, err)
		}
		res.Stream.Close()
	})
	t.Run("idle between events", func(t *testing.T) {
		e, _ := quietExecutor(Config{Idle: 20 * time.Millisecond})
		f := &fake{}
		res, err := e.Stream(context.Background(), Plan{Deployments: []*Deployment{dep("a", f)}}, req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Stream.Close()
		s := res.Stream.(*stream)
		s.up.(*fakeStream).hangAt = 2
		for {
			_, err := res.Stream.Recv()
			if err != nil {
				if llm.AsError(err).Kind != llm.KindTimeout {
					t.Fatalf("idle stream ended with %v, want timeout", err)
				}
				return
			}
		}
	})
}

func TestCanceledClientStopsAtOnce(t *testing.T) {
	a := &fake{script: []error{&llm.Error{Kind: llm.KindRateLimited, RetryAfter: time.Second}}}
	e := New(Config{}) // real sleep: the wait must end when the client leaves
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := e.Chat(ctx, Plan{Deployments: []*Deployment{dep("a", a)}}, req)
	var f *Failure
	if !errors.As(err, &f) || f.Err.Kind != llm.KindCanceled || a.Calls() != 1 {
		t.Fatalf("err=%v calls=%d", err, a.Calls())
	}
}
