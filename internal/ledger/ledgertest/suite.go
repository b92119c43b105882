// Package ledgertest is the behaviour every ledger.Store must have, as one test
// suite that the SQLite and PostgreSQL stores both run.
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/synth"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// Open returns an empty store that the test owns (and closes via t.Cleanup).
type Open func(t *testing.T) ledger.Store

// Run runs the suite.
func Run(t *testing.T, open Open) {
	t.Run("GetReturnsEveryFieldAsInserted", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("GetUnknownIsNotFound", func(t *testing.T) { testNotFound(t, open(t)) })
	t.Run("EmptyStoreSummarisesToZero", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("SummaryEqualsSumOfRecordsForAnyRange", func(t *testing.T) { testSummaryExact(t, open(t)) })
	t.Run("RequestLogPagesWithoutGapsOrRepeats", func(t *testing.T) { testPaging(t, open(t)) })
	t.Run("RequestLogFilters", func(t *testing.T) { testLogFilters(t, open(t)) })
}

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func full() ledger.Record {
	return ledger.Record{
		Time: t0.Add(90*time.Minute + 123456*time.Microsecond), RequestID: "req_full", Tenant: "acme",
		KeyID: "key_1", ClientFormat: llm.FormatAnthropic, RequestedModel: "auto", Route: "auto",
		RouteReason: "cheapest-qualified", ServedModel: "claude-3-5-haiku", Provider: "anthropic",
		Cache: ledger.CacheSemanticHit, Similarity: 0.9375, MatchedEntryID: "sem_42",
		Usage: llm.Usage{InputTokens: 1200, CachedInputTokens: 1000, CacheWriteTokens: 100,
			OutputTokens: 300, ReasoningTokens: 120, Estimated: true},
		Cost: 1_234_567, BaselineModel: "gpt-4o", BaselineCost: 9_876_543, Saved: 8_641_976,
		SavingCause: ledger.CauseRouting, Latency: 812345 * time.Microsecond,
		TTFT: 120 * time.Millisecond, Overhead: 1500 * time.Microsecond, Status: 200,
		Attempts: []ledger.Attempt{
			{Deployment: "bedrock-us", Model: "claude-3-5-haiku", ErrorKind: llm.KindRateLimited, Status: 429, Latency: 40 * time.Millisecond},
			{Deployment: "anthropic", Model: "claude-3-5-haiku", Status: 200, Latency: 700 * time.Millisecond},
		},
		Stream: true, Partial: true,
	}
}

func insert(t *testing.T, s ledger.Store, recs ...ledger.Record) {
	t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 500)
		if err := s.Insert(context.Background(), recs[:n]); err != nil {
			t.Fatalf("insert: %v", err)
		}
		recs = recs[n:]
	}
}

func testRoundTrip(t *testing.T, s ledger.Store) {
	want := full()
	plain := ledger.Record{Time: t0.Add(time.Hour), RequestID: "req_plain", Status: 502,
		ErrorKind: llm.KindUpstreamServer, Cost: -5} // negative money must survive too
	insert(t, s, want, plain)
	got, err := s.Get(context.Background(), "req_full")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("round trip changed the record:\n got %+v\nwant %+v", *got, want)
	}
	got, err = s.Get(context.Background(), "req_plain")
	if err != nil {
		t.Fatal(err)
	}
	plain.Normalize()
	if !reflect.DeepEqual(*got, plain) {
		t.Errorf("normalized defaults:\n got %+v\nwant %+v", *got, plain)
	}
	if got.MatchedEntryID != "" || got.Cache != ledger.CacheMiss || got.SavingCause != ledger.CauseNone {
		t.Errorf("defaults: %+v", got)
	}
}

func testNotFound(t *testing.T, s ledger.Store) {
	if _, err := s.Get(context.Background(), "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Get(unknown) = %v, want ErrNotFound", err)
	}
}

