package tenant

import (
	"context"
	"sync"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Store holds keys' spend and rate-limit buckets: in memory for one replica
// (MemoryStore) or in Redis for many (RedisStore). Keys are virtual keys' ids.
type Store interface {
	// Spend returns what a key spent in a window.
	Spend(ctx context.Context, keyID string, w Window) (money.USD, error)
	// AddSpend adds to a key's spend in a window and returns the new total; now
	// (the caller's clock) bounds how long the store keeps it.
	AddSpend(ctx context.Context, keyID string, w Window, amount money.USD, now time.Time) (money.USD, error)
	// SeedSpend sets a key's spend in a window unless the store already has one
	// (the ledger's figure at start-up; shared state, when present, wins).
	SeedSpend(ctx context.Context, keyID string, w Window, amount money.USD, now time.Time) error
	// Rate applies op to a key's buckets at now and returns their state after it.
	Rate(ctx context.Context, keyID string, lim RateLimit, op RateOp, now time.Time) (RateState, bool, error)
}

// RateOp is what Rate does to the buckets.
type RateOp struct {
	// Admit takes one request if the buckets admit one (and reports whether they
	// did); otherwise Rate only reads.
	Admit bool
	// Tokens are charged to the token bucket unconditionally (it may go negative).
	Tokens int64
}

// apply runs op on state (already refilled to now) and reports admission.
func (op RateOp) apply(s *RateState) bool {
	ok := true
	if op.Admit {
		if ok, _ = s.admits(); ok && s.Requests.Limit > 0 {
			s.Requests.Level--
		}
	}
	if op.Tokens > 0 && s.Tokens.Limit > 0 {
		s.Tokens.Level -= float64(op.Tokens)
	}
	return ok
}

// MemoryStore keeps state in this process.
type MemoryStore struct {
	mu     sync.Mutex
	spend  map[string]memSpend
	bucket map[string]*memBuckets
}

type memSpend struct {
	window string
	amount money.USD
}

type memBuckets struct {
	state RateState
	last  time.Time
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{spend: map[string]memSpend{}, bucket: map[string]*memBuckets{}}
}

// Spend implements Store.
func (m *MemoryStore) Spend(_ context.Context, keyID string, w Window) (money.USD, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.spend[keyID]; ok && s.window == w.ID {
		return s.amount, nil
	}
	return 0, nil
}

// AddSpend implements Store. A new window starts again from zero.
func (m *MemoryStore) AddSpend(_ context.Context, keyID string, w Window, amount money.USD, _ time.Time) (money.USD, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.spend[keyID]
	if s.window != w.ID {
		s = memSpend{window: w.ID}
	}
	s.amount += amount
	m.spend[keyID] = s
	return s.amount, nil
}

// SeedSpend implements Store.
func (m *MemoryStore) SeedSpend(_ context.Context, keyID string, w Window, amount money.USD, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.spend[keyID]; ok && s.window == w.ID {
		return nil
	}
	m.spend[keyID] = memSpend{window: w.ID, amount: amount}
	return nil
}

// Rate implements Store.
func (m *MemoryStore) Rate(_ context.Context, keyID string, lim RateLimit, op RateOp, now time.Time) (RateState, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bucket[keyID]
	if !ok {
		b = &memBuckets{last: now, state: RateState{
			Requests: Bucket{Limit: lim.RequestsPerMinute, Level: float64(lim.RequestsPerMinute)},
			Tokens:   Bucket{Limit: lim.TokensPerMinute, Level: float64(lim.TokensPerMinute)},
		}}
		m.bucket[keyID] = b
	}
	if now.After(b.last) {
		el := now.Sub(b.last)
		b.state.Requests.Level = refill(b.state.Requests.Level, lim.RequestsPerMinute, el)
		b.state.Tokens.Level = refill(b.state.Tokens.Level, lim.TokensPerMinute, el)
		b.last = now
	}
	b.state.Requests.Limit, b.state.Tokens.Limit = lim.RequestsPerMinute, lim.TokensPerMinute
	admitted := op.apply(&b.state)
	return b.state, admitted, nil
}
