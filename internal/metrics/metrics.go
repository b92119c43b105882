// Package metrics exposes the gateway's Prometheus metrics from its own registry.
//
// The gateway calls Observe with the same ledger record it hands to the ledger
// writer, so /metrics and the ledger can never disagree about what happened. Money
// is summed in integer nanodollars and only turned into dollars when scraped.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/money"
)

// LedgerStats is what the ledger writer reports; *ledger.Writer implements it.
type LedgerStats interface{ Stats() ledger.WriterStats }

// Metrics holds the gateway's collectors. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	cost        *usdCounter
	baseline    *usdCounter
	saved       *usdCounter
	latency     *prometheus.HistogramVec
	ttft        *prometheus.HistogramVec
	overhead    prometheus.Histogram
	cache       *prometheus.CounterVec
	upstreamErr *prometheus.CounterVec
	attempts    *prometheus.CounterVec

	ledger atomic.Pointer[LedgerStats]
}

// latencyBuckets are in seconds: from a cache hit (sub-millisecond) to a long
// reasoning answer.
func latencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160}
}

// New builds the collectors on a fresh registry (with the Go runtime and process
// collectors).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_requests_total", Help: "Requests answered, by served model, provider, client format, cache status and status class.",
	}, []string{"model", "provider", "client_format", "cache", "code"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_tokens_total", Help: "Tokens by kind (input includes cached and cache_write; output includes reasoning).",
	}, []string{"model", "provider", "kind"})
	m.cost = newUSDCounter("arbiter_cost_dollars_total", "Money spent upstream, in US dollars.", "model", "provider")
	m.baseline = newUSDCounter("arbiter_baseline_cost_dollars_total", "What the baseline model would have cost, in US dollars.", "model")
	m.saved = newUSDCounter("arbiter_saved_dollars_total", "Baseline cost minus actual cost, in US dollars, by cause.", "cause")
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "arbiter_request_duration_seconds", Help: "Time from arrival to the last byte sent.", Buckets: latencyBuckets(),
	}, []string{"model", "provider"})
	m.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "arbiter_time_to_first_token_seconds", Help: "Time from arrival to the first streamed byte.", Buckets: latencyBuckets(),
	}, []string{"model", "provider"})
	m.overhead = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "arbiter_overhead_seconds", Help: "Time spent in Arbiter itself per request, excluding upstream waits.",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
	})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_cache_lookups_total", Help: "Requests by cache outcome: hit, semantic-hit, coalesced, miss, bypass.",
	}, []string{"result"})
	m.upstreamErr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_upstream_errors_total", Help: "Failed upstream attempts by error kind and deployment.",
	}, []string{"kind", "deployment"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_upstream_attempts_total", Help: "Upstream attempts by deployment and outcome (ok, error).",
	}, []string{"deployment", "outcome"})
	for _, c := range ledger.CacheStatuses() { // so that rates exist before the first hit
		m.cache.WithLabelValues(string(c))
	}
	m.reg.MustRegister(m.requests, m.tokens, m.cost, m.baseline, m.saved, m.latency, m.ttft,
		m.overhead, m.cache, m.upstreamErr, m.attempts, newLedgerCollector(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry behind Handler, for other packages' collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// WatchLedger reports the writer's queue depth, writes and drops at each scrape.
func (m *Metrics) WatchLedger(w LedgerStats) { m.ledger.Store(&w) }

// Observe counts one finished request from its ledger record.
func (m *Metrics) Observe(r ledger.Record) {
	cache := string(r.Cache)
	if cache == "" {
		cache = string(ledger.CacheMiss)
	}
	model, prov := r.ServedModel, r.Provider
	m.requests.WithLabelValues(model, prov, string(r.ClientFormat), cache, codeClass(r.Status)).Inc()
	m.cache.WithLabelValues(cache).Inc()
	u := r.Usage
	for _, t := range [...]struct {
		kind string
		n    int
	}{{"input", u.InputTokens}, {"cached_input", u.CachedInputTokens}, {"cache_write", u.CacheWriteTokens},
		{"output", u.OutputTokens}, {"reasoning", u.ReasoningTokens}} {
		if t.n > 0 {
			m.tokens.WithLabelValues(model, prov, t.kind).Add(float64(t.n))
		}
	}
	m.cost.add(r.Cost, model, prov)
	if r.BaselineCost != 0 {
		m.baseline.add(r.BaselineCost, r.BaselineModel)
	}
	if r.Saved != 0 {
		cause := string(r.SavingCause)
		if cause == "" {
			cause = string(ledger.CauseNone)
		}
		m.saved.add(r.Saved, cause)
	}
	m.latency.WithLabelValues(model, prov).Observe(r.Latency.Seconds())
	if r.TTFT > 0 {
		m.ttft.WithLabelValues(model, prov).Observe(r.TTFT.Seconds())
	}
	m.overhead.Observe(r.Overhead.Seconds())
	for _, a := range r.Attempts {
		if a.ErrorKind != "" {
			m.upstreamErr.WithLabelValues(string(a.ErrorKind), a.Deployment).Inc()
			m.attempts.WithLabelValues(a.Deployment, "error").Inc()
		} else {
			m.attempts.WithLabelValues(a.Deployment, "ok").Inc()
		}
	}
}

func codeClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// usdCounter sums nanodollars exactly per label set and reports dollars.
type usdCounter struct {
	desc *prometheus.Desc
	mu   sync.RWMutex
	vals map[string]*usdCell
}

type usdCell struct {
	labels []string
	nano   atomic.Int64
}

func newUSDCounter(name, help string, labels ...string) *usdCounter {
	return &usdCounter{desc: prometheus.NewDesc(name, help, labels, nil), vals: map[string]*usdCell{}}
}

func (c *usdCounter) add(v money.USD, labels ...string) {
	key := strings.Join(labels, "\xff")
	c.mu.RLock()
	cell := c.vals[key]
	c.mu.RUnlock()
	if cell == nil {
		c.mu.Lock()
		if cell = c.vals[key]; cell == nil {
			cell = &usdCell{labels: labels}
			c.vals[key] = cell
		}
		c.mu.Unlock()
	}
	cell.nano.Add(int64(v))
}

func (c *usdCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *usdCounter) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, cell := range c.vals {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue,
			money.USD(cell.nano.Load()).Dollars(), cell.labels...)
	}
}