func testEmpty(t *testing.T, s ledger.Store) {
	sum, err := s.Summary(context.Background(), ledger.Query{From: t0, To: t0.Add(72 * time.Hour),
		GroupBy: ledger.ByModel, Interval: ledger.Daily})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Totals.Requests != 0 || len(sum.Groups) != 0 || len(sum.Series) != 3 {
		t.Fatalf("empty summary: %+v", sum)
	}
	page, err := s.Requests(context.Background(), ledger.RequestFilter{}, "", 10)
	if err != nil || len(page.Records) != 0 || page.Next != "" {
		t.Fatalf("empty log: %+v %v", page, err)
	}
}

// brute computes what a Summary must say, straight from the records.
func brute(recs []ledger.Record, q ledger.Query) (ledger.Counts, map[string]ledger.Counts, map[int64]ledger.Counts) {
	var tot ledger.Counts
	groups := map[string]ledger.Counts{}
	series := map[int64]ledger.Counts{}
	for i := range recs {
		r := recs[i]
		r.Normalize()
		if r.Time.Before(q.From) || !r.Time.Before(q.To) || !matches(&r, &q.Filter) {
			continue
		}
		tot.Add(&r)
		if q.GroupBy != ledger.ByNone {
			c := groups[dim(&r, q.GroupBy)]
			c.Add(&r)
			groups[dim(&r, q.GroupBy)] = c
		}
		if w := q.Interval.Seconds(); w > 0 {
			b := r.Time.Unix() - r.Time.Unix()%w
			c := series[b]
			c.Add(&r)
			series[b] = c
		}
	}
	return tot, groups, series
}

func dim(r *ledger.Record, d ledger.Dimension) string {
	switch d {
	case ledger.ByModel:
		return r.ServedModel
	case ledger.ByProvider:
		return r.Provider
	case ledger.ByKey:
		return r.KeyID
	case ledger.ByTenant:
		return r.Tenant
	case ledger.ByCache:
		return string(r.Cache)
	case ledger.ByRoute:
		return r.RouteReason
	}
	return ""
}

func matches(r *ledger.Record, f *ledger.Filter) bool {
	in := func(v string, set []string) bool { return len(set) == 0 || slices.Contains(set, v) }
	return in(r.ServedModel, f.Models) && in(r.Provider, f.Providers) && in(r.KeyID, f.Keys) &&
		in(r.Tenant, f.Tenants) && in(r.RouteReason, f.Routes) &&
		(len(f.Cache) == 0 || slices.Contains(f.Cache, r.Cache))
}

