package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Role says whether a caller of Group.Do started the upstream call or joined one.
type Role uint8

const (
	// Leader started the upstream call: it pays for it (ledger) and its answer is
	// the one cached.
	Leader Role = iota + 1
	// Follower joined a call already in flight: it receives the leader's answer, a
	// replay of what was already produced and then the live tail, at no upstream cost.
	Follower
)

func (r Role) String() string {
	switch r {
	case Leader:
		return "leader"
	case Follower:
		return "follower"
	}
	return "none"
}

// ErrFellBehind is returned to a caller that read so slowly that the events it had
// not read yet were dropped to keep the shared buffer bounded.
var ErrFellBehind = errors.New("cache: coalesced stream fell too far behind the upstream")

// errStreamClosed is returned by Recv after Close.
var errStreamClosed = errors.New("cache: coalesced stream closed")

// GroupOptions configures a Group.
type GroupOptions struct {
	// MaxBuffer bounds the bytes of events one call keeps for late joiners (default
	// 8 MiB, far above any ordinary answer). Past it the call takes no new joiners and
	// drops events every current reader has read; a reader lagging more than twice
	// MaxBuffer behind gets ErrFellBehind.
	MaxBuffer int
}

// Group coalesces identical requests in flight: the first caller of Do for a key
// (the leader) starts the upstream call, and callers arriving while it runs
// (followers) share it instead of calling upstream again.
//
// The upstream call runs in a goroutine of its own (one per call, not per event) on a
// context detached from the leader's: it carries the leader's values but not its
// cancellation, so a leader whose client disconnects does not cut its followers off.
// The upstream context is cancelled, and the upstream stream closed, only when every
// caller has left (closed its stream, or its own context ended). Every caller's
// stream is a reader of one shared, append-only event buffer: it first replays the
// events already produced, then waits for the live tail; no caller waits past its own
// context.
//
// Failure: if the upstream call fails to start, every caller gets the same error from
// Do; if it fails mid-stream, every caller receives the events produced so far and
// then the same error. Nobody takes over (a retry is the executor's business, and it
// already ran inside the failed call); the cache is not written, because the
// recording wrapper (Record) sees the error. The next request after a failure starts
// a new call.
type Group struct {
	mu     sync.Mutex
	calls  map[Key]*call
	maxBuf int

	leaders, followers atomic.Uint64
}

// NewGroup makes a Group.
func NewGroup(o GroupOptions) *Group {
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = 8 << 20
	}
	return &Group{calls: make(map[Key]*call), maxBuf: o.MaxBuffer}
}

// GroupStats counts callers since the group was made.
type GroupStats struct {
	Leaders   uint64 `json:"leaders"`
	Followers uint64 `json:"followers"` // requests coalesced onto another's upstream call
	InFlight  int    `json:"in_flight"`
}

// Stats reports the group's counters.
func (g *Group) Stats() GroupStats {
	g.mu.Lock()
	n := len(g.calls)
	g.mu.Unlock()
	return GroupStats{Leaders: g.leaders.Load(), Followers: g.followers.Load(), InFlight: n}
}

