package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// step is one thing a gated upstream does when the test lets it.
type step struct {
	ev  llm.Event
	err error
}

// gatedStream is an upstream stream that produces exactly what the test sends it, when
// it sends it; closing ch ends the stream cleanly.
type gatedStream struct {
	ctx    context.Context
	ch     chan step
	closed chan struct{}
	once   sync.Once
}

func newGated(ctx context.Context) *gatedStream {
	return &gatedStream{ctx: ctx, ch: make(chan step), closed: make(chan struct{})}
}

func (s *gatedStream) Recv() (llm.Event, error) {
	select {
	case st, ok := <-s.ch:
		if !ok {
			return llm.Event{}, io.EOF
		}
		return st.ev, st.err
	case <-s.closed:
		return llm.Event{}, errors.New("upstream closed")
	case <-s.ctx.Done():
		return llm.Event{}, s.ctx.Err()
	}
}

func (s *gatedStream) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// waitFor yields until cond holds: synchronisation with goroutines the test started,
// not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

func readAll(ctx context.Context, s llm.Stream) ([]llm.Event, error) {
	defer s.Close()
	var evs []llm.Event
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestGroupHundredIdenticalRequestsMakeOneUpstreamCall(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGroup(GroupOptions{})
	key := keyN("tenant-a", 1)
	events := llm.Events(answer(longAnswer(1)), 64)
	want, _ := llm.Collect(context.Background(), &llm.SliceStream{Events: events})

	var calls atomic.Int32
	release := make(chan struct{})
	var stored atomic.Pointer[llm.Response]
	var storeCalls atomic.Int32
	upstream := func(ctx context.Context) (llm.Stream, error) {
		calls.Add(1)
		select { // a slow upstream: nothing until the test says so
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return Record(&llm.SliceStream{Events: events}, func(r *llm.Response) {
			storeCalls.Add(1)
			stored.Store(r)
		}), nil
	}

	const n = 100
	results := make([]*llm.Response, n)
	roles := make([]Role, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, role, err := g.Do(context.Background(), key, upstream)
			roles[i] = role
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = llm.Collect(context.Background(), s)
		}(i)
	}
	waitFor(t, "100 callers on one call", func() bool { return g.Waiters(key) == n })
	close(release)
	wg.Wait()

	if c := calls.Load(); c != 1 {
		t.Fatalf("upstream called %d times, want 1", c)
	}
	leaders := 0
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(results[i], want) {
			t.Fatalf("caller %d got a different answer: %+v", i, results[i])
		}
		if roles[i] == Leader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders, want 1", leaders)
	}
	if storeCalls.Load() != 1 || !reflect.DeepEqual(stored.Load(), want) {
		t.Fatalf("cache written %d times", storeCalls.Load())
	}
	if st := g.Stats(); st.Leaders != 1 || st.Followers != n-1 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGroupLateJoinerGetsThePrefixThenTheLiveTail(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGroup(GroupOptions{})
	key := keyN("t", 2)
	events := llm.Events(answer("one two three four five six seven eight"), 4)
	var up *gatedStream
	fn := func(ctx context.Context) (llm.Stream, error) { up = newGated(ctx); return up, nil }

	leader, role, err := g.Do(context.Background(), key, fn)
	if err != nil || role != Leader {
		t.Fatalf("leader: role %v err %v", role, err)
	}
	for _, ev := range events[:3] {
		up.ch <- step{ev: ev}
		if got, err := leader.Recv(); err != nil || !reflect.DeepEqual(got, ev) {
			t.Fatalf("leader got %+v, %v", got, err)
		}
	}
	late, role, err := g.Do(context.Background(), key, func(context.Context) (llm.Stream, error) {
		t.Error("a late joiner called upstream")
		return nil, errors.New("unexpected")
	})
	if err != nil || role != Follower {
		t.Fatalf("late joiner: role %v err %v", role, err)
	}
	var lateEvents []llm.Event
	for range 3 { // the prefix is there without the upstream producing anything more
		ev, err := late.Recv()
		if err != nil {
			t.Fatal(err)
		}
		lateEvents = append(lateEvents, ev)
	}
	done := make(chan []llm.Event)
	go func() {
		rest, err := readAll(context.Background(), late)
		if err != nil {
			t.Error(err)
		}
		done <- rest
	}()
	for _, ev := range events[3:] {
		up.ch <- step{ev: ev}
	}
	close(up.ch)
	lateEvents = append(lateEvents, <-done...)
	if !reflect.DeepEqual(lateEvents, events) {
		t.Fatalf("late joiner's stream differs:\n%+v\n%+v", lateEvents, events)
	}
	rest, err := readAll(context.Background(), leader)
	if err != nil || !reflect.DeepEqual(rest, events[3:]) {
		t.Fatalf("leader's tail: %v %+v", err, rest)
	}
}

func TestGroupLeaderDisconnectDoesNotCutFollowersOff(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGroup(GroupOptions{})
	key := keyN("t", 3)
	events := llm.Events(answer("the answer everyone is waiting for"), 5)
	var up *gatedStream
	var upCtx context.Context
	fn := func(ctx context.Context) (llm.Stream, error) { upCtx = ctx; up = newGated(ctx); return up, nil }

	leaderCtx, leaderGone := context.WithCancel(context.Background())
	leader, _, err := g.Do(leaderCtx, key, fn)
	if err != nil {
		t.Fatal(err)
	}
	follower, role, err := g.Do(context.Background(), key, fn)
	if err != nil || role != Follower {
		t.Fatalf("follower: %v %v", role, err)
	}
	up.ch <- step{ev: events[0]}
	if _, err := leader.Recv(); err != nil {
		t.Fatal(err)
	}
	leaderGone() // the leader's client hangs up
	if _, err := leader.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("leader after disconnect: %v", err)
	}
	waitFor(t, "the leader to leave", func() bool { return g.Waiters(key) == 1 })
	if upCtx.Err() != nil {
		t.Fatal("upstream cancelled although a follower is waiting")
	}
	go func() {
		for _, ev := range events[1:] {
			up.ch <- step{ev: ev}
		}
		close(up.ch)
	}()
	got, err := readAll(context.Background(), follower)
	if err != nil || !reflect.DeepEqual(got, events) {
		t.Fatalf("follower: %v, %d events of %d", err, len(got), len(events))
	}
	leader.Close()
}

