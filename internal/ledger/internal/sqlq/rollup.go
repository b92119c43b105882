package sqlq

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

// Rollup is one pre-aggregated table: records summed per time bucket and per
// combination of dimensions. Keyed rollups add tenant and key; the narrow ones
// without them are far smaller and answer every query that does not ask about keys.
type Rollup struct {
	Table string
	Width int64 // bucket width in seconds
	Keyed bool
}

// Rollups lists the rollup tables, the ones preferred by queries first.
func Rollups() []Rollup {
	return []Rollup{
		{"rollup_hour", 3600, false},
		{"rollup_hour_keys", 3600, true},
		{"rollup_day", 86400, false},
		{"rollup_day_keys", 86400, true},
	}
}

func pickRollup(width int64, keyed bool) Rollup {
	for _, r := range Rollups() {
		if r.Width == width && r.Keyed == keyed {
			return r
		}
	}
	panic(fmt.Sprintf("sqlq: no rollup of width %d keyed=%v", width, keyed))
}

func (r Rollup) dims() []string {
	if r.Keyed {
		return []string{"tenant", "key_id", "model", "provider", "route_reason", "cache_status"}
	}
	return []string{"model", "provider", "route_reason", "cache_status"}
}

// measure is a summable column of the rollups and the Counts field it holds;
// durations are stored in microseconds (scale 1000 from nanoseconds).
type measure struct {
	name  string
	scale int64
}

func measures() []measure {
	ms := []measure{
		{"requests", 1}, {"errors", 1}, {"server_errors", 1}, {"streams", 1}, {"partials", 1},
		{"estimated", 1}, {"cache_hits", 1}, {"semantic_hits", 1}, {"coalesced", 1}, {"bypassed", 1},
		{"cost_nusd", 1}, {"baseline_cost_nusd", 1}, {"saved_nusd", 1}, {"saved_cache_nusd", 1},
		{"saved_routing_nusd", 1}, {"saved_provider_nusd", 1},
		{"input_tokens", 1}, {"cached_tokens", 1}, {"cache_write_tokens", 1}, {"output_tokens", 1},
		{"reasoning_tokens", 1},
		{"latency_sum_us", 1000}, {"overhead_sum_us", 1000}, {"ttft_count", 1}, {"ttft_sum_us", 1000},
	}
	for i := range ledger.NumBuckets {
		ms = append(ms, measure{fmt.Sprintf("lat_%02d", i), 1})
	}
	for i := range ledger.NumBuckets {
		ms = append(ms, measure{fmt.Sprintf("ttft_%02d", i), 1})
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

// ComputeRollups sums normalized records into rows of every rollup table.
func ComputeRollups(recs []ledger.Record) []RollupRows {
	rs := Rollups()
	out := make([]RollupRows, len(rs))
	for i, r := range rs {
		acc := make(map[rollupKey]*ledger.Counts)
		for j := range recs {
			rec := &recs[j]
			k := rollupKey{bucket: bucketOf(rec.Time, r.Width)}
			if r.Keyed {
				k.dims = [6]string{rec.Tenant, rec.KeyID, rec.ServedModel, rec.Provider, rec.RouteReason, string(rec.Cache)}
			} else {
				k.dims = [6]string{rec.ServedModel, rec.Provider, rec.RouteReason, string(rec.Cache)}
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
		ms := measures()
		nd := len(r.dims())
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

// UpsertSQL adds one row's sums into a rollup table.
func UpsertSQL(d Dialect, r Rollup) string {
	cols := append([]string{"bucket"}, r.dims()...)
	key := strings.Join(cols, ", ")
	ms := measureNames()
	cols = append(cols, ms...)
	ph := make([]string, len(cols))
	for i := range ph {
		ph[i] = d.P(i + 1)
	}
	set := make([]string, len(ms))
	for i, m := range ms {
		set[i] = fmt.Sprintf("%s = %s.%s + excluded.%s", m, r.Table, m, m)
	}
	return "INSERT INTO " + r.Table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.Join(ph, ", ") + ") ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
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
