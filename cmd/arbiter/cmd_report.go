package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/ledgerbench"
	"github.com/arbiterhq/arbiter/internal/ledger/postgres"
	"github.com/arbiterhq/arbiter/internal/ledger/report"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
)

// ledgerFlags are the flags that say where the ledger is.
type ledgerFlags struct{ dataDir, dsn *string }

func addLedgerFlags(fs *flag.FlagSet) ledgerFlags {
	dir := os.Getenv("ARBITER_DATA_DIR")
	if dir == "" {
		dir = "data"
	}
	return ledgerFlags{
		dataDir: fs.String("data-dir", dir, "data directory holding the SQLite ledger (ledger.db)"),
		dsn:     fs.String("postgres", os.Getenv("ARBITER_LEDGER_POSTGRES"), "PostgreSQL DSN of the ledger (instead of --data-dir)"),
	}
}

// open opens an existing ledger: reading must not create an empty one by mistake.
func (lf ledgerFlags) open(ctx context.Context) (ledger.Store, error) {
	if *lf.dsn != "" {
		return postgres.Open(ctx, *lf.dsn)
	}
	path := filepath.Join(*lf.dataDir, sqlite.FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no ledger at %s (use --data-dir or --postgres)", path)
	}
	return sqlite.OpenFile(ctx, path)
}

func splitFlag(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// rangeFlags are --since, or --from and --to.
type rangeFlags struct{ since, from, to *string }

func addRangeFlags(fs *flag.FlagSet, since string) rangeFlags {
	return rangeFlags{
		since: fs.String("since", since, "look back this far from now (7d, 24h, 2w)"),
		from:  fs.String("from", "", "start of the range, RFC 3339 (overrides --since)"),
		to:    fs.String("to", "", "end of the range, RFC 3339 (default now)"),
	}
}

func (rf rangeFlags) get(now time.Time) (from, to time.Time, err error) {
	to = now
	if *rf.to != "" {
		if to, err = time.Parse(time.RFC3339, *rf.to); err != nil {
			return from, to, fmt.Errorf("--to: %w", err)
		}
	}
	if *rf.from != "" {
		if from, err = time.Parse(time.RFC3339, *rf.from); err != nil {
			return from, to, fmt.Errorf("--from: %w", err)
		}
		return from, to, nil
	}
	if *rf.since == "" {
		return time.Time{}, to, nil
	}
	d, err := report.ParseSince(*rf.since)
	if err != nil {
		return from, to, err
	}
	return to.Add(-d), to, nil
}

// cmdReport prints what was spent, what it would have cost and what was saved.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf := addLedgerFlags(fs)
	rf := addRangeFlags(fs, "7d")
	by := fs.String("by", "model", "group by model, provider, key, tenant, cache, route, day or hour (or none)")
	asJSON := fs.Bool("json", false, "print JSON (exact nanodollars) instead of a table")
	model := fs.String("model", "", "only these served models (comma-separated)")
	provider := fs.String("provider", "", "only these providers (comma-separated)")
	key := fs.String("key", "", "only these key ids (comma-separated)")
	tenant := fs.String("tenant", "", "only these tenants (comma-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, to, err := rf.get(time.Now().UTC())
	if err != nil {
		return err
	}
	if from.IsZero() {
		return errors.New("report needs --since or --from")
	}
	dim, iv, err := ledger.ParseGroupBy(*by)
	if err != nil {
		return err
	}
	store, err := lf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	sum, err := store.Summary(ctx, ledger.Query{From: from, To: to, GroupBy: dim, Interval: iv, Filter: ledger.Filter{
		Models: splitFlag(*model), Providers: splitFlag(*provider), Keys: splitFlag(*key), Tenants: splitFlag(*tenant)}})
	if err != nil {
		return err
	}
	if *asJSON {
		return report.JSON(stdout, sum)
	}
	return report.Table(stdout, sum)
}

// cmdExport streams ledger records as CSV or JSON lines.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf := addLedgerFlags(fs)
	rf := addRangeFlags(fs, "")
	format := fs.String("format", "jsonl", "csv or jsonl")
	out := fs.String("o", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, to, err := rf.get(time.Now().UTC())
	if err != nil {
		return err
	}
	store, err := lf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer f.Close()
		w = f
	}
	n, err := report.Export(ctx, store, w, *format, ledger.RequestFilter{From: from, To: to})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d records\n", n)
	return nil
}

