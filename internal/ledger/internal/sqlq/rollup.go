package sqlq

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

// Rollups are pre-aggregated tables: records summed per time bucket (hour, day) and
// per combination of some dimensions. Each query reads the smallest rollup whose
// dimensions cover what it groups and filters by, so a month of the headline figures
// reads 30 rows, not millions.
//
// Rollups hold exactly the raw rows older than the watermark (kept in rollup_state,
// always at an hour boundary). Inserting a batch moves the watermark to the hour
// before the batch's newest record less a grace period and aggregates the hours it
// passed in SQL, set-wise; records that arrive later than that for an hour already
// rolled up are added to every rollup row by row. Queries read rollups below the
// watermark and raw rows above it, in one snapshot.

// Kind is a set of rollup dimensions, kept at hourly and daily width.
type Kind struct {
	Name string
	Dims []string // column names, in key order
}

// Kinds lists the rollup dimension sets, smallest first: a query uses the first that
// covers it. keyfull, the finest, is the source the others are derived from.
func Kinds() []Kind {
	return []Kind{
		{"total", nil},
		{"rc", []string{"route_reason", "cache_status"}},
		{"mp", []string{"model", "provider"}},
		{"key", []string{"tenant", "key_id"}},
		{"keymp", []string{"tenant", "key_id", "model", "provider"}},
		{"full", []string{"model", "provider", "route_reason", "cache_status"}},
		{"keyfull", []string{"tenant", "key_id", "model", "provider", "route_reason", "cache_status"}},
	}
}

// Rollup is one table: a kind at a width.
type Rollup struct {
	Kind  Kind
	Width int64 // bucket width in seconds
}

// Table is the rollup's table name.
func (r Rollup) Table() string {
	if r.Width == 86400 {
		return "rollup_" + r.Kind.Name + "_day"
	}
	return "rollup_" + r.Kind.Name + "_hour"
}

func (r Rollup) keyed() bool { return slices.Contains(r.Kind.Dims, "key_id") }

// Rollups lists every rollup table.
func Rollups() []Rollup {
	var out []Rollup
	for _, w := range []int64{3600, 86400} {
		for _, k := range Kinds() {
			out = append(out, Rollup{k, w})
		}
	}
	return out
}

// pickRollup returns the smallest rollup of a width that has every needed column.
func pickRollup(width int64, need []string) Rollup {
	for _, k := range Kinds() {
		ok := true
		for _, n := range need {
			if !slices.Contains(k.Dims, n) {
				ok = false
				break
			}
		}
		if ok {
			return Rollup{k, width}
		}
	}
	panic(fmt.Sprintf("sqlq: no rollup covers %v", need))
}

// measure is a summable column of the rollups: how to compute it from raw rows, and
// the scale from the Counts field (durations are stored in microseconds).
type measure struct {
	name  string
	raw   string // aggregate over requests
	scale int64
}

func measures() []measure {
	count := func(cond string) string { return "SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END)" }
	sumIf := func(cond, col string) string { return "SUM(CASE WHEN " + cond + " THEN " + col + " ELSE 0 END)" }
	ms := []measure{
		{"requests", "COUNT(*)", 1},
		{"errors", count("status >= 400"), 1},
		{"server_errors", count("status >= 500"), 1},
		{"streams", count("stream"), 1},
		{"partials", count("partial"), 1},
		{"estimated", count("tokens_estimated"), 1},
		{"cache_hits", count("cache_status = 'hit'"), 1},
		{"semantic_hits", count("cache_status = 'semantic-hit'"), 1},
		{"coalesced", count("cache_status = 'coalesced'"), 1},
		{"bypassed", count("cache_status = 'bypass'"), 1},
		{"cost_nusd", "SUM(cost_nusd)", 1},
		{"baseline_cost_nusd", "SUM(baseline_cost_nusd)", 1},
		{"saved_nusd", "SUM(saved_nusd)", 1},
		{"saved_cache_nusd", sumIf("saving_cause = 'cache'", "saved_nusd"), 1},
		{"saved_routing_nusd", sumIf("saving_cause = 'routing'", "saved_nusd"), 1},
		{"saved_provider_nusd", sumIf("saving_cause = 'provider'", "saved_nusd"), 1},
		{"input_tokens", "SUM(input_tokens)", 1},
		{"cached_tokens", "SUM(cached_tokens)", 1},
		{"cache_write_tokens", "SUM(cache_write_tokens)", 1},
		{"output_tokens", "SUM(output_tokens)", 1},
		{"reasoning_tokens", "SUM(reasoning_tokens)", 1},
		{"latency_sum_us", "SUM(latency_us)", 1000},
		{"overhead_sum_us", "SUM(overhead_us)", 1000},
		{"ttft_count", count("ttft_us > 0"), 1},
		{"ttft_sum_us", "SUM(ttft_us)", 1000},
	}
	for i := range ledger.NumBuckets {
		ms = append(ms, measure{fmt.Sprintf("lat_%02d", i), count(fmt.Sprintf("lat_bucket = %d", i)), 1})
	}
	for i := range ledger.NumBuckets {
		ms = append(ms, measure{fmt.Sprintf("ttft_%02d", i), count(fmt.Sprintf("ttft_bucket = %d", i)), 1})
	}
	return ms
}