// Waiters is the number of callers sharing the call in flight for key (0 if none).
func (g *Group) Waiters(key Key) int {
	g.mu.Lock()
	c := g.calls[key]
	g.mu.Unlock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// Do returns a stream of the answer for key: a new upstream call made with fn if none
// is in flight (Leader), or the call in flight (Follower). It returns once the
// upstream has answered (fn returned), with fn's error if it failed, or ctx's error
// if ctx ends first. The caller must Close the stream; it is also released when ctx
// ends. Non-streaming callers use llm.Collect on it.
//
// fn runs on a context detached from ctx (see Group) and should wrap the upstream
// stream with Record to write the cache, so that the entry is written once, by the
// upstream call itself, whether or not the leader is still there.
func (g *Group) Do(ctx context.Context, key Key, fn func(context.Context) (llm.Stream, error)) (llm.Stream, Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m := &member{ctx: ctx}
	role := Follower
	g.mu.Lock()
	c := g.calls[key]
	if c != nil {
		c.mu.Lock()
		if c.abandoned {
			c.mu.Unlock()
			c = nil
		} else {
			m.c = c
			c.members[m] = struct{}{}
			c.mu.Unlock()
		}
	}
	if c == nil {
		role = Leader
		upCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call{g: g, key: key, cancel: cancel, ready: make(chan struct{}),
			members: map[*member]struct{}{m: {}}, joinable: true}
		m.c = c
		g.calls[key] = c
		go c.run(upCtx, fn)
	}
	g.mu.Unlock()
	if role == Leader {
		g.leaders.Add(1)
	} else {
		g.followers.Add(1)
	}
	m.stop = context.AfterFunc(ctx, m.leave)

	select {
	case <-c.ready:
	case <-ctx.Done():
		m.Close()
		return nil, role, ctx.Err()
	}
	if c.setupErr != nil {
		m.Close()
		return nil, role, c.setupErr
	}
	return m, role, nil
}

// call is one upstream call and the buffer its callers read.
type call struct {
	g      *Group
	key    Key
	cancel context.CancelFunc
	// ready is closed when fn has returned; setupErr is fn's error.
	ready    chan struct{}
	setupErr error

	mu       sync.Mutex
	events   []llm.Event // events[i] is event number base+i
	base     int
	bytes    int
	done     bool
	err      error         // terminal error; nil means the stream ended cleanly
	wake     chan struct{} // made when a reader waits; closed on the next append or end
	members  map[*member]struct{}
	upstream llm.Stream
	// abandoned: every caller left before the end; the call is being cancelled.
	abandoned bool
	// joinable: still in g.calls, so new callers may join.
	joinable bool
}

func (c *call) run(ctx context.Context, fn func(context.Context) (llm.Stream, error)) {
	defer c.cancel()
	s, err := c.start(ctx, fn)
	if err != nil {
		c.setupErr = err
		c.finish(err)
		close(c.ready)
		return
	}
	c.mu.Lock()
	if c.abandoned {
		c.mu.Unlock()
		s.Close()
		c.finish(context.Canceled)
		close(c.ready)
		return
	}
	c.upstream = s
	c.mu.Unlock()
	close(c.ready)

	for {
		ev, err := c.recv(s)
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			s.Close()
			c.finish(err)
			return
		}
		c.append(ev)
	}
}

// start calls fn, turning a panic into an error: it runs outside any HTTP handler,
// where a panic would take the whole process down.
func (c *call) start(ctx context.Context, fn func(context.Context) (llm.Stream, error)) (s llm.Stream, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cache: coalesced upstream call panicked: %v", r)
		}
	}()
	s, err = fn(ctx)
	if err == nil && s == nil {
		err = errors.New("cache: coalesced upstream call returned no stream")
	}
	return s, err
}

func (c *call) recv(s llm.Stream) (ev llm.Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cache: coalesced upstream stream panicked: %v", r)
		}
	}()
	return s.Recv()
}

// finish ends the call: no new joiners, and readers see err (or io.EOF) after the
// last event.
func (c *call) finish(err error) {
	c.unlist()
	c.mu.Lock()
	c.done, c.err = true, err
	c.wakeLocked()
	c.mu.Unlock()
}

// unlist removes the call from the group so that later requests start a new one.
func (c *call) unlist() {
	c.g.mu.Lock()
	if c.g.calls[c.key] == c {
		delete(c.g.calls, c.key)
	}
	c.g.mu.Unlock()
	c.mu.Lock()
	c.joinable = false
	c.mu.Unlock()
}

func (c *call) wakeLocked() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

func eventSize(ev *llm.Event) int {
	n := 96 + len(ev.Text) + len(ev.ToolCall.ID) + len(ev.ToolCall.Name) + len(ev.ToolCall.Arguments) + len(ev.ToolCall.Signature) + len(ev.Signature) + len(ev.Redacted) + len(ev.ID) + len(ev.Model)
	if ev.Usage != nil {
		n += 64
	}
	return n
}

func (c *call) append(ev llm.Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.bytes += eventSize(&ev)
	c.wakeLocked()
	over := c.bytes > c.g.maxBuf
	joinable := c.joinable
	if over && !joinable {
		c.trimLocked()
	}
	c.mu.Unlock()
	if over && joinable {
		// A late joiner would need the whole prefix: stop taking them, so the prefix
		// can be dropped once current readers have passed it.
		c.unlist()
	}
}

// trimLocked drops the events every reader has read, and if that is not enough,
// events up to 2*MaxBuffer from the end: readers behind that get ErrFellBehind.
func (c *call) trimLocked() {
	low := c.base + len(c.events)
	for m := range c.members {
		if m.next < low {
			low = m.next
		}
	}
	c.drop(low)
	if c.bytes > 2*c.g.maxBuf {
		keep, n := 0, len(c.events)
		for n > 0 && keep+eventSize(&c.events[n-1]) <= c.g.maxBuf {
			n--
			keep += eventSize(&c.events[n])
		}
		c.drop(c.base + n)
	}
}

