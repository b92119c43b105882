package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
	"github.com/arbiterhq/arbiter/internal/ledger/synth"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

const adminKey = "arb-admin-test-0123456789abcdef"

// fixture is a dashboard over a SQLite ledger filled with known records.
type fixture struct {
	h    *Handler
	now  time.Time
	recs []ledger.Record // normalized, as stored
	mu   sync.Mutex
	// clock is what the handler's Now returns; tests move it.
	clock time.Time
}

func (f *fixture) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.clock = f.clock.Add(d)
	f.mu.Unlock()
}

// handRecords are records whose every field is chosen, including ones that must
// never leak (the provider key is not in a record at all; the key id is public).
func handRecords(now time.Time) []ledger.Record {
	return []ledger.Record{
		{Time: now.Add(-10 * time.Minute), RequestID: "req_hand_1", Tenant: "acme", KeyID: "key_acme01",
			ClientFormat: llm.FormatOpenAI, RequestedModel: "auto", Route: "auto", RouteReason: "cheapest-qualified",
			ServedModel: "gpt-4o-mini", Provider: "openai", Cache: ledger.CacheMiss,
			Usage: llm.Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300},
			Cost:  123_456_789, BaselineModel: "gpt-4o", BaselineCost: 987_654_321, Saved: 864_197_532,
			SavingCause: ledger.CauseRouting, Latency: 850 * time.Millisecond, Overhead: 400 * time.Microsecond,
			Status: 200, Attempts: []ledger.Attempt{
				{Deployment: "azure-westeu/gpt-4o-mini", Model: "gpt-4o-mini", ErrorKind: llm.KindRateLimited, Status: 429, Latency: 80 * time.Millisecond},
				{Deployment: "openai/gpt-4o-mini", Model: "gpt-4o-mini", Status: 200, Latency: 760 * time.Millisecond}}},
		{Time: now.Add(-9 * time.Minute), RequestID: "req_hand_2", Tenant: "acme", KeyID: "key_acme01",
			ClientFormat: llm.FormatAnthropic, RequestedModel: "claude-sonnet-4", RouteReason: "requested",
			ServedModel: "claude-sonnet-4", Provider: "cache", Cache: ledger.CacheSemanticHit, Similarity: 0.97,
			MatchedEntryID: "sem_42", Usage: llm.Usage{InputTokens: 50, OutputTokens: 70}, Cost: 20,
			BaselineModel: "claude-sonnet-4", BaselineCost: 1_200_000, Saved: 1_199_980, SavingCause: ledger.CauseCache,
			Latency: 2 * time.Millisecond, Status: 200},
		{Time: now.Add(-8 * time.Minute), RequestID: "req_hand_3", Tenant: "globex", KeyID: "key_globex1",
			ClientFormat: llm.FormatOpenAI, RequestedModel: "gpt-4o", RouteReason: "requested", ServedModel: "gpt-4o",
			Provider: "openai", Cache: ledger.CacheBypass, Status: 502, ErrorKind: llm.KindUpstreamServer,
			Latency: 3 * time.Second, Attempts: []ledger.Attempt{{Deployment: "openai/gpt-4o", Model: "gpt-4o",
				ErrorKind: llm.KindUpstreamServer, Status: 500, Latency: 3 * time.Second}}},
	}
}

// ledgerData is the SQLite ledger the tests share: filling it is the slow part, and
// no test writes to it.
var ledgerData struct {
	once  sync.Once
	store ledger.Store
	now   time.Time
	recs  []ledger.Record
	err   error
	dir   string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ledgerData.store != nil {
		ledgerData.store.Close()
	}
	os.RemoveAll(ledgerData.dir)
	os.Exit(code)
}

