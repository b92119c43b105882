package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/cost"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

// replayChunk is the size of the text pieces a cached answer is streamed in.
const replayChunk = 24

// resultStream carries the executor's result with the upstream stream, so that
// requests coalesced onto it can record which deployment answered.
type resultStream struct {
	llm.Stream
	res *executor.Result
}

// Metadata returns the executor's result.
func (s *resultStream) Metadata() any { return s.res }

// Buffered reports whether the next event is ready without waiting.
func (s *resultStream) Buffered() bool { return llm.Buffered(s.Stream) }

// exchange is one request on its way through the pipeline.
type exchange struct {
	g      *Gateway
	s      *surface
	w      http.ResponseWriter
	r      *http.Request
	start  time.Time
	rec    ledger.Record
	tenant *tenant.Tenant
	req    *llm.Request
	res    resolved
	// upstreamWait is the time spent waiting on providers before the first byte,
	// subtracted from the elapsed time to give Arbiter's own overhead.
	upstreamWait time.Duration
	wroteHeader  bool
}

// resolved is where a request goes.
type resolved struct {
	name     string         // the model or route the client asked for
	model    *catalog.Model // the model chosen to answer
	plan     executor.Plan
	baseline string // catalog id of the baseline model
	route    string // automatic route name, "" for a concrete model
	reason   string
	decision *RouteDecision
	cfg      config.Route
}

func (g *Gateway) chat(s *surface) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{g: g, s: s, w: w, r: r, start: g.now()}
		x.rec = ledger.Record{Time: x.start, RequestID: requestID(r), ClientFormat: s.format}
		w.Header().Set(HeaderRequestID, x.rec.RequestID)
		x.serve()
	}
}

func (x *exchange) serve() {
	g := x.g
	x.tenant = g.o.Keys.Authenticate(tenant.FromRequest(x.r))
	if x.tenant == nil {
		x.fail(&llm.Error{Kind: llm.KindAuthentication, Message: "invalid or missing virtual key", Code: "invalid_api_key"}, nil)
		return
	}
	x.rec.Tenant, x.rec.KeyID = x.tenant.ID, x.tenant.KeyID
	if !x.admitRate() {
		return
	}
	body, release, err := g.readBody(x.w, x.r)
	if err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	req, err := x.s.decode(body)
	release()
	if err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	x.req = req
	x.rec.RequestedModel, x.rec.Stream = req.Model, req.Stream
	if !x.tenant.Allows(req.Model) {
		x.fail(&llm.Error{Kind: llm.KindPermission, Message: "this key may not use model " + strconv.Quote(req.Model), Param: "model"}, nil)
		return
	}
	ctx := x.r.Context()
	if d := clientTimeout(x.r); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	} else if rt := g.o.Routes[req.Model]; rt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt.Timeout.D())
		defer cancel()
	}
	if err := x.resolve(ctx); err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	x.rec.BaselineModel = x.res.baseline
	x.rec.Route, x.rec.RouteReason = x.res.route, x.res.reason

	// Cache: exact, then semantic, then coalesce identical requests in flight.
	var dec cache.Decision
	var key cache.Key
	if g.o.Cache != nil {
		dec = cache.Decide(req, g.o.CachePolicies.Resolve(x.res.name), x.r.Header)
		if dec.Lookup || dec.Store {
			if key, err = cache.KeyFor(x.tenant.CacheNamespace, req); err != nil {
				dec = cache.Decision{Reason: "key: " + err.Error()}
			}
		}
		if dec.Lookup {
			if e, ok, err := g.o.Cache.Get(ctx, key); err != nil {
				g.log.Warn("cache lookup failed", "request_id", x.rec.RequestID, "err", err)
			} else if ok && e.Fresh(g.now(), dec.MaxAge) {
				x.serveCached(ctx, e, ledger.CacheHit, 0, "", 0)
				return
			}
		}
		if dec.Lookup && dec.Semantic && g.o.Semantic != nil && x.semanticEnabled() {
			if hit := x.semanticLookup(ctx); hit != nil {
				x.serveCached(ctx, hit.Entry, ledger.CacheSemanticHit, hit.Similarity, hit.EntryID, hit.EmbedCost)
				return
			}
		}
	}
	if !dec.Lookup && !dec.Store {
		x.rec.Cache = ledger.CacheBypass
	} else {
		x.rec.Cache = ledger.CacheMiss
	}
	// Only what would go upstream is refused once the budget is spent.
	if !x.admitBudget(ctx) {
		return
	}

	var result *executor.Result
	upstream := func(uctx context.Context) (llm.Stream, error) {
		var err error
		if req.Stream {
			result, err = g.o.Executor.Stream(uctx, x.res.plan, req)
		} else {
			result, err = g.o.Executor.Chat(uctx, x.res.plan, req)
		}
		if err != nil {
			return nil, err
		}
		st := result.Stream
		if st == nil {
			st = &llm.SliceStream{Events: llm.Events(result.Response, 0)}
		}
		if dec.Store {
			st = cache.Record(st, x.storer(key, dec.TTL, result))
		}
		return &resultStream{Stream: st, res: result}, nil
	}
	var st llm.Stream
	if dec.Coalesce() {
		var role cache.Role
		var err error
		waitStart := g.now()
		st, role, err = g.o.Group.Do(ctx, key, upstream)
		if role == cache.Follower && err == nil {
			x.rec.Cache = ledger.CacheCoalesced
			x.upstreamWait = g.now().Sub(waitStart) // waiting on the leader's upstream call
			// The leader's upstream call says which deployment answered.
			if md, ok := st.(interface{ Metadata() any }); ok {
				result, _ = md.Metadata().(*executor.Result)
			}
		}
		if err != nil {
			x.fail(llm.AsError(err), attemptsOf(err))
			return
		}
	} else {
		var err error
		st, err = upstream(ctx)
		if err != nil {
			x.fail(llm.AsError(err), attemptsOf(err))
			return
		}
	}
	defer st.Close()
	if result != nil {
		x.noteResult(result, x.rec.Cache == ledger.CacheCoalesced)
	}
	if req.Stream {
		x.relay(ctx, st)
	} else {
		x.respond(ctx, st)
	}
}

