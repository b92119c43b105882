// Package executor runs a request as an ordered plan of attempts over deployments:
// failover, retries with backoff that honour Retry-After, circuit breakers and
// deadlines. It does not know how a plan was made (configuration or the router).
package executor

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/provider"
)

// Deployment is one model served by one provider account: the unit that fails, is
// retried, and has a breaker.
type Deployment struct {
	// ID is unique across the gateway: "<provider>/<model>".
	ID       string
	Provider string
	// Model is the catalog id; UpstreamModel the provider's own name for it.
	Model         string
	UpstreamModel string
	Client        provider.Provider
	// ContextWindow is the model's window in tokens (0 = unknown), used to fail over
	// to a larger one on context_length_exceeded.
	ContextWindow int
	// DefaultMaxTokens is sent when the request sets no max_tokens, for providers
	// that require one (Anthropic); 0 leaves the request alone.
	DefaultMaxTokens int
}

// Plan is the ordered list of deployments to try.
type Plan struct {
	Deployments []*Deployment
}

// Config bounds retries and time.
type Config struct {
	// MaxAttempts caps the attempts of one request over the whole plan.
	MaxAttempts int
	// RetriesPerDeployment is how many times one deployment may be tried again after
	// a retryable failure (rate limit, overload, 5xx, timeout); 0 means the default,
	// a negative number none.
	RetriesPerDeployment int
	// BackoffBase and BackoffMax shape the exponential backoff with full jitter
	// between tries of the same deployment.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter is the longest Retry-After Arbiter will wait for; a longer one
	// takes that deployment out of this request's plan.
	MaxRetryAfter time.Duration
	// FirstByte bounds the wait for a response (non-streaming) or for the first
	// event (streaming) of one attempt.
	FirstByte time.Duration
	// Idle bounds the gap between two events of a stream.
	Idle time.Duration
	// Total bounds the whole request, waits included, when the caller's context has
	// no earlier deadline.
	Total time.Duration
	// FailoverOnContentFilter sends a content-filtered request to the next provider.
	FailoverOnContentFilter bool
	Breaker                 BreakerConfig
}

// DefaultConfig is what serve uses unless configured otherwise.
func DefaultConfig() Config {
	return Config{
		MaxAttempts: 6, RetriesPerDeployment: 1,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 5 * time.Second,
		MaxRetryAfter: 30 * time.Second,
		FirstByte:     120 * time.Second, Idle: 60 * time.Second, Total: 10 * time.Minute,
		Breaker: DefaultBreaker(),
	}
}

// Attempt is the outcome of one try, for the ledger and logs.
type Attempt struct {
	Deployment string        `json:"deployment"`
	Kind       llm.ErrorKind `json:"error,omitempty"` // "" when it succeeded
	Status     int           `json:"status,omitempty"`
	Latency    time.Duration `json:"latency_ns"`
	Waited     time.Duration `json:"waited_ns,omitempty"` // backoff or Retry-After wait before it
}

// Result is a successful execution.
type Result struct {
	Deployment *Deployment
	Response   *llm.Response // Chat only
	Stream     llm.Stream    // Stream only; the caller must Close it
	Attempts   []Attempt
	// FirstByte is the time from the start of the winning attempt to its first
	// response byte (non-streaming: the whole response; streaming: the first event).
	FirstByte time.Duration
}

