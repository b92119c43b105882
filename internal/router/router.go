package router

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Request is what the router needs to know about one request.
type Request struct {
	Prompt          Prompt    // last user turn and number of turns
	Embedding       []float32 // the last turn's sentence embedding if the caller has one, else nil
	InputTokens     int       // estimated prompt tokens
	MaxOutputTokens int       // the request's max_tokens (0: unknown)
	Needs           Needs
	// Requested is the concrete model the client named, for routes that may route a
	// concrete model down ("any model at least as good as this one for this prompt").
	Requested string
}

// Needs are the capabilities a request requires of a model.
type Needs struct {
	Tools      bool
	Vision     bool
	JSONSchema bool
}

// Caps are what a candidate can do.
type Caps struct {
	Tools      bool
	Vision     bool
	JSONSchema bool
}

// Candidate is one model on one provider that might serve the request, with its
// price for this request's estimated tokens. The gateway builds the list from the
// catalog and the executor's health view.
type Candidate struct {
	Model    string
	Provider string
	// Quality is the catalog's quality score in (0,1): the Elo-formula probability of
	// beating a model rated 1300 on the LMArena text leaderboard (see catalog). 0 means
	// unknown: such a candidate is predicted 0 and used only when nothing else is left.
	Quality       float64
	EstCost       money.USD // estimated cost of this request on this deployment
	ContextWindow int       // input tokens the model accepts (0: unknown, not checked)
	Caps          Caps
	Healthy       bool          // false when the executor's breaker is open
	LatencyP50    time.Duration // recent median latency (0: unknown)
	ErrorRate     float64       // recent share of failed attempts, 0..1
}

// Route is a virtual model: which models it may use, how good the answer must be, and
// what savings are counted against.
type Route struct {
	Name string
	// Models restricts the route to these catalog models (empty: any candidate).
	Models []string
	// QualityTarget is the probability, predicted per prompt, that the chosen model
	// answers as well as the reference model. 1 always picks the reference.
	QualityTarget float64
	// Baseline is the reference model: quality is predicted relative to it and savings
	// are counted against it. Empty: the best candidate by quality.
	Baseline string
	// BaselineQuality is the baseline's catalog quality, used when the baseline is not
	// among the candidates (say, excluded by the tenant's allow-list). 0: not known.
	BaselineQuality float64
	MaxFallbacks    int // 0: DefaultMaxFallbacks
}

// DefaultMaxFallbacks is how many fallbacks a plan lists when the route does not say.
const DefaultMaxFallbacks = 3

// Named routes. Their targets are calibrated probabilities that the chosen model is
// as good as the best candidate on this prompt.
const (
	RouteAuto     = "auto"
	RouteCheap    = "auto:cheap"
	RouteBalanced = "auto:balanced"
	RouteBest     = "auto:best"
)

// DefaultRoutes returns the built-in routes; "auto" is "auto:balanced".
func DefaultRoutes() map[string]Route {
	return map[string]Route{
		RouteAuto:     {Name: RouteAuto, QualityTarget: 0.90},
		RouteCheap:    {Name: RouteCheap, QualityTarget: 0.80},
		RouteBalanced: {Name: RouteBalanced, QualityTarget: 0.90},
		RouteBest:     {Name: RouteBest, QualityTarget: 1},
	}
}

// Considered is one candidate as the router saw it.
type Considered struct {
	Candidate
	Predicted    float64   // P(as good as the reference on this prompt)
	AdjustedCost money.USD // EstCost adjusted for the provider's errors and latency
	Rejected     string    // why it cannot serve the request ("" if it can)
}

// Decision is the router's answer: the plan of attempts and why.
type Decision struct {
	Route     string
	Chosen    Candidate
	Fallbacks []Candidate // in order, after Chosen
	Predicted float64     // P(Chosen answers as well as the reference)
	Reference string      // the reference model
	Score     float64     // the prompt's raw strong-need score
	Reason    string
	// Considered lists every candidate, the eligible ones first in plan order.
	Considered []Considered
}

