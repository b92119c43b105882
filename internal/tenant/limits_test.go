package tenant

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/servicetest"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPeriodWindowsRollOverAtUTCBoundaries(t *testing.T) {
	tokyo := time.FixedZone("UTC+9", 9*3600)
	cases := []struct {
		name       string
		period     Period
		at         time.Time
		start, end string // RFC 3339; end "" for none
		id         string
	}{
		{"day, last nanosecond", PeriodDay, utc("2026-01-31T23:59:59.999999999Z"), "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z", "d2026-01-31"},
		{"day, first instant", PeriodDay, utc("2026-02-01T00:00:00Z"), "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "d2026-02-01"},
		{"day, local time east of UTC is still yesterday in UTC", PeriodDay, time.Date(2026, 2, 1, 8, 0, 0, 0, tokyo), "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z", "d2026-01-31"},
		{"day, leap day", PeriodDay, utc("2028-02-29T12:00:00Z"), "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z", "d2028-02-29"},
		{"month, last instant of December", PeriodMonth, utc("2026-12-31T23:59:59.999Z"), "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "m2026-12"},
		{"month, first instant of the year", PeriodMonth, utc("2027-01-01T00:00:00Z"), "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "m2027-01"},
		{"month, February of a leap year", PeriodMonth, utc("2028-02-15T00:00:00Z"), "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z", "m2028-02"},
		{"month, local time east of UTC", PeriodMonth, time.Date(2026, 3, 1, 5, 0, 0, 0, tokyo), "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "m2026-02"},
		{"total never resets", PeriodTotal, utc("2026-06-01T00:00:00Z"), "1970-01-01T00:00:00Z", "", "total"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := c.period.Window(c.at)
			if !w.Start.Equal(utc(c.start)) || w.ID != c.id {
				t.Fatalf("window %+v, want start %s id %s", w, c.start, c.id)
			}
			if c.end == "" && !w.End.IsZero() || c.end != "" && !w.End.Equal(utc(c.end)) {
				t.Fatalf("end %s, want %q", w.End, c.end)
			}
		})
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]Period{"": PeriodMonth, "day": PeriodDay, "month": PeriodMonth, "total": PeriodTotal} {
		if p, err := ParsePeriod(in); err != nil || p != want {
			t.Errorf("%q: %v %v", in, p, err)
		}
	}
	if _, err := ParsePeriod("week"); err == nil {
		t.Error("week accepted")
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// redisClient connects to the test Redis (internal/servicetest).
var redisClient = servicetest.Redis

// stores runs f against the memory store and a Redis store.
func stores(t *testing.T, f func(t *testing.T, newStore func() Store)) {
	t.Run("memory", func(t *testing.T) {
		m := NewMemoryStore()
		f(t, func() Store { return m })
	})
	t.Run("redis", func(t *testing.T) {
		c := redisClient(t)
		p := servicetest.RedisPrefix(t, c)
		f(t, func() Store { return NewRedisStore(c, p) })
	})
}

var start = utc("2026-01-31T23:00:00Z")

func TestBudgetIsSpentThenRefusedAndResetsAtTheNextUTCDay(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() Store) {
		clk := &clock{t: start}
		l := NewLimiter(LimiterOptions{Store: newStore(), Now: clk.Now})
		ten := &Tenant{KeyID: "key_day", Budget: &Budget{Limit: 10 * money.Dollar / 1000, Period: PeriodDay}}
		other := &Tenant{KeyID: "key_other", Budget: &Budget{Limit: money.Dollar, Period: PeriodDay}}
		ctx := context.Background()
		l.Charge(ctx, ten, 6*money.Dollar/1000, 0)
		if b := l.Budget(ctx, ten); !b.Known || b.Exhausted() || b.Spent != 6*money.Dollar/1000 || b.Remaining() != 4*money.Dollar/1000 {
			t.Fatalf("after $0.006: %+v remaining %s", b, b.Remaining())
		}
		l.Charge(ctx, ten, 4*money.Dollar/1000, 0)
		b := l.Budget(ctx, ten)
		if !b.Exhausted() || b.Remaining() != 0 || !b.Window.End.Equal(utc("2026-02-01T00:00:00Z")) {
			t.Fatalf("at the budget: %+v", b)
		}
		if o := l.Budget(ctx, other); o.Exhausted() || o.Spent != 0 {
			t.Fatalf("another key: %+v", o)
		}
		clk.Add(time.Hour) // 2026-02-01T00:00:00Z: a new day
		if b := l.Budget(ctx, ten); b.Exhausted() || b.Spent != 0 || b.Window.ID != "d2026-02-01" {
			t.Fatalf("next day: %+v", b)
		}
	})
}

func TestMonthlyBudgetCarriesAcrossDaysButNotMonths(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() Store) {
		clk := &clock{t: utc("2026-02-27T10:00:00Z")}
		l := NewLimiter(LimiterOptions{Store: newStore(), Now: clk.Now})
		ten := &Tenant{KeyID: "key_month", Budget: &Budget{Limit: money.Dollar, Period: PeriodMonth}}
		ctx := context.Background()
		l.Charge(ctx, ten, money.Dollar/2, 0)
		clk.Add(24 * time.Hour) // Feb 28: same month
		if b := l.Budget(ctx, ten); b.Spent != money.Dollar/2 {
			t.Fatalf("next day, same month: %+v", b)
		}
		clk.Add(14 * time.Hour) // 2026-03-01T00:00Z
		if b := l.Budget(ctx, ten); b.Spent != 0 || b.Window.ID != "m2026-03" {
			t.Fatalf("new month: %+v", b)
		}
	})
}