func (x *exchange) semanticEnabled() bool {
	if rt, ok := x.g.o.Routes[x.res.name]; ok && rt.Semantic != nil {
		return *rt.Semantic
	}
	// Off for tool-calling agents by default: a similar question is not a similar
	// tool call.
	return len(x.req.Tools) == 0
}

func (x *exchange) semanticLookup(ctx context.Context) *SemanticHit {
	scope, err := cache.PrefixKey(x.tenant.CacheNamespace, x.req)
	if err != nil {
		return nil
	}
	th := x.g.o.SemanticThreshold
	if rt, ok := x.g.o.Routes[x.res.name]; ok && rt.Threshold > 0 {
		th = rt.Threshold
	}
	hit, err := x.g.o.Semantic.Lookup(ctx, scope, x.req.LastUserText(), th)
	if err != nil {
		x.g.log.Warn("semantic lookup failed", "request_id", x.rec.RequestID, "err", err)
		return nil
	}
	if hit == nil || hit.Entry == nil {
		return nil
	}
	return hit
}

// storer writes a completed upstream answer to the exact and semantic caches.
func (x *exchange) storer(key cache.Key, ttl time.Duration, result *executor.Result) func(*llm.Response) {
	g := x.g
	return func(resp *llm.Response) {
		e := &cache.Entry{Response: resp, Stored: g.now()}
		if result != nil && result.Deployment != nil {
			e.Model, e.Provider = result.Deployment.Model, result.Deployment.Provider
			e.Cost = g.o.Pricer.Cost(result.Deployment.ID, resp.Usage)
		}
		// The cache write must not hold up the client or die with its context.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.o.Cache.Set(ctx, key, e, ttl); err != nil {
			g.log.Warn("cache store failed", "request_id", x.rec.RequestID, "err", err)
		}
		if g.o.Semantic != nil && x.semanticEnabled() && lastIsUserText(x.req) {
			if scope, err := cache.PrefixKey(x.tenant.CacheNamespace, x.req); err == nil {
				if err := g.o.Semantic.Store(ctx, scope, x.req.LastUserText(), key, e, ttl); err != nil {
					g.log.Warn("semantic store failed", "request_id", x.rec.RequestID, "err", err)
				}
			}
		}
	}
}

