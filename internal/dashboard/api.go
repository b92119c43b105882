package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/money"
)

const (
	// maxSpan bounds a query range, so that a typo cannot ask for centuries.
	maxSpan = 400 * 24 * time.Hour
	// fineBucket is the series width below an hour, for ranges up to fineSpan.
	fineBucket = 5 * time.Minute
	fineSpan   = 6 * time.Hour
	// maxLogPage bounds a request-log page.
	maxLogPage = 200
	// queryTimeout bounds one API call's work on the store.
	queryTimeout = 15 * time.Second
)

// badRequest is a client error in a query parameter.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(format string, a ...any) error { return &badRequest{fmt.Sprintf(format, a...)} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"type": typ, "message": msg}})
}

// fail answers an error: 400 for a bad parameter, 404 for an unknown request, else
// 500 (the detail goes to the log).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, "invalid_request_error", br.msg)
	case errors.Is(err, ledger.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such request in the ledger")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "timeout", "the ledger query took too long")
	default:
		h.log.Error("dashboard query failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "the ledger query failed")
	}
}

// parseRange reads the time range of a request: from/to (RFC 3339), or range (a
// duration back from now: 1h, 24h, 7d, 30d…, its start aligned by alignStart), else
// def back from now. A zero def with no parameters means no bounds.
func (h *Handler) parseRange(q url.Values, def time.Duration) (from, to time.Time, err error) {
	now := h.o.Now().UTC()
	fs, ts := q.Get("from"), q.Get("to")
	if fs != "" || ts != "" {
		to = now
		if ts != "" {
			if to, err = time.Parse(time.RFC3339Nano, ts); err != nil {
				return from, to, bad("to: want an RFC 3339 time, got %q", ts)
			}
		}
		if fs == "" {
			return from, to, bad("from is required with to")
		}
		if from, err = time.Parse(time.RFC3339Nano, fs); err != nil {
			return from, to, bad("from: want an RFC 3339 time, got %q", fs)
		}
	} else {
		d := def
		if rs := q.Get("range"); rs != "" {
			if d, err = parseSpan(rs); err != nil {
				return from, to, err
			}
		}
		if d == 0 {
			return time.Time{}, time.Time{}, nil
		}
		from, to = alignStart(now.Add(-d), d), now
	}
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return from, to, bad("from must be before to")
	}
	if to.Sub(from) > maxSpan {
		return from, to, bad("the range is longer than %d days", int(maxSpan.Hours()/24))
	}
	return from, to, nil
}

// alignStart moves the start of a range back to the boundary of the buckets its
// series is drawn in (5 minutes up to fineSpan, else an hour), so that the first bar
// is a whole bucket and the stores read raw rows only for the current hour, never for
// a partial hour at the start as well.
func alignStart(from time.Time, span time.Duration) time.Time {
	if span <= fineSpan {
		return from.Truncate(fineBucket)
	}
	return from.Truncate(time.Hour)
}

// parseSpan reads "90m", "24h", "7d" or "30d".
func parseSpan(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, bad("range: want a duration such as 1h, 24h, 7d or 30d, got %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad("range: want a duration such as 1h, 24h, 7d or 30d, got %q", s)
	}
	return d, nil
}