func measureNames() []string {
	ms := measures()
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}

// fields points at the Counts fields in the order of measures().
func fields(c *ledger.Counts) []*int64 {
	p := []*int64{
		&c.Requests, &c.Errors, &c.ServerErrors, &c.Streams, &c.Partials,
		&c.Estimated, &c.CacheHits, &c.SemanticHits, &c.Coalesced, &c.Bypassed,
		(*int64)(&c.Cost), (*int64)(&c.BaselineCost), (*int64)(&c.Saved), (*int64)(&c.SavedCache),
		(*int64)(&c.SavedRouting), (*int64)(&c.SavedProvider),
		&c.InputTokens, &c.CachedTokens, &c.CacheWriteTokens, &c.OutputTokens,
		&c.ReasoningTokens,
		(*int64)(&c.LatencySum), (*int64)(&c.OverheadSum), &c.TTFTCount, (*int64)(&c.TTFTSum),
	}
	for i := range c.Latency {
		p = append(p, &c.Latency[i])
	}
	for i := range c.TTFT {
		p = append(p, &c.TTFT[i])
	}
	return p
}

// recordDim returns a record's value of a rollup column.
func recordDim(r *ledger.Record, col string) string {
	switch col {
	case "tenant":
		return r.Tenant
	case "key_id":
		return r.KeyID
	case "model":
		return r.ServedModel
	case "provider":
		return r.Provider
	case "route_reason":
		return r.RouteReason
	case "cache_status":
		return string(r.Cache)
	}
	panic("sqlq: unknown dimension " + col)
}

// rollupKey identifies one rollup row.
type rollupKey struct {
	bucket int64
	dims   [6]string
}

func compareKeys(a, b rollupKey) int {
	if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
		return c
	}
	for i := range a.dims {
		if c := strings.Compare(a.dims[i], b.dims[i]); c != 0 {
			return c
		}
	}
	return 0
}

// RollupRows are the upsert arguments for one rollup table, in key order so that
// concurrent writers lock rows in the same order and cannot deadlock.
type RollupRows struct {
	Rollup Rollup
	Args   [][]any
}

