package ledger

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// WriterOptions tune a Writer. Zero values take the defaults.
type WriterOptions struct {
	// FlushInterval is the longest a record waits in memory before its batch is
	// written (default 500ms). It is the window a crash can lose.
	FlushInterval time.Duration
	// BatchSize is the most records per insert; a full batch is written at once
	// without waiting for the interval (default 500).
	BatchSize int
	// MaxBuffered bounds the records held in memory, including a batch being retried
	// (default 100_000). Beyond it the oldest waiting records are dropped.
	MaxBuffered int
	// RetryMin and RetryMax bound the backoff between failed inserts (100ms, 5s).
	RetryMin, RetryMax time.Duration
	// InsertTimeout bounds one insert (default 10s).
	InsertTimeout time.Duration
	// Logger receives drop and store-failure lines, at most one of each per
	// LogEvery (default 10s). Nil means slog.Default().
	Logger   *slog.Logger
	LogEvery time.Duration
}

func (o *WriterOptions) defaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 500 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 100_000
	}
	if o.MaxBuffered < o.BatchSize {
		o.MaxBuffered = o.BatchSize
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Second, o.RetryMin)
	}
	if o.InsertTimeout <= 0 {
		o.InsertTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 10 * time.Second
	}
}

// DropReason says why records were dropped.
type DropReason string

const (
	DropFull     DropReason = "full"     // the buffer was at its bound (store slow or down)
	DropShutdown DropReason = "shutdown" // Close's context ended with records unwritten
	DropClosed   DropReason = "closed"   // Record called after Close
)

// WriterStats is a snapshot of a Writer's counters.
type WriterStats struct {
	Queued          int    // records waiting, including a batch being written
	Written         uint64 // records inserted
	Batches         uint64 // successful inserts
	Failures        uint64 // failed inserts (each is retried)
	DroppedFull     uint64
	DroppedShutdown uint64
	DroppedClosed   uint64
}

// Dropped is the total of records dropped for any reason.
func (s WriterStats) Dropped() uint64 { return s.DroppedFull + s.DroppedShutdown + s.DroppedClosed }

// Writer sends records to a store in batches from a background goroutine. Record
// never blocks; Close flushes what is buffered.
type Writer struct {
	store Inserter
	opt   WriterOptions

	mu       sync.Mutex
	queue    ring // waiting, oldest first
	inflight int  // records held by the flusher (being written or retried)
	closed   bool

	kick      chan struct{} // a full batch is waiting
	closing   chan struct{} // Close was called: flush everything now
	abort     chan struct{} // Close's context ended: give up
	done      chan struct{} // the flusher has exited
	once      sync.Once
	abortOnce sync.Once
	ctx       context.Context // cancelled with abort, ending an insert in progress
	cancel    context.CancelFunc

	written, batches, failures        atomic.Uint64
	dropFull, dropShutdown, dropClose atomic.Uint64

	dropLog, failLog rateLog
}

// NewWriter starts a writer into store.
func NewWriter(store Inserter, opt WriterOptions) *Writer {
	opt.defaults()
	w := &Writer{
		store:   store,
		opt:     opt,
		kick:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		abort:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	w.dropLog.every, w.failLog.every = opt.LogEvery, opt.LogEvery
	w.queue.small = 2 * opt.BatchSize
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w
}

// Record queues r for writing. It never blocks: when the buffer is at its bound the
// oldest waiting record is dropped (and counted) to make room.
func (w *Writer) Record(r Record) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.drop(DropClosed, 1)
		return
	}
	dropped := false
	if w.queue.n+w.inflight >= w.opt.MaxBuffered {
		if w.queue.n == 0 {
			// Everything buffered is one batch being retried: keep it, lose r.
			w.mu.Unlock()
			w.drop(DropFull, 1)
			return
		}
		w.queue.dropOldest()
		dropped = true
	}
	w.queue.push(r)
	full := w.queue.n >= w.opt.BatchSize
	w.mu.Unlock()
	if dropped {
		w.drop(DropFull, 1)
	}
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	q := w.queue.n + w.inflight
	w.mu.Unlock()
	return WriterStats{
		Queued: q, Written: w.written.Load(), Batches: w.batches.Load(), Failures: w.failures.Load(),
		DroppedFull: w.dropFull.Load(), DroppedShutdown: w.dropShutdown.Load(), DroppedClosed: w.dropClose.Load(),
	}
}

// Close stops accepting records and writes everything buffered, retrying a failing
// store until ctx ends; what is still unwritten then is dropped, counted, and
// reported in the error. Close may be called more than once.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.closing)
	})
	select {
	case <-w.done:
	case <-ctx.Done():
		w.abortOnce.Do(func() { close(w.abort); w.cancel() })
		<-w.done
	}
	w.cancel()
	if n := w.dropShutdown.Load(); n > 0 {
		return fmt.Errorf("ledger writer: %d records not written before shutdown: %w", n, context.Cause(ctx))
	}
	return nil
}

