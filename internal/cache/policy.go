package cache

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Sampled says what to do with sampled requests: those that explicitly ask for
// randomness (temperature > 0).
type Sampled uint8

const (
	// SampledSeeded (the default) caches a sampled request only when it carries a seed:
	// the client asked for a reproducible answer, so replaying one is faithful.
	SampledSeeded Sampled = iota
	// SampledNever never caches a sampled request, seed or not.
	SampledNever
	// SampledAlways caches sampled requests like any other.
	SampledAlways
)

func (s Sampled) String() string {
	switch s {
	case SampledNever:
		return "never"
	case SampledAlways:
		return "always"
	default:
		return "seeded"
	}
}

// ParseSampled reads "never", "seeded" or "always" (config).
func ParseSampled(s string) (Sampled, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "seeded", "":
		return SampledSeeded, nil
	case "never":
		return SampledNever, nil
	case "always":
		return SampledAlways, nil
	}
	return 0, fmt.Errorf("cache: sampled policy %q: want never, seeded or always", s)
}

// Policy is the exact cache's behaviour for a route or model.
type Policy struct {
	Enabled bool
	// TTL is how long an entry lives; a request's x-arbiter-cache-ttl overrides it.
	TTL time.Duration
	// MaxTTL caps a TTL asked for per request; 0 means no cap.
	MaxTTL  time.Duration
	Sampled Sampled
}

// DefaultPolicy is on, one hour, sampled requests cached only with a seed.
func DefaultPolicy() Policy {
	return Policy{Enabled: true, TTL: time.Hour, MaxTTL: 24 * time.Hour, Sampled: SampledSeeded}
}

// Policies resolves the policy of a route or model: an exact name first, then the
// longest pattern ending in '*' that prefixes it ("gpt-4o*"), then Default.
type Policies struct {
	Default Policy
	ByModel map[string]Policy
}

// Resolve returns the policy for the model or route asked for.
func (ps *Policies) Resolve(model string) Policy {
	if p, ok := ps.ByModel[model]; ok {
		return p
	}
	best, found := -1, Policy{}
	for pat, p := range ps.ByModel {
		if pre, ok := strings.CutSuffix(pat, "*"); ok && strings.HasPrefix(model, pre) && len(pre) > best {
			best, found = len(pre), p
		}
	}
	if best >= 0 {
		return found
	}
	return ps.Default
}

// Decision is what the cache may do with one request.
type Decision struct {
	// Lookup: the exact cache may answer.
	Lookup bool
	// Store: a successful, complete upstream answer may be written.
	Store bool
	// Semantic: the semantic cache may be consulted (it adds route configuration on
	// top). Never for a request whose last message is not a user turn with text (a
	// pending tool result, an assistant prefill), nor when Lookup is false.
	Semantic bool
	// MaxAge, when positive, is the oldest entry the client accepts (max-age=N).
	MaxAge time.Duration
	// TTL is the lifetime of an entry written for this request.
	TTL time.Duration
	// Reason says why lookup or store is off ("disabled", "no-store", "no-cache",
	// "sampled", "max-age=0", "ttl=0"), or is "" when both are on. Invalid cache
	// headers are ignored (a hint must never fail a request) and named here.
	Reason string
}

// Coalesce reports whether identical requests in flight may share one upstream call:
// exactly when the answer could be served from the cache, since followers receive a
// replay of someone else's answer.
func (d Decision) Coalesce() bool { return d.Lookup }

// HeaderTTL is the per-request TTL override header.
const HeaderTTL = "X-Arbiter-Cache-Ttl"

