package ledgerbench

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
)

func TestFillThenEveryQueryRuns(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	end := time.Now().UTC().Truncate(time.Minute)
	opt := Options{Rows: 3000, Batch: 250, Span: 40 * 24 * time.Hour, End: end, Runs: 1}
	if _, err := Fill(context.Background(), s, opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	ts, err := Queries(context.Background(), s, opt, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) < 20 || ts[0].Rows == 0 {
		t.Fatalf("%d timings, first %+v", len(ts), ts[0])
	}
}
