package tenant

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

// LimiterOptions configures a Limiter.
type LimiterOptions struct {
	// Store holds spend and buckets (nil: a MemoryStore, for one replica).
	Store  Store
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger
	// OnStoreError is called once per failed store call (a metric).
	OnStoreError func()
	// Timeout bounds each store call (default 500ms); CoolDown is how long the
	// store is left alone after a failure (default 5s), so that an outage costs one
	// request a timeout rather than every request.
	Timeout, CoolDown time.Duration
}

// Limiter enforces keys' budgets and rate limits. When its store fails it lets
// requests through (fail open) and logs a warning at most every 30 seconds: an
// outage of shared state must not become an outage of the gateway.
type Limiter struct {
	o   LimiterOptions
	log *slog.Logger

	mu         sync.Mutex
	downUntil  time.Time
	lastLog    time.Time
	suppressed int
}

// NewLimiter builds a limiter.
func NewLimiter(o LimiterOptions) *Limiter {
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.CoolDown <= 0 {
		o.CoolDown = 5 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Limiter{o: o, log: log}
}

// Now is the limiter's clock.
func (l *Limiter) Now() time.Time { return l.o.Now() }

// available reports whether the store may be called (it is not cooling down).
func (l *Limiter) available() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.o.Now().Before(l.downUntil)
}

// failed notes a store error: fail open, cool down, log (rate-limited), count.
func (l *Limiter) failed(op, keyID string, err error) {
	if l.o.OnStoreError != nil {
		l.o.OnStoreError()
	}
	now := l.o.Now()
	l.mu.Lock()
	l.downUntil = now.Add(l.o.CoolDown)
	logNow := now.Sub(l.lastLog) >= 30*time.Second
	suppressed := l.suppressed
	if logNow {
		l.lastLog, l.suppressed = now, 0
	} else {
		l.suppressed++
	}
	l.mu.Unlock()
	if logNow {
		l.log.Warn("budget and rate-limit store failed: requests are let through unlimited",
			"op", op, "key_id", keyID, "err", err, "suppressed_since_last", suppressed, "retry_in", l.o.CoolDown)
	}
}

func (l *Limiter) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), l.o.Timeout)
}

// RateDecision is the outcome of admitting a request against its key's rate limit.
type RateDecision struct {
	State RateState
	// Known is false when the key has no rate limit or the store failed.
	Known bool
	// Refused names the bucket that refused ("requests" or "tokens"), "" if admitted.
	Refused string
}

// AdmitRate takes one request from t's request bucket if its buckets admit it.
func (l *Limiter) AdmitRate(ctx context.Context, t *Tenant) RateDecision {
	if !t.Rate.Any() || !l.available() {
		return RateDecision{}
	}
	c, cancel := l.ctx(ctx)
	defer cancel()
	st, ok, err := l.o.Store.Rate(c, t.KeyID, t.Rate, RateOp{Admit: true}, l.o.Now())
	if err != nil {
		l.failed("rate", t.KeyID, err)
		return RateDecision{}
	}
	d := RateDecision{State: st, Known: true}
	if !ok {
		_, d.Refused = st.admits()
		if d.Refused == "" { // admitted by nobody but refused: name the request bucket
			d.Refused = "requests"
		}
	}
	return d
}

// BudgetState is a key's budget and its spend in the current window.
type BudgetState struct {
	Budget Budget
	Window Window
	Spent  money.USD
	// Known is false when the key has no budget or the store failed.
	Known bool
}

// Remaining is what is left of the budget (never negative).
func (b BudgetState) Remaining() money.USD { return max(0, b.Budget.Limit-b.Spent) }

// Exhausted reports whether the budget is spent: no request may go upstream.
func (b BudgetState) Exhausted() bool { return b.Known && b.Spent >= b.Budget.Limit }

// Budget returns t's budget state now.
func (l *Limiter) Budget(ctx context.Context, t *Tenant) BudgetState {
	if t.Budget == nil {
		return BudgetState{}
	}
	st := BudgetState{Budget: *t.Budget, Window: t.Budget.Period.Window(l.o.Now())}
	if !l.available() {
		return st
	}
	c, cancel := l.ctx(ctx)
	defer cancel()
	spent, err := l.o.Store.Spend(c, t.KeyID, st.Window)
	if err != nil {
		l.failed("spend", t.KeyID, err)
		return st
	}
	st.Spent, st.Known = spent, true
	return st
}

// Charge records what a finished request cost and the tokens it used upstream.
func (l *Limiter) Charge(ctx context.Context, t *Tenant, cost money.USD, tokens int64) {
	if t.Budget != nil && cost > 0 && l.available() {
		c, cancel := l.ctx(ctx)
		now := l.o.Now()
		_, err := l.o.Store.AddSpend(c, t.KeyID, t.Budget.Period.Window(now), cost, now)
		cancel()
		if err != nil {
			l.failed("add spend", t.KeyID, err)
		}
	}
	if t.Rate.TokensPerMinute > 0 && tokens > 0 && l.available() {
		c, cancel := l.ctx(ctx)
		_, _, err := l.o.Store.Rate(c, t.KeyID, t.Rate, RateOp{Tokens: tokens}, l.o.Now())
		cancel()
		if err != nil {
			l.failed("charge tokens", t.KeyID, err)
		}
	}
}

// RateState reads t's buckets without taking anything from them.
func (l *Limiter) RateState(ctx context.Context, t *Tenant) (RateState, bool) {
	if !t.Rate.Any() || !l.available() {
		return RateState{}, false
	}
	c, cancel := l.ctx(ctx)
	defer cancel()
	st, _, err := l.o.Store.Rate(c, t.KeyID, t.Rate, RateOp{}, l.o.Now())
	if err != nil {
		l.failed("rate state", t.KeyID, err)
		return RateState{}, false
	}
	return st, true
}

// Seed sets each budgeted key's spend in its current window from spentSince (what
// the ledger recorded by key id since a time), unless the store already holds one.
func (l *Limiter) Seed(ctx context.Context, keys []*Tenant, spentSince func(ctx context.Context, since time.Time) (map[string]money.USD, error)) error {
	now := l.o.Now()
	sums := map[time.Time]map[string]money.USD{} // one ledger query per window start
	for _, t := range keys {
		if t.Budget == nil {
			continue
		}
		w := t.Budget.Period.Window(now)
		byKey, ok := sums[w.Start]
		if !ok {
			var err error
			if byKey, err = spentSince(ctx, w.Start); err != nil {
				return fmt.Errorf("read spend since %s from the ledger: %w", w.Start.Format(time.RFC3339), err)
			}
			sums[w.Start] = byKey
		}
		c, cancel := l.ctx(ctx)
		err := l.o.Store.SeedSpend(c, t.KeyID, w, byKey[t.KeyID], now)
		cancel()
		if err != nil {
			l.failed("seed spend", t.KeyID, err)
			return nil // fail open: the gateway still starts
		}
	}
	return nil
}