// list reads a repeatable, comma-separated parameter.
func list(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func parseFilter(q url.Values) (ledger.Filter, error) {
	f := ledger.Filter{Models: list(q, "model"), Providers: list(q, "provider"), Keys: list(q, "key"),
		Tenants: list(q, "tenant"), Routes: list(q, "route")}
	for _, c := range list(q, "cache") {
		cs := ledger.CacheStatus(c)
		if !slices.Contains(ledger.CacheStatuses(), cs) {
			return f, bad("cache: unknown cache status %q", c)
		}
		f.Cache = append(f.Cache, cs)
	}
	return f, nil
}

// summaryJSON is the answer of /api/summary. The series is compact (the page draws
// it, it does not need every figure per bucket): money in nanodollars, latencies in
// milliseconds.
type summaryJSON struct {
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	GroupBy       string         `json:"group_by,omitempty"`
	Interval      string         `json:"interval,omitempty"`
	BucketSeconds int64          `json:"bucket_seconds,omitempty"`
	Totals        ledger.Totals  `json:"totals"`
	Groups        []ledger.Group `json:"groups,omitempty"`
	Series        []pointJSON    `json:"series,omitempty"`
}

type pointJSON struct {
	Time         time.Time             `json:"time"`
	Requests     int64                 `json:"requests"`
	Errors       int64                 `json:"errors"`
	CacheHits    int64                 `json:"cache_hits"`
	SemanticHits int64                 `json:"semantic_hits"`
	Coalesced    int64                 `json:"coalesced"`
	Cost         money.USD             `json:"cost_nanousd"`
	BaselineCost money.USD             `json:"baseline_cost_nanousd"`
	Saved        money.USD             `json:"saved_nanousd"`
	LatencyP50   float64               `json:"latency_p50_ms"`
	LatencyP90   float64               `json:"latency_p90_ms"`
	LatencyP99   float64               `json:"latency_p99_ms"`
	Groups       map[string]groupPoint `json:"groups,omitempty"`
}

type groupPoint struct {
	Requests     int64     `json:"requests"`
	Cost         money.USD `json:"cost_nanousd"`
	BaselineCost money.USD `json:"baseline_cost_nanousd"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func point(t time.Time, tot *ledger.Totals, groups []ledger.Group) pointJSON {
	p := pointJSON{Time: t.UTC(), Requests: tot.Requests, Errors: tot.Errors, CacheHits: tot.CacheHits,
		SemanticHits: tot.SemanticHits, Coalesced: tot.Coalesced, Cost: tot.Cost,
		BaselineCost: tot.BaselineCost, Saved: tot.Saved,
		LatencyP50: ms(tot.LatencyP50), LatencyP90: ms(tot.LatencyP90), LatencyP99: ms(tot.LatencyP99)}
	if len(groups) > 0 {
		p.Groups = make(map[string]groupPoint, len(groups))
		for _, g := range groups {
			p.Groups[g.Key] = groupPoint{Requests: g.Totals.Requests, Cost: g.Totals.Cost, BaselineCost: g.Totals.BaselineCost}
		}
	}
	return p
}

// interval picks the series width: 5 minutes up to six hours, hourly up to eight
// days, daily beyond.
func interval(s string, span time.Duration) (string, error) {
	switch s {
	case "", "auto":
		switch {
		case span <= fineSpan:
			return "5m", nil
		case span <= 8*24*time.Hour:
			return "hour", nil
		}
		return "day", nil
	case "none", "5m", "hour", "day":
		if s == "5m" && span > fineSpan {
			return "", bad("interval: 5m series cover at most %s", fineSpan)
		}
		return s, nil
	}
	return "", bad("interval: want auto, none, 5m, hour or day, got %q", s)
}

func (h *Handler) summary(w http.ResponseWriter, r *http.Request) {
	if h.o.Store == nil {
		noLedger(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	out, err := h.summarize(ctx, r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) summarize(ctx context.Context, qv url.Values) (*summaryJSON, error) {
	from, to, err := h.parseRange(qv, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	f, err := parseFilter(qv)
	if err != nil {
		return nil, err
	}
	var dim ledger.Dimension
	if by := qv.Get("by"); by != "" {
		d, iv, err := ledger.ParseGroupBy(by)
		if err != nil || iv != ledger.NoSeries {
			return nil, bad("by: want model, provider, key, tenant, cache or route, got %q", by)
		}
		dim = d
	}
	iv, err := interval(qv.Get("interval"), to.Sub(from))
	if err != nil {
		return nil, err
	}
	q := ledger.Query{From: from, To: to, GroupBy: dim, Filter: f}
	out := &summaryJSON{From: from, To: to, GroupBy: string(dim)}
	if iv != "none" {
		out.Interval = iv
	}
	if iv == "5m" {
		return out, h.fineSeries(ctx, q, out)
	}
	if iv == "hour" || iv == "day" {
		q.Interval = ledger.Interval(iv)
	}
	sum, err := h.o.Store.Summary(ctx, q)
	if err != nil {
		return nil, err
	}
	out.Totals, out.Groups = sum.Totals, sum.Groups
	if q.Interval != ledger.NoSeries {
		out.BucketSeconds = q.Interval.Seconds()
		out.Series = make([]pointJSON, len(sum.Series))
		for i := range sum.Series {
			p := &sum.Series[i]
			out.Series[i] = point(p.Time, &p.Totals, p.Groups)
		}
	}
	return out, nil
}

// fineSeries fills a 5-minute series. The stores' finest rollup is hourly, so each
// bucket is one summary (its rows read through the time index), and the totals and
// groups are the buckets' sums rather than a second pass over the same rows.
func (h *Handler) fineSeries(ctx context.Context, q ledger.Query, out *summaryJSON) error {
	out.BucketSeconds = int64(fineBucket / time.Second)
	var total ledger.Counts
	groups := map[string]*ledger.Counts{}
	for b := q.From.Truncate(fineBucket); b.Before(q.To); b = b.Add(fineBucket) {
		bq := q
		bq.From, bq.To = later(b, q.From), earlier(b.Add(fineBucket), q.To)
		s, err := h.o.Store.Summary(ctx, bq)
		if err != nil {
			return err
		}
		total.Merge(&s.Totals.Counts)
		for _, g := range s.Groups {
			c := groups[g.Key]
			if c == nil {
				c = new(ledger.Counts)
				groups[g.Key] = c
			}
			c.Merge(&g.Totals.Counts)
		}
		out.Series = append(out.Series, point(b, &s.Totals, s.Groups))
	}
	out.Totals = total.Totals()
	if q.GroupBy != ledger.ByNone {
		out.Groups = make([]ledger.Group, 0, len(groups))
		for k, c := range groups {
			out.Groups = append(out.Groups, ledger.Group{Key: k, Totals: c.Totals()})
		}
		// The stores' order: cost, then requests, highest first, then by name.
		slices.SortFunc(out.Groups, func(x, y ledger.Group) int {
			if c := cmp.Compare(y.Totals.Cost, x.Totals.Cost); c != 0 {
				return c
			}
			if c := cmp.Compare(y.Totals.Requests, x.Totals.Requests); c != 0 {
				return c
			}
			return strings.Compare(x.Key, y.Key)
		})
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// pageJSON is one page of the request log.
type pageJSON struct {
	Records []ledger.Record `json:"records"`
	Next    string          `json:"next,omitempty"`
}

func (h *Handler) requests(w http.ResponseWriter, r *http.Request) {
	if h.o.Store == nil {
		noLedger(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	qv := r.URL.Query()
	rf, limit, err := h.parseRequestFilter(qv)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cursor := qv.Get("cursor")
	if _, _, err := ledger.ParseCursor(cursor); err != nil {
		h.fail(w, r, bad("cursor: not one this API returned"))
		return
	}
	page, err := h.o.Store.Requests(ctx, rf, cursor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageJSON{Records: page.Records, Next: page.Next})
}

func (h *Handler) parseRequestFilter(qv url.Values) (ledger.RequestFilter, int, error) {
	var rf ledger.RequestFilter
	var err error
	if rf.From, rf.To, err = h.parseRange(qv, 0); err != nil {
		return rf, 0, err
	}
	if rf.Filter, err = parseFilter(qv); err != nil {
		return rf, 0, err
	}
	switch s := qv.Get("status"); s {
	case "", "any":
	case "error", "errors":
		rf.ErrorsOnly = true
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 599 {
			return rf, 0, bad("status: want an HTTP status, \"error\" or \"any\", got %q", s)
		}
		rf.Status = n
	}
	rf.OldestFirst = qv.Get("order") == "oldest"
	limit := 50
	if s := qv.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return rf, 0, bad("limit: want a positive number, got %q", s)
		}
		limit = min(n, maxLogPage)
	}
	return rf, limit, nil
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	if h.o.Store == nil {
		noLedger(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	rec, err := h.o.Store.Get(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func noLedger(w http.ResponseWriter) {
	writeError(w, http.StatusServiceUnavailable, "ledger_disabled", "the ledger is disabled in the configuration: there is nothing to show")
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	hs := []executor.Health{}
	if h.o.Health != nil {
		hs = append(hs, h.o.Health()...)
	}
	slices.SortFunc(hs, func(a, b executor.Health) int { return strings.Compare(a.Deployment, b.Deployment) })
	writeJSON(w, http.StatusOK, map[string]any{"time": h.o.Now().UTC(), "deployments": hs})
}