// Summary is a one-line account of the decision for a response header or a log line:
// `route=auto model=llama-3.3-70b provider=groq predicted=0.93 reference=gpt-4.1 est_cost=0.000021`.
func (d *Decision) Summary() string {
	return fmt.Sprintf("route=%s model=%s provider=%s predicted=%.2f reference=%s est_cost=%s",
		d.Route, d.Chosen.Model, d.Chosen.Provider, d.Predicted, d.Reference, d.Chosen.EstCost.Decimal())
}

// Plan returns the chosen candidate followed by the fallbacks.
func (d *Decision) Plan() []Candidate { return append([]Candidate{d.Chosen}, d.Fallbacks...) }

// Router decides which model and provider serve a request. It is immutable and safe
// for concurrent use.
type Router struct {
	pred *Predictor
	// ErrorPenalty and LatencyPenalty turn a provider's recent error rate and median
	// latency into a cost surcharge when choosing between providers of one model:
	// cost × (1 + ErrorPenalty·errorRate) × (1 + LatencyPenalty·p50 in seconds).
	ErrorPenalty   float64
	LatencyPenalty float64
}

// New returns a router using predictor p (DefaultPredictor for the shipped weights).
func New(p *Predictor) *Router {
	return &Router{pred: p, ErrorPenalty: 2, LatencyPenalty: 0.05}
}

// ErrNoCandidate is returned when no candidate can serve the request.
var ErrNoCandidate = errors.New("router: no candidate model can serve this request")

// EloFromQuality converts the catalog's quality score back to LMArena Elo points.
func EloFromQuality(q float64) float64 {
	q = math.Min(math.Max(q, 1e-6), 1-1e-6)
	return 1300 - 400*math.Log10(1/q-1)
}

