package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arbiterhq/arbiter/internal/tenant"
)

// CookieName is the session cookie's name.
const CookieName = "arbiter_dashboard"

// sessions are the logins the dashboard knows. Only a digest of each token is kept,
// so that the table itself holds nothing a reader could present as a cookie.
type sessions struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	now  func() time.Time
	byID map[[32]byte]time.Time // token digest → expiry
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, max: max, now: now, byID: map[[32]byte]time.Time{}}
}

// create starts a session and returns its token and expiry.
func (s *sessions) create() (string, time.Time) {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand never fails (Go ≥ 1.24 crashes rather than return an error)
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	exp := now.Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.byID {
		if !now.Before(e) {
			delete(s.byID, id)
		}
	}
	for len(s.byID) >= s.max { // bound memory: drop the session closest to expiry
		var oldest [32]byte
		var at time.Time
		for id, e := range s.byID {
			if at.IsZero() || e.Before(at) {
				oldest, at = id, e
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[sha256.Sum256([]byte(tok))] = exp
	return tok, exp
}

// valid reports whether a token names a live session; an expired one is forgotten.
func (s *sessions) valid(tok string) bool {
	if tok == "" {
		return false
	}
	id := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.byID[id]
	if !ok {
		return false
	}
	if !s.now().Before(exp) {
		delete(s.byID, id)
		return false
	}
	return true
}

func (s *sessions) end(tok string) {
	s.mu.Lock()
	delete(s.byID, sha256.Sum256([]byte(tok)))
	s.mu.Unlock()
}

// authorized reports whether a request carries the admin key as a bearer token or a
// live session cookie. The key comparison is constant-time.
func (h *Handler) authorized(r *http.Request) bool {
	if h.o.AdminKey == "" {
		return false
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return tenant.Equal(strings.TrimSpace(a[7:]), h.o.AdminKey)
	}
	c, err := r.Cookie(CookieName)
	return err == nil && h.sessions.valid(c.Value)
}

// api guards an API handler: 401 JSON without credentials.
func (h *Handler) api(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="arbiter-dashboard"`)
			writeError(w, http.StatusUnauthorized, "authentication_error",
				"the dashboard API needs the admin key (Authorization: Bearer) or a dashboard session")
			return
		}
		next(w, r)
	})
}

// page guards a page handler: a redirect to the login form without credentials.
func (h *Handler) page(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(r) {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, h.o.Prefix+"/login", http.StatusSeeOther)
			return
		}
		next(w, r)
	})
}

type loginView struct {
	Action   string
	Error    string
	Disabled bool
}

func (h *Handler) renderLogin(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	h.loginTmpl.Execute(w, loginView{Action: h.o.Prefix + "/login", Error: msg, Disabled: h.o.AdminKey == ""})
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if h.authorized(r) {
		http.Redirect(w, r, h.o.Prefix+"/", http.StatusSeeOther)
		return
	}
	h.renderLogin(w, http.StatusOK, "")
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		h.renderLogin(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if h.o.AdminKey == "" {
		h.renderLogin(w, http.StatusForbidden, "The dashboard is disabled: set server.admin_key.")
		return
	}
	if !tenant.Equal(strings.TrimSpace(r.PostForm.Get("key")), h.o.AdminKey) {
		h.log.Warn("dashboard login refused", "remote", r.RemoteAddr) // never the key tried
		h.renderLogin(w, http.StatusUnauthorized, "That is not the admin key.")
		return
	}
	tok, exp := h.sessions.create()
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: tok, Path: h.o.Prefix, Expires: exp, MaxAge: int(h.o.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
	http.Redirect(w, r, h.o.Prefix+"/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		h.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: h.o.Prefix, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, h.o.Prefix+"/login", http.StatusSeeOther)
}

// secure reports whether the browser reached us over HTTPS (directly or through a
// proxy that says so), so that the cookie is never sent in the clear afterwards.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