func fillLedger() {
	d := &ledgerData
	ctx := context.Background()
	if d.dir, d.err = os.MkdirTemp("", "dashboard-test-"); d.err != nil {
		return
	}
	store, err := sqlite.Open(ctx, d.dir)
	if err != nil {
		d.err = err
		return
	}
	d.store = store
	now := time.Now().UTC().Truncate(time.Minute)
	g := synth.New(synth.Options{From: now.Add(-72 * time.Hour), To: now.Add(-15 * time.Minute), N: 3000, Seed: 3})
	recs := append(g.Fill(3000), handRecords(now)...)
	recs = append(recs, ledger.Record{Time: now.Add(-100 * time.Hour), RequestID: "req_old", ServedModel: "gpt-4o",
		Provider: "openai", Cost: 5, BaselineCost: 5, Status: 200}) // outside every range below 4 days
	for i := 0; i < len(recs); i += 500 {
		if d.err = store.Insert(ctx, recs[i:min(i+500, len(recs))]); d.err != nil {
			return
		}
	}
	for i := range recs {
		recs[i].Normalize()
	}
	d.now, d.recs = now, recs
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ledgerData.once.Do(fillLedger)
	if ledgerData.err != nil {
		t.Fatal(ledgerData.err)
	}
	f := &fixture{now: ledgerData.now, recs: ledgerData.recs, clock: ledgerData.now}
	f.h = New(Options{Store: ledgerData.store, AdminKey: adminKey, Now: f.Now, SessionTTL: time.Hour,
		Health: func() []executor.Health {
			return []executor.Health{
				{Deployment: "openai/gpt-4o", State: executor.BreakerOpen, Requests: 12, ErrorRate: 0.5, LatencyMS: 900, Opens: 1},
				{Deployment: "anthropic/claude-sonnet-4", State: executor.BreakerClosed, Requests: 40, LatencyMS: 700},
			}
		}})
	return f
}

// do sends a request through the handler with the given credentials.
func (f *fixture) do(t *testing.T, method, target string, auth func(*http.Request), body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	if auth != nil {
		auth(r)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func bearer(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

func cookie(tok string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CookieName, Value: tok}) }
}

func (f *fixture) getJSON(t *testing.T, target string, v any) {
	t.Helper()
	w := f.do(t, "GET", target, bearer(adminKey), nil)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
}

// wire shapes of the API, as the page reads them.
type usdJSON struct {
	Nano money.USD `json:"nanousd"`
	USD  string    `json:"usd"`
}

type totalsJSON struct {
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	CacheHits     int64   `json:"cache_hits"`
	SemanticHits  int64   `json:"semantic_hits"`
	Coalesced     int64   `json:"coalesced"`
	CacheHitRate  float64 `json:"cache_hit_rate"`
	Cost          usdJSON `json:"cost"`
	BaselineCost  usdJSON `json:"baseline_cost"`
	Saved         usdJSON `json:"saved"`
	SavedCache    usdJSON `json:"saved_cache"`
	SavedRouting  usdJSON `json:"saved_routing"`
	SavedProvider usdJSON `json:"saved_provider"`
	InputTokens   int64   `json:"input_tokens"`
	OutputTokens  int64   `json:"output_tokens"`
	CachedTokens  int64   `json:"cached_tokens"`
}

type summaryResp struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Interval      string    `json:"interval"`
	BucketSeconds int64     `json:"bucket_seconds"`
	Totals        totalsJSON
	Groups        []struct {
		Key    string     `json:"key"`
		Totals totalsJSON `json:"totals"`
	} `json:"groups"`
	Series []pointJSON `json:"series"`
}

// want sums the fixture's records that a predicate keeps.
func (f *fixture) want(keep func(*ledger.Record) bool) ledger.Counts {
	var c ledger.Counts
	for i := range f.recs {
		if keep(&f.recs[i]) {
			c.Add(&f.recs[i])
		}
	}
	return c
}

func inRange(from, to time.Time) func(*ledger.Record) bool {
	return func(r *ledger.Record) bool { return !r.Time.Before(from) && r.Time.Before(to) }
}

func checkTotals(t *testing.T, what string, got totalsJSON, want ledger.Counts) {
	t.Helper()
	if got.Requests != want.Requests || got.Errors != want.Errors || got.CacheHits != want.CacheHits ||
		got.SemanticHits != want.SemanticHits || got.Coalesced != want.Coalesced {
		t.Errorf("%s: counts got requests=%d errors=%d hits=%d/%d/%d, want %d %d %d/%d/%d", what,
			got.Requests, got.Errors, got.CacheHits, got.SemanticHits, got.Coalesced,
			want.Requests, want.Errors, want.CacheHits, want.SemanticHits, want.Coalesced)
	}
	for _, m := range []struct {
		name string
		got  usdJSON
		want money.USD
	}{{"cost", got.Cost, want.Cost}, {"baseline", got.BaselineCost, want.BaselineCost}, {"saved", got.Saved, want.Saved},
		{"saved_cache", got.SavedCache, want.SavedCache}, {"saved_routing", got.SavedRouting, want.SavedRouting},
		{"saved_provider", got.SavedProvider, want.SavedProvider}} {
		if m.got.Nano != m.want || m.got.USD != m.want.Decimal() {
			t.Errorf("%s: %s = %d (%s), want %d (%s)", what, m.name, m.got.Nano, m.got.USD, m.want, m.want.Decimal())
		}
	}
	if got.InputTokens != want.InputTokens || got.OutputTokens != want.OutputTokens || got.CachedTokens != want.CachedTokens {
		t.Errorf("%s: tokens %d/%d/%d, want %d/%d/%d", what, got.InputTokens, got.OutputTokens, got.CachedTokens,
			want.InputTokens, want.OutputTokens, want.CachedTokens)
	}
}