func testSummaryExact(t *testing.T, s ledger.Store) {
	// Three days and a bit, so ranges cross raw edges, hours and whole days.
	from, to := t0.Add(-7*time.Hour-13*time.Minute), t0.Add(3*24*time.Hour+5*time.Hour)
	recs := synth.New(synth.Options{From: from, To: to, N: 6000, Keys: 8, Tenants: 3, Seed: 7}).Fill(6000)
	// Most records arrive in time order, in batches that move the rollup watermark;
	// every tenth arrives at the end, long after its hour was rolled up.
	var onTime, late []ledger.Record
	for i, r := range recs {
		if i%10 == 3 {
			late = append(late, r)
		} else {
			onTime = append(onTime, r)
		}
	}
	for len(onTime) > 0 {
		n := min(len(onTime), 97)
		insert(t, s, onTime[:n]...)
		onTime = onTime[n:]
	}
	insert(t, s, late...)
	rng := rand.New(rand.NewPCG(1, 2))
	span := int64(to.Sub(from) + 2*time.Hour)
	randTime := func() time.Time {
		return from.Add(-time.Hour + time.Duration(rng.Int64N(span)))
	}
	queries := []ledger.Query{
		{From: from.Add(-time.Hour), To: to.Add(time.Hour)}, // everything
		{From: t0, To: t0.Add(48 * time.Hour), Interval: ledger.Daily, GroupBy: ledger.ByModel},
		{From: t0.Add(30 * time.Minute), To: t0.Add(40*time.Minute + 20*time.Second), GroupBy: ledger.ByCache}, // inside one hour
		{From: t0.Add(-90 * time.Minute), To: t0.Add(50*time.Hour + 7*time.Minute), Interval: ledger.Hourly, GroupBy: ledger.ByProvider},
		{From: t0.Add(-90 * time.Minute), To: t0.Add(50*time.Hour + 7*time.Minute), Interval: ledger.Daily, GroupBy: ledger.ByKey,
			Filter: ledger.Filter{Models: []string{"gpt-4o-mini", "llama-3.3-70b"}}},
		{From: from, To: to, GroupBy: ledger.ByTenant, Filter: ledger.Filter{Keys: []string{"key_001"}}},
		{From: from, To: to, GroupBy: ledger.ByRoute, Filter: ledger.Filter{Cache: []ledger.CacheStatus{ledger.CacheMiss}, Tenants: []string{"tenant_01"}}},
	}
	dims := []ledger.Dimension{ledger.ByNone, ledger.ByModel, ledger.ByProvider, ledger.ByKey, ledger.ByTenant, ledger.ByCache, ledger.ByRoute}
	ivs := []ledger.Interval{ledger.NoSeries, ledger.Hourly, ledger.Daily}
	for range 25 {
		a, b := randTime(), randTime()
		if b.Before(a) {
			a, b = b, a
		}
		q := ledger.Query{From: a, To: b.Add(time.Microsecond), GroupBy: dims[rng.IntN(len(dims))], Interval: ivs[rng.IntN(len(ivs))]}
		if rng.IntN(3) == 0 {
			q.Filter.Providers = []string{"openai", "cache"}
		}
		queries = append(queries, q)
	}
	for i, q := range queries {
		t.Run(fmt.Sprintf("q%02d", i), func(t *testing.T) {
			sum, err := s.Summary(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			tot, groups, series := brute(recs, q)
			if !reflect.DeepEqual(sum.Totals.Counts, tot) {
				t.Fatalf("%+v\ntotals differ:\n got %+v\nwant %+v", q, sum.Totals.Counts, tot)
			}
			if tot.Requests == 0 && i < 7 {
				t.Fatalf("query %d matched nothing; the test data is wrong", i)
			}
			if q.GroupBy != ledger.ByNone {
				if len(sum.Groups) != len(groups) {
					t.Fatalf("%d groups, want %d", len(sum.Groups), len(groups))
				}
				for j, g := range sum.Groups {
					if want := groups[g.Key]; !reflect.DeepEqual(g.Totals.Counts, want) {
						t.Fatalf("group %q differs:\n got %+v\nwant %+v", g.Key, g.Totals.Counts, want)
					}
					if j > 0 && g.Totals.Cost > sum.Groups[j-1].Totals.Cost {
						t.Fatalf("groups not ordered by cost")
					}
				}
			}
			if w := q.Interval.Seconds(); w > 0 {
				var seen int64
				for j, p := range sum.Series {
					if j > 0 && p.Time.Unix()-sum.Series[j-1].Time.Unix() != w {
						t.Fatalf("series has a gap at %s", p.Time)
					}
					if want := series[p.Time.Unix()]; !reflect.DeepEqual(p.Totals.Counts, want) {
						t.Fatalf("bucket %s differs:\n got %+v\nwant %+v", p.Time, p.Totals.Counts, want)
					}
					seen += p.Totals.Requests
					var inGroups int64
					for _, g := range p.Groups {
						inGroups += g.Totals.Requests
					}
					if q.GroupBy != ledger.ByNone && inGroups != p.Totals.Requests {
						t.Fatalf("bucket %s: groups hold %d of %d requests", p.Time, inGroups, p.Totals.Requests)
					}
				}
				if seen != tot.Requests {
					t.Fatalf("series holds %d requests, want %d", seen, tot.Requests)
				}
			}
		})
	}
	// Derived figures come from the same exact sums.
	sum, err := s.Summary(context.Background(), queries[0])
	if err != nil {
		t.Fatal(err)
	}
	tt := sum.Totals
	if tt.Saved != tt.SavedCache+tt.SavedRouting+tt.SavedProvider || tt.OtherSaved != 0 {
		t.Errorf("saved %s is not the sum of its causes (%s %s %s)", tt.Saved, tt.SavedCache, tt.SavedRouting, tt.SavedProvider)
	}
	var cost money.USD
	for i := range recs {
		cost += recs[i].Cost
	}
	if tt.Cost != cost {
		t.Errorf("total cost %s, want %s", tt.Cost, cost)
	}
	if tt.LatencyP50 <= 0 || tt.LatencyP99 < tt.LatencyP50 || tt.ErrorRate <= 0 || tt.CacheHitRate <= 0 {
		t.Errorf("derived figures look wrong: p50 %s p99 %s err %.3f hit %.3f", tt.LatencyP50, tt.LatencyP99, tt.ErrorRate, tt.CacheHitRate)
	}
}

// logOrder sorts records as the log does, newest first; equal times keep insert order reversed.
func testPaging(t *testing.T, s ledger.Store) {
	// Many records share a timestamp, so the keyset must break ties by row id.
	var recs []ledger.Record
	for i := range 257 {
		recs = append(recs, ledger.Record{Time: t0.Add(time.Duration(i/5) * time.Second),
			RequestID: fmt.Sprintf("r%03d", i), ServedModel: []string{"a", "b"}[i%2]})
	}
	insert(t, s, recs...)
	for _, oldest := range []bool{false, true} {
		for _, size := range []int{1, 7, 50, 300} {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 300 {
					t.Fatal("paging does not end")
				}
				p, err := s.Requests(context.Background(), ledger.RequestFilter{OldestFirst: oldest}, cursor, size)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Records) > size {
					t.Fatalf("page of %d records, limit %d", len(p.Records), size)
				}
				for _, r := range p.Records {
					got = append(got, r.RequestID)
				}
				if p.Next == "" {
					break
				}
				cursor = p.Next
			}
			want := make([]string, len(recs))
			for i := range recs {
				want[i] = recs[i].RequestID
			}
			if !oldest {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("oldest=%v size=%d: pages gave %d ids %v…, want %d", oldest, size, len(got), got[:min(10, len(got))], len(want))
			}
		}
	}
	if _, err := s.Requests(context.Background(), ledger.RequestFilter{}, "not-a-cursor", 5); err == nil {
		t.Error("a malformed cursor was accepted")
	}
}

