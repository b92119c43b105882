// Package emulator plays LLM providers for tests, the demo and benchmarks: an
// http.Handler that speaks the OpenAI, Anthropic and Gemini wire formats (through the
// same codecs in internal/wire the gateway uses) for any model name, answers with a
// deterministic "brain" (Generate), models latency, injects faults per model or per
// request, and counts what it saw (Stats) so tests can compare with the gateway.
//
// Routes:
//
//	POST /v1/chat/completions   OpenAI chat (stream or not); auth: Authorization
//	POST /v1/embeddings         OpenAI embeddings
//	GET  /v1/models             OpenAI model list
//	POST /v1/messages           Anthropic Messages; auth: x-api-key (or Authorization),
//	                            and the anthropic-version header is required; with
//	                            "thinking" enabled, answers open with a signed thinking
//	                            block and history is checked as Anthropic does (thinking.go)
//	POST /v1/messages/count_tokens   Anthropic token count (the brain's estimate)
//	POST /v1beta/models/{model}:generateContent, :streamGenerateContent (?alt=sse),
//	     :embedContent, :batchEmbedContents   Gemini; auth: x-goog-api-key or ?key=
//	     (also under /v1/models/…)
//	GET  /_emulator/stats       Stats as JSON
//	PUT  /_emulator/faults?model=NAME   body: a fault spec (empty clears) → SetFaults
//
// Per-request control headers (all optional):
//
//	x-emulator-fault: status=429;retry_after=2     see ParseFaults
//	x-emulator-latency: ttft=200ms;per_token=5ms;jitter=0.2   see ParseLatency
//	x-emulator-usage: cached=1024;cache_write=0;reasoning=300   see ParseUsage
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Header names of the per-request controls.
const (
	HeaderFault   = "X-Emulator-Fault"
	HeaderLatency = "X-Emulator-Latency"
	HeaderUsage   = "X-Emulator-Usage"
)

// Config configures an Emulator. The zero value answers at once, without faults.
type Config struct {
	// Latency applies to every model without its own.
	Latency Latency
	// Faults applies to every model without its own (nil: none).
	Faults *FaultSpec
	// Models holds per-model settings, keyed by exact model name, by a prefix pattern
	// ending in "*" ("claude-*"), or "*". The exact name wins, then the longest prefix.
	Models map[string]ModelConfig
	// Seed seeds the draws of probabilistic faults; runs with the same seed and the same
	// requests inject the same faults.
	Seed uint64
	// MaxBodyBytes bounds request bodies (default 32 MiB); larger ones get a 413.
	MaxBodyBytes int64
	// Now is the clock for "created" timestamps; nil means time.Now.
	Now func() time.Time
	// ListModels is what GET /v1/models lists; nil means the exact names in Models
	// plus a built-in set of well-known names (the emulator answers any name anyway).
	ListModels []string
}

// ModelConfig overrides the defaults for one model (or pattern).
type ModelConfig struct {
	// Latency, when set, replaces Config.Latency.
	Latency *Latency
	// Faults, when set, replaces Config.Faults.
	Faults *FaultSpec
	// Usage adjusts the usage the model reports.
	Usage UsageOverride
}

// UsageOverride makes a model report prompt-cache and reasoning tokens, for tests of
// costing under each provider's price structure.
type UsageOverride struct {
	// CachedInputTokens are reported as read from the prompt cache (capped at the input).
	CachedInputTokens int
	// CacheWriteTokens are reported as written to the prompt cache (Anthropic; capped
	// at the input not already counted as cached).
	CacheWriteTokens int
	// ReasoningTokens: 0 keeps the brain's rule (IsReasoningModel), > 0 reports exactly
	// this many (added to the output), < 0 reports none.
	ReasoningTokens int
}

// Emulator is an http.Handler playing every provider. It is safe for concurrent use.
type Emulator struct {
	cfg     Config
	now     func() time.Time
	maxBody int64
	mux     *http.ServeMux

	mu            sync.RWMutex
	models        map[string]ModelConfig
	defaultFaults *FaultSpec

	stats counters

	faultMu     sync.Mutex
	times       map[timesKey]int
	occurrences map[occKey]uint64
}