func lastIsUserText(r *llm.Request) bool {
	if len(r.Messages) == 0 {
		return false
	}
	m := r.Messages[len(r.Messages)-1]
	return m.Role == llm.RoleUser && m.Text() != ""
}

func attemptsOf(err error) []executor.Attempt {
	var f *executor.Failure
	if errors.As(err, &f) {
		return f.Attempts
	}
	return nil
}

func (x *exchange) noteResult(res *executor.Result, coalesced bool) {
	if res.Deployment != nil {
		x.rec.ServedModel, x.rec.Provider = res.Deployment.Model, res.Deployment.Provider
		if m, ok := x.g.o.Registry.Model(res.Deployment.Model); ok {
			x.res.model = m
		}
	}
	if coalesced {
		return // the leader's attempts are the leader's
	}
	x.rec.Attempts = toLedgerAttempts(res.Attempts)
	for _, a := range res.Attempts {
		x.upstreamWait += a.Latency + a.Waited
	}
	if x.rec.RouteReason == "" || x.rec.RouteReason == "requested" {
		if len(res.Attempts) > 1 {
			x.rec.RouteReason = "failover"
		}
	}
}

func toLedgerAttempts(as []executor.Attempt) []ledger.Attempt {
	out := make([]ledger.Attempt, len(as))
	for i, a := range as {
		model := ""
		if _, m, ok := strings.Cut(a.Deployment, "/"); ok {
			model = m
		}
		out[i] = ledger.Attempt{Deployment: a.Deployment, Model: model, ErrorKind: a.Kind, Status: a.Status, Latency: a.Latency}
	}
	return out
}

// setHeaders writes the headers known before the body.
func (x *exchange) setHeaders(cacheStatus ledger.CacheStatus) {
	h := x.w.Header()
	if x.rec.ServedModel != "" {
		h.Set(HeaderModel, x.rec.ServedModel)
	}
	if x.rec.Provider != "" {
		h.Set(HeaderProvider, x.rec.Provider)
	}
	switch cacheStatus {
	case ledger.CacheCoalesced:
		h.Set(HeaderCache, "hit") // answered by an identical request's upstream call
	default:
		h.Set(HeaderCache, string(cacheStatus))
	}
	if x.res.route != "" {
		h.Set(HeaderRoute, x.res.route)
		if d := x.res.decision; d != nil {
			h.Set(HeaderPredicted, strconv.FormatFloat(d.Predicted, 'f', 3, 64))
			if d.Explain != "" {
				h.Set(HeaderCandidates, d.Explain)
			}
		}
	}
	if n := len(x.rec.Attempts); n > 0 {
		h.Set(HeaderAttempts, strconv.Itoa(n))
	}
	x.rec.Overhead = max(0, x.g.now().Sub(x.start)-x.upstreamWait)
	h.Set(HeaderOverhead, strconv.FormatFloat(float64(x.rec.Overhead.Microseconds())/1000, 'f', 3, 64))
}

// price fills cost, baseline and savings from the usage; lookup is what a cache hit
// itself cost (a semantic lookup's embedding).
func (x *exchange) price(u llm.Usage, lookup money.USD) {
	x.rec.Usage = u
	var sv cost.Savings
	switch x.rec.Cache {
	case ledger.CacheHit, ledger.CacheSemanticHit, ledger.CacheCoalesced:
		sv = x.g.o.Pricer.CacheSavings(x.rec.BaselineModel, x.rec.ServedModel, u, lookup)
	default:
		if x.rec.Provider == "" {
			return // nothing was served
		}
		sv = x.g.o.Pricer.Savings(x.rec.BaselineModel, x.rec.Provider+"/"+x.rec.ServedModel, u)
	}
	x.rec.Cost, x.rec.BaselineCost, x.rec.Saved = sv.Actual, sv.Baseline, sv.Saved
	x.rec.SavingCause = ledger.SavingCause(sv.Cause)
	if sv.Cause == cost.CauseNone {
		x.rec.SavingCause = ledger.CauseNone
	}
}

