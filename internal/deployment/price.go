package deployment

import (
	"github.com/arbiterhq/arbiter/internal/cost"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// Cost prices usage at a deployment ("provider/model"); an unknown deployment costs
// nothing, which only embeddings of models the catalog lacks can reach.
func (r *Registry) Cost(id string, u llm.Usage) money.USD {
	if i, ok := r.byID[id]; ok {
		return cost.Total(i.Catalog.Prices, u)
	}
	return 0
}

// Savings compares a request served upstream by deployment id with its baseline
// model, priced with the same tokens.
func (r *Registry) Savings(baseline, id string, u llm.Usage) cost.Savings {
	i, ok := r.byID[id]
	if !ok {
		return cost.Savings{}
	}
	bm, _ := r.cat.Lookup(baseline)
	return cost.Served(bm, i.Model, i.Catalog, u)
}

// CacheSavings is the saving of a cache hit: the baseline's whole cost, less what the
// lookup cost.
func (r *Registry) CacheSavings(baseline, original string, u llm.Usage, lookup money.USD) cost.Savings {
	bm, _ := r.cat.Lookup(baseline)
	om, _ := r.cat.Lookup(original)
	return cost.CacheHit(bm, om, u, lookup)
}
