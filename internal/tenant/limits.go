package tenant

import (
	"fmt"
	"math"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Period is the span a budget counts spend over.
type Period string

const (
	PeriodDay   Period = "day"   // a calendar day in UTC
	PeriodMonth Period = "month" // a calendar month in UTC
	PeriodTotal Period = "total" // the key's lifetime: never resets
)

// ParsePeriod reads a configured period; "" is a month.
func ParsePeriod(s string) (Period, error) {
	switch Period(s) {
	case "":
		return PeriodMonth, nil
	case PeriodDay, PeriodMonth, PeriodTotal:
		return Period(s), nil
	}
	return "", fmt.Errorf("unknown budget period %q (day, month or total)", s)
}

// Window is one occurrence of a period: spend is counted from Start until End, when
// it starts again from zero. End is zero for a lifetime budget.
type Window struct {
	Start, End time.Time
	// ID names the window in shared state ("d2026-11-29", "m2026-11", "total").
	ID string
}

// Window returns the occurrence of p that contains t.
func (p Period) Window(t time.Time) Window {
	t = t.UTC()
	switch p {
	case PeriodDay:
		s := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return Window{Start: s, End: s.AddDate(0, 0, 1), ID: "d" + s.Format("2006-01-02")}
	case PeriodTotal:
		return Window{Start: time.Unix(0, 0).UTC(), ID: "total"}
	default:
		s := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return Window{Start: s, End: s.AddDate(0, 1, 0), ID: "m" + s.Format("2006-01")}
	}
}

// Budget is a hard cap on what a key may spend upstream in a period.
type Budget struct {
	Limit  money.USD
	Period Period
}

// RateLimit bounds a key's requests and tokens per minute; zero is unlimited.
// Tokens are the input and output tokens providers reported, charged after the
// response: a request is refused only once the token bucket is empty or below.
type RateLimit struct {
	RequestsPerMinute int64
	TokensPerMinute   int64
}

// Any reports whether either limit is set.
func (r RateLimit) Any() bool { return r.RequestsPerMinute > 0 || r.TokensPerMinute > 0 }

// Bucket is the state of one token bucket of capacity Limit that refills Limit units
// per minute, continuously. Level may be negative after a large token charge.
type Bucket struct {
	Limit int64
	Level float64
}

// perMinute is the refill period of every bucket.
const perMinute = time.Minute

// refill returns the level after elapsed time, never above the capacity.
func refill(level float64, capacity int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return level
	}
	return math.Min(float64(capacity), level+float64(capacity)*elapsed.Seconds()/perMinute.Seconds())
}

// Remaining is the whole units left now (never negative).
func (b Bucket) Remaining() int64 {
	if b.Level <= 0 {
		return 0
	}
	return int64(math.Floor(b.Level))
}

// untilLevel is how long the bucket takes to reach level from where it is.
func (b Bucket) untilLevel(level float64) time.Duration {
	if b.Limit <= 0 || b.Level >= level {
		return 0
	}
	return time.Duration(math.Ceil((level - b.Level) / float64(b.Limit) * float64(perMinute)))
}

// Reset is how long until the bucket is full again (OpenAI's x-ratelimit-reset-*).
func (b Bucket) Reset() time.Duration { return b.untilLevel(float64(b.Limit)) }

// RateState is the state of a key's two buckets; a bucket with Limit 0 is unlimited.
type RateState struct {
	Requests, Tokens Bucket
}

// RetryAfter is how long a refused request should wait: until a request is in the
// bucket again and the token bucket is above zero.
func (s RateState) RetryAfter() time.Duration {
	d := s.Requests.untilLevel(1)
	if s.Tokens.Limit > 0 && s.Tokens.Level <= 0 {
		// Strictly above zero: a whole token, so that the wait is never 0.
		d = max(d, s.Tokens.untilLevel(1))
	}
	return d
}

// admits reports whether a request may start: one request in its bucket and the
// token bucket above zero. It names the bucket that refused ("requests", "tokens").
func (s RateState) admits() (bool, string) {
	if s.Requests.Limit > 0 && s.Requests.Level < 1 {
		return false, "requests"
	}
	if s.Tokens.Limit > 0 && s.Tokens.Level <= 0 {
		return false, "tokens"
	}
	return true, ""
}