func TestSummaryTotalsEqualTheRecordsSumsToTheNanodollar(t *testing.T) {
	f := newFixture(t)
	custom := func(from, to time.Time) string {
		return "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
	}
	odd := f.now.Add(-47*time.Hour - 13*time.Minute - 7*time.Second) // partial hours at both ends
	oddEnd := f.now.Add(-2*time.Hour - 29*time.Minute)
	cases := []struct {
		name, query string
		from, to    time.Time
		keep        func(*ledger.Record) bool
	}{
		{"last hour", "range=1h", f.now.Add(-time.Hour).Truncate(5 * time.Minute), f.now, nil},
		{"last day", "range=24h", f.now.Add(-24 * time.Hour).Truncate(time.Hour), f.now, nil},
		{"last week", "range=7d", f.now.Add(-7 * 24 * time.Hour).Truncate(time.Hour), f.now, nil},
		{"custom range with partial hours", custom(odd, oddEnd), odd, oddEnd, nil},
		{"filtered by model", "range=7d&model=gpt-4o-mini", f.now.Add(-7 * 24 * time.Hour).Truncate(time.Hour), f.now,
			func(r *ledger.Record) bool { return r.ServedModel == "gpt-4o-mini" }},
		{"filtered by provider and cache", "range=24h&provider=openai,cache&cache=hit&cache=miss", f.now.Add(-24 * time.Hour).Truncate(time.Hour), f.now,
			func(r *ledger.Record) bool {
				return (r.Provider == "openai" || r.Provider == "cache") && (r.Cache == ledger.CacheHit || r.Cache == ledger.CacheMiss)
			}},
		{"filtered by key", "range=7d&key=key_acme01", f.now.Add(-7 * 24 * time.Hour).Truncate(time.Hour), f.now,
			func(r *ledger.Record) bool { return r.KeyID == "key_acme01" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keep := inRange(c.from, c.to)
			if c.keep != nil {
				in := keep
				keep = func(r *ledger.Record) bool { return in(r) && c.keep(r) }
			}
			want := f.want(keep)
			if want.Requests == 0 {
				t.Fatal("the case selects no records: it would prove nothing")
			}
			for _, by := range []string{"", "model", "provider", "key", "tenant", "route", "cache"} {
				var s summaryResp
				f.getJSON(t, "/dashboard/api/summary?interval=none&by="+by+"&"+c.query, &s)
				checkTotals(t, "by="+by, s.Totals, want)
				for _, g := range s.Groups {
					gk := g.Key
					wg := f.want(func(r *ledger.Record) bool { return keep(r) && groupKey(r, by) == gk })
					checkTotals(t, "by="+by+" group "+gk, g.Totals, wg)
				}
				if by != "" && by != "model" {
					continue
				}
				// With the series the page asks for (5-minute buckets for short ranges).
				var ss summaryResp
				f.getJSON(t, "/dashboard/api/summary?by="+by+"&"+c.query, &ss)
				checkTotals(t, "series by="+by, ss.Totals, want)
				if len(ss.Groups) != len(s.Groups) {
					t.Errorf("by=%s: %d groups with a series, %d without", by, len(ss.Groups), len(s.Groups))
				}
				for i := range min(len(ss.Groups), len(s.Groups)) {
					if ss.Groups[i].Key != s.Groups[i].Key {
						t.Errorf("by=%s: group %d is %q with a series, %q without", by, i, ss.Groups[i].Key, s.Groups[i].Key)
					}
					gk := ss.Groups[i].Key
					wg := f.want(func(r *ledger.Record) bool { return keep(r) && groupKey(r, by) == gk })
					checkTotals(t, "series by="+by+" group "+gk, ss.Groups[i].Totals, wg)
				}
			}
		})
	}
}

