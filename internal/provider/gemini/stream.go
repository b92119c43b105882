package gemini

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	wire "github.com/arbiterhq/arbiter/internal/wire/gemini"
)

// Stream sends a streamGenerateContent?alt=sse request and returns once Gemini has
// answered with a success status. Events are decoded one SSE event at a time as Recv
// is called. Cancelling ctx or calling Close aborts the upstream request at once. A
// body that ends before every candidate has a finishReason is an error, never a
// silent end.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := wire.EncodeRequest(req)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	resp, err := p.post(sctx, p.endpoint(req.Model, "streamGenerateContent")+"?alt=sse", body, true)
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{p: p, model: req.Model, parent: ctx, cancel: cancel, resp: resp, rd: sse.NewReader(resp.Body),
		dec: wire.NewStreamDecoder()}, nil
}

// stream is one upstream SSE response. Recv is called by one goroutine; Close may be
// called from any goroutine, at any time, more than once.
type stream struct {
	p      *Provider
	model  string
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
			if ev.Type == llm.EventStart {
				if ev.Created == 0 {
					ev.Created = s.p.now().Unix()
				}
				if ev.Model == "" {
					ev.Model = s.model
				}
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
		if err == io.EOF && s.parent.Err() == nil && !s.closed.Load() {
			// Gemini's end of stream is the end of the body.
			evs, err := s.dec.EndOfStream()
			if err != nil {
				s.err = s.p.scrub.Error(err)
				continue
			}
			s.pending = evs
			s.done.Store(true)
			continue
		}
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
	return s.p.scrub.StreamError(s.parent, s.closed.Load(), err, "stream ended in the middle of an event")
}

// Close releases the upstream request, aborting it at once unless the body was
// already read to its end (which returns the connection to the pool).
func (s *stream) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.resp.Body.Close()
	})
	return nil
}
