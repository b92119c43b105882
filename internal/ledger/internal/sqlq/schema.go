// Package sqlq holds the SQL that the SQLite and PostgreSQL ledger stores share:
// the schema and its migrations, the mapping of records to rows, the rollups
// maintained at insert time, and the queries. Each store only brings a connection
// and its fastest way to insert a batch.
package sqlq

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL flavour of a store.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

// P returns the placeholder for the i-th (1-based) argument.
func (d Dialect) P(i int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// sum sums an integer column; PostgreSQL's sum(bigint) is numeric, cast it back.
func (d Dialect) sum(col string) string {
	if d == Postgres {
		return "COALESCE(SUM(" + col + "),0)::bigint"
	}
	return "COALESCE(SUM(" + col + "),0)"
}

func (d Dialect) typ(kind string) string {
	switch kind {
	case "int":
		if d == Postgres {
			return "BIGINT NOT NULL DEFAULT 0"
		}
		return "INTEGER NOT NULL DEFAULT 0"
	case "text":
		return "TEXT NOT NULL DEFAULT ''"
	case "ntext":
		return "TEXT"
	case "real":
		if d == Postgres {
			return "DOUBLE PRECISION"
		}
		return "REAL"
	case "bool":
		if d == Postgres {
			return "BOOLEAN NOT NULL DEFAULT false"
		}
		return "INTEGER NOT NULL DEFAULT 0"
	case "id":
		if d == Postgres {
			return "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
		}
		return "INTEGER PRIMARY KEY"
	}
	panic("sqlq: unknown column kind " + kind)
}

// column is a raw-table column and its kind.
type column struct{ name, kind string }

// rawColumns are the columns of the requests table, in insert order (id excluded).
// Times are Unix microseconds (UTC), money integer nanodollars.
var rawColumns = [...]column{
	{"time_us", "int"}, {"request_id", "text"}, {"tenant", "text"}, {"key_id", "text"},
	{"client_format", "text"}, {"requested_model", "text"}, {"route", "text"},
	{"route_reason", "text"}, {"served_model", "text"}, {"provider", "text"},
	{"cache_status", "text"}, {"similarity", "real"}, {"matched_entry_id", "ntext"},
	{"input_tokens", "int"}, {"cached_tokens", "int"}, {"cache_write_tokens", "int"},
	{"output_tokens", "int"}, {"reasoning_tokens", "int"}, {"tokens_estimated", "bool"},
	{"cost_nusd", "int"}, {"baseline_model", "text"}, {"baseline_cost_nusd", "int"},
	{"saved_nusd", "int"}, {"saving_cause", "text"},
	{"latency_us", "int"}, {"ttft_us", "int"}, {"overhead_us", "int"},
	{"status", "int"}, {"error_kind", "text"}, {"attempt_count", "int"}, {"attempts", "text"},
	{"stream", "bool"}, {"partial", "bool"},
	// Histogram bucket indexes, so that rollups aggregate percentiles in SQL.
	{"lat_bucket", "int"}, {"ttft_bucket", "int"},
}

// RawColumns returns the requests table's insert columns.
func RawColumns() []string {
	out := make([]string, len(rawColumns))
	for i, c := range rawColumns {
		out[i] = c.name
	}
	return out
}

// InsertSQL is the one-row insert of a raw record.
func InsertSQL(d Dialect) string {
	ph := make([]string, len(rawColumns))
	for i := range ph {
		ph[i] = d.P(i + 1)
	}
	return "INSERT INTO requests (" + strings.Join(RawColumns(), ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
}

// Migration is one schema version.
type Migration struct {
	Version int
	Name    string
	Stmts   []string
}

// Migrations returns the schema history for a dialect, oldest first. Every
// statement is idempotent (IF NOT EXISTS) so that a half-applied version can rerun.
func Migrations(d Dialect) []Migration {
	var raw strings.Builder
	raw.WriteString("CREATE TABLE IF NOT EXISTS requests (\n  id " + d.typ("id"))
	for _, c := range rawColumns {
		raw.WriteString(",\n  " + c.name + " " + d.typ(c.kind))
	}
	raw.WriteString("\n)")
	v1 := []string{raw.String()}

	// Request-log indexes: every filter has an index led by it and followed by the
	// keyset order, so a page never scans rows that do not match. SQLite appends the
	// rowid (id) to every index by itself.
	idx := func(name, cols, where string) string {
		if d == Postgres {
			cols += ", id"
		}
		s := "CREATE INDEX IF NOT EXISTS " + name + " ON requests (" + cols + ")"
		if where != "" {
			s += " WHERE " + where
		}
		return s
	}
	v1 = append(v1,
		idx("requests_time", "time_us", ""),
		idx("requests_key", "key_id, time_us", ""),
		idx("requests_tenant", "tenant, time_us", ""),
		idx("requests_model", "served_model, time_us", ""),
		idx("requests_provider", "provider, time_us", ""),
		idx("requests_cache", "cache_status, time_us", ""),
		idx("requests_route", "route_reason, time_us", ""),
		idx("requests_status", "status, time_us", ""),
		idx("requests_errors", "time_us", "status >= 400"),
		"CREATE INDEX IF NOT EXISTS requests_request_id ON requests (request_id)",
	)
	for _, r := range Rollups() {
		v1 = append(v1, rollupDDL(d, r)...)
	}
	v1 = append(v1,
		"CREATE TABLE IF NOT EXISTS rollup_state (id "+d.typ("int")+" PRIMARY KEY, watermark_us "+d.typ("int")+")",
		"INSERT INTO rollup_state (id, watermark_us) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
	return []Migration{{Version: 1, Name: "requests and rollups", Stmts: v1}}
}

func rollupDDL(d Dialect, r Rollup) []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + r.Table() + " (\n  bucket " + d.typ("int"))
	for _, dim := range r.Kind.Dims {
		b.WriteString(",\n  " + dim + " " + d.typ("text"))
	}
	for _, m := range measureNames() {
		b.WriteString(",\n  " + m + " " + d.typ("int"))
	}
	b.WriteString(",\n  PRIMARY KEY (" + strings.Join(r.keyCols(), ", ") + ")\n)")
	if d == SQLite {
		b.WriteString(" WITHOUT ROWID") // clustered on the key: range scans read only their rows
	}
	out := []string{b.String()}
	if r.keyed() && len(r.Kind.Dims) > 2 {
		t := r.Table()
		out = append(out,
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_key ON %s (key_id, bucket)", t, t),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_tenant ON %s (tenant, bucket)", t, t))
	}
	return out
}