func groupKey(r *ledger.Record, by string) string {
	switch by {
	case "model":
		return r.ServedModel
	case "provider":
		return r.Provider
	case "key":
		return r.KeyID
	case "tenant":
		return r.Tenant
	case "route":
		return r.RouteReason
	case "cache":
		return string(r.Cache)
	}
	return ""
}

func TestRelativeRangesStartOnABucketBoundary(t *testing.T) {
	f := newFixture(t)
	f.clock = f.now.Add(17*time.Minute + 23*time.Second)
	for _, c := range []struct {
		rng  string
		from time.Time
	}{
		{"1h", f.clock.Add(-time.Hour).Truncate(5 * time.Minute)},
		{"6h", f.clock.Add(-6 * time.Hour).Truncate(5 * time.Minute)},
		{"24h", f.clock.Add(-24 * time.Hour).Truncate(time.Hour)},
		{"30d", f.clock.Add(-30 * 24 * time.Hour).Truncate(time.Hour)},
	} {
		var s summaryResp
		f.getJSON(t, "/dashboard/api/summary?range="+c.rng, &s)
		if !s.From.Equal(c.from) || !s.To.Equal(f.clock) {
			t.Errorf("range=%s covers %s..%s, want %s..%s", c.rng, s.From, s.To, c.from, f.clock)
		}
	}
}

func TestSummarySeriesAddsUpToTheTotals(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		query, interval string
		bucket          int64
	}{
		{"range=1h", "5m", 300}, {"range=24h", "hour", 3600}, {"range=7d", "hour", 3600},
		{"range=30d", "day", 86400}, {"range=24h&interval=day", "day", 86400},
	} {
		t.Run(c.query, func(t *testing.T) {
			var s summaryResp
			f.getJSON(t, "/dashboard/api/summary?by=model&"+c.query, &s)
			if s.Interval != c.interval || s.BucketSeconds != c.bucket {
				t.Fatalf("interval %q/%d, want %q/%d", s.Interval, s.BucketSeconds, c.interval, c.bucket)
			}
			var req int64
			var cost, groupCost money.USD
			for i, p := range s.Series {
				if i > 0 && p.Time.Sub(s.Series[i-1].Time) != time.Duration(c.bucket)*time.Second {
					t.Fatalf("buckets %s and %s are not %ds apart", s.Series[i-1].Time, p.Time, c.bucket)
				}
				req += p.Requests
				cost += p.Cost
				for _, g := range p.Groups {
					groupCost += g.Cost
				}
			}
			if req != s.Totals.Requests || cost != s.Totals.Cost.Nano || groupCost != cost {
				t.Errorf("series requests %d cost %d (groups %d), totals %d %d", req, cost, groupCost, s.Totals.Requests, s.Totals.Cost.Nano)
			}
		})
	}
}

type pageResp struct {
	Records []ledger.Record `json:"records"`
	Next    string          `json:"next"`
}

// walk reads every page of a request-log query.
func (f *fixture) walk(t *testing.T, query string) []ledger.Record {
	t.Helper()
	var out []ledger.Record
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatal("the cursor never ends")
		}
		var p pageResp
		f.getJSON(t, "/dashboard/api/requests?"+query+"&cursor="+url.QueryEscape(cursor), &p)
		out = append(out, p.Records...)
		if p.Next == "" {
			return out
		}
		cursor = p.Next
	}
}

