// Package cache is Arbiter's exact response cache: a canonical key of everything that
// can change an answer (KeyFor), a per-request decision from policy and headers
// (Decide), stores that keep the provider-neutral answer (Memory, Redis, Tiered), and
// coalescing of identical requests in flight (Group).
//
// A gateway uses it like this:
//
//	key, err := cache.KeyFor(tenant, req)             // before routing changes req.Model
//	d := cache.Decide(req, policies.Resolve(req.Model), httpReq.Header)
//	if err == nil && d.Lookup {
//		if e, ok, _ := cache.Lookup(ctx, store, key, d, time.Now()); ok {
//			// x-arbiter-cache: hit, Age: e.AgeSeconds(now); replay cache.Replay(e, 32)
//		}
//	}
//	upstream := func(ctx context.Context) (llm.Stream, error) {
//		s, err := executor.Stream(ctx, req)
//		if err != nil || !d.Store {
//			return s, err
//		}
//		return cache.Record(s, func(resp *llm.Response) {
//			_ = store.Set(ctx, key, &cache.Entry{Response: resp, Model: ..., Provider: ..., Cost: ...}, d.TTL)
//		}), nil
//	}
//	if d.Coalesce() {
//		s, role, err = group.Do(ctx, key, upstream)  // role Follower: coalesced, cost 0
//	} else {
//		s, err = upstream(ctx)
//	}
package cache

import (
	"context"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Values of the x-arbiter-cache response header.
const (
	StatusHit       = "hit"       // answered from the exact cache
	StatusMiss      = "miss"      // looked up, not found; answered upstream
	StatusBypass    = "bypass"    // not looked up (policy, no-cache, no-store, sampled)
	StatusCoalesced = "coalesced" // shared an identical request's upstream call
)

// Lookup reads key from s when d allows it and returns the entry only if it is fresh
// for d (max-age). A store error is returned with ok false: the caller goes upstream.
func Lookup(ctx context.Context, s Store, key Key, d Decision, now time.Time) (*Entry, bool, error) {
	if !d.Lookup {
		return nil, false, nil
	}
	e, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		return nil, false, err
	}
	if !e.Fresh(now, d.MaxAge) {
		return nil, false, nil
	}
	return e, true, nil
}

// ReplayChunk is the default piece size, in bytes of text, of a replayed answer: a
// few tokens per event, like a live stream.
const ReplayChunk = 16

// Replay returns a stream of a cached answer in several events (text split every
// chunk bytes, tool arguments likewise), ending with the usage, for a streaming client.
// chunk <= 0 means ReplayChunk.
func Replay(e *Entry, chunk int) llm.Stream {
	if chunk <= 0 {
		chunk = ReplayChunk
	}
	return &llm.SliceStream{Events: llm.Events(e.Response, chunk)}
}

// Admin is what the admin surface exposes: statistics, and deletion by key or by
// namespace (a tenant's whole cache).
type Admin struct {
	Store Store
	Group *Group // may be nil
}

// AdminStats is the cache's state for the admin API and metrics.
type AdminStats struct {
	Store      Stats       `json:"store"`
	Coalescing *GroupStats `json:"coalescing,omitempty"`
}

// Stats reports the store's and the coalescing group's counters.
func (a *Admin) Stats() AdminStats {
	st := AdminStats{Store: a.Store.Stats()}
	if a.Group != nil {
		g := a.Group.Stats()
		st.Coalescing = &g
	}
	return st
}

// DeleteKey deletes the entry whose key prints as key (Key.String) and reports
// whether it existed.
func (a *Admin) DeleteKey(ctx context.Context, key string) (bool, error) {
	k, err := ParseKey(key)
	if err != nil {
		return false, err
	}
	return a.Store.Delete(ctx, k)
}

// DeleteNamespace deletes every entry of a namespace and returns how many there were.
func (a *Admin) DeleteNamespace(ctx context.Context, ns string) (int, error) {
	return a.Store.DeleteNamespace(ctx, ns)
}