// Decide picks the cheapest candidate whose predicted quality meets the route's target
// and orders the rest as fallbacks. cands is not modified.
func (r *Router) Decide(req Request, route Route, cands []Candidate) (*Decision, error) {
	cs := make([]Considered, len(cands))
	for i, c := range cands {
		cs[i] = Considered{Candidate: c, AdjustedCost: r.adjusted(c), Rejected: reject(req, route, c)}
	}
	// The reference: the route's baseline (or the requested model, when routing a
	// concrete model down), else the best usable candidate.
	refName := route.Baseline
	if req.Requested != "" {
		refName = req.Requested
	}
	refQ := math.NaN()
	if refName != "" {
		for _, c := range cs {
			if strings.EqualFold(c.Model, refName) {
				refQ, refName = c.Quality, c.Model
				break
			}
		}
	} else {
		for _, c := range cs {
			if c.Rejected == "" && (math.IsNaN(refQ) || c.Quality > refQ) {
				refQ, refName = c.Quality, c.Model
			}
		}
	}
	if math.IsNaN(refQ) && route.BaselineQuality > 0 && req.Requested == "" {
		refQ = route.BaselineQuality
	}
	if math.IsNaN(refQ) || refQ <= 0 {
		if refName != "" {
			return nil, fmt.Errorf("router: route %q: reference model %q is not among the candidates", route.Name, refName)
		}
		return nil, ErrNoCandidate
	}
	score := r.pred.Score(req.Prompt, req.Embedding)
	refElo := EloFromQuality(refQ)
	usable := 0
	for i := range cs {
		if cs[i].Rejected != "" {
			continue
		}
		usable++
		switch {
		case cs[i].Model == refName:
			cs[i].Predicted = 1
		case cs[i].Quality <= 0:
			cs[i].Predicted = 0 // unknown quality: only as a last resort
		default:
			cs[i].Predicted = r.pred.AsGood(score, EloFromQuality(cs[i].Quality)-refElo)
		}
	}
	if usable == 0 {
		return nil, ErrNoCandidate
	}
	target := route.QualityTarget
	meets := func(c *Considered) bool { return c.Rejected == "" && c.Predicted >= target-1e-12 }
	// Plan order: candidates meeting the target by adjusted cost; then the others by
	// predicted quality (the best fallback when nothing cheap will do); rejected last.
	// Sorting small keys and permuting once avoids moving whole candidates around.
	type key struct {
		idx       int
		class     int // 0 meets the target, 1 usable, 2 rejected
		cost      money.USD
		predicted float64
	}
	keys := make([]key, len(cs))
	for i := range cs {
		k := key{idx: i, cost: cs[i].AdjustedCost, predicted: cs[i].Predicted}
		switch {
		case cs[i].Rejected != "":
			k.class = 2
		case !meets(&cs[i]):
			k.class = 1
		}
		keys[i] = k
	}
	slices.SortStableFunc(keys, func(a, b key) int {
		if a.class != b.class {
			return a.class - b.class
		}
		byCost := cmpCost(a.cost, b.cost)
		byPred := -cmpFloat(a.predicted, b.predicted)
		if a.class == 1 {
			byCost, byPred = byPred, byCost
		}
		if byCost != 0 {
			return byCost
		}
		return byPred
	})
	// Apply the order in place, cycle by cycle.
	done := make([]bool, len(cs))
	for i := range cs {
		if done[i] || keys[i].idx == i {
			continue
		}
		tmp := cs[i]
		j := i
		for {
			done[j] = true
			src := keys[j].idx
			if src == i {
				cs[j] = tmp
				break
			}
			cs[j] = cs[src]
			j = src
		}
	}
	d := &Decision{Route: route.Name, Chosen: cs[0].Candidate, Predicted: cs[0].Predicted, Reference: refName, Score: score, Considered: cs}
	if meets(&cs[0]) {
		d.Reason = fmt.Sprintf("cheapest of %d candidates predicted ≥ %.2f as good as %s (%.2f)", countMeets(cs, meets), target, refName, cs[0].Predicted)
	} else {
		d.Reason = fmt.Sprintf("no candidate predicted ≥ %.2f as good as %s: best predicted (%.2f)", target, refName, cs[0].Predicted)
	}
	maxFB := route.MaxFallbacks
	if maxFB == 0 {
		maxFB = DefaultMaxFallbacks
	}
	// Fallbacks: other providers of the chosen model first (the same answer quality),
	// then the plan order, never a candidate less likely to match the reference than
	// the chosen one unless nothing else is left.
	for _, c := range cs[1:] {
		if c.Rejected == "" && c.Model == d.Chosen.Model && len(d.Fallbacks) < maxFB {
			d.Fallbacks = append(d.Fallbacks, c.Candidate)
		}
	}
	for _, c := range cs[1:] {
		if c.Rejected == "" && c.Model != d.Chosen.Model && c.Predicted >= d.Predicted-1e-12 && len(d.Fallbacks) < maxFB {
			d.Fallbacks = append(d.Fallbacks, c.Candidate)
		}
	}
	return d, nil
}

func cmpCost(a, b money.USD) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func countMeets(cs []Considered, meets func(*Considered) bool) int {
	n := 0
	for i := range cs {
		if meets(&cs[i]) {
			n++
		}
	}
	return n
}

// adjusted prices a candidate for choosing between providers: a provider that fails
// often costs retries and a slow one costs the user's time.
func (r *Router) adjusted(c Candidate) money.USD {
	f := (1 + r.ErrorPenalty*math.Min(math.Max(c.ErrorRate, 0), 1)) * (1 + r.LatencyPenalty*c.LatencyP50.Seconds())
	return money.USD(math.Round(float64(c.EstCost) * f))
}

// reject says why c cannot serve req on route, or "".
func reject(req Request, route Route, c Candidate) string {
	switch {
	case len(route.Models) > 0 && !slices.ContainsFunc(route.Models, func(m string) bool { return strings.EqualFold(m, c.Model) }):
		return "not in route"
	case !c.Healthy:
		return "unhealthy"
	case req.Needs.Tools && !c.Caps.Tools:
		return "no tools"
	case req.Needs.Vision && !c.Caps.Vision:
		return "no vision"
	case req.Needs.JSONSchema && !c.Caps.JSONSchema:
		return "no json_schema"
	case c.ContextWindow > 0 && req.InputTokens+req.MaxOutputTokens > c.ContextWindow:
		return fmt.Sprintf("context %d < %d needed", c.ContextWindow, req.InputTokens+req.MaxOutputTokens)
	}
	return ""
}