func TestRequestLogCursorVisitsEveryRecordOnceNewestFirst(t *testing.T) {
	f := newFixture(t)
	got := f.walk(t, "range=24h&limit=37")
	day := inRange(f.now.Add(-24*time.Hour).Truncate(time.Hour), f.now)
	want := slices.DeleteFunc(slices.Clone(f.recs), func(r ledger.Record) bool { return !day(&r) })
	if len(got) != len(want) {
		t.Fatalf("walked %d records, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i, r := range got {
		if seen[r.RequestID] {
			t.Fatalf("%s seen twice", r.RequestID)
		}
		seen[r.RequestID] = true
		if i > 0 && r.Time.After(got[i-1].Time) {
			t.Fatalf("record %d (%s) is newer than the one before it", i, r.Time)
		}
	}
	for _, r := range want {
		if !seen[r.RequestID] {
			t.Fatalf("%s never listed", r.RequestID)
		}
	}
}

func TestRequestLogFiltersReturnOnlyAndAllMatchingRecords(t *testing.T) {
	f := newFixture(t)
	week := inRange(f.now.Add(-7*24*time.Hour).Truncate(time.Hour), f.now)
	cases := []struct {
		query string
		keep  func(*ledger.Record) bool
	}{
		{"model=gpt-4o", func(r *ledger.Record) bool { return r.ServedModel == "gpt-4o" }},
		{"provider=groq", func(r *ledger.Record) bool { return r.Provider == "groq" }},
		{"key=key_003", func(r *ledger.Record) bool { return r.KeyID == "key_003" }},
		{"tenant=acme", func(r *ledger.Record) bool { return r.Tenant == "acme" }},
		{"cache=semantic-hit", func(r *ledger.Record) bool { return r.Cache == ledger.CacheSemanticHit }},
		{"route=failover", func(r *ledger.Record) bool { return r.RouteReason == "failover" }},
		{"status=error", func(r *ledger.Record) bool { return r.Status >= 400 }},
		{"status=502", func(r *ledger.Record) bool { return r.Status == 502 }},
		{"model=gpt-4o-mini&cache=miss&provider=openai", func(r *ledger.Record) bool {
			return r.ServedModel == "gpt-4o-mini" && r.Cache == ledger.CacheMiss && r.Provider == "openai"
		}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			want := 0
			for i := range f.recs {
				if week(&f.recs[i]) && c.keep(&f.recs[i]) {
					want++
				}
			}
			if want == 0 {
				t.Fatal("the filter selects no records: it would prove nothing")
			}
			got := f.walk(t, "range=7d&limit=100&"+c.query)
			for _, r := range got {
				if !c.keep(&r) {
					t.Fatalf("%s does not match %s", r.RequestID, c.query)
				}
			}
			if len(got) != want {
				t.Fatalf("%d records, want %d", len(got), want)
			}
		})
	}
}

func TestRequestDetailsAreTheStoredRecord(t *testing.T) {
	f := newFixture(t)
	var got ledger.Record
	f.getJSON(t, "/dashboard/api/requests/req_hand_1", &got)
	want := handRecords(f.now)[0]
	want.Normalize()
	if got.RequestID != want.RequestID || got.Cost != want.Cost || got.BaselineCost != want.BaselineCost ||
		got.Saved != want.Saved || got.RouteReason != want.RouteReason || got.ServedModel != want.ServedModel ||
		got.Usage != want.Usage || len(got.Attempts) != 2 || got.Attempts[0] != want.Attempts[0] ||
		got.Attempts[1] != want.Attempts[1] || !got.Time.Equal(want.Time) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	w := f.do(t, "GET", "/dashboard/api/requests/req_nope", bearer(adminKey), nil)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("unknown request: %d %s", w.Code, w.Body)
	}
}

func TestHealthListsEveryDeploymentSorted(t *testing.T) {
	f := newFixture(t)
	var got struct {
		Deployments []executor.Health `json:"deployments"`
	}
	f.getJSON(t, "/dashboard/api/health", &got)
	if len(got.Deployments) != 2 || got.Deployments[0].Deployment != "anthropic/claude-sonnet-4" ||
		got.Deployments[1].State != executor.BreakerOpen {
		t.Fatalf("health %+v", got.Deployments)
	}
}

