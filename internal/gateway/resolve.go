package gateway

import (
	"context"
	"strings"

	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/llm"
)

// isAuto reports whether a model name asks for automatic routing: "auto", "auto:…",
// or a configured route with a model list.
func (g *Gateway) isAuto(name string) bool {
	if name == "auto" || strings.HasPrefix(name, "auto:") {
		return true
	}
	rt, ok := g.o.Routes[name]
	return ok && len(rt.Models) > 0
}

// resolve finds the model and plan for the request.
func (x *exchange) resolve(ctx context.Context) error {
	g := x.g
	name := x.req.Model
	x.res.name = name
	x.res.cfg = g.o.Routes[name]
	if g.isAuto(name) || (x.res.cfg.RouteDown && g.o.Router != nil) {
		return x.resolveAuto(ctx)
	}
	m, ok := g.o.Registry.Model(name)
	if !ok {
		return &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found",
			Message: "the model " + quote(name) + " does not exist or no configured provider serves it (GET /v1/models lists what this gateway serves)"}
	}
	if rt, ok := g.o.Routes[m.ID]; ok && len(x.res.cfg.Deployments) == 0 {
		x.res.cfg = rt // configured under the canonical id rather than the alias asked for
	}
	plan, err := g.o.Registry.Plan(m, x.res.cfg.Deployments, x.res.cfg.Fallbacks)
	if err != nil {
		return &llm.Error{Kind: llm.KindUpstreamServer, Message: err.Error()}
	}
	x.res.model, x.res.plan, x.res.baseline, x.res.reason = m, plan, m.ID, "requested"
	return nil
}

func (x *exchange) resolveAuto(ctx context.Context) error {
	g := x.g
	name := x.req.Model
	if g.o.Router == nil {
		return &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found", Message: "automatic routing is not configured on this gateway"}
	}
	d, err := g.o.Router.Route(ctx, name, x.res.cfg, x.req, x.tenant.Allows)
	if err != nil {
		return err
	}
	m, ok := g.o.Registry.Model(d.Model)
	if !ok {
		return &llm.Error{Kind: llm.KindUpstreamServer, Message: "router chose " + quote(d.Model) + ", which no provider serves"}
	}
	var plan executor.Plan
	for _, id := range d.Deployments {
		if info, ok := g.o.Registry.Info(id); ok {
			plan.Deployments = append(plan.Deployments, info.Exec)
		}
	}
	if len(plan.Deployments) == 0 {
		return &llm.Error{Kind: llm.KindUpstreamServer, Message: "router returned an empty plan for " + quote(name)}
	}
	baseline := d.Baseline
	if baseline == "" {
		baseline = x.res.cfg.Baseline
	}
	if baseline == "" {
		if bm, ok := g.o.Registry.Catalog().Lookup(name); ok {
			baseline = bm.ID // route-down of a concrete model: savings against it
		} else {
			baseline = g.o.Baseline
		}
	}
	if bm, ok := g.o.Registry.Catalog().Lookup(baseline); ok {
		baseline = bm.ID
	}
	x.res.model, x.res.plan, x.res.baseline = m, plan, baseline
	x.res.route, x.res.reason, x.res.decision = name, d.Reason, d
	return nil
}

func quote(s string) string { return "'" + s + "'" }
