package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

func served() ledger.Record {
	return ledger.Record{
		ServedModel: "gpt-4o-mini", Provider: "openai", ClientFormat: llm.FormatOpenAI, Cache: ledger.CacheMiss,
		Status: 200, Usage: llm.Usage{InputTokens: 100, CachedInputTokens: 40, OutputTokens: 30, ReasoningTokens: 10},
		Cost: 100_000_000, BaselineModel: "gpt-4o", BaselineCost: 300_000_000, Saved: 200_000_000,
		SavingCause: ledger.CauseRouting, Latency: 800 * time.Millisecond, TTFT: 100 * time.Millisecond,
		Overhead: 300 * time.Microsecond,
		Attempts: []ledger.Attempt{
			{Deployment: "azure", ErrorKind: llm.KindRateLimited, Status: 429},
			{Deployment: "openai", Status: 200},
		},
	}
}

func TestCostIsSummedExactlyInNanodollars(t *testing.T) {
	m := New()
	for range 3 {
		m.Observe(served()) // $0.1 each: float addition would give 0.30000000000000004
	}
	if got := testutil.ToFloat64(m.cost); got != 0.3 {
		t.Fatalf("cost = %v, want exactly 0.3", got)
	}
	if got := testutil.ToFloat64(m.saved); got != money.USD(600_000_000).Dollars() {
		t.Fatalf("saved = %v", got)
	}
}

func TestObserveCountsRequestTokensCacheAndUpstreamErrors(t *testing.T) {
	m := New()
	m.Observe(served())
	hit := ledger.Record{ServedModel: "gpt-4o-mini", Provider: "cache", Cache: ledger.CacheSemanticHit, Status: 200,
		Saved: 5, SavingCause: ledger.CauseCache}
	m.Observe(hit)
	m.Observe(ledger.Record{ServedModel: "gpt-4o", Provider: "openai", Status: 502, ErrorKind: llm.KindUpstreamServer,
		Attempts: []ledger.Attempt{{Deployment: "openai", ErrorKind: llm.KindUpstreamServer, Status: 500}}})
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"2xx miss", testutil.ToFloat64(m.requests.WithLabelValues("gpt-4o-mini", "openai", "openai", "miss", "2xx")), 1},
		{"5xx", testutil.ToFloat64(m.requests.WithLabelValues("gpt-4o", "openai", "", "miss", "5xx")), 1},
		{"semantic lookups", testutil.ToFloat64(m.cache.WithLabelValues("semantic-hit")), 1},
		{"miss lookups", testutil.ToFloat64(m.cache.WithLabelValues("miss")), 2},
		{"input tokens", testutil.ToFloat64(m.tokens.WithLabelValues("gpt-4o-mini", "openai", "input")), 100},
		{"cached tokens", testutil.ToFloat64(m.tokens.WithLabelValues("gpt-4o-mini", "openai", "cached_input")), 40},
		{"reasoning tokens", testutil.ToFloat64(m.tokens.WithLabelValues("gpt-4o-mini", "openai", "reasoning")), 10},
		{"rate limited at azure", testutil.ToFloat64(m.upstreamErr.WithLabelValues("rate_limited", "azure")), 1},
		{"server errors at openai", testutil.ToFloat64(m.upstreamErr.WithLabelValues("upstream_server", "openai")), 1},
		{"ok attempts at openai", testutil.ToFloat64(m.attempts.WithLabelValues("openai", "ok")), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.ttft); n != 1 {
		t.Errorf("ttft series = %d, want 1 (only the stream that sent a byte)", n)
	}
}

type stats ledger.WriterStats

func (s stats) Stats() ledger.WriterStats { return ledger.WriterStats(s) }

func TestLedgerQueueAndDropsAreScraped(t *testing.T) {
	m := New()
	m.WatchLedger(stats{Queued: 17, Written: 1000, DroppedFull: 3, DroppedShutdown: 2})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"arbiter_ledger_queue_depth 17",
		"arbiter_ledger_written_total 1000",
		`arbiter_ledger_dropped_total{reason="full"} 3`,
		`arbiter_ledger_dropped_total{reason="shutdown"} 2`,
		`arbiter_cache_lookups_total{result="hit"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestTwoInstancesDoNotShareState(t *testing.T) {
	a, b := New(), New()
	a.Observe(served())
	if n := testutil.CollectAndCount(b.cost); n != 0 {
		t.Fatalf("second instance has %d cost series from the first", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New()
	r := served()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(r)
		}
	})
}