func TestBadParametersAreClientErrors(t *testing.T) {
	f := newFixture(t)
	for _, q := range []string{
		"summary?range=yesterday", "summary?range=-1h", "summary?range=500d", "summary?by=color",
		"summary?by=day", "summary?interval=minute", "summary?range=30d&interval=5m",
		"summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "summary?to=2026-01-01T00:00:00Z",
		"summary?from=nope", "summary?cache=warm", "requests?status=teapot", "requests?limit=0",
		"requests?cursor=%25%25", "requests?status=99",
	} {
		w := f.do(t, "GET", "/dashboard/api/"+q, bearer(adminKey), nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"invalid_request_error"`) {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
}

var protected = []string{
	"/dashboard/", "/dashboard/assets/app.js", "/dashboard/assets/app.css", "/dashboard/assets/vendor/chart.umd.min.js",
	"/dashboard/api/summary", "/dashboard/api/summary?by=model&range=7d", "/dashboard/api/requests",
	"/dashboard/api/requests/req_hand_1", "/dashboard/api/health", "/dashboard/api/nothing", "/dashboard/anything",
}

func TestNothingIsReachableWithoutTheAdminKey(t *testing.T) {
	f := newFixture(t)
	creds := []struct {
		name string
		auth func(*http.Request)
	}{
		{"none", nil},
		{"wrong bearer", bearer("arb-admin-wrong")},
		{"admin key prefix", bearer(adminKey[:len(adminKey)-1])},
		{"empty bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }},
		{"key as basic auth", func(r *http.Request) { r.SetBasicAuth("admin", adminKey) }},
		{"key as x-api-key", func(r *http.Request) { r.Header.Set("x-api-key", adminKey) }},
		{"forged cookie", cookie("forged-session-token")},
		{"key as cookie", cookie(adminKey)},
	}
	for _, c := range creds {
		for _, p := range protected {
			w := f.do(t, "GET", p, c.auth, nil)
			if strings.HasPrefix(p, "/dashboard/api/") {
				if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
					t.Errorf("%s: GET %s = %d %q, want 401 JSON", c.name, p, w.Code, w.Header().Get("Content-Type"))
				}
				var e struct {
					Error struct{ Type, Message string }
				}
				if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Type != "authentication_error" {
					t.Errorf("%s: GET %s body %s", c.name, p, w.Body)
				}
			} else if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard/login" {
				t.Errorf("%s: GET %s = %d to %q, want a redirect to the login form", c.name, p, w.Code, w.Header().Get("Location"))
			}
		}
	}
	for _, p := range protected {
		w := f.do(t, "GET", p, bearer(adminKey), nil)
		want := http.StatusOK
		if strings.HasSuffix(p, "nothing") || strings.HasSuffix(p, "anything") {
			want = http.StatusNotFound
		}
		if w.Code != want {
			t.Errorf("admin bearer: GET %s = %d, want %d", p, w.Code, want)
		}
	}
}

func TestAnEmptyAdminKeyDisablesTheDashboard(t *testing.T) {
	f := newFixture(t)
	h := New(Options{Store: f.h.o.Store, AdminKey: ""})
	for _, auth := range []func(*http.Request){nil, bearer(""), func(r *http.Request) { r.Header.Set("Authorization", "Bearer") }} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/dashboard/api/summary", nil)
		if auth != nil {
			auth(r)
		}
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("empty admin key: %d", w.Code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/dashboard/login", strings.NewReader("key=")))
	if w.Code == http.StatusSeeOther || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("login with an empty admin key: %d %q", w.Code, w.Header().Get("Set-Cookie"))
	}
}

// login posts the form and returns the response.
func (f *fixture) login(t *testing.T, key string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/dashboard/login", strings.NewReader(url.Values{"key": {key}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

func TestLoginSetsAStrictHttpOnlySessionCookie(t *testing.T) {
	f := newFixture(t)
	w := f.login(t, "arb-admin-wrong")
	if w.Code != http.StatusUnauthorized || sessionCookie(t, w) != nil {
		t.Fatalf("wrong key: %d, cookie %v", w.Code, sessionCookie(t, w))
	}
	w = f.login(t, adminKey)
	c := sessionCookie(t, w)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard/" || c == nil {
		t.Fatalf("login: %d to %q, cookie %v", w.Code, w.Header().Get("Location"), c)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/dashboard" || len(c.Value) < 40 ||
		strings.Contains(c.Value, adminKey) {
		t.Fatalf("cookie %+v", c)
	}
	if c2 := sessionCookie(t, f.login(t, adminKey)); c2 == nil || c2.Value == c.Value {
		t.Fatal("two logins share a session token")
	}
	for _, p := range protected[:9] {
		if w := f.do(t, "GET", p, cookie(c.Value), nil); w.Code != http.StatusOK {
			t.Fatalf("with the session: GET %s = %d", p, w.Code)
		}
	}
	// Logging out ends the session on the server, not only in the browser.
	w = f.do(t, "POST", "/dashboard/logout", cookie(c.Value), nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard/login" {
		t.Fatalf("logout: %d %q", w.Code, w.Header().Get("Location"))
	}
	if cl := sessionCookie(t, w); cl == nil || cl.MaxAge >= 0 {
		t.Fatalf("logout does not clear the cookie: %v", cl)
	}
	if w := f.do(t, "GET", "/dashboard/api/health", cookie(c.Value), nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("after logout the old cookie still works: %d", w.Code)
	}
}

func TestSessionsExpireOnTheServer(t *testing.T) {
	f := newFixture(t)
	c := sessionCookie(t, f.login(t, adminKey))
	f.advance(59 * time.Minute)
	if w := f.do(t, "GET", "/dashboard/api/health", cookie(c.Value), nil); w.Code != http.StatusOK {
		t.Fatalf("before expiry: %d", w.Code)
	}
	f.advance(2 * time.Minute)
	if w := f.do(t, "GET", "/dashboard/api/health", cookie(c.Value), nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("after expiry: %d", w.Code)
	}
	if w := f.do(t, "GET", "/dashboard/", cookie(c.Value), nil); w.Code != http.StatusSeeOther {
		t.Fatalf("page after expiry: %d", w.Code)
	}
}

func TestSessionsAreBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := newSessions(time.Hour, 3, func() time.Time { return now })
	var toks []string
	for range 5 {
		tok, _ := s.create()
		toks = append(toks, tok)
		now = now.Add(time.Second)
	}
	if len(s.byID) != 3 || s.valid(toks[0]) || s.valid(toks[1]) || !s.valid(toks[4]) {
		t.Fatalf("%d sessions kept; oldest valid=%v newest valid=%v", len(s.byID), s.valid(toks[0]), s.valid(toks[4]))
	}
}

func TestNoKeyMaterialInAnyResponse(t *testing.T) {
	f := newFixture(t)
	c := sessionCookie(t, f.login(t, adminKey))
	secrets := []string{adminKey, c.Value, "emulator-key", "sk-"}
	paths := append(slices.Clone(protected[:9]), "/dashboard/login",
		"/dashboard/api/summary?by=key&range=7d", "/dashboard/api/summary?by=tenant&range=7d",
		"/dashboard/api/requests?range=7d&limit=200", "/dashboard/api/requests/req_hand_2")
	for _, p := range paths {
		for _, auth := range []func(*http.Request){bearer(adminKey), cookie(c.Value), nil, bearer("wrong")} {
			w := f.do(t, "GET", p, auth, nil)
			body := w.Body.String()
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Fatalf("GET %s: the response contains %q", p, s)
				}
			}
		}
	}
	w := f.login(t, adminKey)
	if strings.Contains(w.Body.String(), adminKey) || strings.Contains(w.Header().Get("Location"), adminKey) {
		t.Fatal("the login response echoes the key")
	}
	w = f.login(t, "arb-admin-wrong-guess")
	if strings.Contains(w.Body.String(), "arb-admin-wrong-guess") {
		t.Fatal("a failed login echoes the key tried")
	}
}

func TestThePageAndItsAssetsAreEmbedded(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ path, ctype, contains string }{
		{"/dashboard/", "text/html", `assets/vendor/chart.umd.min.js`},
		{"/dashboard/assets/app.js", "text/javascript", "api('summary'"},
		{"/dashboard/assets/app.css", "text/css", "prefers-color-scheme: dark"},
		{"/dashboard/assets/vendor/chart.umd.min.js", "text/javascript", "Chart.js v4"},
		{"/dashboard/assets/vendor/chart.js-LICENSE.md", "text/plain", "MIT"},
	} {
		w := f.do(t, "GET", c.path, bearer(adminKey), nil)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), c.ctype) ||
			!strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("GET %s: %d %q", c.path, w.Code, w.Header().Get("Content-Type"))
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", c.path, csp)
		}
		etag := w.Header().Get("ETag")
		w = f.do(t, "GET", c.path, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+adminKey)
			r.Header.Set("If-None-Match", etag)
		}, nil)
		if w.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d", c.path, w.Code)
		}
	}
	if w := f.do(t, "GET", "/dashboard/assets/index.html", bearer(adminKey), nil); w.Code != http.StatusNotFound {
		t.Errorf("index.html under assets: %d", w.Code)
	}
}

func TestWithoutALedgerTheAPISaysSo(t *testing.T) {
	h := New(Options{AdminKey: adminKey})
	for _, p := range []string{"/dashboard/api/summary", "/dashboard/api/requests", "/dashboard/api/requests/x"} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", p, nil)
		r.Header.Set("Authorization", "Bearer "+adminKey)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s without a ledger: %d", p, w.Code)
		}
	}
}

func ExampleNew() {
	h := New(Options{AdminKey: "arb-admin-example"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/dashboard/", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output: 303 /dashboard/login
}
