package ledgertest

import (
	"context"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/synth"
)

// BenchInsert measures inserting batches of 500 records of dense traffic (about
// 150 requests/s of record time, so rollups advance every few batches), reporting
// records/s.
func BenchInsert(b *testing.B, s ledger.Store) {
	const batch = 500
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := b.N * batch
	g := synth.New(synth.Options{From: start, To: start.Add(time.Duration(n) * 7 * time.Millisecond), N: n, Seed: 5})
	batches := make([][]ledger.Record, b.N)
	for i := range batches {
		batches[i] = g.Fill(batch)
	}
	b.ResetTimer()
	for i := range batches {
		if err := s.Insert(context.Background(), batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
