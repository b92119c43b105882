package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger/synth"
)

func TestPlannerStatisticsAreGathered(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := synth.New(synth.Options{From: t0, To: t0.Add(50 * time.Hour), N: 3000, Seed: 1}).Fill(3000)
	for i := 0; i < len(recs); i += 500 {
		if err := s.Insert(ctx, recs[i:i+500]); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.w.QueryRow("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'requests'").Scan(&n); err != nil || n == 0 {
		t.Fatalf("no statistics for the request log's indexes after a day of records (%d, %v)", n, err)
	}
	s.Close()
}