func TestSeedSetsSpendOnceAndSharedStateWins(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() Store) {
		clk := &clock{t: start}
		st := newStore()
		ten := &Tenant{KeyID: "key_seed", Budget: &Budget{Limit: money.Dollar, Period: PeriodTotal}}
		var asked []time.Time
		ledger := func(_ context.Context, since time.Time) (map[string]money.USD, error) {
			asked = append(asked, since)
			return map[string]money.USD{"key_seed": 300 * money.Dollar / 1000}, nil
		}
		l := NewLimiter(LimiterOptions{Store: st, Now: clk.Now})
		if err := l.Seed(context.Background(), []*Tenant{ten, {KeyID: "key_free"}}, ledger); err != nil {
			t.Fatal(err)
		}
		if len(asked) != 1 || !asked[0].Equal(time.Unix(0, 0)) {
			t.Fatalf("ledger asked for %v", asked)
		}
		if b := l.Budget(context.Background(), ten); b.Spent != 300*money.Dollar/1000 {
			t.Fatalf("seeded: %+v", b)
		}
		// Another replica has counted more since: a second seed must not lower it.
		l.Charge(context.Background(), ten, 100*money.Dollar/1000, 0)
		if err := l.Seed(context.Background(), []*Tenant{ten}, ledger); err != nil {
			t.Fatal(err)
		}
		if b := l.Budget(context.Background(), ten); b.Spent != 400*money.Dollar/1000 {
			t.Fatalf("re-seeded over a present value: %+v", b)
		}
	})
}

func TestRequestsPerMinuteAdmitsNThenRefusesUntilRefilled(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() Store) {
		clk := &clock{t: start}
		l := NewLimiter(LimiterOptions{Store: newStore(), Now: clk.Now})
		ten := &Tenant{KeyID: "key_rpm", Rate: RateLimit{RequestsPerMinute: 3}}
		ctx := context.Background()
		for i := range 3 {
			d := l.AdmitRate(ctx, ten)
			if !d.Known || d.Refused != "" || d.State.Requests.Remaining() != int64(2-i) {
				t.Fatalf("request %d: %+v", i+1, d)
			}
		}
		d := l.AdmitRate(ctx, ten)
		if d.Refused != "requests" || d.State.Requests.Remaining() != 0 {
			t.Fatalf("4th request: %+v", d)
		}
		// One request comes back every 20s; the full bucket after a minute.
		if ra := d.State.RetryAfter(); ra != 20*time.Second {
			t.Fatalf("retry after %s", ra)
		}
		if r := d.State.Requests.Reset(); r != time.Minute {
			t.Fatalf("reset %s", r)
		}
		clk.Add(19 * time.Second)
		if d := l.AdmitRate(ctx, ten); d.Refused == "" {
			t.Fatalf("admitted before a request refilled: %+v", d)
		}
		clk.Add(time.Second)
		if d := l.AdmitRate(ctx, ten); d.Refused != "" {
			t.Fatalf("refused once refilled: %+v", d)
		}
		// Another key has its own bucket.
		if d := l.AdmitRate(ctx, &Tenant{KeyID: "key_rpm2", Rate: RateLimit{RequestsPerMinute: 1}}); d.Refused != "" {
			t.Fatalf("another key: %+v", d)
		}
	})
}