type timesKey struct {
	spec  string // the header's text, or the address of a configured spec
	model string
}

type occKey struct {
	model string
	body  uint64
}

// New builds an emulator. It serves until the process ends; it owns no goroutines.
func New(cfg Config) *Emulator {
	e := &Emulator{
		cfg:           cfg,
		now:           cfg.Now,
		maxBody:       cfg.MaxBodyBytes,
		mux:           http.NewServeMux(),
		models:        make(map[string]ModelConfig, len(cfg.Models)),
		defaultFaults: cfg.Faults,
		times:         map[timesKey]int{},
		occurrences:   map[occKey]uint64{},
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.maxBody <= 0 {
		e.maxBody = 32 << 20
	}
	for k, v := range cfg.Models {
		e.models[k] = v
	}
	e.routes()
	return e
}

// ServeHTTP routes a request to the wire format its path names.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Stats returns a snapshot of the counters.
func (e *Emulator) Stats() Stats { return e.stats.snapshot() }

// ResetStats zeroes the counters (fault "times" budgets are kept).
func (e *Emulator) ResetStats() { e.stats.reset() }

// SetFaults replaces the faults of a model or pattern ("" for the default) while
// serving, so a test can make a deployment fail and then recover. nil clears them.
func (e *Emulator) SetFaults(model string, spec *FaultSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if model == "" {
		e.defaultFaults = spec
		return
	}
	mc := e.models[model]
	mc.Faults = spec
	e.models[model] = mc
}

// SetModel replaces the whole configuration of a model or pattern while serving.
func (e *Emulator) SetModel(model string, mc ModelConfig) {
	e.mu.Lock()
	e.models[model] = mc
	e.mu.Unlock()
}

// settings is the effective configuration for one request.
type settings struct {
	latency Latency
	faults  *FaultSpec
	faultID string // timesKey.spec
	usage   UsageOverride
}

// settingsFor resolves model configuration and per-request headers.
func (e *Emulator) settingsFor(model string, h http.Header) (settings, *llm.Error) {
	e.mu.RLock()
	s := settings{latency: e.cfg.Latency, faults: e.defaultFaults}
	if mc, ok := e.lookup(model); ok {
		if mc.Latency != nil {
			s.latency = *mc.Latency
		}
		if mc.Faults != nil {
			s.faults = mc.Faults
		}
		s.usage = mc.Usage
	}
	e.mu.RUnlock()
	if s.faults != nil {
		s.faultID = fmt.Sprintf("%p", s.faults)
	}
	if v := h.Get(HeaderFault); v != "" {
		spec, err := ParseFaults(v)
		if err != nil {
			return s, &llm.Error{Kind: llm.KindInvalidRequest, Param: HeaderFault, Message: err.Error()}
		}
		s.faults, s.faultID = spec, "header:"+v
	}
	if v := h.Get(HeaderLatency); v != "" {
		l, err := ParseLatency(v)
		if err != nil {
			return s, &llm.Error{Kind: llm.KindInvalidRequest, Param: HeaderLatency, Message: err.Error()}
		}
		s.latency = l
	}
	if v := h.Get(HeaderUsage); v != "" {
		u, err := ParseUsage(v)
		if err != nil {
			return s, &llm.Error{Kind: llm.KindInvalidRequest, Param: HeaderUsage, Message: err.Error()}
		}
		s.usage = u
	}
	return s, nil
}

// lookup finds a model's configuration: exact name, longest "prefix*", then "*".
// The caller holds e.mu.
func (e *Emulator) lookup(model string) (ModelConfig, bool) {
	if mc, ok := e.models[model]; ok {
		return mc, true
	}
	best, found := -1, ModelConfig{}
	for k, mc := range e.models {
		if p, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(model, p) && len(p) > best {
			best, found = len(p), mc
		}
	}
	return found, best >= 0
}

// drawFault decides whether this request fails and how. Probabilistic draws are a
// function of the seed, the model, the body and how many times this body was seen
// for this model, so a run is reproducible even when requests arrive concurrently.
func (e *Emulator) drawFault(s settings, model string, bodyHash uint64) (Fault, bool) {
	spec := s.faults
	if spec == nil || len(spec.Faults) == 0 {
		return Fault{}, false
	}
	random := spec.Rate > 0 && spec.Rate < 1 || len(spec.Faults) > 1
	var f Fault
	if random {
		e.faultMu.Lock()
		k := occKey{model, bodyHash}
		occ := e.occurrences[k]
		if len(e.occurrences) >= 1<<20 {
			clear(e.occurrences) // bound memory on a long-running emulator
		}
		e.occurrences[k] = occ + 1
		e.faultMu.Unlock()
		r := newRNG(mix64(e.cfg.Seed^mix64(spec.Seed+1)) ^ hashString(model) ^ mix64(bodyHash+occ))
		if spec.Rate > 0 && spec.Rate < 1 && r.float() >= spec.Rate {
			return Fault{}, false
		}
		f = spec.Faults[r.intn(len(spec.Faults))]
	} else {
		f = spec.Faults[0]
	}
	if spec.Times > 0 {
		e.faultMu.Lock()
		defer e.faultMu.Unlock()
		k := timesKey{s.faultID, model}
		if e.times[k] >= spec.Times {
			return Fault{}, false
		}
		e.times[k]++
	}
	return f, true
}

// applyUsage adjusts a generated response's usage by an override.
func applyUsage(resp *llm.Response, u UsageOverride) {
	us := &resp.Usage
	if u.CachedInputTokens > 0 {
		us.CachedInputTokens = min(u.CachedInputTokens, us.InputTokens)
	}
	if u.CacheWriteTokens > 0 {
		us.CacheWriteTokens = min(u.CacheWriteTokens, us.InputTokens-us.CachedInputTokens)
	}
	switch {
	case u.ReasoningTokens > 0:
		us.OutputTokens += u.ReasoningTokens - us.ReasoningTokens
		us.ReasoningTokens = u.ReasoningTokens
	case u.ReasoningTokens < 0:
		us.OutputTokens -= us.ReasoningTokens
		us.ReasoningTokens = 0
	}
}

// ParseLatency reads the x-emulator-latency header: "ttft=200ms;per_token=5ms;
// jitter=0.3" (Go durations and a fraction; a key left out is zero).
func ParseLatency(s string) (Latency, error) {
	var l Latency
	for _, clause := range strings.Split(s, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		k, v, _ := strings.Cut(clause, "=")
		if strings.TrimSpace(k) == "jitter" {
			j, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || j < 0 || j > 1 {
				return Latency{}, fmt.Errorf("latency %q: jitter wants a fraction in [0, 1], got %q", s, v)
			}
			l.Jitter = j
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return Latency{}, fmt.Errorf("latency %q: %s wants a duration such as 200ms, got %q", s, k, v)
		}
		switch strings.TrimSpace(k) {
		case "ttft":
			l.TTFT = d
		case "per_token":
			l.PerToken = d
		default:
			return Latency{}, fmt.Errorf("latency %q: unknown key %q (want ttft, per_token, jitter)", s, k)
		}
	}
	return l, nil
}

// ParseUsage reads the x-emulator-usage header: "cached=1024;cache_write=256;
// reasoning=300" (reasoning=-1 reports none); see UsageOverride.
func ParseUsage(s string) (UsageOverride, error) {
	var u UsageOverride
	for _, clause := range strings.Split(s, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		k, v, _ := strings.Cut(clause, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return UsageOverride{}, fmt.Errorf("usage %q: %s wants an integer, got %q", s, k, v)
		}
		k = strings.TrimSpace(k)
		switch k {
		case "cached":
			u.CachedInputTokens = n
		case "cache_write":
			u.CacheWriteTokens = n
		case "reasoning":
			u.ReasoningTokens = n
		default:
			return UsageOverride{}, fmt.Errorf("usage %q: unknown key %q (want cached, cache_write, reasoning)", s, k)
		}
		if n < 0 && k != "reasoning" {
			return UsageOverride{}, fmt.Errorf("usage %q: %s must be ≥ 0", s, k)
		}
	}
	return u, nil
}

// sleep waits d or until ctx ends; it reports whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var errBodyTooLarge = errors.New("body too large")
