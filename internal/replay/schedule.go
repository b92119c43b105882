package replay

import (
	"context"
	"sync"
	"time"
)

// Offsets are when each row is sent, after the replay starts: (t_i − t_0)/speed,
// where t_0 is the first selected row's arrival. They never decrease, since rows are
// in time order.
func Offsets(rows []Row, speed float64) []time.Duration {
	out := make([]time.Duration, len(rows))
	if len(rows) == 0 {
		return out
	}
	t0 := rows[0].Time
	for i, r := range rows {
		out[i] = time.Duration(float64(r.Time.Sub(t0)) / speed)
	}
	return out
}

// Clock is the schedule's time source; tests replace it to check the schedule
// without waiting for it.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once t has come, or with ctx's error when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// SleepUntil waits for t on a timer.
func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dispatcher sends requests on a schedule, open-loop: each request runs in its own
// goroutine, so a slow answer never delays the next send. Only the in-flight cap can
// hold the schedule back, and when it does the lag shows it.
type Dispatcher struct {
	Clock Clock
	// MaxInFlight bounds the requests running at once (≤ 0: unbounded).
	MaxInFlight int
	// OnWait, when set, is called when request i finds the cap reached and must wait.
	OnWait func(i int)
}

// Dispatched is what a dispatch did.
type Dispatched struct {
	Start  time.Time // the schedule's zero
	Sent   int       // requests started (fewer than scheduled if ctx ended)
	Waited int       // requests that found the in-flight cap reached
}

// Run calls send(ctx, i, lag) in a goroutine of its own at Start+offsets[i], in
// order, where lag is how late it was started; it returns when every send has
// returned.
func (d Dispatcher) Run(ctx context.Context, offsets []time.Duration, send func(ctx context.Context, i int, lag time.Duration)) Dispatched {
	clock := d.Clock
	if clock == nil {
		clock = RealClock{}
	}
	var sem chan struct{}
	if d.MaxInFlight > 0 {
		sem = make(chan struct{}, d.MaxInFlight)
	}
	res := Dispatched{Start: clock.Now()}
	var wg sync.WaitGroup
	for i, off := range offsets {
		due := res.Start.Add(off)
		if clock.SleepUntil(ctx, due) != nil {
			break
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			default:
				res.Waited++
				if d.OnWait != nil {
					d.OnWait(i)
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				break
			}
		}
		lag := max(clock.Now().Sub(due), 0)
		res.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sem != nil {
				defer func() { <-sem }()
			}
			send(ctx, i, lag)
		}()
	}
	wg.Wait()
	return res
}
