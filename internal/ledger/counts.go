package ledger

import (
	"encoding/json"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Counts is the additive summary of a set of records: every field is a sum, so the
// rollups store exactly this and merging two ranges is addition.
type Counts struct {
	Requests     int64
	Errors       int64 // status ≥ 400
	ServerErrors int64 // status ≥ 500
	Streams      int64
	Partials     int64
	Estimated    int64 // records whose tokens were counted by Arbiter, not reported

	CacheHits    int64
	SemanticHits int64
	Coalesced    int64
	Bypassed     int64

	Cost          money.USD
	BaselineCost  money.USD
	Saved         money.USD
	SavedCache    money.USD
	SavedRouting  money.USD
	SavedProvider money.USD

	InputTokens      int64
	CachedTokens     int64
	CacheWriteTokens int64
	OutputTokens     int64
	ReasoningTokens  int64

	LatencySum  time.Duration
	OverheadSum time.Duration
	TTFTCount   int64 // records with a time to first token (streams that sent a byte)
	TTFTSum     time.Duration

	Latency Histogram
	TTFT    Histogram
}

// Add counts one record.
func (c *Counts) Add(r *Record) {
	c.Requests++
	if r.Status >= 400 {
		c.Errors++
	}
	if r.Status >= 500 {
		c.ServerErrors++
	}
	if r.Stream {
		c.Streams++
	}
	if r.Partial {
		c.Partials++
	}
	if r.Usage.Estimated {
		c.Estimated++
	}
	switch r.Cache {
	case CacheHit:
		c.CacheHits++
	case CacheSemanticHit:
		c.SemanticHits++
	case CacheCoalesced:
		c.Coalesced++
	case CacheBypass:
		c.Bypassed++
	}
	c.Cost += r.Cost
	c.BaselineCost += r.BaselineCost
	c.Saved += r.Saved
	switch r.SavingCause {
	case CauseCache:
		c.SavedCache += r.Saved
	case CauseRouting:
		c.SavedRouting += r.Saved
	case CauseProvider:
		c.SavedProvider += r.Saved
	}
	c.InputTokens += int64(r.Usage.InputTokens)
	c.CachedTokens += int64(r.Usage.CachedInputTokens)
	c.CacheWriteTokens += int64(r.Usage.CacheWriteTokens)
	c.OutputTokens += int64(r.Usage.OutputTokens)
	c.ReasoningTokens += int64(r.Usage.ReasoningTokens)
	c.LatencySum += r.Latency.Truncate(time.Microsecond)
	c.OverheadSum += r.Overhead.Truncate(time.Microsecond)
	c.Latency.Observe(r.Latency)
	if r.TTFT > 0 {
		c.TTFTCount++
		c.TTFTSum += r.TTFT.Truncate(time.Microsecond)
		c.TTFT.Observe(r.TTFT)
	}
}

// Merge adds o into c.
func (c *Counts) Merge(o *Counts) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.ServerErrors += o.ServerErrors
	c.Streams += o.Streams
	c.Partials += o.Partials
	c.Estimated += o.Estimated
	c.CacheHits += o.CacheHits
	c.SemanticHits += o.SemanticHits
	c.Coalesced += o.Coalesced
	c.Bypassed += o.Bypassed
	c.Cost += o.Cost
	c.BaselineCost += o.BaselineCost
	c.Saved += o.Saved
	c.SavedCache += o.SavedCache
	c.SavedRouting += o.SavedRouting
	c.SavedProvider += o.SavedProvider
	c.InputTokens += o.InputTokens
	c.CachedTokens += o.CachedTokens
	c.CacheWriteTokens += o.CacheWriteTokens
	c.OutputTokens += o.OutputTokens
	c.ReasoningTokens += o.ReasoningTokens
	c.LatencySum += o.LatencySum
	c.OverheadSum += o.OverheadSum
	c.TTFTCount += o.TTFTCount
	c.TTFTSum += o.TTFTSum
	c.Latency.Merge(&o.Latency)
	c.TTFT.Merge(&o.TTFT)
}

// Totals is Counts with the figures people read derived from it.
type Totals struct {
	Counts

	ErrorRate      float64       // Errors / Requests
	CacheHitRate   float64       // (exact + semantic + coalesced) / Requests
	SavedPercent   float64       // Saved / BaselineCost × 100
	LatencyP50     time.Duration // estimated from the histogram
	LatencyP90     time.Duration
	LatencyP99     time.Duration
	LatencyMean    time.Duration
	TTFTP50        time.Duration
	TTFTP99        time.Duration
	OverheadMean   time.Duration
	OtherSaved     money.USD // saving not attributed to a cause (should be zero)
	CacheServed    int64     // requests answered without an upstream call
	UpstreamCalled int64     // Requests − CacheServed
}