// Decide applies policy and the request's cache headers to req.
//
// Request headers: "Cache-Control: no-store" turns off both lookup and store;
// "no-cache" skips the lookup but stores the fresh answer (a refresh);
// "max-age=N" accepts only entries at most N seconds old (max-age=0 is a refresh, like
// no-cache); "x-arbiter-cache-ttl: 30s" (or "30", seconds) sets the entry's TTL,
// capped by Policy.MaxTTL, and 0 means do not store.
//
// Deliberate cases: n > 1 is cached as a whole response (all choices together) like
// any other request — its choices are diverse within one answer, and replaying the
// same set is what a seeded request would get. A request whose last message is a tool
// result is cached by exact key (the whole conversation, tool output included, is in
// the key) but is never eligible for the semantic cache. A sampled request
// (temperature > 0) follows Policy.Sampled; an unset temperature is not "sampled": the
// client asked for an answer, not for variety.
func Decide(req *llm.Request, p Policy, h http.Header) Decision {
	d := Decision{Lookup: true, Store: true, TTL: p.TTL}
	var notes []string
	note := func(s string) { notes = append(notes, s) }

	if !p.Enabled {
		return Decision{Reason: "disabled"}
	}
	if isSampled(req) {
		switch {
		case p.Sampled == SampledAlways:
		case p.Sampled == SampledSeeded && req.Seed != nil:
		default:
			return Decision{Reason: "sampled"}
		}
	}

	for _, line := range h.Values("Cache-Control") {
		for _, dir := range strings.Split(line, ",") {
			name, val, hasVal := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				return Decision{Reason: "no-store"}
			case "no-cache":
				d.Lookup = false
				note("no-cache")
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				if !hasVal || err != nil || n < 0 {
					note("invalid max-age ignored")
					continue
				}
				if n == 0 {
					d.Lookup = false
					note("max-age=0")
					continue
				}
				age := time.Duration(n) * time.Second
				if n > int64(365*24*3600) {
					age = 365 * 24 * time.Hour
				}
				if d.MaxAge == 0 || age < d.MaxAge {
					d.MaxAge = age
				}
			}
		}
	}
	if v := strings.TrimSpace(h.Get(HeaderTTL)); v != "" {
		ttl, err := parseTTL(v)
		switch {
		case err != nil:
			note("invalid " + strings.ToLower(HeaderTTL) + " ignored")
		case ttl == 0:
			d.Store = false
			note("ttl=0")
		default:
			if p.MaxTTL > 0 && ttl > p.MaxTTL {
				ttl = p.MaxTTL
			}
			d.TTL = ttl
		}
	}
	if d.TTL <= 0 {
		d.Store = false
	}
	d.Semantic = d.Lookup && lastIsUserText(req)
	d.Reason = strings.Join(notes, "; ")
	return d
}

// isSampled: an explicit temperature above zero.
func isSampled(req *llm.Request) bool {
	return req.Temperature != nil && *req.Temperature > 0
}

func lastIsUserText(req *llm.Request) bool {
	if len(req.Messages) == 0 {
		return false
	}
	m := &req.Messages[len(req.Messages)-1]
	return m.Role == llm.RoleUser && m.Text() != ""
}

// parseTTL reads "30s", "5m", "1h30m" or a bare number of seconds.
func parseTTL(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative ttl %q", v)
		}
		if n > int64(100*365*24*3600) {
			n = int64(100 * 365 * 24 * 3600)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad ttl %q", v)
	}
	return d, nil
}

// Storable reports whether a response may be cached, and why not: only complete
// answers are. A response with no choices, a choice without a finish reason (a stream
// cut short), one stopped by the length limit (truncated: a later request deserves the
// chance of a whole answer, e.g. after the provider or route changes) or by a content
// filter (a provider policy outcome, often transient) is not. Errors never reach here:
// an error is not a response.
func Storable(resp *llm.Response) (bool, string) {
	if resp == nil || len(resp.Choices) == 0 {
		return false, "no choices"
	}
	for _, c := range resp.Choices {
		switch c.FinishReason {
		case llm.FinishStop, llm.FinishToolCalls:
		case "":
			return false, "unfinished choice"
		case llm.FinishLength:
			return false, "truncated (length)"
		case llm.FinishContentFilter:
			return false, "content filter"
		default:
			// Unknown reasons from new providers: cache only if the choice has content.
			if c.Message.Text() == "" && len(c.Message.ToolCalls) == 0 {
				return false, "empty choice"
			}
		}
	}
	return true, ""
}
