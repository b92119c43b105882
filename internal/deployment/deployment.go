// Package deployment knows which catalog models are served by which configured
// provider accounts, and turns a concrete model name into the ordered plan of
// deployments the executor tries (automatic routes are the router's business).
package deployment

import (
	"fmt"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/provider"
)

// Account is one configured provider with its adapter.
type Account struct {
	Name   string // "openai", "groq", … — matches catalog deployments' provider
	Kind   llm.Format
	Client provider.Provider
	// Embedder is set when the provider offers embeddings.
	Embedder provider.Embedder
	// Models limits the catalog models served through this account (empty: all).
	Models []string
}

// Info describes one deployment for pricing and reporting.
type Info struct {
	Model   *catalog.Model
	Catalog *catalog.Deployment
	Account *Account
	Exec    *executor.Deployment
}

// Registry is the set of deployments this gateway can reach. It is immutable after
// New and safe for concurrent use.
type Registry struct {
	cat      *catalog.Catalog
	accounts map[string]*Account
	ordered  []*Account
	byModel  map[string][]*Info // catalog model id → deployments, cheapest first
	byID     map[string]*Info
	served   []*catalog.Model
}

// anthropicMaxTokens caps the max_tokens Arbiter sends on a client's behalf to
// providers that require the field: a model's full output window (64k for some) would
// make every request reserve far more than answers need.
const anthropicMaxTokens = 8192

// New matches the catalog's deployments with the configured accounts.
func New(cat *catalog.Catalog, accounts []*Account) *Registry {
	r := &Registry{cat: cat, accounts: map[string]*Account{}, byModel: map[string][]*Info{}, byID: map[string]*Info{}}
	for _, a := range accounts {
		r.accounts[a.Name] = a
	}
	r.ordered = accounts
	for _, m := range cat.Models() {
		for i := range m.Deployments {
			cd := &m.Deployments[i]
			a, ok := r.accounts[cd.Provider]
			if !ok || (len(a.Models) > 0 && !contains(a.Models, m.ID)) {
				continue
			}
			ed := &executor.Deployment{
				ID: a.Name + "/" + m.ID, Provider: a.Name, Model: m.ID, UpstreamModel: cd.Name,
				Client: a.Client, ContextWindow: m.ContextWindow,
			}
			if a.Kind == llm.FormatAnthropic {
				ed.DefaultMaxTokens = min(max(m.MaxOutputTokens, 1024), anthropicMaxTokens)
			}
			info := &Info{Model: m, Catalog: cd, Account: a, Exec: ed}
			r.byModel[m.ID] = append(r.byModel[m.ID], info)
			r.byID[ed.ID] = info
		}
		if ds := r.byModel[m.ID]; len(ds) > 0 {
			sort.SliceStable(ds, func(i, j int) bool { return blended(ds[i].Catalog.Prices) < blended(ds[j].Catalog.Prices) })
			r.served = append(r.served, m)
		}
	}
	return r
}

// blended is a price for ordering deployments of one model: input plus output per
// million tokens weighted 3:1, roughly the mix of chat traffic.
func blended(p catalog.Prices) money.PerMTok { return (3*p.Input + p.Output) / 4 }

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Catalog returns the catalog the registry was built from.
func (r *Registry) Catalog() *catalog.Catalog { return r.cat }

// Served lists the catalog models at least one account serves, sorted by id.
func (r *Registry) Served() []*catalog.Model { return r.served }

// Model resolves a name or alias to a served catalog model.
func (r *Registry) Model(name string) (*catalog.Model, bool) {
	m, ok := r.cat.Lookup(name)
	if !ok || len(r.byModel[m.ID]) == 0 {
		return nil, false
	}
	return m, true
}

// Deployments returns a model's deployments, cheapest first.
func (r *Registry) Deployments(modelID string) []*Info { return r.byModel[modelID] }

// Info returns a deployment by id ("provider/model").
func (r *Registry) Info(id string) (*Info, bool) {
	i, ok := r.byID[id]
	return i, ok
}

// Accounts returns the configured accounts in configuration order.
func (r *Registry) Accounts() []*Account { return r.ordered }

// Account returns a configured account by name.
func (r *Registry) Account(name string) (*Account, bool) {
	a, ok := r.accounts[name]
	return a, ok
}

// Plan lists the deployments for a model and then for each fallback model, in order.
// order, when not empty, fixes the model's own deployments ("provider/model" or
// just "provider"); otherwise the cheapest comes first.
func (r *Registry) Plan(model *catalog.Model, order []string, fallbacks []string) (executor.Plan, error) {
	var plan executor.Plan
	seen := map[string]bool{}
	add := func(i *Info) {
		if !seen[i.Exec.ID] {
			seen[i.Exec.ID] = true
			plan.Deployments = append(plan.Deployments, i.Exec)
		}
	}
	if len(order) > 0 {
		for _, o := range order {
			prov, _, _ := strings.Cut(o, "/")
			found := false
			for _, i := range r.byModel[model.ID] {
				if i.Account.Name == prov {
					add(i)
					found = true
				}
			}
			if !found {
				return plan, fmt.Errorf("route for %s names deployment %q, which no configured provider serves", model.ID, o)
			}
		}
	} else {
		for _, i := range r.byModel[model.ID] {
			add(i)
		}
	}
	for _, f := range fallbacks {
		fm, ok := r.Model(f)
		if !ok {
			return plan, fmt.Errorf("fallback model %q of %s is not served by any configured provider", f, model.ID)
		}
		for _, i := range r.byModel[fm.ID] {
			add(i)
		}
	}
	return plan, nil
}
