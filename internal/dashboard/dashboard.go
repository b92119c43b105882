// Package dashboard serves the cost analytics dashboard: a JSON analytics API over
// the ledger and a web page (embedded HTML, CSS, JavaScript and a vendored Chart.js)
// that draws it, both behind the admin key.
//
// Everything lives under one path prefix (default /dashboard):
//
//	GET  /dashboard/                  the page (redirects to the login form without a session)
//	GET  /dashboard/login             the login form; POST it the admin key to get a session
//	POST /dashboard/logout            ends the session
//	GET  /dashboard/assets/…          embedded CSS, JavaScript, Chart.js
//	GET  /dashboard/api/summary       totals, groups and a time series over a range
//	GET  /dashboard/api/requests      the request log, one page at a time (cursor)
//	GET  /dashboard/api/requests/{id} one request's record
//	GET  /dashboard/api/health        the executor's view of each deployment
//
// The API takes the admin key as "Authorization: Bearer <key>" or the session cookie
// the login form sets. Every query goes through ledger.Store, whose stores answer
// ranges from rollups and the request log from indexes.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/ledger"
)

//go:embed assets
var assetFS embed.FS

// Options configure a Handler. Store and AdminKey are required for the dashboard to
// serve anything; with an empty AdminKey every request is refused.
type Options struct {
	Store ledger.Store
	// Health reports provider health (nil: the health API answers an empty list).
	Health   func() []executor.Health
	AdminKey string
	// Prefix is the path the handler is mounted at (default "/dashboard").
	Prefix string
	// SessionTTL is how long a login lasts (default 12 hours).
	SessionTTL time.Duration
	// MaxSessions bounds the sessions kept; the oldest is dropped beyond it (default 1024).
	MaxSessions int
	Logger      *slog.Logger
	// Now is the clock (nil: time.Now); tests move it to expire sessions.
	Now func() time.Time
}

// Handler is the dashboard's http.Handler.
type Handler struct {
	o        Options
	log      *slog.Logger
	sessions *sessions
	assets   map[string]asset
	// loginTmpl renders the login form, the one page served without a session.
	loginTmpl *template.Template
	mux       *http.ServeMux
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// New builds the dashboard handler.
func New(o Options) *Handler {
	if o.Prefix == "" {
		o.Prefix = "/dashboard"
	}
	o.Prefix = strings.TrimSuffix(o.Prefix, "/")
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, log: o.Logger, sessions: newSessions(o.SessionTTL, o.MaxSessions, o.Now),
		assets: loadAssets(), mux: http.NewServeMux(),
		loginTmpl: template.Must(template.ParseFS(assetFS, "assets/login.html"))} // embedded: cannot fail at run time
	p := o.Prefix
	h.mux.HandleFunc("GET "+p+"/login", h.loginForm)
	h.mux.HandleFunc("POST "+p+"/login", h.login)
	h.mux.Handle("POST "+p+"/logout", h.page(h.logout))
	h.mux.Handle("GET "+p+"/{$}", h.page(h.index))
	h.mux.Handle("GET "+p+"/assets/{file...}", h.page(h.asset))
	h.mux.Handle("GET "+p+"/api/summary", h.api(h.summary))
	h.mux.Handle("GET "+p+"/api/requests", h.api(h.requests))
	h.mux.Handle("GET "+p+"/api/requests/{id}", h.api(h.request))
	h.mux.Handle("GET "+p+"/api/health", h.api(h.health))
	h.mux.Handle(p+"/api/", h.api(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no dashboard API at "+r.Method+" "+r.URL.Path)
	}))
	h.mux.Handle(p+"/", h.page(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	return h
}

// ServeHTTP serves the dashboard with headers that keep it out of frames and caches
// and stop it from loading anything but its own assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

func loadAssets() map[string]asset {
	out := map[string]asset{}
	_ = fs.WalkDir(assetFS, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(path, "assets/")] = asset{body: b, ctype: contentType(path),
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".html"):
		return "text/html; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		return "text/css; charset=utf-8"
	case strings.HasSuffix(name, ".js"):
		return "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".svg"):
		return "image/svg+xml"
	}
	return "text/plain; charset=utf-8"
}

// serveAsset writes an embedded file; browsers revalidate it by ETag on every load,
// so a new binary's assets are picked up at once.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	h.serveAsset(w, r, "index.html")
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || name == "login.html" || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	h.serveAsset(w, r, name)
}