func TestGroupCancelsUpstreamWhenEveryCallerLeaves(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGroup(GroupOptions{})
	key := keyN("t", 4)
	var up *gatedStream
	upCtxs := make(chan context.Context, 1)
	fn := func(ctx context.Context) (llm.Stream, error) { upCtxs <- ctx; up = newGated(ctx); return up, nil }
	ctx1, cancel1 := context.WithCancel(context.Background())
	a, _, _ := g.Do(ctx1, key, fn)
	b, _, _ := g.Do(context.Background(), key, fn)
	upCtx := <-upCtxs
	cancel1()
	b.Close()
	<-upCtx.Done() // blocks forever (test timeout) if the upstream were left running
	<-up.closed
	a.Close()
	// A new request after everyone left starts a new call.
	s, role, err := g.Do(context.Background(), key, func(ctx context.Context) (llm.Stream, error) {
		return &llm.SliceStream{}, nil
	})
	if err != nil || role != Leader {
		t.Fatalf("after abandonment: role %v err %v", role, err)
	}
	s.Close()
}

func TestGroupUpstreamFailureReachesEveryCallerAndIsNotCached(t *testing.T) {
	defer goleak.VerifyNone(t)
	failure := &llm.Error{Kind: llm.KindOverloaded, Message: "overloaded", Status: 529}

	t.Run("before the first event", func(t *testing.T) {
		g := NewGroup(GroupOptions{})
		key := keyN("t", 5)
		release := make(chan struct{})
		var calls atomic.Int32
		fn := func(ctx context.Context) (llm.Stream, error) {
			calls.Add(1)
			<-release
			return nil, failure
		}
		errs := make(chan error, 10)
		for range 10 {
			go func() { _, _, err := g.Do(context.Background(), key, fn); errs <- err }()
		}
		waitFor(t, "10 callers", func() bool { return g.Waiters(key) == 10 })
		close(release)
		for range 10 {
			if err := <-errs; err != failure {
				t.Fatalf("caller got %v, want the upstream's error", err)
			}
		}
		if calls.Load() != 1 {
			t.Fatalf("%d upstream calls", calls.Load())
		}
		// The failure is not remembered: the next request tries again.
		s, role, err := g.Do(context.Background(), key, func(context.Context) (llm.Stream, error) {
			calls.Add(1)
			return &llm.SliceStream{}, nil
		})
		if err != nil || role != Leader || calls.Load() != 2 {
			t.Fatalf("retry after failure: role %v err %v calls %d", role, err, calls.Load())
		}
		s.Close()
	})

	t.Run("mid-stream", func(t *testing.T) {
		g := NewGroup(GroupOptions{})
		key := keyN("t", 6)
		events := llm.Events(answer("partial answer that will be cut"), 4)
		var up *gatedStream
		var recorded atomic.Int32
		fn := func(ctx context.Context) (llm.Stream, error) {
			up = newGated(ctx)
			return Record(up, func(*llm.Response) { recorded.Add(1) }), nil
		}
		a, _, _ := g.Do(context.Background(), key, fn)
		b, _, _ := g.Do(context.Background(), key, fn)
		go func() {
			for _, ev := range events[:3] {
				up.ch <- step{ev: ev}
			}
			up.ch <- step{err: failure}
		}()
		for _, s := range []llm.Stream{a, b} {
			got, err := readAll(context.Background(), s)
			if err != failure {
				t.Fatalf("err %v, want the upstream's", err)
			}
			if !reflect.DeepEqual(got, events[:3]) {
				t.Fatalf("events before the failure: %+v", got)
			}
		}
		if recorded.Load() != 0 {
			t.Fatal("a failed stream was recorded for the cache")
		}
	})
}

