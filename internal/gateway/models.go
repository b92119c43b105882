package gateway

import (
	"net/http"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/tenant"
	"github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type anthropicModelJSON struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// catalogEpoch stands in for a creation time, which the catalog does not record.
var catalogEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *Gateway) listed(r *http.Request) ([]string, *tenant.Tenant) {
	t := g.o.Keys.Authenticate(tenant.FromRequest(r))
	if t == nil {
		return nil, nil
	}
	var ids []string
	for _, m := range g.o.Registry.Served() {
		if t.Allows(m.ID) {
			ids = append(ids, m.ID)
		}
		for _, a := range m.Aliases {
			if t.Allows(a) {
				ids = append(ids, a)
			}
		}
	}
	if g.o.Router != nil {
		for _, n := range []string{"auto", "auto:cheap", "auto:balanced", "auto:best"} {
			if t.Allows(n) {
				ids = append(ids, n)
			}
		}
	}
	for n, rt := range g.o.Routes {
		if len(rt.Models) > 0 && t.Allows(n) && !contains(ids, n) {
			ids = append(ids, n)
		}
	}
	return ids, t
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// models lists what this gateway serves, in OpenAI's shape, or Anthropic's when the
// client is an Anthropic SDK.
func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	ids, t := g.listed(r)
	s := surfaceFor(r)
	if t == nil {
		g.writeError(w, s, &llm.Error{Kind: llm.KindAuthentication, Message: "invalid or missing virtual key", Code: "invalid_api_key"})
		return
	}
	if s == anthropicSurface {
		data := make([]anthropicModelJSON, len(ids))
		for i, id := range ids {
			data[i] = anthropicModelJSON{ID: id, Type: "model", DisplayName: id, CreatedAt: catalogEpoch.Format(time.RFC3339)}
		}
		first, last := "", ""
		if len(ids) > 0 {
			first, last = ids[0], ids[len(ids)-1]
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "has_more": false, "first_id": first, "last_id": last})
		return
	}
	data := make([]modelJSON, len(ids))
	for i, id := range ids {
		data[i] = modelJSON{ID: id, Object: "model", Created: catalogEpoch.Unix(), OwnedBy: g.ownedBy(id)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (g *Gateway) ownedBy(id string) string {
	if m, ok := g.o.Registry.Model(id); ok && m.Vendor != "" {
		return m.Vendor
	}
	return "arbiter"
}

func (g *Gateway) model(w http.ResponseWriter, r *http.Request) {
	ids, t := g.listed(r)
	s := surfaceFor(r)
	if t == nil {
		g.writeError(w, s, &llm.Error{Kind: llm.KindAuthentication, Message: "invalid or missing virtual key", Code: "invalid_api_key"})
		return
	}
	id := r.PathValue("model")
	if !contains(ids, id) {
		g.writeError(w, s, &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found", Message: "the model " + quote(id) + " does not exist or no configured provider serves it"})
		return
	}
	if s == anthropicSurface {
		writeJSON(w, http.StatusOK, anthropicModelJSON{ID: id, Type: "model", DisplayName: id, CreatedAt: catalogEpoch.Format(time.RFC3339)})
		return
	}
	writeJSON(w, http.StatusOK, modelJSON{ID: id, Object: "model", Created: catalogEpoch.Unix(), OwnedBy: g.ownedBy(id)})
}

// countTokens answers Anthropic's count_tokens with an offline estimate.
func (g *Gateway) countTokens(w http.ResponseWriter, r *http.Request) {
	s := anthropicSurface
	if g.o.Keys.Authenticate(tenant.FromRequest(r)) == nil {
		g.writeError(w, s, &llm.Error{Kind: llm.KindAuthentication, Message: "invalid or missing virtual key"})
		return
	}
	body, release, err := g.readBody(w, r)
	if err != nil {
		g.writeError(w, s, llm.AsError(err))
		return
	}
	req, err := anthropic.DecodeCountTokensRequest(body)
	release()
	if err != nil {
		g.writeError(w, s, llm.AsError(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(anthropic.EncodeCountTokensResponse(g.o.Tokens.Request(req)))
}
