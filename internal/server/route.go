package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/deployment"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/gateway"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/router"
)

// autoRouter adapts the router to the gateway: it turns the registry's deployments
// into the router's candidates (priced for this request, with their health) and the
// decision into a plan.
type autoRouter struct {
	r        *router.Router
	reg      *deployment.Registry
	exec     *executor.Executor
	baseline string
	// static is every deployment of every model that is not retired, built once.
	static []candidate
}

type candidate struct {
	c      router.Candidate
	id     string
	prices catalog.Prices
}

// defaultOutputTokens prices a request whose client set no max_tokens: a typical
// chat answer, not the model's maximum.
const defaultOutputTokens = 400

func newAutoRouter(reg *deployment.Registry, exec *executor.Executor, baseline string, now time.Time) (*autoRouter, error) {
	pred, err := router.DefaultPredictor()
	if err != nil {
		return nil, err
	}
	a := &autoRouter{r: router.New(pred), reg: reg, exec: exec, baseline: baseline}
	today := now.Format("2006-01-02")
	for _, m := range reg.Served() {
		if m.Retired(today) {
			continue // still served when asked for by name, never chosen automatically
		}
		for _, info := range reg.Deployments(m.ID) {
			a.static = append(a.static, candidate{id: info.Exec.ID, prices: info.Catalog.Prices, c: router.Candidate{
				Model: m.ID, Provider: info.Account.Name, Quality: m.Quality.Score, ContextWindow: m.ContextWindow,
				Caps: router.Caps{Tools: m.Has(catalog.Tools), Vision: m.Has(catalog.Vision), JSONSchema: m.Has(catalog.JSONSchema)},
			}})
		}
	}
	if len(a.static) == 0 {
		return nil, errors.New("automatic routing: no served model is current")
	}
	return a, nil
}

func (a *autoRouter) route(name string, cfg config.Route) router.Route {
	rt, ok := router.DefaultRoutes()[name]
	if !ok {
		rt = router.Route{Name: name, QualityTarget: 0.9}
	}
	if len(cfg.Models) > 0 {
		rt.Models = cfg.Models
	}
	if cfg.QualityTarget > 0 {
		rt.QualityTarget = cfg.QualityTarget
	}
	rt.Baseline = cfg.Baseline
	if rt.Baseline == "" && name != router.RouteBest {
		rt.Baseline = a.baseline
	}
	if m, ok := a.reg.Catalog().Lookup(rt.Baseline); ok {
		rt.Baseline, rt.BaselineQuality = m.ID, m.Quality.Score
	}
	return rt
}

// Route implements gateway.AutoRouter.
func (a *autoRouter) Route(ctx context.Context, name string, cfg config.Route, req *llm.Request, allowed func(string) bool) (*gateway.RouteDecision, error) {
	rt := a.route(name, cfg)
	rreq := router.Request{
		Prompt:          router.Prompt{Text: req.LastUserText(), Turns: userTurns(req)},
		InputTokens:     estimateTokens(req),
		MaxOutputTokens: defaultOutputTokens,
		Needs: router.Needs{
			Tools: len(req.Tools) > 0, Vision: req.HasImages(),
			JSONSchema: req.ResponseFormat != nil && req.ResponseFormat.Type == llm.ResponseJSONSchema,
		},
	}
	if req.MaxTokens != nil && *req.MaxTokens > 0 {
		rreq.MaxOutputTokens = *req.MaxTokens
	}
	if m, ok := a.reg.Catalog().Lookup(name); ok && cfg.RouteDown {
		// Routing a concrete model down: any model predicted as good as it will do.
		rreq.Requested, rt.Baseline = m.ID, m.ID
	}
	cands := make([]router.Candidate, 0, len(a.static))
	for _, s := range a.static {
		if !allowed(s.c.Model) && !allowed(name) {
			continue
		}
		c := s.c
		p := s.prices.At(rreq.InputTokens)
		var m money.Meter
		m.Add(int64(rreq.InputTokens), p.Input)
		m.Add(int64(rreq.MaxOutputTokens), p.Output)
		c.EstCost = m.Total()
		c.Healthy = a.exec.Available(s.id)
		cands = append(cands, c)
	}
	d, err := a.r.Decide(rreq, rt, cands)
	if err != nil {
		if errors.Is(err, router.ErrNoCandidate) {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Message: "no model available to route " + name + " can serve this request (tools, images, JSON schema or context length)"}
		}
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: err.Error()}
	}
	out := &gateway.RouteDecision{Model: d.Chosen.Model, Predicted: d.Predicted, Baseline: rt.Baseline, Reason: reasonCategory(d), Explain: d.Summary()}
	for _, c := range d.Plan() {
		out.Deployments = append(out.Deployments, c.Provider+"/"+c.Model)
	}
	return out, nil
}

// reasonCategory names why the router chose as it did, in a few stable words that
// group well in the ledger and the dashboard; the full sentence goes in the header.
func reasonCategory(d *router.Decision) string {
	switch {
	case d.Chosen.Model == d.Reference:
		return "routed: the reference model"
	case strings.HasPrefix(d.Reason, "cheapest"):
		return "routed: cheapest predicted good enough"
	default:
		return "routed: best predicted (none good enough)"
	}
}

func userTurns(r *llm.Request) int {
	n := 0
	for i := range r.Messages {
		if r.Messages[i].Role == llm.RoleUser {
			n++
		}
	}
	return max(n, 1)
}

// estimateTokens is a quick count (four bytes a token) for pricing candidates; the
// ledger uses the provider's real counts.
func estimateTokens(r *llm.Request) int {
	n := 0
	for i := range r.Messages {
		for _, p := range r.Messages[i].Content {
			n += len(p.Text)
		}
		n += 16
	}
	for _, t := range r.Tools {
		n += len(t.Name) + len(t.Description) + len(t.Parameters)
	}
	return n/4 + 1
}