func TestGroupFollowerNeverWaitsPastItsDeadline(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGroup(GroupOptions{})
	key := keyN("t", 7)
	ups := make(chan *gatedStream, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	fn := func(ctx context.Context) (llm.Stream, error) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		up := newGated(ctx)
		ups <- up
		return up, nil
	}
	leader := make(chan error, 1)
	go func() {
		s, _, err := g.Do(context.Background(), key, fn)
		if err == nil {
			_, err = readAll(context.Background(), s)
		}
		leader <- err
	}()
	<-started

	// Waiting for the upstream to answer at all.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, role, err := g.Do(ctx, key, fn)
	cancel()
	if role != Follower || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("follower waiting for the first byte: role %v err %v", role, err)
	}

	// Waiting for the next event.
	close(release)
	up := <-ups
	waitFor(t, "the leader to have the stream", func() bool { return g.Waiters(key) == 1 })
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	s, _, err := g.Do(ctx, key, fn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("follower waiting for an event: %v", err)
	}
	cancel()
	s.Close()
	up.ch <- step{ev: llm.Event{Type: llm.EventStart, ID: "x"}}
	close(up.ch)
	if err := <-leader; err != nil {
		t.Fatalf("the leader was disturbed by a follower's deadline: %v", err)
	}
}

func TestGroupBoundsTheBufferAndDropsLaggards(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGroup(GroupOptions{MaxBuffer: 2000})
	key := keyN("t", 8)
	var up *gatedStream
	fn := func(ctx context.Context) (llm.Stream, error) { up = newGated(ctx); return up, nil }
	fast, _, _ := g.Do(context.Background(), key, fn)
	slow, _, _ := g.Do(context.Background(), key, fn)
	text := fmt.Sprintf("%0100d", 0)
	for i := 0; i < 25; i++ { // ~5 kB, well over twice MaxBuffer
		up.ch <- step{ev: llm.Event{Type: llm.EventText, Text: text}}
		if _, err := fast.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	// Past MaxBuffer the call takes no new joiners: they start their own.
	s, role, err := g.Do(context.Background(), key, func(context.Context) (llm.Stream, error) {
		return &llm.SliceStream{}, nil
	})
	if err != nil || role != Leader {
		t.Fatalf("joiner after overflow: role %v err %v", role, err)
	}
	s.Close()
	if _, err := slow.Recv(); !errors.Is(err, ErrFellBehind) {
		t.Fatalf("laggard: %v, want ErrFellBehind", err)
	}
	slow.Close()
	close(up.ch)
	if _, err := readAll(context.Background(), fast); err != nil {
		t.Fatal(err)
	}
}

func TestRecordStoresOnlyCompleteAnswers(t *testing.T) {
	complete := llm.Events(answer("done"), 2)
	truncated := llm.Events(&llm.Response{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "cut"), FinishReason: llm.FinishLength}}}, 2)
	unfinished := complete[:len(complete)-2] // no finish, no usage
	for name, c := range map[string]struct {
		evs  []llm.Event
		want int
	}{"complete": {complete, 1}, "truncated": {truncated, 0}, "unfinished": {unfinished, 0}} {
		n := 0
		s := Record(&llm.SliceStream{Events: c.evs}, func(*llm.Response) { n++ })
		if _, err := readAll(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != io.EOF { // reading past the end again
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%s: recorded %d times, want %d", name, n, c.want)
		}
	}
}