func (x *exchange) serveCached(ctx context.Context, e *cache.Entry, status ledger.CacheStatus, sim float64, entryID string, embedCost money.USD) {
	x.rec.Cache = status
	x.rec.ServedModel, x.rec.Provider = e.Model, "cache"
	x.rec.Similarity, x.rec.MatchedEntryID = sim, entryID
	resp := e.ResponseCopy()
	x.price(resp.Usage, embedCost)
	h := x.w.Header()
	h.Set("Age", strconv.FormatInt(e.AgeSeconds(x.g.now()), 10))
	if status == ledger.CacheSemanticHit {
		h.Set(HeaderSimilarity, strconv.FormatFloat(sim, 'f', 4, 64))
	}
	if resp.ID == "" || status != ledger.CacheHit {
		resp.ID = "cached-" + x.rec.RequestID
	}
	if x.req.Stream {
		x.relay(ctx, &llm.SliceStream{Events: llm.Events(resp, replayChunk)})
		return
	}
	x.respond(ctx, &llm.SliceStream{Events: llm.Events(resp, 0)})
}

// respond collects a whole answer and writes it as one JSON body.
func (x *exchange) respond(ctx context.Context, st llm.Stream) {
	resp, err := llm.Collect(ctx, st)
	if err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	if resp.Usage.InputTokens == 0 && resp.Usage.OutputTokens == 0 {
		resp.Usage = x.estimate(resp)
	}
	body, err := x.s.encodeResponse(resp)
	if err != nil {
		x.fail(&llm.Error{Kind: llm.KindUpstreamServer, Message: "encoding response: " + err.Error()}, nil)
		return
	}
	x.price(resp.Usage, 0)
	x.setHeaders(x.rec.Cache)
	h := x.w.Header()
	h.Set(HeaderCost, x.rec.Cost.Decimal())
	h.Set(HeaderSaved, x.rec.Saved.Decimal())
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(http.StatusOK)
	x.w.Write(body)
	x.finish(http.StatusOK, "")
}

// estimate counts tokens when a provider reported none.
func (x *exchange) estimate(resp *llm.Response) llm.Usage {
	return llm.Usage{InputTokens: x.g.o.Tokens.Request(x.req), OutputTokens: x.g.o.Tokens.Response(resp), Estimated: true}
}

// relay streams events to the client as they arrive, in its own format.
func (x *exchange) relay(ctx context.Context, st llm.Stream) {
	enc := x.s.newStream(x.req)
	h := x.w.Header()
	sse.Header(h)
	// Cost is known only at the end of a stream: it goes in trailers.
	h.Set("Trailer", HeaderCost+", "+HeaderSaved)
	x.setHeaders(x.rec.Cache)
	x.w.WriteHeader(http.StatusOK)
	x.wroteHeader = true
	sw := sse.NewWriter(x.w)
	var a llm.Assembler
	var usage *llm.Usage
	first := true
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			le := llm.AsError(err)
			if ctx.Err() != nil && le.Kind == llm.KindCanceled {
				// The client left: nothing to tell it.
				x.endPartial(&a, usage, 499, llm.KindCanceled)
				return
			}
			sw.Hold(false)
			enc.Fail(sw, le)
			x.endPartial(&a, usage, le.HTTPStatus(), le.Kind)
			return
		}
		if first && ev.Type != llm.EventStart {
			first = false
			x.rec.TTFT = x.g.now().Sub(x.start)
		}
		if ev.Type == llm.EventStart && ev.Usage == nil && x.s.format == llm.FormatAnthropic {
			// Anthropic clients read the prompt's tokens from message_start; an
			// upstream that reports them only at the end gets Arbiter's count here.
			ev.Usage = &llm.Usage{InputTokens: x.g.o.Tokens.Request(x.req)}
		}
		if ev.Type == llm.EventUsage {
			usage = ev.Usage
		} else {
			a.Add(ev)
		}
		// Flush after this event unless the next one has already arrived.
		sw.Hold(llm.Buffered(st))
		if err := enc.Encode(sw, ev); err != nil {
			x.endPartial(&a, usage, 499, llm.KindCanceled)
			return
		}
	}
	sw.Hold(false) // what was held goes out with the end of the stream
	u := llm.Usage{}
	if usage != nil {
		u = *usage
	} else {
		// The upstream reported none: count the tokens, and give the client that
		// estimate where it asked for usage.
		u = x.estimate(a.Response())
		if err := enc.Encode(sw, llm.Event{Type: llm.EventUsage, Usage: &u}); err != nil {
			x.endPartial(&a, usage, 499, llm.KindCanceled)
			return
		}
	}
	if err := enc.Finish(sw); err != nil {
		x.endPartial(&a, usage, 499, llm.KindCanceled)
		return
	}
	x.price(u, 0)
	h.Set(HeaderCost, x.rec.Cost.Decimal())
	h.Set(HeaderSaved, x.rec.Saved.Decimal())
	x.finish(http.StatusOK, "")
}