func testLogFilters(t *testing.T, s ledger.Store) {
	recs := synth.New(synth.Options{From: t0, To: t0.Add(6 * time.Hour), N: 3000, Keys: 6, Tenants: 2, Seed: 11}).Fill(3000)
	insert(t, s, recs...)
	cases := []struct {
		name string
		f    ledger.RequestFilter
		keep func(r *ledger.Record) bool
	}{
		{"model", ledger.RequestFilter{Filter: ledger.Filter{Models: []string{"gpt-4o"}}}, func(r *ledger.Record) bool { return r.ServedModel == "gpt-4o" }},
		{"key and cache", ledger.RequestFilter{Filter: ledger.Filter{Keys: []string{"key_002"}, Cache: []ledger.CacheStatus{ledger.CacheHit}}},
			func(r *ledger.Record) bool { return r.KeyID == "key_002" && r.Cache == ledger.CacheHit }},
		{"errors in a window", ledger.RequestFilter{From: t0.Add(time.Hour), To: t0.Add(4 * time.Hour), ErrorsOnly: true},
			func(r *ledger.Record) bool {
				return r.Status >= 400 && !r.Time.Before(t0.Add(time.Hour)) && r.Time.Before(t0.Add(4*time.Hour))
			}},
		{"status", ledger.RequestFilter{Status: 502}, func(r *ledger.Record) bool { return r.Status == 502 }},
		{"provider and route", ledger.RequestFilter{Filter: ledger.Filter{Providers: []string{"openai"}, Routes: []string{"requested"}}},
			func(r *ledger.Record) bool { return r.Provider == "openai" && r.RouteReason == "requested" }},
		{"tenant", ledger.RequestFilter{Filter: ledger.Filter{Tenants: []string{"tenant_01"}}}, func(r *ledger.Record) bool { return r.Tenant == "tenant_01" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for i := len(recs) - 1; i >= 0; i-- {
				if c.keep(&recs[i]) {
					want = append(want, recs[i].RequestID)
				}
			}
			if len(want) == 0 {
				t.Fatal("filter matches nothing in the test data")
			}
			var got []string
			cursor := ""
			for {
				p, err := s.Requests(context.Background(), c.f, cursor, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					got = append(got, r.RequestID)
				}
				if cursor = p.Next; cursor == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
		})
	}
}