// Failure is returned when no attempt succeeded; it carries the attempts made.
type Failure struct {
	Err      *llm.Error
	Attempts []Attempt
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Executor runs plans. It is safe for concurrent use.
type Executor struct {
	cfg      Config
	mu       sync.Mutex
	breakers map[string]*breaker
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
}

// New returns an executor; zero fields of cfg take DefaultConfig's values.
func New(cfg Config) *Executor {
	d := DefaultConfig()
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	switch {
	case cfg.RetriesPerDeployment == 0:
		cfg.RetriesPerDeployment = d.RetriesPerDeployment
	case cfg.RetriesPerDeployment < 0: // explicitly none
		cfg.RetriesPerDeployment = 0
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = d.BackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = d.BackoffMax
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = d.MaxRetryAfter
	}
	if cfg.FirstByte <= 0 {
		cfg.FirstByte = d.FirstByte
	}
	if cfg.Idle <= 0 {
		cfg.Idle = d.Idle
	}
	if cfg.Total <= 0 {
		cfg.Total = d.Total
	}
	if cfg.Breaker == (BreakerConfig{}) {
		cfg.Breaker = d.Breaker
	}
	return &Executor{cfg: cfg, breakers: map[string]*breaker{}, now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Executor) breaker(id string) *breaker {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.breakers[id]
	if !ok {
		b = newBreaker(e.cfg.Breaker)
		e.breakers[id] = b
	}
	return b
}

// Health reports every deployment the executor has seen, in no particular order.
func (e *Executor) Health() []Health {
	e.mu.Lock()
	ids := make([]string, 0, len(e.breakers))
	bs := make([]*breaker, 0, len(e.breakers))
	for id, b := range e.breakers {
		ids = append(ids, id)
		bs = append(bs, b)
	}
	e.mu.Unlock()
	now := e.now()
	out := make([]Health, len(bs))
	for i, b := range bs {
		out[i] = b.health(ids[i], now)
	}
	return out
}

// Available reports whether a deployment's breaker would let a request through now
// (the router uses it to drop unhealthy candidates).
func (e *Executor) Available(id string) bool {
	e.mu.Lock()
	b, ok := e.breakers[id]
	e.mu.Unlock()
	if !ok {
		return true
	}
	h := b.health(id, e.now())
	return h.State != BreakerOpen
}

// Chat runs the plan for a non-streaming request.
func (e *Executor) Chat(ctx context.Context, plan Plan, req *llm.Request) (*Result, error) {
	return e.run(ctx, plan, req, false)
}

// Stream runs the plan for a streaming request. It fails over until an attempt has
// produced its first content event; the returned stream replays what was read so
// far and then continues. Errors after that reach the caller through Recv.
func (e *Executor) Stream(ctx context.Context, plan Plan, req *llm.Request) (*Result, error) {
	return e.run(ctx, plan, req, true)
}

type depState struct {
	failures  int
	notBefore time.Time
	excluded  bool
}

func (e *Executor) run(ctx context.Context, plan Plan, req *llm.Request, streaming bool) (*Result, error) {
	if len(plan.Deployments) == 0 {
		return nil, &Failure{Err: llm.Errorf(llm.KindNotFound, "no deployment can serve model %q", req.Model)}
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, e.cfg.Total)
	}
	res, err := e.runPlan(ctx, plan, req, streaming)
	if err != nil || res.Stream == nil {
		cancel()
		return res, err
	}
	// The stream outlives this call: its Close releases the total deadline.
	res.Stream.(*stream).release = cancel
	return res, nil
}

func (e *Executor) runPlan(ctx context.Context, plan Plan, req *llm.Request, streaming bool) (*Result, error) {
	deps := plan.Deployments
	states := make([]depState, len(deps))
	var attempts []Attempt
	var lastErr *llm.Error
	minContext := 0
	cursor := 0
	forced := false
	var floor time.Time // after a wait, what was waited for counts as reached
	var waited time.Duration
	for len(attempts) < e.cfg.MaxAttempts {
		if err := ctx.Err(); err != nil {
			lastErr = llm.AsError(err)
			break
		}
		now := e.now()
		if now.Before(floor) {
			now = floor
		}
		deadline, _ := ctx.Deadline()
		// Pick the next deployment in plan order from the cursor that can be tried now.
		pick, waitUntil, blocked := -1, time.Time{}, 0
		for k := 0; k < len(deps); k++ {
			i := (cursor + k) % len(deps)
			st := &states[i]
			if st.excluded || (deps[i].ContextWindow > 0 && deps[i].ContextWindow <= minContext) {
				continue
			}
			if st.notBefore.After(now) {
				if waitUntil.IsZero() || st.notBefore.Before(waitUntil) {
					waitUntil = st.notBefore
				}
				continue
			}
			if !forced && !e.breaker(deps[i].ID).allow(now) {
				blocked++
				continue
			}
			pick = i
			break
		}
		if pick < 0 {
			if !waitUntil.IsZero() && waitUntil.Before(deadline) {
				w := waitUntil.Sub(now)
				waited += w
				if err := e.sleep(ctx, w); err != nil {
					lastErr = llm.AsError(err)
					break
				}
				floor = waitUntil
				continue
			}
			if blocked > 0 && !forced {
				// Every deployment left is behind an open breaker — perhaps opened by
				// other requests' failures since this one began: rather than fail
				// with attempts to spare, let the next one through as a probe. The
				// attempt budget and the per-deployment retries still bound it.
				forced = true
				continue
			}
			break
		}
		forced = false
		d := deps[pick]
		cursor = (pick + 1) % len(deps) // fail over first; come back to d later
		res, err := e.attempt(ctx, d, req, streaming)
		a := Attempt{Deployment: d.ID, Latency: res.latency, Waited: waited}
		waited = 0
		b := e.breaker(d.ID)
		if err == nil {
			b.record(e.now(), true, res.latency)
			attempts = append(attempts, a)
			out := &Result{Deployment: d, Response: res.resp, Attempts: attempts, FirstByte: res.latency}
			if streaming {
				res.stream.onEnd = func(err error) {
					if err != nil && !errors.Is(err, io.EOF) {
						if le := llm.AsError(err); le.Kind != llm.KindCanceled {
							b.record(e.now(), false, 0)
						}
					}
				}
				out.Stream = res.stream
			}
			return out, nil
		}
		le := llm.AsError(err)
		if le.Provider == "" {
			le = withProvider(le, d.ID)
		}
		a.Kind, a.Status = le.Kind, le.Status
		attempts = append(attempts, a)
		lastErr = le
		if ctx.Err() != nil {
			// The client left or the total deadline passed: nothing more to try.
			lastErr = llm.AsError(ctx.Err())
			break
		}
		st := &states[pick]
		switch le.Kind {
		case llm.KindInvalidRequest, llm.KindRequestTooLarge, llm.KindCanceled:
			b.release()
			return nil, &Failure{Err: le, Attempts: attempts}
		case llm.KindContentFilter:
			b.release()
			if !e.cfg.FailoverOnContentFilter {
				return nil, &Failure{Err: le, Attempts: attempts}
			}
			st.excluded = true
		case llm.KindContextLength:
			b.release()
			// Only a deployment with a larger window can help.
			if d.ContextWindow > minContext {
				minContext = d.ContextWindow
			}
			st.excluded = true
		case llm.KindAuthentication, llm.KindPermission, llm.KindNotFound:
			// The deployment's key or model name is wrong: another may work.
			b.record(e.now(), false, 0)
			st.excluded = true
		default: // rate limited, overloaded, upstream 5xx, timeout, connection errors
			b.record(e.now(), false, 0)
			st.failures++
			if st.failures > e.cfg.RetriesPerDeployment {
				st.excluded = true
				break
			}
			wait := e.backoff(st.failures)
			if le.RetryAfter > 0 {
				remaining := time.Until(deadline)
				if le.RetryAfter > e.cfg.MaxRetryAfter || le.RetryAfter >= remaining {
					st.excluded = true // it will not be back in time: skip it
					break
				}
				wait = le.RetryAfter
			}
			st.notBefore = e.now().Add(wait)
		}
	}
	if lastErr == nil {
		lastErr = llm.Errorf(llm.KindOverloaded, "no deployment of %q is available", req.Model)
	}
	return nil, &Failure{Err: lastErr, Attempts: attempts}
}

func withProvider(le *llm.Error, id string) *llm.Error {
	c := *le
	c.Provider = id
	return &c
}

// backoff returns a full-jitter exponential delay for the n-th failure (n ≥ 1).
func (e *Executor) backoff(n int) time.Duration {
	d := e.cfg.BackoffBase << (n - 1)
	if d > e.cfg.BackoffMax || d <= 0 {
		d = e.cfg.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

type attemptResult struct {
	resp    *llm.Response
	stream  *stream
	latency time.Duration
}

func (e *Executor) attempt(ctx context.Context, d *Deployment, req *llm.Request, streaming bool) (attemptResult, error) {
	r := req.Clone()
	r.Model = d.UpstreamModel
	if r.MaxTokens == nil && d.DefaultMaxTokens > 0 {
		n := d.DefaultMaxTokens
		r.MaxTokens = &n
	}
	start := e.now()
	actx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	timer := time.AfterFunc(e.cfg.FirstByte, func() { timedOut.Store(true); cancel() })
	fail := func(err error) (attemptResult, error) {
		if !timer.Stop() {
			timedOut.Store(true) // fired, perhaps still running: the cancel was ours
		}
		cancel()
		if timedOut.Load() {
			err = &llm.Error{Kind: llm.KindTimeout, Message: "no response from upstream within " + e.cfg.FirstByte.String(), Provider: d.ID}
		}
		return attemptResult{latency: e.now().Sub(start)}, err
	}
	if !streaming {
		resp, err := d.Client.Chat(actx, r)
		if err != nil {
			return fail(err)
		}
		timer.Stop() // a whole answer is kept even if the timer fired as it arrived
		cancel()
		return attemptResult{resp: resp, latency: e.now().Sub(start)}, nil
	}
	up, err := d.Client.Stream(actx, r)
	if err != nil {
		return fail(err)
	}
	s := &stream{up: up, cancel: cancel, idle: e.cfg.Idle, deployment: d.ID}
	// Read until the first content event so that a failure before the first byte
	// reaches the client can still fail over.
	for {
		ev, err := up.Recv()
		if err != nil {
			up.Close()
			if err == io.EOF {
				err = &llm.Error{Kind: llm.KindUpstreamServer, Message: "stream ended before any content", Provider: d.ID}
			}
			return fail(err)
		}
		s.buf = append(s.buf, ev)
		if ev.Type != llm.EventStart {
			break
		}
	}
	if !timer.Stop() {
		// The first-byte timer fired as the first event arrived: the attempt's
		// context is (being) cancelled, so the stream cannot be used.
		up.Close()
		return fail(context.DeadlineExceeded)
	}
	s.timer = time.AfterFunc(e.cfg.Idle, func() { s.idleFired.Store(true); cancel() })
	return attemptResult{stream: s, latency: e.now().Sub(start)}, nil
}

// stream replays the events read during failover, then relays the upstream stream,
// cancelling it when no event arrives within the idle timeout.
type stream struct {
	up         llm.Stream
	buf        []llm.Event
	cancel     context.CancelFunc
	release    context.CancelFunc
	timer      *time.Timer
	idle       time.Duration
	idleFired  atomic.Bool
	deployment string
	onEnd      func(error)
	ended      bool
	closeOnce  sync.Once
}

func (s *stream) Recv() (llm.Event, error) {
	if len(s.buf) > 0 {
		ev := s.buf[0]
		s.buf = s.buf[1:]
		return ev, nil
	}
	if s.ended {
		return llm.Event{}, io.EOF
	}
	ev, err := s.up.Recv()
	if err != nil {
		if s.idleFired.Load() {
			err = &llm.Error{Kind: llm.KindTimeout, Message: "no stream event from upstream within " + s.idle.String(), Provider: s.deployment}
		}
		s.ended = true
		s.timer.Stop()
		if s.onEnd != nil {
			s.onEnd(err)
		}
		return llm.Event{}, err
	}
	s.timer.Reset(s.idle)
	return ev, nil
}

// Buffered reports whether the next event is ready without waiting.
func (s *stream) Buffered() bool { return len(s.buf) > 0 || llm.Buffered(s.up) }

func (s *stream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.timer.Stop()
		err = s.up.Close()
		s.cancel()
		if s.release != nil {
			s.release()
		}
	})
	return err
}
