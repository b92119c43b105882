package sqlq

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

// Reader answers the ledger's queries over a database/sql handle.
type Reader struct {
	DB      *sql.DB
	Dialect Dialect
}

const (
	usPerSec = int64(time.Second / time.Microsecond)
	hourUS   = 3600 * usPerSec
	dayUS    = 86400 * usPerSec
)

// segment is a part of a query range served by one source: raw rows for partial
// hours, else a rollup of the given width. Bounds are Unix microseconds.
type segment struct {
	from, to int64
	width    int64 // 0: raw rows; else rollup bucket width in seconds
}

// plan splits [from, to) into raw edges, hourly parts and whole days, so that every
// record is counted exactly once and raw rows are read for at most two partial
// hours. An hourly series never uses the daily rollups.
func plan(from, to, watermark int64, iv ledger.Interval) []segment {
	dayMark := floorTo(watermark, dayUS) // daily rollups hold whole days below it
	// Rows at and after the watermark are not rolled up yet.
	if watermark < to {
		cut := max(watermark, from)
		segs := planRolled(from, cut, dayMark, iv)
		if n := len(segs); n > 0 && segs[n-1].width == 0 && segs[n-1].to == cut {
			segs[n-1].to = to
			return segs
		}
		return append(segs, segment{cut, to, 0})
	}
	return planRolled(from, to, dayMark, iv)
}

func planRolled(from, to, dayMark int64, iv ledger.Interval) []segment {
	if from >= to {
		return nil
	}
	a, b := ceilTo(from, hourUS), floorTo(to, hourUS)
	if a >= b {
		return []segment{{from, to, 0}}
	}
	var segs []segment
	add := func(f, t, w int64) {
		if f < t {
			segs = append(segs, segment{f, t, w})
		}
	}
	add(from, a, 0)
	c, d := ceilTo(a, dayUS), min(floorTo(b, dayUS), dayMark)
	if iv == ledger.Hourly || c >= d {
		add(a, b, 3600)
	} else {
		add(a, c, 3600)
		add(c, d, 86400)
		add(d, b, 3600)
	}
	add(b, to, 0)
	return segs
}

// dimColumn returns the column a dimension is stored in, raw or rolled up.
func dimColumn(dim ledger.Dimension, raw bool) string {
	switch dim {
	case ledger.ByModel:
		if raw {
			return "served_model"
		}
		return "model"
	case ledger.ByProvider:
		return "provider"
	case ledger.ByKey:
		return "key_id"
	case ledger.ByTenant:
		return "tenant"
	case ledger.ByCache:
		return "cache_status"
	case ledger.ByRoute:
		return "route_reason"
	}
	return ""
}

// where accumulates conditions and their arguments.
type where struct {
	d     Dialect
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", w.d.P(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		w.args = append(w.args, v)
		ph[i] = w.d.P(len(w.args))
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(ph, ", ")+")")
}