func (w *Writer) drop(reason DropReason, n int) {
	switch reason {
	case DropFull:
		w.dropFull.Add(uint64(n))
	case DropShutdown:
		w.dropShutdown.Add(uint64(n))
	case DropClosed:
		w.dropClose.Add(uint64(n))
	}
	if total, ok := w.dropLog.allow(n); ok {
		w.opt.Logger.Warn("ledger records dropped", "reason", string(reason), "dropped", total,
			"buffer", w.opt.MaxBuffered)
	}
}

// take moves up to one batch from the queue to the flusher.
func (w *Writer) take(buf []Record) []Record {
	w.mu.Lock()
	buf = w.queue.pop(buf[:0], w.opt.BatchSize)
	w.inflight = len(buf)
	w.mu.Unlock()
	return buf
}

func (w *Writer) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queue.n
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.opt.FlushInterval)
	defer tick.Stop()
	closing := false
	var batch []Record
	for {
		if !closing || w.queued() == 0 {
			if closing {
				return
			}
			select {
			case <-tick.C:
			case <-w.kick:
			case <-w.closing:
				closing = true
			}
		}
		batch = w.take(batch)
		backoff := w.opt.RetryMin
		for len(batch) > 0 {
			err := w.insert(batch)
			if err == nil {
				w.written.Add(uint64(len(batch)))
				w.batches.Add(1)
				break
			}
			w.failures.Add(1)
			if total, ok := w.failLog.allow(1); ok {
				w.opt.Logger.Error("ledger insert failed; retrying", "err", err, "failures", total,
					"batch", len(batch), "retry_in", backoff)
			}
			select {
			case <-time.After(backoff):
			case <-w.abort:
				w.mu.Lock()
				n := w.inflight + w.queue.n
				w.queue, w.inflight = ring{}, 0
				w.mu.Unlock()
				w.drop(DropShutdown, n)
				return
			}
			backoff = min(2*backoff, w.opt.RetryMax)
		}
		clear(batch)
		w.mu.Lock()
		w.inflight = 0
		more := w.queue.n >= w.opt.BatchSize
		w.mu.Unlock()
		if more {
			select { // write the next full batch without waiting for the tick
			case w.kick <- struct{}{}:
			default:
			}
		}
		select {
		case <-w.closing:
			closing = true
		default:
		}
	}
}

func (w *Writer) insert(batch []Record) error {
	ctx, cancel := context.WithTimeout(w.ctx, w.opt.InsertTimeout)
	defer cancel()
	if err := w.store.Insert(ctx, batch); err != nil {
		return fmt.Errorf("insert %d ledger records: %w", len(batch), err)
	}
	return nil
}

// rateLog lets one log line through per interval and counts what it held back.
type rateLog struct {
	every time.Duration
	mu    sync.Mutex
	last  time.Time
	count int
}

func (l *rateLog) allow(n int) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count += n
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		return 0, false
	}
	l.last = now
	c := l.count
	l.count = 0
	return c, true
}

// ring is a FIFO of records in a circular array that grows by doubling up to what
// it is asked to hold, so that neither steady traffic nor a full buffer dropping
// its oldest record moves the records already queued.
type ring struct {
	buf     []Record
	head, n int
	small   int // capacity to return to once drained
}

func (q *ring) push(r Record) {
	if q.n == len(q.buf) {
		nb := make([]Record, max(2*len(q.buf), 64))
		q.copyOut(nb)
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = r
	q.n++
}

func (q *ring) dropOldest() {
	q.buf[q.head] = Record{} // release its strings
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}

// copyOut copies the queued records, oldest first, to dst (len(dst) ≥ q.n).
func (q *ring) copyOut(dst []Record) {
	if q.n == 0 {
		return
	}
	k := copy(dst, q.buf[q.head:min(q.head+q.n, len(q.buf))])
	copy(dst[k:q.n], q.buf[:q.n-k])
}

// pop appends up to max of the oldest records to dst and removes them.
func (q *ring) pop(dst []Record, limit int) []Record {
	k := min(q.n, limit)
	for i := 0; i < k; i++ {
		j := (q.head + i) % len(q.buf)
		dst = append(dst, q.buf[j])
		q.buf[j] = Record{}
	}
	if k > 0 {
		q.head = (q.head + k) % len(q.buf)
		q.n -= k
	}
	if q.n == 0 {
		q.head = 0
		if len(q.buf) > 4*q.small { // after a burst, give the memory back
			q.buf = nil
		}
	}
	return dst
}
