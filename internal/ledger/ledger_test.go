package ledger_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestRecordJSONRoundTripsExactly(t *testing.T) {
	r := ledger.Record{
		Time: time.Date(2026, 2, 3, 4, 5, 6, 789123000, time.UTC), RequestID: "req_1", Tenant: "acme", KeyID: "k1",
		ClientFormat: llm.FormatAnthropic, RequestedModel: "auto", Route: "auto", RouteReason: "cheapest-qualified",
		ServedModel: "claude-3-5-haiku", Provider: "anthropic", Cache: ledger.CacheSemanticHit, Similarity: 0.93,
		MatchedEntryID: "e1", Usage: llm.Usage{InputTokens: 10, CachedInputTokens: 5, CacheWriteTokens: 1, OutputTokens: 7,
			ReasoningTokens: 3, Estimated: true},
		Cost: 123_456_789_012, BaselineModel: "gpt-4o", BaselineCost: 999, Saved: -123_456_788_013, SavingCause: ledger.CauseRouting,
		Latency: 1234567 * time.Microsecond, TTFT: 89 * time.Millisecond, Overhead: 250 * time.Microsecond,
		Status: 200, Attempts: []ledger.Attempt{{Deployment: "a", Model: "m", ErrorKind: llm.KindTimeout, Status: 504,
			Latency: 30001 * time.Microsecond}},
		Stream: true, Partial: true,
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got ledger.Record
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\njson %s", got, r, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["cost_usd"] != "123.456789012" || m["saved_usd"] != "-123.456788013" || m["latency_ms"] != 1234.567 {
		t.Fatalf("wire shape: %s", b)
	}
}

func TestRecordJSONAcceptsDecimalDollarsAlone(t *testing.T) {
	var r ledger.Record
	if err := json.Unmarshal([]byte(`{"request_id":"x","cost_usd":"0.000123","baseline_cost_usd":"1.5","saved_usd":"1.499877"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Cost != 123_000 || r.BaselineCost != 1_500_000_000 || r.Saved != 1_499_877_000 {
		t.Fatalf("%+v", r)
	}
}

func TestHistogramBucketsAndQuantiles(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {100 * time.Microsecond, 0}, {101 * time.Microsecond, 1}, {time.Millisecond, 3},
		{time.Second, ledger.BucketOf(time.Second)}, {time.Hour, ledger.NumBuckets - 1},
	}
	for _, c := range cases {
		if got := ledger.BucketOf(c.d); got != c.want {
			t.Errorf("BucketOf(%s) = %d, want %d", c.d, got, c.want)
		}
	}
	if ub := ledger.BucketUpperBound(ledger.BucketOf(time.Second)); ub != time.Second {
		t.Errorf("1s falls in a bucket bounded by %s", ub)
	}
	var h ledger.Histogram
	for i := 1; i <= 1000; i++ { // 1ms .. 1000ms uniformly
		h.Observe(time.Duration(i) * time.Millisecond)
	}
	for _, q := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}} {
		got := h.Quantile(q.q)
		// Interpolation inside a bucket: within the bucket's width of the truth.
		lo, hi := q.want*7/10, q.want*13/10
		if got < lo || got > hi {
			t.Errorf("p%.0f = %s, want about %s", q.q*100, got, q.want)
		}
	}
	var empty ledger.Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	prev := time.Duration(0)
	for q := 0.01; q <= 1; q += 0.01 {
		if v := h.Quantile(q); v < prev {
			t.Fatalf("quantiles not monotonic at %.2f", q)
		} else {
			prev = v
		}
	}
}

func TestCountsMergeEqualsAddingEverything(t *testing.T) {
	recs := []ledger.Record{
		{Status: 200, Cost: 5, Saved: 3, SavingCause: ledger.CauseCache, Cache: ledger.CacheHit, Latency: time.Millisecond},
		{Status: 503, Cost: 7, Stream: true, TTFT: time.Second, Latency: 2 * time.Second},
		{Status: 200, Cost: 1, Saved: -2, SavingCause: ledger.CauseProvider, Usage: llm.Usage{InputTokens: 9}},
	}
	var all, a, b ledger.Counts
	for i := range recs {
		all.Add(&recs[i])
	}
	a.Add(&recs[0])
	b.Add(&recs[1])
	b.Add(&recs[2])
	a.Merge(&b)
	if !reflect.DeepEqual(a, all) {
		t.Fatalf("merge %+v != %+v", a, all)
	}
	tot := all.Totals()
	if tot.ErrorRate != 1.0/3 || tot.ServerErrors != 1 || tot.CacheServed != 1 || tot.Saved != 1 || tot.TTFTCount != 1 {
		t.Fatalf("totals %+v", tot)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := ledger.Cursor{TimeUS: 1_780_000_000_123_456, ID: 98765}
	got, ok, err := ledger.ParseCursor(c.String())
	if err != nil || !ok || got != c {
		t.Fatalf("%+v %v %v", got, ok, err)
	}
	if _, ok, err := ledger.ParseCursor(""); ok || err != nil {
		t.Fatal("empty cursor is the start")
	}
	for _, bad := range []string{"!!", "bm90LWEtY3Vyc29y", "MTIz"} {
		if _, _, err := ledger.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

func TestParseGroupBy(t *testing.T) {
	for in, want := range map[string]struct {
		d  ledger.Dimension
		iv ledger.Interval
	}{"model": {ledger.ByModel, ""}, "day": {"", ledger.Daily}, "HOUR": {"", ledger.Hourly}, "key": {ledger.ByKey, ""},
		"provider": {ledger.ByProvider, ""}, "cache": {ledger.ByCache, ""}, "route": {ledger.ByRoute, ""}, "": {"", ""}} {
		d, iv, err := ledger.ParseGroupBy(in)
		if err != nil || d != want.d || iv != want.iv {
			t.Errorf("ParseGroupBy(%q) = %q %q %v", in, d, iv, err)
		}
	}
	if _, _, err := ledger.ParseGroupBy("colour"); err == nil {
		t.Error("unknown grouping accepted")
	}
}
