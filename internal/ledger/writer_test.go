package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
	"go.uber.org/goleak"
)

// fakeStore keeps inserted records; fail decides, per call, whether to fail.
type fakeStore struct {
	mu    sync.Mutex
	recs  []ledger.Record
	calls int
	fail  func(call int) error
	block chan struct{} // when set, Insert waits for it (or ctx)
}

func (f *fakeStore) Insert(ctx context.Context, recs []ledger.Record) error {
	f.mu.Lock()
	f.calls++
	call, block := f.calls, f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.fail != nil {
		if err := f.fail(call); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.recs = append(f.recs, recs...)
	f.mu.Unlock()
	return nil
}

func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeStore) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.recs))
	for i, r := range f.recs {
		out[i] = r.RequestID
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func rec(i int) ledger.Record {
	return ledger.Record{Time: time.Unix(int64(i), 0), RequestID: fmt.Sprint(i)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseFlushesEverythingBuffered(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := &fakeStore{}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Hour, BatchSize: 100, Logger: quiet})
	for i := range 1234 {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := st.ids()
	if len(ids) != 1234 {
		t.Fatalf("wrote %d records, want 1234", len(ids))
	}
	for i, id := range ids {
		if id != fmt.Sprint(i) {
			t.Fatalf("record %d is %s: order not kept", i, id)
		}
	}
	if s := w.Stats(); s.Written != 1234 || s.Dropped() != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFlushesOnIntervalWithoutAFullBatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := &fakeStore{}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: 5 * time.Millisecond, BatchSize: 500, Logger: quiet})
	defer w.Close(context.Background())
	w.Record(rec(1))
	w.Record(rec(2))
	waitFor(t, "the interval flush", func() bool { return len(st.ids()) == 2 })
}

func TestFullBatchIsWrittenWithoutWaitingForInterval(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := &fakeStore{}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Hour, BatchSize: 10, Logger: quiet})
	defer w.Close(context.Background())
	for i := range 25 {
		w.Record(rec(i))
	}
	waitFor(t, "two full batches", func() bool { return len(st.ids()) == 20 })
}

func TestStoreFailuresAreRetriedUntilTheyPass(t *testing.T) {
	defer goleak.VerifyNone(t)
	diskFull := errors.New("database or disk is full")
	st := &fakeStore{fail: func(call int) error {
		if call <= 3 {
			return diskFull
		}
		return nil
	}}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Millisecond, BatchSize: 50,
		RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, Logger: quiet})
	for i := range 120 {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if len(st.ids()) != 120 || s.Dropped() != 0 || s.Failures != 3 {
		t.Fatalf("wrote %d, stats %+v; want all 120 written after 3 failures", len(st.ids()), s)
	}
}

func TestRecordNeverBlocksAndDropsOldestWhenStoreHangs(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := &fakeStore{block: make(chan struct{})}
	const bound, n = 100, 5000
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Millisecond, BatchSize: 10,
		MaxBuffered: bound, InsertTimeout: time.Hour, Logger: quiet})
	w.Record(rec(0))
	waitFor(t, "the first insert to hang", func() bool { return w.Stats().Queued == 1 && st.callCount() == 1 })
	for i := 1; i < n; i++ {
		w.Record(rec(i)) // would deadlock the test if Record blocked
	}
	s := w.Stats()
	if s.Queued != bound || s.DroppedFull != n-bound {
		t.Fatalf("stats %+v; want %d queued and %d dropped", s, bound, n-bound)
	}
	close(st.block) // the store recovers
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := st.ids()
	// The batch in flight when the store hung, then the newest records: the oldest
	// waiting ones were dropped to make room.
	if len(ids) != bound || ids[0] != "0" || ids[1] != fmt.Sprint(n-bound+1) || ids[len(ids)-1] != fmt.Sprint(n-1) {
		t.Fatalf("kept %d records %v … %v", len(ids), ids[:3], ids[len(ids)-3:])
	}
	if s := w.Stats(); s.Written+s.Dropped() != n {
		t.Fatalf("written %d + dropped %d != recorded %d", s.Written, s.Dropped(), n)
	}
}

func TestCloseGivesUpAtDeadlineAndCountsTheLoss(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := &fakeStore{fail: func(int) error { return errors.New("connection refused") }}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Millisecond, BatchSize: 10,
		RetryMin: time.Millisecond, Logger: quiet})
	for i := range 35 {
		w.Record(rec(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Fatal("Close reported success with nothing written")
	}
	s := w.Stats()
	if s.DroppedShutdown != 35 || s.Written != 0 || s.Queued != 0 || s.Failures == 0 {
		t.Fatalf("stats %+v", s)
	}
	w.Record(rec(99))
	if s := w.Stats(); s.DroppedClosed != 1 {
		t.Fatalf("Record after Close not counted: %+v", s)
	}
}

func TestWriterSurvivesItsStoreBeingClosed(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"))
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Millisecond, BatchSize: 10,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Logger: quiet})
	for i := range 20 {
		w.Record(rec(i))
	}
	waitFor(t, "the first records to be written", func() bool { return w.Stats().Written == 20 })
	st.Close() // the database goes away under the writer
	for i := 20; i < 50; i++ {
		w.Record(rec(i))
	}
	waitFor(t, "inserts to fail", func() bool { return w.Stats().Failures > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Fatal("Close succeeded on a closed store")
	}
	if s := w.Stats(); s.Written != 20 || s.DroppedShutdown != 30 {
		t.Fatalf("stats %+v", s)
	}
}

func TestConcurrentRecordersLoseNothing(t *testing.T) {
	st := &fakeStore{}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Millisecond, BatchSize: 64, Logger: quiet})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				w.Record(rec(g*10000 + i))
				if i%100 == 0 {
					_ = w.Stats()
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, id := range st.ids() {
		if seen[id] {
			t.Fatalf("%s written twice", id)
		}
		seen[id] = true
	}
	if len(seen) != 16000 {
		t.Fatalf("wrote %d of 16000", len(seen))
	}
}

type discard struct{}

func (discard) Insert(context.Context, []ledger.Record) error { return nil }

func BenchmarkWriterRecord(b *testing.B) {
	w := ledger.NewWriter(discard{}, ledger.WriterOptions{Logger: quiet})
	defer w.Close(context.Background())
	r := rec(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(r)
		}
	})
}
