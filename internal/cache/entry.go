package cache

import (
	"context"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// Entry is a cached answer. It holds the provider-neutral response, not a wire
// format, so an answer cached for an OpenAI-format client serves an Anthropic one.
//
// Entries are shared between readers once stored: treat an Entry returned by a store,
// and its Response, as read-only (ResponseCopy gives a response whose top-level
// fields, such as ID and Created, may be changed for a replay).
type Entry struct {
	Response *llm.Response
	// Model and Provider answered the original request (the route may have chosen
	// them); Cost is what that call cost, which a hit saves.
	Model    string
	Provider string
	Cost     money.USD
	// Stored is when the answer was cached; Expires is set by the store from the TTL.
	Stored  time.Time
	Expires time.Time
}

// Age is how old the entry is at now (never negative, for clocks that disagree
// between replicas).
func (e *Entry) Age(now time.Time) time.Duration {
	a := now.Sub(e.Stored)
	if a < 0 {
		return 0
	}
	return a
}

// AgeSeconds is the value of an HTTP Age header at now.
func (e *Entry) AgeSeconds(now time.Time) int64 { return int64(e.Age(now) / time.Second) }

// Fresh reports whether the entry may answer a request whose Decision has maxAge
// (0: any age within the TTL) at now.
func (e *Entry) Fresh(now time.Time, maxAge time.Duration) bool {
	if !e.Expires.IsZero() && !now.Before(e.Expires) {
		return false
	}
	return maxAge <= 0 || e.Age(now) <= maxAge
}

// ResponseCopy returns a copy of the response whose top-level fields and choice list
// may be changed; message contents are still shared and must not be.
func (e *Entry) ResponseCopy() *llm.Response {
	r := *e.Response
	r.Choices = append([]llm.Choice(nil), e.Response.Choices...)
	return &r
}

// Store holds entries under keys. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the entry under key if it exists and has not expired.
	Get(ctx context.Context, key Key) (*Entry, bool, error)
	// Set stores e under key for ttl (ttl <= 0: not stored). The store takes e over:
	// neither it nor its response may be changed afterwards.
	Set(ctx context.Context, key Key, e *Entry, ttl time.Duration) error
	// Delete removes one entry and reports whether it was there.
	Delete(ctx context.Context, key Key) (bool, error)
	// DeleteNamespace removes all of a namespace's entries and returns how many.
	DeleteNamespace(ctx context.Context, namespace string) (int, error)
	// Stats reports counters since the store was made (for this replica).
	Stats() Stats
}

// Stats describes a store. Entries and Bytes are -1 where the store cannot know them
// cheaply (Redis: shared by many replicas).
type Stats struct {
	Store    string `json:"store"`
	Entries  int64  `json:"entries"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes,omitempty"`
	Hits     uint64 `json:"hits"`
	Misses   uint64 `json:"misses"`
	Sets     uint64 `json:"sets"`
	// Evictions are entries dropped to stay within MaxBytes; Expired, dropped for age.
	Evictions uint64 `json:"evictions,omitempty"`
	Expired   uint64 `json:"expired,omitempty"`
	// Rejected are entries too large to store; Errors, failed store operations.
	Rejected uint64  `json:"rejected,omitempty"`
	Errors   uint64  `json:"errors,omitempty"`
	HitRatio float64 `json:"hit_ratio"`
	// Tiers are the layers of a tiered store, front first.
	Tiers []Stats `json:"tiers,omitempty"`
}

func (s *Stats) setRatio() {
	if t := s.Hits + s.Misses; t > 0 {
		s.HitRatio = float64(s.Hits) / float64(t)
	}
}