// Totals derives the readable figures.
func (c *Counts) Totals() Totals {
	t := Totals{Counts: *c}
	t.CacheServed = c.CacheHits + c.SemanticHits + c.Coalesced
	t.UpstreamCalled = c.Requests - t.CacheServed
	t.OtherSaved = c.Saved - c.SavedCache - c.SavedRouting - c.SavedProvider
	if c.Requests > 0 {
		t.ErrorRate = float64(c.Errors) / float64(c.Requests)
		t.CacheHitRate = float64(t.CacheServed) / float64(c.Requests)
		t.LatencyMean = c.LatencySum / time.Duration(c.Requests)
		t.OverheadMean = c.OverheadSum / time.Duration(c.Requests)
	}
	if c.BaselineCost != 0 {
		t.SavedPercent = float64(c.Saved) / float64(c.BaselineCost) * 100
	}
	t.LatencyP50 = c.Latency.Quantile(0.50)
	t.LatencyP90 = c.Latency.Quantile(0.90)
	t.LatencyP99 = c.Latency.Quantile(0.99)
	t.TTFTP50 = c.TTFT.Quantile(0.50)
	t.TTFTP99 = c.TTFT.Quantile(0.99)
	return t
}

// MarshalJSON writes totals for the analytics API: money as nanodollars and exact
// decimal dollars, durations in milliseconds, without the raw histograms.
func (t Totals) MarshalJSON() ([]byte, error) {
	type usd struct {
		Nano money.USD `json:"nanousd"`
		USD  string    `json:"usd"`
	}
	m := func(v money.USD) usd { return usd{v, v.Decimal()} }
	return json.Marshal(struct {
		Requests         int64   `json:"requests"`
		Errors           int64   `json:"errors"`
		ServerErrors     int64   `json:"server_errors"`
		ErrorRate        float64 `json:"error_rate"`
		Streams          int64   `json:"streams"`
		Partials         int64   `json:"partials"`
		Estimated        int64   `json:"estimated"`
		CacheHits        int64   `json:"cache_hits"`
		SemanticHits     int64   `json:"semantic_hits"`
		Coalesced        int64   `json:"coalesced"`
		Bypassed         int64   `json:"bypassed"`
		CacheHitRate     float64 `json:"cache_hit_rate"`
		Cost             usd     `json:"cost"`
		BaselineCost     usd     `json:"baseline_cost"`
		Saved            usd     `json:"saved"`
		SavedPercent     float64 `json:"saved_percent"`
		SavedCache       usd     `json:"saved_cache"`
		SavedRouting     usd     `json:"saved_routing"`
		SavedProvider    usd     `json:"saved_provider"`
		InputTokens      int64   `json:"input_tokens"`
		CachedTokens     int64   `json:"cached_tokens"`
		CacheWriteTokens int64   `json:"cache_write_tokens"`
		OutputTokens     int64   `json:"output_tokens"`
		ReasoningTokens  int64   `json:"reasoning_tokens"`
		LatencyP50       float64 `json:"latency_p50_ms"`
		LatencyP90       float64 `json:"latency_p90_ms"`
		LatencyP99       float64 `json:"latency_p99_ms"`
		LatencyMean      float64 `json:"latency_mean_ms"`
		TTFTP50          float64 `json:"ttft_p50_ms"`
		TTFTP99          float64 `json:"ttft_p99_ms"`
		OverheadMean     float64 `json:"overhead_mean_ms"`
	}{
		t.Requests, t.Errors, t.ServerErrors, t.ErrorRate, t.Streams, t.Partials, t.Estimated,
		t.CacheHits, t.SemanticHits, t.Coalesced, t.Bypassed, t.CacheHitRate,
		m(t.Cost), m(t.BaselineCost), m(t.Saved), t.SavedPercent,
		m(t.SavedCache), m(t.SavedRouting), m(t.SavedProvider),
		t.InputTokens, t.CachedTokens, t.CacheWriteTokens, t.OutputTokens, t.ReasoningTokens,
		ms(t.LatencyP50), ms(t.LatencyP90), ms(t.LatencyP99), ms(t.LatencyMean),
		ms(t.TTFTP50), ms(t.TTFTP99), ms(t.OverheadMean),
	})
}
