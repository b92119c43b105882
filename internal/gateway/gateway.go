// Package gateway serves Arbiter's HTTP surfaces (OpenAI's and Anthropic's APIs, the
// admin API) and runs each request through its pipeline: authenticate, decode,
// resolve a plan, consult the cache, execute, answer in the client's own format, and
// record what happened.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/cost"
	"github.com/arbiterhq/arbiter/internal/deployment"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/tenant"
	"github.com/arbiterhq/arbiter/internal/tokens"
)

// Recorder receives one record per request; it must not block.
type Recorder interface{ Record(ledger.Record) }

// Observer updates metrics from a finished request's record.
type Observer interface{ Observe(ledger.Record) }

// Pricer prices usage and works out what it saved (deployment.Registry is one).
type Pricer interface {
	// Cost prices usage at a deployment ("provider/model").
	Cost(deploymentID string, u llm.Usage) money.USD
	// Savings compares an upstream answer with the baseline model's cost.
	Savings(baseline, deploymentID string, u llm.Usage) cost.Savings
	// CacheSavings is the saving of a cache hit whose answer came from original.
	CacheSavings(baseline, original string, u llm.Usage, lookup money.USD) cost.Savings
}

// AutoRouter chooses a model for an automatic route.
type AutoRouter interface {
	Route(ctx context.Context, route string, cfg config.Route, req *llm.Request, allowed func(model string) bool) (*RouteDecision, error)
}

// RouteDecision is an AutoRouter's answer.
type RouteDecision struct {
	Model string // the chosen catalog model
	// Deployments is the plan: "provider/model" ids, the chosen one first, then the
	// fallbacks in order.
	Deployments []string
	Predicted   float64 // predicted quality relative to the route's reference
	Baseline    string  // the model savings are counted against ("" : the route's)
	Reason      string
	Explain     string // a compact account of the decision, for the header
}

// SemanticCache finds earlier answers to similar questions.
type SemanticCache interface {
	Lookup(ctx context.Context, scope cache.Key, text string, threshold float64) (*SemanticHit, error)
	Store(ctx context.Context, scope cache.Key, text string, key cache.Key, e *cache.Entry, ttl time.Duration) error
}

// SemanticHit is a semantic cache answer.
type SemanticHit struct {
	Entry      *cache.Entry
	Similarity float64
	EntryID    string
	// EmbedCost is what the lookup's embedding cost (zero for the local model).
	EmbedCost money.USD
}

// Mount is an extra handler served under a path prefix (the dashboard).
type Mount struct {
	Prefix  string
	Handler http.Handler
}

// Options wires a Gateway. Registry, Executor, Keys and Pricer are required.
type Options struct {
	Logger   *slog.Logger
	Registry *deployment.Registry
	Executor *executor.Executor
	Keys     *tenant.Keys
	// Limits enforces keys' budgets and rate limits (nil: none configured).
	Limits       *tenant.Limiter
	Pricer       Pricer
	AdminKey     string
	MaxBodyBytes int64
	// Routes configures model names and automatic routes; Baseline is the model
	// automatic routes' savings are counted against when a route names none.
	Routes   map[string]config.Route
	Baseline string

	Cache         cache.Store // nil: no exact cache
	CachePolicies *cache.Policies
	Group         *cache.Group
	Semantic      SemanticCache
	// SemanticThreshold is the default similarity threshold (0: the cache's own).
	SemanticThreshold float64
	Router            AutoRouter

	Ledger  Recorder
	Metrics Observer
	// MetricsHandler serves /metrics when set.
	MetricsHandler http.Handler
	Mounts         []Mount
	// Embedders serve /v1/embeddings by model name ("provider/model" or a model).
	Tokens *tokens.Counter
}

// Gateway is the HTTP front of Arbiter.
type Gateway struct {
	o    Options
	log  *slog.Logger
	mux  *http.ServeMux
	bufs sync.Pool
	now  func() time.Time
}

// New builds a gateway.
func New(o Options) *Gateway {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = config.DefaultMaxBodyBytes
	}
	if o.Tokens == nil {
		o.Tokens = tokens.New()
	}
	if o.Cache != nil && o.Group == nil {
		o.Group = cache.NewGroup(cache.GroupOptions{})
	}
	if o.Cache != nil && o.CachePolicies == nil {
		o.CachePolicies = &cache.Policies{Default: cache.DefaultPolicy()}
	}
	if o.Baseline == "" {
		o.Baseline = "gpt-4o"
	}
	g := &Gateway{o: o, log: o.Logger, mux: http.NewServeMux(), now: time.Now}
	g.bufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	g.routes()
	return g
}