func TestTokensPerMinuteRefusesOnlyOnceTheBucketIsEmpty(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() Store) {
		clk := &clock{t: start}
		l := NewLimiter(LimiterOptions{Store: newStore(), Now: clk.Now})
		ten := &Tenant{KeyID: "key_tpm", Rate: RateLimit{TokensPerMinute: 600}}
		ctx := context.Background()
		if d := l.AdmitRate(ctx, ten); d.Refused != "" || d.State.Tokens.Remaining() != 600 {
			t.Fatalf("first: %+v", d)
		}
		l.Charge(ctx, ten, 0, 599) // one token left: still admitted
		if d := l.AdmitRate(ctx, ten); d.Refused != "" || d.State.Tokens.Remaining() != 1 {
			t.Fatalf("one token left: %+v", d)
		}
		l.Charge(ctx, ten, 0, 61) // 60 below zero
		d := l.AdmitRate(ctx, ten)
		if d.Refused != "tokens" || d.State.Tokens.Remaining() != 0 {
			t.Fatalf("below zero: %+v", d)
		}
		// 10 tokens a second: 6s back to zero, one more token to be above it.
		if ra := d.State.RetryAfter(); ra != 6100*time.Millisecond {
			t.Fatalf("retry after %s", ra)
		}
		clk.Add(6100 * time.Millisecond)
		if d := l.AdmitRate(ctx, ten); d.Refused != "" {
			t.Fatalf("refused after refilling: %+v", d)
		}
	})
}

// failingStore fails every call and counts them.
type failingStore struct {
	mu    sync.Mutex
	calls int
}

var errDown = errors.New("connection refused")

func (f *failingStore) count() { f.mu.Lock(); f.calls++; f.mu.Unlock() }
func (f *failingStore) Spend(context.Context, string, Window) (money.USD, error) {
	f.count()
	return 0, errDown
}
func (f *failingStore) AddSpend(context.Context, string, Window, money.USD, time.Time) (money.USD, error) {
	f.count()
	return 0, errDown
}
func (f *failingStore) SeedSpend(context.Context, string, Window, money.USD, time.Time) error {
	f.count()
	return errDown
}
func (f *failingStore) Rate(context.Context, string, RateLimit, RateOp, time.Time) (RateState, bool, error) {
	f.count()
	return RateState{}, false, errDown
}

func TestAFailingStoreLetsRequestsThroughAndIsLeftAloneWhileCoolingDown(t *testing.T) {
	clk := &clock{t: start}
	fs := &failingStore{}
	errs := 0
	l := NewLimiter(LimiterOptions{Store: fs, Now: clk.Now, OnStoreError: func() { errs++ }, CoolDown: 5 * time.Second})
	ten := &Tenant{KeyID: "key_x", Budget: &Budget{Limit: 1, Period: PeriodDay}, Rate: RateLimit{RequestsPerMinute: 1}}
	ctx := context.Background()
	if d := l.AdmitRate(ctx, ten); d.Refused != "" || d.Known {
		t.Fatalf("rate with the store down: %+v", d)
	}
	if b := l.Budget(ctx, ten); b.Exhausted() || b.Known {
		t.Fatalf("budget with the store down: %+v", b)
	}
	l.Charge(ctx, ten, money.Dollar, 100)
	if fs.calls != 1 || errs != 1 {
		t.Fatalf("store called %d times, %d errors counted: the cool-down should spare it", fs.calls, errs)
	}
	clk.Add(5 * time.Second)
	l.AdmitRate(ctx, ten)
	if fs.calls != 2 || errs != 2 {
		t.Fatalf("after the cool-down: %d calls, %d errors", fs.calls, errs)
	}
}

func TestRedisBucketsAreSharedBetweenLimiters(t *testing.T) {
	c := redisClient(t)
	p := servicetest.RedisPrefix(t, c)
	clk := &clock{t: start}
	a := NewLimiter(LimiterOptions{Store: NewRedisStore(c, p), Now: clk.Now})
	b := NewLimiter(LimiterOptions{Store: NewRedisStore(c, p), Now: clk.Now})
	ten := &Tenant{KeyID: "key_shared", Rate: RateLimit{RequestsPerMinute: 2}, Budget: &Budget{Limit: money.Dollar, Period: PeriodMonth}}
	ctx := context.Background()
	if a.AdmitRate(ctx, ten).Refused != "" || b.AdmitRate(ctx, ten).Refused != "" {
		t.Fatal("first two refused")
	}
	if a.AdmitRate(ctx, ten).Refused == "" || b.AdmitRate(ctx, ten).Refused == "" {
		t.Fatal("third admitted: the replicas do not share the bucket")
	}
	a.Charge(ctx, ten, money.Dollar, 0)
	if !b.Budget(ctx, ten).Exhausted() {
		t.Fatal("spend on one replica not seen by the other")
	}
	// The month's counter goes a day after the month ends (by the limiter's clock).
	ttl := c.TTL(ctx, p+"spend:{key_shared}:m2026-01").Val()
	if want := 25 * time.Hour; ttl <= want-time.Minute || ttl > want {
		t.Fatalf("spend counter TTL %s, want about %s", ttl, want)
	}
}