// ComputeRollups sums the normalized records that arrive after their hour was rolled
// up (time below the watermark) into rows of the hourly rollups, and of the daily
// ones when their day is rolled up too (below the watermark's day).
func ComputeRollups(recs []ledger.Record, watermarkUS int64) []RollupRows {
	rs := Rollups()
	out := make([]RollupRows, len(rs))
	ms := measures()
	for i, r := range rs {
		limit := floorTo(watermarkUS, r.Width*usPerSec)
		acc := make(map[rollupKey]*ledger.Counts)
		for j := range recs {
			rec := &recs[j]
			if rec.Time.UnixMicro() >= limit {
				continue
			}
			k := rollupKey{bucket: bucketOf(rec.Time, r.Width)}
			for d, col := range r.Kind.Dims {
				k.dims[d] = recordDim(rec, col)
			}
			c := acc[k]
			if c == nil {
				c = new(ledger.Counts)
				acc[k] = c
			}
			c.Add(rec)
		}
		keys := make([]rollupKey, 0, len(acc))
		for k := range acc {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		nd := len(r.Kind.Dims)
		out[i].Rollup = r
		out[i].Args = make([][]any, len(keys))
		for j, k := range keys {
			args := make([]any, 0, 1+nd+len(ms))
			args = append(args, k.bucket)
			for _, d := range k.dims[:nd] {
				args = append(args, d)
			}
			for m, p := range fields(acc[k]) {
				args = append(args, *p/ms[m].scale)
			}
			out[i].Args[j] = args
		}
	}
	return out
}

func (r Rollup) keyCols() []string { return append([]string{"bucket"}, r.Kind.Dims...) }

// onConflict adds the new sums to an existing row.
func (r Rollup) onConflict() string {
	ms := measureNames()
	set := make([]string, len(ms))
	for i, m := range ms {
		set[i] = fmt.Sprintf("%s = %s.%s + excluded.%s", m, r.Table(), m, m)
	}
	return " ON CONFLICT (" + strings.Join(r.keyCols(), ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// UpsertSQL adds one row's sums into a rollup table.
func UpsertSQL(d Dialect, r Rollup) string {
	cols := append(r.keyCols(), measureNames()...)
	ph := make([]string, len(cols))
	for i := range ph {
		ph[i] = d.P(i + 1)
	}
	return "INSERT INTO " + r.Table() + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.Join(ph, ", ") + ")" + r.onConflict()
}

// AdvanceStmt is one statement of a rollup advance. Its two arguments are the range
// in Unix microseconds when FromRaw, else in seconds; Daily statements get the range
// of whole days newly below the watermark.
type AdvanceStmt struct {
	SQL     string
	FromRaw bool
	Daily   bool
}

// AdvanceSQL returns the statements that roll the raw rows of an hour-aligned range
// into every rollup: the finest hourly rollup from the raw rows, the other hourly
// ones from it, and the daily ones from the hourly.
func AdvanceSQL(d Dialect) []AdvanceStmt {
	fine := Rollup{Kinds()[len(Kinds())-1], 3600}
	all := append(fine.keyCols(), measureNames()...)
	rawDims := make([]string, len(fine.Kind.Dims))
	for i, c := range fine.Kind.Dims {
		rawDims[i] = c
		if c == "model" {
			rawDims[i] = "served_model"
		}
	}
	sel := []string{fmt.Sprintf("(time_us / %d) * 3600", hourUS)}
	sel = append(sel, rawDims...)
	for _, m := range measures() {
		sel = append(sel, m.raw)
	}
	group := append([]string{fmt.Sprintf("(time_us / %d) * 3600", hourUS)}, rawDims...)
	stmts := []AdvanceStmt{{FromRaw: true, SQL: "INSERT INTO " + fine.Table() + " (" + strings.Join(all, ", ") + ") SELECT " +
		strings.Join(sel, ", ") + " FROM requests WHERE time_us >= " + d.P(1) + " AND time_us < " + d.P(2) +
		" GROUP BY " + strings.Join(group, ", ") + fine.onConflict()}}
	derive := func(dst, src Rollup) AdvanceStmt {
		b := "bucket"
		if dst.Width != src.Width {
			b = fmt.Sprintf("(bucket / %d) * %d", dst.Width, dst.Width)
		}
		sel := append([]string{b}, dst.Kind.Dims...)
		for _, m := range measureNames() {
			sel = append(sel, "SUM("+m+")")
		}
		group := append([]string{b}, dst.Kind.Dims...)
		return AdvanceStmt{SQL: "INSERT INTO " + dst.Table() + " (" + strings.Join(append(dst.keyCols(), measureNames()...), ", ") +
			") SELECT " + strings.Join(sel, ", ") + " FROM " + src.Table() + " WHERE bucket >= " + d.P(1) +
			" AND bucket < " + d.P(2) + " GROUP BY " + strings.Join(group, ", ") + dst.onConflict()}
	}
	for _, k := range Kinds()[:len(Kinds())-1] {
		stmts = append(stmts, derive(Rollup{k, 3600}, fine))
	}
	for _, k := range Kinds() {
		st := derive(Rollup{k, 86400}, Rollup{k, 3600})
		st.Daily = true
		stmts = append(stmts, st)
	}
	return stmts
}

func bucketOf(t time.Time, width int64) int64 {
	s := t.Unix()
	return s - mod(s, width)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func floorTo(s, w int64) int64 { return s - mod(s, w) }

func ceilTo(s, w int64) int64 {
	if mod(s, w) == 0 {
		return s
	}
	return floorTo(s, w) + w
}