// Handler returns the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.recoverer(g.mux) }

func (g *Gateway) routes() {
	g.mux.HandleFunc("POST /v1/chat/completions", g.chat(openaiSurface))
	g.mux.HandleFunc("POST /chat/completions", g.chat(openaiSurface)) // SDKs given a base URL without /v1
	g.mux.HandleFunc("POST /v1/messages", g.chat(anthropicSurface))
	g.mux.HandleFunc("POST /v1/messages/count_tokens", g.countTokens)
	g.mux.HandleFunc("POST /v1/embeddings", g.embeddings)
	g.mux.HandleFunc("GET /v1/models", g.models)
	g.mux.HandleFunc("GET /v1/models/{model...}", g.model)
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	if g.o.MetricsHandler != nil {
		g.mux.Handle("GET /metrics", g.o.MetricsHandler)
	}
	g.adminRoutes()
	for _, m := range g.o.Mounts {
		g.mux.Handle(m.Prefix, m.Handler)
	}
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := surfaceFor(r)
		g.writeError(w, s, &llm.Error{Kind: llm.KindNotFound, Message: "no route for " + r.Method + " " + r.URL.Path, Code: "unknown_url"})
	})
}

// surfaceFor guesses the client's format for requests that are not a chat call.
func surfaceFor(r *http.Request) *surface {
	if r.Header.Get("anthropic-version") != "" || strings.HasPrefix(r.URL.Path, "/v1/messages") {
		return anthropicSurface
	}
	return openaiSurface
}

func (g *Gateway) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				g.log.Error("panic serving request", "path", r.URL.Path, "panic", v, "request_id", w.Header().Get(HeaderRequestID))
				g.writeError(w, surfaceFor(r), &llm.Error{Kind: llm.KindUpstreamServer, Message: "internal error"})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// Response headers.
const (
	HeaderRequestID  = "X-Arbiter-Request-Id"
	HeaderModel      = "X-Arbiter-Model"
	HeaderProvider   = "X-Arbiter-Provider"
	HeaderCache      = "X-Arbiter-Cache"
	HeaderSimilarity = "X-Arbiter-Cache-Similarity"
	HeaderCost       = "X-Arbiter-Cost-Usd"
	HeaderSaved      = "X-Arbiter-Saved-Usd"
	HeaderOverhead   = "X-Arbiter-Overhead-Ms"
	HeaderRoute      = "X-Arbiter-Route"
	HeaderPredicted  = "X-Arbiter-Predicted-Quality"
	HeaderCandidates = "X-Arbiter-Candidates"
	HeaderAttempts   = "X-Arbiter-Attempts"
	// HeaderTimeout lets a client bound the whole request ("30s" or seconds).
	HeaderTimeout = "X-Arbiter-Timeout"
)

// requestID keeps a caller's x-request-id when it is short and plain, so that logs on
// both sides line up; otherwise it makes one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && plainID(id) {
		return id
	}
	return "req_" + strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(uint64(rand.Uint32()), 36)
}

func plainID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// readBody reads a size-limited body into a pooled buffer; release returns it.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	bp := g.bufs.Get().(*[]byte)
	buf := (*bp)[:0]
	rd := http.MaxBytesReader(w, r.Body, g.o.MaxBodyBytes)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			*bp = buf[:0]
			g.bufs.Put(bp)
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				return nil, nil, &llm.Error{Kind: llm.KindRequestTooLarge, Message: "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes (server.max_body_bytes)"}
			}
			return nil, nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "reading request body: " + rerr.Error()}
		}
	}
	return buf, func() {
		if cap(buf) <= 1<<20 { // don't let one huge body pin memory in the pool
			*bp = buf[:0]
			g.bufs.Put(bp)
		}
	}, nil
}

func (g *Gateway) writeError(w http.ResponseWriter, s *surface, e *llm.Error) int {
	status, body := s.encodeError(e)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 && (e.Kind == llm.KindRateLimited || e.Kind == llm.KindOverloaded) {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	w.Write(body)
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// clientTimeout reads the client's own bound on the request, if it sent one.
func clientTimeout(r *http.Request) time.Duration {
	v := r.Header.Get(HeaderTimeout)
	if v == "" {
		return 0
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return 0
}
