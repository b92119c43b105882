// Package tenant maps virtual keys (the keys applications use instead of provider
// keys) to tenants and what they may do. Keys are held only as SHA-256 digests, so a
// memory dump or a log line can never reveal one.
package tenant

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// Tenant is who a request is for.
type Tenant struct {
	ID string
	// KeyID names the virtual key that authenticated the request ("key_1a2b3c…"):
	// safe to log and store; it is not the key.
	KeyID   string
	KeyName string
	// AllowModels restricts the models and routes (empty: all).
	AllowModels []string
	// CacheNamespace is the cache scope; tenants share entries only when an operator
	// gives them the same namespace.
	CacheNamespace string
	// Budget caps the key's spend (nil: none); Rate bounds its requests and tokens.
	Budget *Budget
	Rate   RateLimit
}

// Allows reports whether the tenant may use a model or route.
func (t *Tenant) Allows(model string) bool {
	if len(t.AllowModels) == 0 {
		return true
	}
	for _, m := range t.AllowModels {
		if strings.EqualFold(m, model) {
			return true
		}
	}
	return false
}

// Key is one configured virtual key.
type Key struct {
	Name, Secret, Tenant, CacheNamespace string
	AllowModels                          []string
	Budget                               *Budget
	Rate                                 RateLimit
}

// Keys authenticates requests.
type Keys struct {
	byDigest map[[32]byte]*Tenant
	list     []*Tenant // in configuration order
	// open is the tenant of every request when no keys are configured.
	open *Tenant
}

// Anonymous is the tenant of requests when no virtual keys are configured.
const Anonymous = "default"

// NewKeys builds the key table. With no keys every request is the anonymous tenant
// (the demo and single-team set-ups); requireKeys refuses that.
func NewKeys(keys []Key, requireKeys bool) *Keys {
	k := &Keys{byDigest: make(map[[32]byte]*Tenant, len(keys))}
	for _, key := range keys {
		d := sha256.Sum256([]byte(key.Secret))
		ns := key.CacheNamespace
		if ns == "" {
			ns = "tenant:" + key.Tenant
		}
		t := &Tenant{ID: key.Tenant, KeyID: KeyID(key.Secret), KeyName: key.Name, AllowModels: key.AllowModels,
			CacheNamespace: ns, Budget: key.Budget, Rate: key.Rate}
		k.byDigest[d] = t
		k.list = append(k.list, t)
	}
	if len(keys) == 0 && !requireKeys {
		k.open = &Tenant{ID: Anonymous, CacheNamespace: "tenant:" + Anonymous}
	}
	return k
}

// KeyID is the public identifier of a key: a prefix of its digest.
func KeyID(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return "key_" + hex.EncodeToString(d[:6])
}

// FromRequest returns the bearer or x-api-key credential of a request (OpenAI SDKs
// send the first, Anthropic SDKs the second; Gemini's x-goog-api-key is accepted too).
func FromRequest(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return strings.TrimSpace(a[7:])
		}
		return ""
	}
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	return r.Header.Get("x-goog-api-key")
}

// Authenticate returns the tenant for a credential, or nil when it is unknown. With
// no keys configured any credential (or none) is the anonymous tenant.
func (k *Keys) Authenticate(secret string) *Tenant {
	if k.open != nil {
		return k.open
	}
	if secret == "" {
		return nil
	}
	d := sha256.Sum256([]byte(secret))
	t, ok := k.byDigest[d]
	if !ok {
		return nil
	}
	return t
}

// List returns the configured keys' tenants in configuration order (never secrets).
func (k *Keys) List() []*Tenant { return k.list }

// Limited reports whether any key has a budget or a rate limit.
func (k *Keys) Limited() bool {
	for _, t := range k.list {
		if t.Budget != nil || t.Rate.Any() {
			return true
		}
	}
	return false
}

// Open reports whether no key is required.
func (k *Keys) Open() bool { return k.open != nil }

// Equal compares two secrets in constant time (for the admin key).
func Equal(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}