// drop forgets events before absolute index upto.
func (c *call) drop(upto int) {
	k := upto - c.base
	if k <= 0 {
		return
	}
	for i := 0; i < k; i++ {
		c.bytes -= eventSize(&c.events[i])
	}
	rest := make([]llm.Event, len(c.events)-k, cap(c.events)-k)
	copy(rest, c.events[k:])
	c.events = rest
	c.base = upto
}

// member is one caller's view of a call: an llm.Stream reading the shared buffer.
type member struct {
	c    *call
	ctx  context.Context
	stop func() bool
	next int // absolute index of the next event; guarded by c.mu
	once sync.Once
}

// Metadata is what the upstream stream tells about itself (the deployment that
// answered, for the followers' records): the value of its Metadata method, if it has
// one. It is valid once Do has returned.
func (m *member) Metadata() any {
	m.c.mu.Lock()
	up := m.c.upstream
	m.c.mu.Unlock()
	if md, ok := up.(interface{ Metadata() any }); ok {
		return md.Metadata()
	}
	return nil
}

// Buffered reports whether the next event is already in the shared buffer.
func (m *member) Buffered() bool {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return m.next >= c.base && m.next-c.base < len(c.events)
}

// Recv returns the next event: a buffered one at once, otherwise it waits for the
// upstream or for the caller's context, whichever comes first.
func (m *member) Recv() (llm.Event, error) {
	c := m.c
	for {
		c.mu.Lock()
		if _, ok := c.members[m]; !ok {
			c.mu.Unlock()
			if err := m.ctx.Err(); err != nil {
				return llm.Event{}, err
			}
			return llm.Event{}, errStreamClosed
		}
		if m.next < c.base {
			c.mu.Unlock()
			return llm.Event{}, ErrFellBehind
		}
		if i := m.next - c.base; i < len(c.events) {
			ev := c.events[i]
			m.next++
			c.mu.Unlock()
			return ev, nil
		}
		if c.done {
			err := c.err
			c.mu.Unlock()
			if err == nil {
				return llm.Event{}, io.EOF
			}
			return llm.Event{}, err
		}
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		w := c.wake
		c.mu.Unlock()
		select {
		case <-w:
		case <-m.ctx.Done():
			return llm.Event{}, m.ctx.Err()
		}
	}
}

// Close leaves the call; the last caller to leave before the end cancels it.
func (m *member) Close() error {
	if m.stop != nil {
		m.stop()
	}
	m.leave()
	return nil
}

func (m *member) leave() {
	m.once.Do(func() {
		c := m.c
		c.mu.Lock()
		delete(c.members, m)
		last := len(c.members) == 0 && !c.done
		var up llm.Stream
		if last {
			c.abandoned = true
			up = c.upstream
		}
		c.mu.Unlock()
		if !last {
			return
		}
		c.unlist()
		c.cancel()
		if up != nil {
			// Unblocks a Recv that does not watch its context; Close may be called
			// concurrently with Recv by the llm.Stream contract.
			up.Close()
		}
	})
}

// Record wraps an upstream stream so that, when it ends cleanly (io.EOF) with every
// choice finished, the assembled response is passed to onComplete, once, before the
// io.EOF is returned to the reader. A stream that fails, is closed early or is not
// Storable never calls it. Use it inside Group.Do's fn, or on any uncoalesced stream.
func Record(s llm.Stream, onComplete func(*llm.Response)) llm.Stream {
	return &recorder{s: s, on: onComplete}
}

type recorder struct {
	s    llm.Stream
	on   func(*llm.Response)
	a    llm.Assembler
	done bool
}

func (r *recorder) Recv() (llm.Event, error) {
	ev, err := r.s.Recv()
	if err == nil {
		r.a.Add(ev)
		return ev, nil
	}
	if err == io.EOF && !r.done && r.a.Finished() {
		r.done = true
		if resp := r.a.Response(); resp != nil {
			if ok, _ := Storable(resp); ok {
				r.on(resp)
			}
		}
	}
	return ev, err
}

func (r *recorder) Close() error { return r.s.Close() }

// Buffered reports whether the wrapped stream's next event is ready.
func (r *recorder) Buffered() bool { return llm.Buffered(r.s) }
