package gateway

import (
	"net/http"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

// adminRoutes serves the admin API under /admin/, protected by the admin key.
func (g *Gateway) adminRoutes() {
	g.mux.Handle("GET /admin/health", g.admin(g.adminHealth))
	g.mux.Handle("GET /admin/keys", g.admin(g.adminKeys))
	g.mux.Handle("GET /admin/cache/stats", g.admin(g.adminCacheStats))
	g.mux.Handle("DELETE /admin/cache/entries/{key}", g.admin(g.adminCacheDelete))
	g.mux.Handle("DELETE /admin/cache/namespaces/{ns}", g.admin(g.adminCacheDeleteNamespace))
}

// AdminAuth wraps a handler so that it requires the admin key as a bearer token (or
// whatever check is passed). Exported for the dashboard, which adds a session cookie.
func (g *Gateway) AdminAuth(h http.Handler) http.Handler { return g.admin(h.ServeHTTP) }

func (g *Gateway) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.o.AdminKey == "" {
			g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindPermission, Message: "the admin API is disabled: set server.admin_key"})
			return
		}
		if !tenant.Equal(tenant.FromRequest(r), g.o.AdminKey) {
			g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindAuthentication, Message: "admin key required"})
			return
		}
		h(w, r)
	})
}

func (g *Gateway) adminHealth(w http.ResponseWriter, r *http.Request) {
	hs := g.o.Executor.Health()
	sort.Slice(hs, func(i, j int) bool { return hs[i].Deployment < hs[j].Deployment })
	writeJSON(w, http.StatusOK, map[string]any{"deployments": hs})
}

func (g *Gateway) adminCacheStats(w http.ResponseWriter, r *http.Request) {
	if g.o.Cache == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false})
		return
	}
	out := map[string]any{"enabled": true, "store": g.o.Cache.Stats()}
	if g.o.Group != nil {
		out["coalescing"] = g.o.Group.Stats()
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *Gateway) adminCacheDelete(w http.ResponseWriter, r *http.Request) {
	if g.o.Cache == nil {
		g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindNotFound, Message: "the cache is disabled"})
		return
	}
	k, err := cache.ParseKey(r.PathValue("key"))
	if err != nil {
		g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindInvalidRequest, Message: "bad cache key: " + err.Error(), Param: "key"})
		return
	}
	ok, err := g.o.Cache.Delete(r.Context(), k)
	if err != nil {
		g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindUpstreamServer, Message: "deleting cache entry: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": ok})
}

func (g *Gateway) adminCacheDeleteNamespace(w http.ResponseWriter, r *http.Request) {
	if g.o.Cache == nil {
		g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindNotFound, Message: "the cache is disabled"})
		return
	}
	ns := r.PathValue("ns")
	if !strings.Contains(ns, ":") {
		ns = "tenant:" + ns // a bare tenant id
	}
	n, err := g.o.Cache.DeleteNamespace(r.Context(), ns)
	if err != nil {
		g.writeError(w, openaiSurface, &llm.Error{Kind: llm.KindUpstreamServer, Message: "deleting cache namespace: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespace": ns, "deleted": n})
}