// ledgerCollector reads the ledger writer's counters at scrape time.
type ledgerCollector struct {
	m *Metrics
	d ledgerDescs
}

type ledgerDescs struct{ queue, written, failures, dropped *prometheus.Desc }

func newLedgerCollector(m *Metrics) *ledgerCollector {
	return &ledgerCollector{m: m, d: ledgerDescs{
		queue: prometheus.NewDesc("arbiter_ledger_queue_depth",
			"Ledger records buffered in memory, waiting to be written.", nil, nil),
		written: prometheus.NewDesc("arbiter_ledger_written_total",
			"Ledger records written to the store.", nil, nil),
		failures: prometheus.NewDesc("arbiter_ledger_insert_failures_total",
			"Failed ledger inserts (each batch is retried).", nil, nil),
		dropped: prometheus.NewDesc("arbiter_ledger_dropped_total",
			"Ledger records dropped: full (buffer at its bound), shutdown (not written by the drain deadline), closed.",
			[]string{"reason"}, nil),
	}}
}

func (l *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.d.queue
	ch <- l.d.written
	ch <- l.d.failures
	ch <- l.d.dropped
}

func (l *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	var s ledger.WriterStats
	if p := l.m.ledger.Load(); p != nil {
		s = (*p).Stats()
	}
	ch <- prometheus.MustNewConstMetric(l.d.queue, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(l.d.written, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(l.d.failures, prometheus.CounterValue, float64(s.Failures))
	for _, d := range []struct {
		r ledger.DropReason
		n uint64
	}{{ledger.DropFull, s.DroppedFull}, {ledger.DropShutdown, s.DroppedShutdown}, {ledger.DropClosed, s.DroppedClosed}} {
		ch <- prometheus.MustNewConstMetric(l.d.dropped, prometheus.CounterValue, float64(d.n), string(d.r))
	}
}