func (w *where) filter(f *ledger.Filter, raw bool) {
	w.in(dimColumn(ledger.ByModel, raw), f.Models)
	w.in("provider", f.Providers)
	w.in("key_id", f.Keys)
	w.in("tenant", f.Tenants)
	w.in("route_reason", f.Routes)
	cache := make([]string, len(f.Cache))
	for i, c := range f.Cache {
		cache[i] = string(c)
	}
	w.in("cache_status", cache)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// accumulator merges partial aggregates into a Summary.
type accumulator struct {
	q       *ledger.Query
	width   int64 // series bucket width in seconds
	total   ledger.Counts
	groups  map[string]*ledger.Counts
	series  map[int64]*ledger.Counts
	cross   map[int64]map[string]*ledger.Counts
	scratch ledger.Counts
}

func newAccumulator(q *ledger.Query) *accumulator {
	return &accumulator{q: q, width: q.Interval.Seconds(),
		groups: map[string]*ledger.Counts{}, series: map[int64]*ledger.Counts{},
		cross: map[int64]map[string]*ledger.Counts{}}
}

func get[K comparable](m map[K]*ledger.Counts, k K) *ledger.Counts {
	c := m[k]
	if c == nil {
		c = new(ledger.Counts)
		m[k] = c
	}
	return c
}

// add merges c, which belongs to series bucket t (seconds) and group g.
func (a *accumulator) add(t int64, g string, c *ledger.Counts) {
	a.total.Merge(c)
	if a.q.GroupBy != ledger.ByNone {
		get(a.groups, g).Merge(c)
	}
	if a.width > 0 {
		get(a.series, t).Merge(c)
		if a.q.GroupBy != ledger.ByNone {
			m := a.cross[t]
			if m == nil {
				m = map[string]*ledger.Counts{}
				a.cross[t] = m
			}
			get(m, g).Merge(c)
		}
	}
}

func sortedGroups(m map[string]*ledger.Counts) []ledger.Group {
	out := make([]ledger.Group, 0, len(m))
	for k, c := range m {
		out = append(out, ledger.Group{Key: k, Totals: c.Totals()})
	}
	slices.SortFunc(out, func(x, y ledger.Group) int {
		if c := cmp.Compare(y.Totals.Cost, x.Totals.Cost); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Totals.Requests, x.Totals.Requests); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	return out
}

func (a *accumulator) result() *ledger.Summary {
	q := a.q
	s := &ledger.Summary{From: q.From.UTC(), To: q.To.UTC(), GroupBy: q.GroupBy, Interval: q.Interval,
		Totals: a.total.Totals()}
	if q.GroupBy != ledger.ByNone {
		s.Groups = sortedGroups(a.groups)
	}
	if a.width > 0 {
		start := floorTo(q.From.Unix(), a.width)
		for t := start; t < ceilTo(q.To.UnixMicro(), a.width*usPerSec)/usPerSec; t += a.width {
			p := ledger.Point{Time: time.Unix(t, 0).UTC()}
			if c := a.series[t]; c != nil {
				p.Totals = c.Totals()
			}
			if m := a.cross[t]; m != nil {
				p.Groups = sortedGroups(m)
			}
			s.Series = append(s.Series, p)
		}
	}
	return s
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// needed lists the rollup columns a query groups or filters by.
func needed(q *ledger.Query) []string {
	var need []string
	if c := dimColumn(q.GroupBy, false); c != "" {
		need = append(need, c)
	}
	f := &q.Filter
	for _, x := range []struct {
		col string
		n   int
	}{{"model", len(f.Models)}, {"provider", len(f.Providers)}, {"key_id", len(f.Keys)},
		{"tenant", len(f.Tenants)}, {"route_reason", len(f.Routes)}, {"cache_status", len(f.Cache)}} {
		if x.n > 0 {
			need = append(need, x.col)
		}
	}
	return need
}

// Summary aggregates q from rollups and, for partial hours and the hours not rolled
// up yet, raw rows, all in one read snapshot.
func (rd *Reader) Summary(ctx context.Context, q ledger.Query) (*ledger.Summary, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sum, err := rd.summary(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ledger summary %s..%s: %w", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), err)
	}
	return sum, nil
}

func (rd *Reader) summary(ctx context.Context, q ledger.Query) (*ledger.Summary, error) {
	opts := &sql.TxOptions{}
	if rd.Dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := rd.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var watermark int64
	if err := tx.QueryRowContext(ctx, WatermarkSQL(rd.Dialect, false)).Scan(&watermark); err != nil {
		return nil, fmt.Errorf("read watermark: %w", err)
	}
	need := needed(&q)
	acc := newAccumulator(&q)
	for _, seg := range plan(q.From.UnixMicro(), q.To.UnixMicro(), watermark, q.Interval) {
		if seg.width == 0 {
			err = rd.aggRaw(ctx, tx, seg, acc)
		} else {
			err = rd.aggRollup(ctx, tx, seg, pickRollup(seg.width, need), acc)
		}
		if err != nil {
			return nil, err
		}
	}
	return acc.result(), nil
}

func (rd *Reader) aggRollup(ctx context.Context, db querier, seg segment, r Rollup, acc *accumulator) error {
	w := &where{d: rd.Dialect}
	w.add("bucket >= ?", seg.from/usPerSec)
	w.add("bucket < ?", seg.to/usPerSec)
	w.filter(&acc.q.Filter, false)
	bucket := "bucket"
	if acc.width != r.Width {
		bucket = fmt.Sprintf("(bucket / %d) * %d", acc.width, acc.width)
	}
	ms := measures()
	exprs := make([]string, len(ms))
	for i, m := range ms {
		exprs[i] = rd.Dialect.sum(m.name)
	}
	return rd.aggregate(ctx, db, r.Table(), w, bucket, dimColumn(acc.q.GroupBy, false), exprs, acc)
}

// aggRaw aggregates raw rows in SQL with the same measures the rollups hold.
func (rd *Reader) aggRaw(ctx context.Context, db querier, seg segment, acc *accumulator) error {
	w := &where{d: rd.Dialect}
	w.add("time_us >= ?", seg.from)
	w.add("time_us < ?", seg.to)
	w.filter(&acc.q.Filter, true)
	bucket := fmt.Sprintf("(time_us / %d) * %d", acc.width*usPerSec, acc.width)
	ms := measures()
	exprs := make([]string, len(ms))
	for i, m := range ms {
		exprs[i] = "COALESCE(" + m.raw + ", 0)"
		if rd.Dialect == Postgres {
			exprs[i] += "::bigint"
		}
	}
	return rd.aggregate(ctx, db, "requests", w, bucket, dimColumn(acc.q.GroupBy, true), exprs, acc)
}

// aggregate runs one GROUP BY (series bucket, group column) over a source and adds
// its sums to acc.
func (rd *Reader) aggregate(ctx context.Context, db querier, table string, w *where, bucket, groupCol string, exprs []string, acc *accumulator) error {
	var sel, group []string
	if acc.width > 0 {
		sel, group = append(sel, bucket), append(group, bucket)
	} else {
		sel = append(sel, "0")
	}
	if groupCol != "" {
		sel, group = append(sel, groupCol), append(group, groupCol)
	} else {
		sel = append(sel, "''")
	}
	sel = append(sel, exprs...)
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + table + w.String()
	if len(group) > 0 {
		query += " GROUP BY " + strings.Join(group, ", ")
	}
	rows, err := db.QueryContext(ctx, query, w.args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", table, err)
	}
	defer rows.Close()
	ms := measures()
	vals := make([]int64, len(ms))
	dest := make([]any, 2+len(ms))
	var t int64
	var g string
	dest[0], dest[1] = &t, &g
	for i := range vals {
		dest[2+i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan %s: %w", table, err)
		}
		if vals[0] == 0 {
			continue // no rows matched (an aggregate without GROUP BY still answers)
		}
		c := &acc.scratch
		*c = ledger.Counts{}
		for i, p := range fields(c) {
			*p = vals[i] * ms[i].scale
		}
		acc.add(t, g, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	return nil
}

// MaxPage bounds a request-log page.
const MaxPage = 1000

// Requests returns one page of the request log in (time, id) order.
func (rd *Reader) Requests(ctx context.Context, f ledger.RequestFilter, cursor string, limit int) (*ledger.Page, error) {
	cur, hasCur, err := ledger.ParseCursor(cursor)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxPage)
	w := &where{d: rd.Dialect}
	if !f.From.IsZero() {
		w.add("time_us >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		w.add("time_us < ?", f.To.UnixMicro())
	}
	w.filter(&f.Filter, true)
	if f.Status != 0 {
		w.add("status = ?", int64(f.Status))
	}
	if f.ErrorsOnly {
		w.add("status >= 400") // literal, so SQLite matches the partial index
	}
	order := "DESC"
	if f.OldestFirst {
		order = "ASC"
		if hasCur {
			w.add("time_us >= ?", cur.TimeUS)
			w.add("(time_us > ? OR id > ?)", cur.TimeUS, cur.ID)
		}
	} else if hasCur {
		w.add("time_us <= ?", cur.TimeUS)
		w.add("(time_us < ? OR id < ?)", cur.TimeUS, cur.ID)
	}
	query := "SELECT " + selectRecord() + " FROM requests" + w.String() +
		" ORDER BY time_us " + order + ", id " + order + " LIMIT " + fmt.Sprint(limit+1)
	rows, err := rd.DB.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("query request log: %w", err)
	}
	defer rows.Close()
	page := &ledger.Page{Records: make([]ledger.Record, 0, min(limit, 64))}
	var last Cursor
	for rows.Next() {
		if len(page.Records) == limit {
			page.Next = last.String()
			break
		}
		r, c, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		page.Records = append(page.Records, r)
		last = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read request log: %w", err)
	}
	return page, nil
}

// Get returns the newest record with a request id.
func (rd *Reader) Get(ctx context.Context, requestID string) (*ledger.Record, error) {
	row := rd.DB.QueryRowContext(ctx, "SELECT "+selectRecord()+" FROM requests WHERE request_id = "+
		rd.Dialect.P(1)+" ORDER BY id DESC LIMIT 1", requestID)
	r, _, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get request %q: %w", requestID, err)
	}
	return &r, nil
}
