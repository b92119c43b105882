// Package ledgerbench fills a ledger store with synthetic records and times the
// queries the report and the dashboard make, for `arbiter ledger-bench`.
package ledgerbench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/synth"
)

// Options shape a run.
type Options struct {
	Rows  int           // records to insert (0: only time the queries)
	Batch int           // records per insert (default 500)
	Span  time.Duration // the records cover [End−Span, End) (default 30 days)
	End   time.Time     // default: now, to the minute
	Seed  uint64
	Runs  int // timed runs per query (default 5; the median is reported)
}

// Fill inserts opt.Rows synthetic records and reports progress to out.
func Fill(ctx context.Context, s ledger.Inserter, opt Options, out io.Writer) (rowsPerSec float64, err error) {
	opt.defaults()
	g := synth.New(synth.Options{From: opt.End.Add(-opt.Span), To: opt.End, N: opt.Rows, Seed: opt.Seed})
	batches := make(chan []ledger.Record, 4)
	go func() { // generate ahead so that only the inserts are timed
		defer close(batches)
		for left := opt.Rows; left > 0; {
			n := min(left, opt.Batch)
			select {
			case batches <- g.Fill(n):
			case <-ctx.Done():
				return
			}
			left -= n
		}
	}()
	var insertTime, windowTime time.Duration
	done, window := 0, 0
	report := max(opt.Rows/20, opt.Batch)
	for b := range batches {
		t := time.Now()
		if err := s.Insert(ctx, b); err != nil {
			return 0, fmt.Errorf("fill after %d records: %w", done, err)
		}
		d := time.Since(t)
		insertTime += d
		windowTime += d
		done += len(b)
		window += len(b)
		if window >= report || done == opt.Rows {
			fmt.Fprintf(out, "  %9d rows  %8.0f rows/s (last %d)  %8.0f rows/s overall\n", done,
				float64(window)/windowTime.Seconds(), window, float64(done)/insertTime.Seconds())
			window, windowTime = 0, 0
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(done) / insertTime.Seconds(), nil
}

func (o *Options) defaults() {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Span <= 0 {
		o.Span = 30 * 24 * time.Hour
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(time.Minute)
	}
	if o.Runs <= 0 {
		o.Runs = 5
	}
}

// Timing is one query's result.
type Timing struct {
	Name           string
	Median, Max    time.Duration
	Rows           int64 // requests summarised, or records returned
	Groups, Points int
}

// Queries times the dashboard's and the report's queries against data ending at
// opt.End, printing each as it completes.
func Queries(ctx context.Context, s ledger.Store, opt Options, out io.Writer) ([]Timing, error) {
	opt.defaults()
	end := opt.End
	day, week, month := end.Add(-24*time.Hour), end.Add(-7*24*time.Hour), end.Add(-30*24*time.Hour)
	sum := func(name string, q ledger.Query) (string, func() (Timing, error)) {
		return name, func() (Timing, error) {
			r, err := s.Summary(ctx, q)
			if err != nil {
				return Timing{}, err
			}
			return Timing{Rows: r.Totals.Requests, Groups: len(r.Groups), Points: len(r.Series)}, nil
		}
	}
	// A key from the middle of the popularity curve, and a request id from the data.
	page, err := s.Requests(ctx, ledger.RequestFilter{}, "", 1)
	if err != nil {
		return nil, err
	}
	reqID := ""
	if len(page.Records) > 0 {
		reqID = page.Records[0].RequestID
	}
	var deepCursor string
	logq := func(name string, f ledger.RequestFilter, pages int) (string, func() (Timing, error)) {
		return name, func() (Timing, error) {
			cursor := ""
			var n int
			for range pages {
				p, err := s.Requests(ctx, f, cursor, 50)
				if err != nil {
					return Timing{}, err
				}
				n = len(p.Records)
				if cursor = p.Next; cursor == "" {
					break
				}
			}
			if pages > 1 {
				deepCursor = cursor
			}
			return Timing{Rows: int64(n)}, nil
		}
	}
	type named struct {
		name string
		fn   func() (Timing, error)
	}
	var qs []named
	add := func(name string, fn func() (Timing, error)) { qs = append(qs, named{name, fn}) }
	add(sum("summary 24h, hourly series", ledger.Query{From: day, To: end, Interval: ledger.Hourly}))
	add(sum("summary 1h by provider (health)", ledger.Query{From: end.Add(-time.Hour), To: end, GroupBy: ledger.ByProvider}))
	add(sum("summary 7d by model, daily series", ledger.Query{From: week, To: end, GroupBy: ledger.ByModel, Interval: ledger.Daily}))
	add(sum("summary 7d by cache, hourly series", ledger.Query{From: week, To: end, GroupBy: ledger.ByCache, Interval: ledger.Hourly}))
	add(sum("summary 30d by model, daily series", ledger.Query{From: month, To: end, GroupBy: ledger.ByModel, Interval: ledger.Daily}))
	add(sum("summary 30d by provider", ledger.Query{From: month, To: end, GroupBy: ledger.ByProvider}))
	add(sum("summary 30d by route reason", ledger.Query{From: month, To: end, GroupBy: ledger.ByRoute}))
	add(sum("summary 30d by key", ledger.Query{From: month, To: end, GroupBy: ledger.ByKey}))
	add(sum("summary 30d by key, daily series", ledger.Query{From: month, To: end, GroupBy: ledger.ByKey, Interval: ledger.Daily}))
	add(sum("summary 30d one key by model", ledger.Query{From: month, To: end, GroupBy: ledger.ByModel,
		Filter: ledger.Filter{Keys: []string{"key_007"}}}))
	add(sum("summary 30d model filter, hourly series", ledger.Query{From: month, To: end, Interval: ledger.Hourly,
		Filter: ledger.Filter{Models: []string{"gpt-4o"}}}))
	add(logq("log first page", ledger.RequestFilter{}, 1))
	add(logq("log page 20", ledger.RequestFilter{}, 20))
	add("log page after a deep cursor", func() (Timing, error) {
		p, err := s.Requests(ctx, ledger.RequestFilter{}, deepCursor, 50)
		if err != nil {
			return Timing{}, err
		}
		return Timing{Rows: int64(len(p.Records))}, nil
	})
	add(logq("log model=gpt-4o", ledger.RequestFilter{Filter: ledger.Filter{Models: []string{"gpt-4o"}}}, 1))
	add(logq("log key + cache=hit", ledger.RequestFilter{Filter: ledger.Filter{Keys: []string{"key_007"},
		Cache: []ledger.CacheStatus{ledger.CacheHit}}}, 1))
	add(logq("log semantic hits", ledger.RequestFilter{Filter: ledger.Filter{Cache: []ledger.CacheStatus{ledger.CacheSemanticHit}}}, 1))
	add(logq("log errors only", ledger.RequestFilter{ErrorsOnly: true}, 1))
	add(logq("log status=502, last 7d", ledger.RequestFilter{Status: 502, From: week, To: end}, 1))
	add(logq("log provider=groq, last 24h", ledger.RequestFilter{From: day, To: end,
		Filter: ledger.Filter{Providers: []string{"groq"}}}, 1))
	add(logq("log unknown model (no match)", ledger.RequestFilter{Filter: ledger.Filter{Models: []string{"no-such-model"}}}, 1))
	add(logq("log oldest first (export order)", ledger.RequestFilter{OldestFirst: true}, 1))
	add("get one request by id", func() (Timing, error) {
		if _, err := s.Get(ctx, reqID); err != nil {
			return Timing{}, err
		}
		return Timing{Rows: 1}, nil
	})

	var out2 []Timing
	for _, q := range qs {
		var ds []time.Duration
		var t Timing
		for range opt.Runs {
			start := time.Now()
			r, err := q.fn()
			if err != nil {
				return out2, fmt.Errorf("%s: %w", q.name, err)
			}
			ds = append(ds, time.Since(start))
			t = r
		}
		slices.Sort(ds)
		t.Name, t.Median, t.Max = q.name, ds[len(ds)/2], ds[len(ds)-1]
		fmt.Fprintf(out, "  %-40s %9.2f ms median %9.2f ms max  (%d requests/records, %d groups, %d points)\n",
			t.Name, ms(t.Median), ms(t.Max), t.Rows, t.Groups, t.Points)
		out2 = append(out2, t)
	}
	return out2, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
