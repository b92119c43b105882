package cost

import (
	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// Cause is why a request cost less (or more) than its baseline.
type Cause string

// The causes of savings, in the order they are attributed.
const (
	CauseNone     Cause = ""         // served by the baseline model at its default deployment
	CauseCache    Cause = "cache"    // answered from cache: no upstream call
	CauseRouting  Cause = "routing"  // served by a different model than the baseline
	CauseProvider Cause = "provider" // the baseline's model at a different deployment
)

// Savings compares what a request cost with its counterfactual: the same token counts
// priced at the baseline model's default deployment. Saved = Baseline − Actual, and is
// negative when the choice made cost more. Routing, Provider and Cache split Saved by
// cause (they sum to Saved); Cause names the first that applies, for one-label records.
type Savings struct {
	Baseline money.USD
	Actual   money.USD
	Saved    money.USD
	Cause    Cause

	Routing  money.USD // baseline − the served model at its own default deployment
	Provider money.USD // the served model's default deployment − the deployment used
	Cache    money.USD // baseline − lookup cost, on a cache hit
}

// Counterfactual is what u would have cost at the baseline model's default deployment.
//
// The same token counts are priced class by class at the baseline's prices: cached
// tokens at its cached-input price, or as uncached input when its default deployment
// has no prompt cache (the baseline would have billed them in full); cache writes at its
// cache-write price, or as input; reasoning tokens at its reasoning or output price, even
// if the baseline does not reason (tokens are never invented or dropped). A nil baseline
// (a model the catalog does not know) has no counterfactual: it returns ok=false.
func Counterfactual(baseline *catalog.Model, u llm.Usage) (money.USD, bool) {
	if baseline == nil || len(baseline.Deployments) == 0 {
		return 0, false
	}
	return Total(baseline.Default().Prices, u), true
}

// Served computes the savings of a request served upstream by deployment d of model
// served (d nil means served's default deployment), against baseline. When the baseline
// is unknown the request saved nothing: Baseline equals Actual.
//
// A nil served model (a deployment outside the catalog) attributes everything to
// routing; with neither served nor d there is nothing to price and Savings is zero.
func Served(baseline, served *catalog.Model, d *catalog.Deployment, u llm.Usage) Savings {
	if d == nil {
		if served == nil || len(served.Deployments) == 0 {
			return Savings{}
		}
		d = served.Default()
	}
	actual := Total(d.Prices, u)
	base, ok := Counterfactual(baseline, u)
	if !ok {
		return Savings{Baseline: actual, Actual: actual}
	}
	if served == nil || len(served.Deployments) == 0 {
		return Savings{Baseline: base, Actual: actual, Saved: base - actual, Cause: CauseRouting, Routing: base - actual}
	}
	s := Savings{Baseline: base, Actual: actual, Saved: base - actual}
	atDefault := actual
	if d.Provider != served.Default().Provider {
		atDefault = Total(served.Default().Prices, u)
	}
	if served.ID != baseline.ID {
		s.Routing = base - atDefault
		s.Cause = CauseRouting
	} else {
		// Same model: any difference from the baseline is the deployment's doing.
		atDefault = base
	}
	s.Provider = atDefault - actual
	if s.Cause == CauseNone && d.Provider != baseline.Default().Provider {
		s.Cause = CauseProvider
	}
	return s
}

// CacheHit computes the savings of a request answered from cache. u is the usage the
// cached answer was recorded with; lookup is what the hit cost Arbiter (the embedding of
// a semantic lookup; zero for an exact hit). The whole baseline cost is saved less the
// lookup. When the baseline is unknown it falls back to the cost of the model that
// produced the cached answer (original), so a hit still reports honest savings; with
// neither, nothing is saved.
func CacheHit(baseline, original *catalog.Model, u llm.Usage, lookup money.USD) Savings {
	base, ok := Counterfactual(baseline, u)
	if !ok {
		base, ok = Counterfactual(original, u)
	}
	if !ok {
		return Savings{Baseline: lookup, Actual: lookup}
	}
	return Savings{Baseline: base, Actual: lookup, Saved: base - lookup, Cause: CauseCache, Cache: base - lookup}
}
