package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/internal/sqlq"
	"github.com/arbiterhq/arbiter/internal/ledger/ledgertest"
)

func open(t *testing.T) ledger.Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreSuite(t *testing.T) { ledgertest.Run(t, open) }

func TestReopeningKeepsRecordsAndMigratesOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, []ledger.Record{{RequestID: "a"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.Get(ctx, "a"); err != nil {
		t.Fatalf("record lost across reopen: %v", err)
	}
	v, err := sqlq.Version(ctx, s.w)
	if err != nil || v != len(sqlq.Migrations(sqlq.SQLite)) {
		t.Fatalf("schema version %d, %v", v, err)
	}
	if _, err := filepath.Glob(filepath.Join(dir, FileName+"-wal")); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkInsertBatch500(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ledgertest.BenchInsert(b, s)
}
