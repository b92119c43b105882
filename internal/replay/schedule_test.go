package replay

import (
	"context"
	"sync"
	"testing"
	"time"
)

func rowsAt(offsets ...time.Duration) []Row {
	t0 := time.Date(2023, 11, 16, 18, 0, 0, 0, time.UTC)
	rows := make([]Row, len(offsets))
	for i, o := range offsets {
		rows[i] = Row{Line: i + 2, Time: t0.Add(o)}
	}
	return rows
}

func TestOffsetsDivideArrivalTimesBySpeed(t *testing.T) {
	// The trace starts at 10s: offsets count from the first selected row.
	rows := rowsAt(10*time.Second, 10*time.Second, 11*time.Second, 30*time.Second)
	got := Offsets(rows, 4)
	want := []time.Duration{0, 0, 250 * time.Millisecond, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offsets = %v, want %v", got, want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("offsets decrease at %d: %v", i, got)
		}
	}
}

// fakeClock jumps to whatever time is waited for, plus a delay per wait that stands
// for a load generator falling behind.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	delay  func(i int) time.Duration
	waits  []time.Time // targets of SleepUntil, in call order
	nWaits int
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, t)
	if t.After(c.now) {
		c.now = t
	}
	if c.delay != nil {
		c.now = c.now.Add(c.delay(c.nWaits))
	}
	c.nWaits++
	return ctx.Err()
}

func TestDispatchFollowsTheScheduleAndMeasuresLag(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	offsets := []time.Duration{0, 0, 100 * time.Millisecond, 2 * time.Second, 2 * time.Second, 3 * time.Second}
	// Request 3 is sent 700 ms late; that delay carries into request 4 (due at the
	// same time) but request 5 is due later and is on time again.
	clock := &fakeClock{now: start, delay: func(i int) time.Duration {
		if i == 3 {
			return 700 * time.Millisecond
		}
		return 0
	}}
	var mu sync.Mutex
	lags := map[int]time.Duration{}
	res := Dispatcher{Clock: clock, MaxInFlight: 100}.Run(context.Background(), offsets, func(_ context.Context, i int, lag time.Duration) {
		mu.Lock()
		lags[i] = lag
		mu.Unlock()
	})
	if res.Sent != len(offsets) || res.Waited != 0 || !res.Start.Equal(start) {
		t.Fatalf("dispatched %+v", res)
	}
	for i, w := range clock.waits {
		if !w.Equal(start.Add(offsets[i])) {
			t.Fatalf("wait %d was for %s, want start+%s", i, w.Sub(start), offsets[i])
		}
	}
	want := map[int]time.Duration{0: 0, 1: 0, 2: 0, 3: 700 * time.Millisecond, 4: 700 * time.Millisecond, 5: 0}
	for i, l := range want {
		if lags[i] != l {
			t.Errorf("lag of %d = %s, want %s", i, lags[i], l)
		}
	}
}

func TestDispatchCountsRequestsThatWaitForTheCap(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	release := make(chan struct{})
	var waitedFor []int
	d := Dispatcher{Clock: clock, MaxInFlight: 2, OnWait: func(i int) {
		waitedFor = append(waitedFor, i)
		close(release) // let the first two answer now that the third is held back
	}}
	res := d.Run(context.Background(), []time.Duration{0, 0, 0}, func(_ context.Context, i int, _ time.Duration) {
		if i < 2 {
			<-release
		}
	})
	if res.Sent != 3 || res.Waited != 1 || len(waitedFor) != 1 || waitedFor[0] != 2 {
		t.Fatalf("dispatched %+v, waited for %v; want 3 sent and request 2 waiting", res, waitedFor)
	}
}

func TestDispatchStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Ctrl-C arrives while the dispatcher waits for request 2's time.
	clock := &fakeClock{now: time.Unix(0, 0), delay: func(i int) time.Duration {
		if i == 2 {
			cancel()
		}
		return 0
	}}
	res := Dispatcher{Clock: clock}.Run(ctx, []time.Duration{0, 1, 2, 3}, func(context.Context, int, time.Duration) {})
	if res.Sent != 2 {
		t.Fatalf("sent %d of 4, want the 2 due before the cancel", res.Sent)
	}
}

func TestStreamedShareIsExactAndSpread(t *testing.T) {
	for _, tc := range []struct {
		share float64
		n     int
		want  int
	}{{0, 20, 0}, {0.5, 20, 10}, {0.25, 20, 5}, {1, 20, 20}, {0.3, 1000, 300}} {
		got, run := 0, 0
		for i := 0; i < tc.n; i++ {
			if Streamed(i, tc.share) {
				got++
				run = 0
			} else if run++; tc.share >= 0.5 && run > 1 {
				t.Errorf("share %g: two non-streamed in a row at %d", tc.share, i)
			}
		}
		if got != tc.want {
			t.Errorf("share %g of %d: %d streamed, want %d", tc.share, tc.n, got, tc.want)
		}
	}
}