// endPartial records a stream that ended early, with the tokens actually delivered.
func (x *exchange) endPartial(a *llm.Assembler, usage *llm.Usage, status int, kind llm.ErrorKind) {
	x.rec.Partial = true
	u := llm.Usage{}
	if usage != nil {
		u = *usage
	} else {
		u = x.estimate(a.Response())
	}
	x.price(u, 0)
	x.finish(status, kind)
}

// fail answers with an error in the client's format (or, mid-stream, records it).
// attempts, when not nil, are the executor's attempts of a failed plan.
func (x *exchange) fail(e *llm.Error, attempts []executor.Attempt) {
	if attempts != nil {
		x.rec.Attempts = toLedgerAttempts(attempts)
	}
	status := e.HTTPStatus()
	if !x.wroteHeader {
		if x.r.Context().Err() != nil {
			status = 499
		} else {
			if e.Kind == llm.KindNotFound && e.Code == "" && e.Param == "model" {
				e.Code = "model_not_found"
			}
			status = x.g.writeError(x.w, x.s, publicError(e))
		}
	}
	x.finish(status, e.Kind)
}

// publicError strips what a client must not see of an upstream failure: the
// deployment's internals stay in the logs.
func publicError(e *llm.Error) *llm.Error {
	c := *e
	c.Err = nil
	return &c
}

// finish records the request in the ledger and metrics and logs one line.
func (x *exchange) finish(status int, kind llm.ErrorKind) {
	g := x.g
	x.rec.Status, x.rec.ErrorKind = status, kind
	x.charge()
	x.rec.Latency = g.now().Sub(x.start)
	if x.rec.Overhead == 0 {
		x.rec.Overhead = max(0, x.rec.Latency-x.upstreamWait)
	}
	if g.o.Ledger != nil {
		g.o.Ledger.Record(x.rec)
	}
	if g.o.Metrics != nil {
		g.o.Metrics.Observe(x.rec)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	if !g.log.Enabled(context.Background(), level) {
		return
	}
	g.log.LogAttrs(context.Background(), level, "request",
		slog.String("request_id", x.rec.RequestID),
		slog.String("format", string(x.rec.ClientFormat)),
		slog.String("tenant", x.rec.Tenant),
		slog.String("model", x.rec.RequestedModel),
		slog.String("served", x.rec.ServedModel),
		slog.String("provider", x.rec.Provider),
		slog.String("cache", string(x.rec.Cache)),
		slog.Bool("stream", x.rec.Stream),
		slog.Int("status", status),
		slog.String("error", string(kind)),
		slog.Int("attempts", len(x.rec.Attempts)),
		slog.String("cost_usd", x.rec.Cost.Decimal()),
		slog.String("saved_usd", x.rec.Saved.Decimal()),
		slog.Duration("latency", x.rec.Latency),
		slog.Duration("overhead", x.rec.Overhead),
	)
}
