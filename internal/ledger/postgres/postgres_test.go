package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/internal/sqlq"
	"github.com/arbiterhq/arbiter/internal/ledger/ledgertest"
)

// baseDSN is the test database; ARBITER_TEST_POSTGRES overrides it.
func baseDSN() string {
	if v := os.Getenv("ARBITER_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var schemaSeq atomic.Int64

// schemaDSN creates a schema unique to the test, dropped when it ends, and returns
// a DSN that uses it.
func schemaDSN(t testing.TB) string {
	t.Helper()
	if os.Getenv("ARBITER_TEST_NO_SERVICES") == "1" {
		t.Skip("ARBITER_TEST_NO_SERVICES=1: no PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, baseDSN())
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required (set ARBITER_TEST_NO_SERVICES=1 to skip): %v", baseDSN(), err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("ledger_test_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, baseDSN())
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	sep := "?"
	if strings.Contains(baseDSN(), "?") {
		sep = "&"
	}
	return baseDSN() + sep + "search_path=" + name
}

func open(t *testing.T) ledger.Store {
	t.Helper()
	s, err := Open(context.Background(), schemaDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreSuite(t *testing.T) { ledgertest.Run(t, open) }

func TestMigrationsAreIdempotentAcrossConcurrentOpens(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	stores := make(chan *Store, 4)
	for range 4 { // four replicas starting at once
		go func() {
			s, err := Open(ctx, dsn)
			errs <- err
			stores <- s
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
		}
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := sqlq.Version(ctx, s.DB)
	if err != nil || v != len(sqlq.Migrations(sqlq.Postgres)) {
		t.Fatalf("schema version %d, %v", v, err)
	}
}

func TestConcurrentWritersAgreeOnRollups(t *testing.T) {
	s := open(t).(*Store)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			var err error
			for b := 0; b < 10 && err == nil; b++ {
				batch := make([]ledger.Record, 50)
				for i := range batch {
					batch[i] = ledger.Record{Time: t0.Add(time.Duration(i) * time.Minute), RequestID: fmt.Sprint(w, b, i),
						ServedModel: "m", Provider: "p", Cost: 7}
				}
				err = s.Insert(ctx, batch)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sum, err := s.Summary(ctx, ledger.Query{From: t0, To: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Totals.Requests != 2000 || sum.Totals.Cost != 14000 {
		t.Fatalf("rollups hold %d requests costing %s, want 2000 and 0.000014", sum.Totals.Requests, sum.Totals.Cost)
	}
}

func TestInvalidDSNDoesNotLeakPassword(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@[bad")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
}

func BenchmarkInsertBatch500(b *testing.B) {
	s, err := Open(context.Background(), schemaDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ledgertest.BenchInsert(b, s)
}
