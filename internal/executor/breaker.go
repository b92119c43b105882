package executor

import (
	"sync"
	"time"
)

// BreakerState is the state of a deployment's circuit breaker.
type BreakerState string

const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half-open"
)

// BreakerConfig says when a breaker opens and when it probes again.
type BreakerConfig struct {
	// ConsecutiveFailures opens the breaker after this many failures in a row.
	ConsecutiveFailures int
	// ErrorRate opens it when the share of failures over Window reaches this rate
	// (with at least MinRequests outcomes in the window).
	ErrorRate   float64
	MinRequests int
	Window      time.Duration
	// CoolDown is how long an open breaker waits before letting one probe through.
	CoolDown time.Duration
}

// DefaultBreaker is a breaker that tolerates the odd failure but opens on an outage.
func DefaultBreaker() BreakerConfig {
	return BreakerConfig{ConsecutiveFailures: 5, ErrorRate: 0.5, MinRequests: 20, Window: 30 * time.Second, CoolDown: 10 * time.Second}
}

// breaker tracks one deployment. Outcomes are counted in one-second buckets over the
// window, so memory is fixed and a check is a short loop.
type breaker struct {
	mu          sync.Mutex
	cfg         BreakerConfig
	state       BreakerState
	consecutive int
	openedAt    time.Time
	probing     bool
	buckets     []bucket
	latencyEWMA float64 // seconds, successful attempts only
	opens       int64
}

type bucket struct {
	sec       int64
	ok, fails int
}

func newBreaker(cfg BreakerConfig) *breaker {
	n := int(cfg.Window / time.Second)
	if n < 1 {
		n = 1
	}
	return &breaker{cfg: cfg, state: BreakerClosed, buckets: make([]bucket, n)}
}

// allow reports whether an attempt may be made now. In the half-open state only one
// probe is let through at a time; its outcome closes or re-opens the breaker.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return true
	case BreakerOpen:
		if now.Sub(b.openedAt) < b.cfg.CoolDown {
			return false
		}
		b.state = BreakerHalfOpen
		b.probing = true
		return true
	default: // half-open
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
}

func (b *breaker) record(now time.Time, ok bool, latency time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sec := now.Unix()
	bk := &b.buckets[int(sec%int64(len(b.buckets)))]
	if bk.sec != sec {
		*bk = bucket{sec: sec}
	}
	if ok {
		bk.ok++
		b.consecutive = 0
		l := latency.Seconds()
		if b.latencyEWMA == 0 {
			b.latencyEWMA = l
		} else {
			b.latencyEWMA = 0.8*b.latencyEWMA + 0.2*l
		}
		if b.state != BreakerClosed {
			b.state = BreakerClosed
			b.probing = false
			// A fresh start: the failures that opened it are history.
			for i := range b.buckets {
				b.buckets[i] = bucket{}
			}
		}
		return
	}
	bk.fails++
	b.consecutive++
	if b.state == BreakerHalfOpen {
		b.open(now)
		return
	}
	if b.state == BreakerClosed {
		if b.cfg.ConsecutiveFailures > 0 && b.consecutive >= b.cfg.ConsecutiveFailures {
			b.open(now)
			return
		}
		okN, failN := b.window(sec)
		if b.cfg.ErrorRate > 0 && okN+failN >= b.cfg.MinRequests && float64(failN)/float64(okN+failN) >= b.cfg.ErrorRate {
			b.open(now)
		}
	}
}

// release ends a half-open probe that was abandoned without an outcome (the client
// left), so that the next request may probe.
func (b *breaker) release() {
	b.mu.Lock()
	if b.state == BreakerHalfOpen {
		b.probing = false
	}
	b.mu.Unlock()
}

func (b *breaker) open(now time.Time) {
	b.state = BreakerOpen
	b.openedAt = now
	b.probing = false
	b.opens++
}

func (b *breaker) window(sec int64) (ok, fails int) {
	for _, bk := range b.buckets {
		if sec-bk.sec < int64(len(b.buckets)) {
			ok += bk.ok
			fails += bk.fails
		}
	}
	return ok, fails
}

// Health is what the admin endpoint and metrics show of a deployment.
type Health struct {
	Deployment string       `json:"deployment"`
	State      BreakerState `json:"state"`
	Requests   int          `json:"requests_in_window"`
	ErrorRate  float64      `json:"error_rate"`
	LatencyMS  float64      `json:"latency_ewma_ms"`
	Opens      int64        `json:"opens"`
}

func (b *breaker) health(id string, now time.Time) Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, fails := b.window(now.Unix())
	h := Health{Deployment: id, State: b.state, Requests: ok + fails, LatencyMS: b.latencyEWMA * 1000, Opens: b.opens}
	if b.state == BreakerOpen && now.Sub(b.openedAt) >= b.cfg.CoolDown {
		h.State = BreakerHalfOpen // next request probes
	}
	if ok+fails > 0 {
		h.ErrorRate = float64(fails) / float64(ok+fails)
	}
	return h
}