// cmdLedgerBench fills a ledger with synthetic records, measuring the write rate,
// then times every query the report and the dashboard make.
func cmdLedgerBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("store", "sqlite", "sqlite or postgres")
	rows := fs.Int("rows", 1_000_000, "synthetic records to insert (0: time the queries on what is there)")
	dir := fs.String("data-dir", filepath.Join(os.TempDir(), "arbiter-ledger-bench"), "SQLite data directory")
	dsn := fs.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL DSN")
	schema := fs.String("schema", "ledger_bench", "PostgreSQL schema to use (created if missing)")
	days := fs.Int("days", 30, "days the records span, ending now")
	batch := fs.Int("batch", 500, "records per insert")
	runs := fs.Int("runs", 5, "timed runs per query (the median is reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var store ledger.Store
	var err error
	switch *kind {
	case "sqlite":
		store, err = sqlite.Open(ctx, *dir)
		fmt.Fprintf(stdout, "SQLite ledger in %s\n", *dir)
	case "postgres":
		if err := createSchema(ctx, *dsn, *schema); err != nil {
			return err
		}
		sep := "?"
		if strings.Contains(*dsn, "?") {
			sep = "&"
		}
		store, err = postgres.Open(ctx, *dsn+sep+"search_path="+*schema)
		fmt.Fprintf(stdout, "PostgreSQL ledger in schema %s\n", *schema)
	default:
		return fmt.Errorf("unknown --store %q", *kind)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	opt := ledgerbench.Options{Rows: *rows, Batch: *batch, Span: time.Duration(*days) * 24 * time.Hour, Runs: *runs, Seed: 1}
	if *rows > 0 {
		fmt.Fprintf(stdout, "inserting %d records in batches of %d over %d days\n", *rows, *batch, *days)
		start := time.Now()
		rate, err := ledgerbench.Fill(ctx, store, opt, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "inserted %d records in %s: %.0f records/s (insert time only)\n", *rows, time.Since(start).Round(time.Second), rate)
	}
	// Time the queries against the data's own end, so that reruns see the same ranges.
	p, err := store.Requests(ctx, ledger.RequestFilter{}, "", 1)
	if err != nil {
		return err
	}
	if len(p.Records) == 0 {
		return errors.New("the ledger is empty: nothing to query")
	}
	opt.End = p.Records[0].Time.Truncate(time.Minute).Add(time.Minute)
	if size, err := ledgerSize(ctx, *kind, *dir, *dsn, *schema); err == nil {
		fmt.Fprintf(stdout, "store size: %s\n", size)
	}
	fmt.Fprintf(stdout, "queries (%d runs each), data ending %s:\n", opt.Runs, opt.End.Format(time.RFC3339))
	_, err = ledgerbench.Queries(ctx, store, opt, stdout)
	return err
}

// ledgerSize reports the space the ledger takes on disk, indexes and rollups included.
func ledgerSize(ctx context.Context, kind, dir, dsn, schema string) (string, error) {
	if kind == "sqlite" {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(filepath.Join(dir, sqlite.FileName+suffix)); err == nil {
				n += fi.Size()
			}
		}
		return fmt.Sprintf("%.2f GB", float64(n)/1e9), nil
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var size string
	err = conn.QueryRow(ctx, `SELECT pg_size_pretty(SUM(pg_total_relation_size(c.oid))) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, schema).Scan(&size)
	return size, err
}

func createSchema(ctx context.Context, dsn, schema string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}
