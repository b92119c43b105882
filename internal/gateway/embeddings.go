package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/arbiterhq/arbiter/internal/deployment"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/tenant"
	"github.com/arbiterhq/arbiter/internal/wire/openai"
)

// embeddings serves POST /v1/embeddings through a provider's embeddings endpoint. The
// model is "provider/model" or a model name served by the first account, in
// configuration order, that offers embeddings.
func (g *Gateway) embeddings(w http.ResponseWriter, r *http.Request) {
	x := &exchange{g: g, s: openaiSurface, w: w, r: r, start: g.now()}
	x.rec = ledger.Record{Time: x.start, RequestID: requestID(r), ClientFormat: llm.FormatOpenAI, Cache: ledger.CacheBypass}
	w.Header().Set(HeaderRequestID, x.rec.RequestID)
	t := g.o.Keys.Authenticate(tenant.FromRequest(r))
	if t == nil {
		x.fail(&llm.Error{Kind: llm.KindAuthentication, Message: "invalid or missing virtual key", Code: "invalid_api_key"}, nil)
		return
	}
	x.rec.Tenant, x.rec.KeyID = t.ID, t.KeyID
	x.tenant = t
	if !x.admitRate() {
		return
	}
	body, release, err := g.readBody(w, r)
	if err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	req, err := openai.DecodeEmbeddingRequest(body)
	release()
	if err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	x.rec.RequestedModel = req.Model
	if !t.Allows(req.Model) {
		x.fail(&llm.Error{Kind: llm.KindPermission, Message: "this key may not use model " + strconv.Quote(req.Model), Param: "model"}, nil)
		return
	}
	acct, model := g.embedder(req.Model)
	if acct == nil {
		x.fail(&llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found", Message: "no configured provider offers embeddings for " + quote(req.Model)}, nil)
		return
	}
	if !x.admitBudget(r.Context()) {
		return
	}
	up := *req
	up.Model = model
	resp, err := acct.Embedder.Embed(r.Context(), &up)
	if err != nil {
		x.fail(llm.AsError(err), nil)
		return
	}
	resp.Model = req.Model
	out, err := openai.EncodeEmbeddingResponse(resp, req.EncodingFormat)
	if err != nil {
		x.fail(&llm.Error{Kind: llm.KindUpstreamServer, Message: "encoding embeddings: " + err.Error()}, nil)
		return
	}
	x.rec.ServedModel, x.rec.Provider, x.rec.BaselineModel = model, acct.Name, ""
	x.rec.Usage = resp.Usage
	x.rec.Cost = g.o.Pricer.Cost(acct.Name+"/"+model, resp.Usage)
	x.rec.Saved = 0
	x.rec.SavingCause = ledger.CauseNone
	x.setHeaders(ledger.CacheBypass)
	w.Header().Set(HeaderCost, x.rec.Cost.Decimal())
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
	x.finish(http.StatusOK, "")
}

func (g *Gateway) embedder(name string) (*deployment.Account, string) {
	if prov, model, ok := strings.Cut(name, "/"); ok {
		if a, ok := g.o.Registry.Account(prov); ok && a.Embedder != nil {
			return a, model
		}
	}
	for _, a := range g.o.Registry.Accounts() {
		if a.Embedder != nil && (a.Kind == llm.FormatOpenAI || a.Kind == llm.FormatGemini) {
			if a.Kind == llm.FormatGemini && !strings.Contains(name, "embedding-0") && !strings.HasPrefix(name, "gemini") {
				continue
			}
			return a, name
		}
	}
	return nil, ""
}
