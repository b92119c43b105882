package anthropic

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	wire "github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

// Stream sends a streaming request and returns once Anthropic has answered with a
// success status. Events are decoded one SSE event at a time as Recv is called.
// Cancelling ctx or calling Close aborts the upstream request at once. A body that
// ends before message_stop is an error, never a silent end.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := p.encode(req, true)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	resp, err := p.post(sctx, body, true)
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{p: p, parent: ctx, cancel: cancel, resp: resp, rd: sse.NewReader(resp.Body),
		dec: wire.NewStreamDecoder(wire.WithJSONTool(wire.JSONToolName(req)))}, nil
}

// stream is one upstream SSE response. Recv is called by one goroutine; Close may be
// called from any goroutine, at any time, more than once.
type stream struct {
	p      *Provider
	parent context.Context
	cancel context.CancelFunc
	resp   *http.Response
	rd     *sse.Reader
	dec    *wire.StreamDecoder

	pending []llm.Event
	err     error // terminal: io.EOF or the failure, returned by every later Recv
	done    atomic.Bool
	closed  atomic.Bool
	once    sync.Once
}

func (s *stream) Recv() (llm.Event, error) {
	for {
		if s.err == nil && s.closed.Load() {
			// Closed by the caller: whatever was buffered is abandoned with the stream.
			s.pending = nil
			s.err = s.p.scrub.Error(&llm.Error{Kind: llm.KindCanceled, Message: "stream closed"})
		}
		if len(s.pending) > 0 {
			ev := s.pending[0]
			s.pending = s.pending[1:]
			if ev.Type == llm.EventStart && ev.Created == 0 {
				ev.Created = s.p.now().Unix()
			}
			return ev, nil
		}
		if s.err != nil {
			return llm.Event{}, s.err
		}
		if s.done.Load() {
			s.err = io.EOF
			continue
		}
		ev, err := s.rd.Next()
		if err != nil {
			s.err = s.readErr(err)
			continue
		}
		evs, done, err := s.dec.Decode(ev.Name, ev.Data)
		if err != nil {
			s.err = s.p.scrub.Error(err)
			continue
		}
		s.pending = evs
		if done {
			s.done.Store(true)
		}
	}
}

func (s *stream) readErr(err error) error {
	return s.p.scrub.StreamError(s.parent, s.closed.Load(), err, "stream ended before message_stop")
}

// drainGrace bounds how long Close waits for the end of the body after message_stop,
// so that the connection can be reused.
const drainGrace = 100 * time.Millisecond

// Close releases the upstream request: after a complete stream it first lets the
// body end (briefly) so the connection returns to the pool; otherwise it aborts the
// request at once.
func (s *stream) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		if s.done.Load() {
			t := time.AfterFunc(drainGrace, s.cancel)
			_, _ = io.Copy(io.Discard, io.LimitReader(s.resp.Body, 64<<10))
			t.Stop()
		}
		s.cancel()
		s.resp.Body.Close()
	})
	return nil
}
