package openai

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	wire "github.com/arbiterhq/arbiter/internal/wire/openai"
)

// drainGrace bounds how long Close waits for the end of a body after [DONE], so that
// the connection can be reused; a host that keeps the body open longer loses it.
const drainGrace = 100 * time.Millisecond

// Stream sends a streaming request and returns once the upstream has answered with a
// success status. The request always asks for usage. Events are decoded one SSE event
// at a time as Recv is called; nothing is buffered beyond the event being read.
// Cancelling ctx or calling Close aborts the upstream request at once.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	r := *req
	r.Stream = true
	body, err := wire.EncodeRequest(&r)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	resp, err := p.post(sctx, p.chatURL, body, true)
	if err != nil {
		cancel()
		return nil, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		// A host that ignored stream:true answered with a whole response (or an error
		// object with status 200): serve it as a stream.
		defer cancel()
		defer resp.Body.Close()
		data, err := readAll(resp, maxResponseBytes)
		if err != nil {
			return nil, p.scrub.Transport(sctx, "reading response from "+p.name, err)
		}
		out, err := wire.DecodeResponse(data)
		if err != nil {
			return nil, p.scrub.Error(err)
		}
		return &llm.SliceStream{Events: llm.Events(out, 0)}, nil
	}
	return &stream{
		p:      p,
		parent: ctx,
		ctx:    sctx,
		cancel: cancel,
		resp:   resp,
		rd:     sse.NewReader(resp.Body),
		dec:    wire.NewStreamDecoder(),
	}, nil
}

// stream is an upstream SSE response being decoded. Recv is called by one goroutine;
// Close may be called from any goroutine, at any time, more than once.
// Buffered reports whether decoded events are pending or more bytes have arrived.
func (s *stream) Buffered() bool { return len(s.pending) > 0 || s.rd.Buffered() }

type stream struct {
	p      *Provider
	parent context.Context
	ctx    context.Context
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
		if len(s.pending) > 0 {
			ev := s.pending[0]
			s.pending = s.pending[1:]
			return ev, nil
		}
		if s.err != nil {
			return llm.Event{}, s.err
		}
		if s.done.Load() {
			s.err = io.EOF
			continue
		}
		if s.closed.Load() {
			s.err = s.p.scrub.Error(&llm.Error{Kind: llm.KindCanceled, Message: "stream closed"})
			continue
		}
		ev, err := s.rd.Next()
		if err == io.EOF {
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
		// evs is the decoder's buffer; it is consumed before the next Decode.
		s.pending = evs
		if done {
			s.done.Store(true)
		}
	}
}

// readErr classifies a failure while reading the body.
func (s *stream) readErr(err error) error {
	return s.p.scrub.StreamError(s.parent, s.closed.Load(), err, "stream ended before completion")
}

// Close releases the upstream request. After a complete stream it first lets the body
// end (briefly) so the connection goes back to the pool; otherwise it aborts the
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
