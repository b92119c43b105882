package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/ledgerbench"
	"github.com/arbiterhq/arbiter/internal/ledger/postgres"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
)

// BenchmarkAPIAtScale times every API call behind the page against a large ledger.
// It runs only when told where the ledger is:
//
//	ARBITER_DASHBOARD_SQLITE=/path/to/dir        a SQLite ledger directory
//	ARBITER_DASHBOARD_POSTGRES=postgres://…      a PostgreSQL DSN (search_path picks the schema)
//	ARBITER_DASHBOARD_FILL=10000000              fill an empty ledger with this many synthetic
//	                                             records over 30 days first (not timed)
//
// e.g. ARBITER_DASHBOARD_SQLITE=/tmp/dash10m ARBITER_DASHBOARD_FILL=10000000 \
//
//	go test -run '^$' -bench APIAtScale -benchtime 5x ./internal/dashboard/
//
// Ranges end at the newest record, so reruns over the same data time the same work.
func BenchmarkAPIAtScale(b *testing.B) {
	stores := map[string]func(context.Context, string) (ledger.Store, error){
		"sqlite": func(ctx context.Context, dir string) (ledger.Store, error) { return sqlite.Open(ctx, dir) },
		"postgres": func(ctx context.Context, dsn string) (ledger.Store, error) {
			return postgres.Open(ctx, dsn)
		},
	}
	ran := false
	for _, kind := range []string{"sqlite", "postgres"} {
		where := os.Getenv("ARBITER_DASHBOARD_" + map[string]string{"sqlite": "SQLITE", "postgres": "POSTGRES"}[kind])
		if where == "" {
			continue
		}
		ran = true
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			store, err := stores[kind](ctx, where)
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			benchStore(b, store)
		})
	}
	if !ran {
		b.Skip("set ARBITER_DASHBOARD_SQLITE and/or ARBITER_DASHBOARD_POSTGRES to time the API at scale")
	}
}

func benchStore(b *testing.B, store ledger.Store) {
	ctx := context.Background()
	newest, err := store.Requests(ctx, ledger.RequestFilter{}, "", 1)
	if err != nil {
		b.Fatal(err)
	}
	if n, _ := strconv.Atoi(os.Getenv("ARBITER_DASHBOARD_FILL")); n > 0 && len(newest.Records) == 0 {
		if _, err := ledgerbench.Fill(ctx, store, ledgerbench.Options{Rows: n, Batch: 2000, Span: 30 * 24 * time.Hour, Seed: 1}, os.Stderr); err != nil {
			b.Fatal(err)
		}
		// Straight after a bulk load PostgreSQL has no statistics until autovacuum
		// gets to the tables, and plans the log's filtered pages badly (seconds, not
		// milliseconds); a deployment's autovacuum keeps them current.
		if pg, ok := store.(*postgres.Store); ok {
			analyze(ctx, b, pg)
		}
		if newest, err = store.Requests(ctx, ledger.RequestFilter{}, "", 1); err != nil {
			b.Fatal(err)
		}
	}
	if len(newest.Records) == 0 {
		b.Skip("the ledger is empty (set ARBITER_DASHBOARD_FILL to fill it)")
	}
	end := newest.Records[0].Time.Truncate(time.Minute).Add(time.Minute)
	h := New(Options{Store: store, AdminKey: adminKey, Now: func() time.Time { return end }})
	get := func(b *testing.B, target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Authorization", "Bearer "+adminKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
		return w
	}
	// A cursor 20 pages deep and a request id, for the log's later pages and details.
	deep := ""
	for range 20 {
		p, err := store.Requests(ctx, ledger.RequestFilter{From: end.Add(-24 * time.Hour), To: end}, deep, 50)
		if err != nil {
			b.Fatal(err)
		}
		deep = p.Next
	}
	id := newest.Records[0].RequestID
	calls := []string{"health", "requests/" + url.PathEscape(id)}
	for _, rg := range []string{"1h", "24h", "7d", "30d"} {
		calls = append(calls,
			"summary?by=model&range="+rg, // headline, spend vs baseline by model, cache, latency
			"summary?by=route&interval=none&range="+rg,
			"summary?by=provider&interval=none&range="+rg,
			"summary?by=key&interval=none&range="+rg,
			"requests?limit=50&range="+rg,
			"requests?limit=50&model=gpt-4o&range="+rg,
			"requests?limit=50&provider=groq&range="+rg,
			"requests?limit=50&key=key_007&range="+rg,
			"requests?limit=50&cache=semantic-hit&range="+rg,
			"requests?limit=50&status=error&range="+rg,
			"requests?limit=50&status=502&model=o3-mini&range="+rg,
		)
	}
	calls = append(calls, "requests?limit=50&range=24h&cursor="+url.QueryEscape(deep))
	for _, c := range calls {
		b.Run(c, func(b *testing.B) {
			target := "/dashboard/api/" + c
			for b.Loop() {
				get(b, target)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
		})
	}
	fmt.Fprintf(os.Stderr, "data ends %s\n", end.Format(time.RFC3339))
}

// analyze refreshes the planner statistics of the ledger's own tables (those of the
// schema the DSN selects).
func analyze(ctx context.Context, b *testing.B, pg *postgres.Store) {
	rows, err := pg.DB.QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
	if err != nil {
		b.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			b.Fatal(err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if _, err := pg.DB.ExecContext(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
			b.Fatal(err)
		}
	}
}