func BenchmarkGroupUncontended(b *testing.B) {
	g := NewGroup(GroupOptions{})
	key := keyN("t", 9)
	events := llm.Events(answer(longAnswer(1)), 64)
	fn := func(context.Context) (llm.Stream, error) { return &llm.SliceStream{Events: events}, nil }
	b.ReportAllocs()
	for b.Loop() {
		s, _, err := g.Do(context.Background(), key, fn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := readAll(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGroupUnderChurn mixes joiners, readers that leave early and readers that finish,
// over many calls: every reader that finishes sees the whole answer, and nothing
// deadlocks or leaks (goleak in TestMain).
func TestGroupUnderChurn(t *testing.T) {
	g := NewGroup(GroupOptions{MaxBuffer: 4096})
	events := llm.Events(answer(longAnswer(5)), 32)
	var calls atomic.Int32
	fn := func(ctx context.Context) (llm.Stream, error) {
		calls.Add(1)
		return &yieldingStream{ctx: ctx, events: events}, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, _, err := g.Do(ctx, keyN("t", i%4), fn)
			if err != nil {
				t.Error(err)
				return
			}
			leaveAfter := len(events) + 1
			if i%3 == 0 {
				leaveAfter = i % len(events)
			}
			var got []llm.Event
			for n := 0; ; n++ {
				if n == leaveAfter {
					if i%2 == 0 {
						cancel()
					} else {
						s.Close()
					}
					return
				}
				ev, err := s.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					if errors.Is(err, ErrFellBehind) {
						return
					}
					t.Errorf("reader %d: %v", i, err)
					return
				}
				got = append(got, ev)
			}
			s.Close()
			if !reflect.DeepEqual(got, events) {
				t.Errorf("reader %d got %d events of %d", i, len(got), len(events))
			}
		}(i)
	}
	wg.Wait()
	if st := g.Stats(); st.InFlight != 0 || int(st.Leaders) != int(calls.Load()) {
		t.Fatalf("stats %+v, %d upstream calls", st, calls.Load())
	}
}

// yieldingStream serves events, yielding between them so that readers interleave.
type yieldingStream struct {
	ctx    context.Context
	events []llm.Event
	i      int
}

func (s *yieldingStream) Recv() (llm.Event, error) {
	runtime.Gosched()
	if err := s.ctx.Err(); err != nil {
		return llm.Event{}, err
	}
	if s.i >= len(s.events) {
		return llm.Event{}, io.EOF
	}
	s.i++
	return s.events[s.i-1], nil
}

func (s *yieldingStream) Close() error { return nil }
