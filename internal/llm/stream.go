package llm

import (
	"context"
	"io"
	"strings"
)

// EventType is the kind of a stream event.
type EventType uint8

const (
	// EventStart opens a stream: ID, Model and Created are set, and Usage, when the
	// provider reports the prompt's tokens up front (Anthropic), holds them.
	EventStart EventType = iota + 1
	// EventText carries a piece of a choice's text in Text.
	EventText
	// EventReasoning carries a piece of the model's visible reasoning in Text, where a
	// provider streams it; encoders for formats without it drop it.
	EventReasoning
	// EventToolCall opens a tool call: ToolIndex, ToolCall.ID and ToolCall.Name are
	// set, and ToolCall.Arguments may hold a first fragment.
	EventToolCall
	// EventToolArgs carries the next fragment of the arguments of the call ToolIndex
	// in ToolCall.Arguments.
	EventToolArgs
	// EventFinish closes a choice with FinishReason.
	EventFinish
	// EventUsage reports the token usage of the whole response; it comes after every
	// EventFinish and is the last event when the provider reports usage.
	EventUsage
)

// Event is one step of a streamed response. Choice is the index of the choice it
// belongs to (always 0 unless n > 1).
type Event struct {
	Type         EventType
	Choice       int
	Text         string
	ToolIndex    int
	ToolCall     ToolCall
	FinishReason FinishReason
	Usage        *Usage
	// Set on EventStart.
	ID      string
	Model   string
	Created int64
	// Fingerprint is OpenAI's system_fingerprint, where the provider sent one.
	Fingerprint string
}

// Stream is a streamed response. Recv returns the next event, io.EOF after the last
// one, or an error (an *Error for provider failures). Close releases the upstream
// connection and may be called at any time, more than once.
type Stream interface {
	Recv() (Event, error)
	Close() error
}

// Collect reads a stream to its end and assembles the complete response, which is
// what a cache stores and what a ledger prices. It closes the stream.
func Collect(ctx context.Context, s Stream) (*Response, error) {
	defer s.Close()
	var a Assembler
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ev, err := s.Recv()
		if err == io.EOF {
			return a.Response(), nil
		}
		if err != nil {
			return a.Response(), err
		}
		a.Add(ev)
	}
}

// Assembler builds a Response from stream events, one at a time.
type Assembler struct {
	resp    Response
	texts   []strings.Builder
	args    [][]strings.Builder
	started bool
}

func (a *Assembler) choice(i int) *Choice {
	for len(a.resp.Choices) <= i {
		n := len(a.resp.Choices)
		a.resp.Choices = append(a.resp.Choices, Choice{Index: n, Message: Message{Role: RoleAssistant}})
		a.texts = append(a.texts, strings.Builder{})
		a.args = append(a.args, nil)
	}
	return &a.resp.Choices[i]
}

// Add folds one event into the response.
func (a *Assembler) Add(ev Event) {
	switch ev.Type {
	case EventStart:
		a.started = true
		a.resp.ID, a.resp.Model, a.resp.Created = ev.ID, ev.Model, ev.Created
		a.resp.SystemFingerprint = ev.Fingerprint
	case EventText:
		a.choice(ev.Choice)
		a.texts[ev.Choice].WriteString(ev.Text)
	case EventToolCall:
		c := a.choice(ev.Choice)
		for len(c.Message.ToolCalls) <= ev.ToolIndex {
			c.Message.ToolCalls = append(c.Message.ToolCalls, ToolCall{})
			a.args[ev.Choice] = append(a.args[ev.Choice], strings.Builder{})
		}
		tc := &c.Message.ToolCalls[ev.ToolIndex]
		tc.ID, tc.Name = ev.ToolCall.ID, ev.ToolCall.Name
		a.args[ev.Choice][ev.ToolIndex].WriteString(ev.ToolCall.Arguments)
	case EventToolArgs:
		c := a.choice(ev.Choice)
		for len(c.Message.ToolCalls) <= ev.ToolIndex {
			c.Message.ToolCalls = append(c.Message.ToolCalls, ToolCall{})
			a.args[ev.Choice] = append(a.args[ev.Choice], strings.Builder{})
		}
		a.args[ev.Choice][ev.ToolIndex].WriteString(ev.ToolCall.Arguments)
	case EventFinish:
		a.choice(ev.Choice).FinishReason = ev.FinishReason
	case EventUsage:
		if ev.Usage != nil {
			a.resp.Usage = *ev.Usage
		}
	}
}

// Response returns the response assembled so far.
func (a *Assembler) Response() *Response {
	r := a.resp
	r.Choices = make([]Choice, len(a.resp.Choices))
	copy(r.Choices, a.resp.Choices)
	for i := range r.Choices {
		msg := &r.Choices[i].Message
		if t := a.texts[i].String(); t != "" {
			msg.Content = []Part{{Type: PartText, Text: t}}
		}
		if len(msg.ToolCalls) > 0 {
			calls := make([]ToolCall, len(msg.ToolCalls))
			copy(calls, msg.ToolCalls)
			for j := range calls {
				calls[j].Arguments = a.args[i][j].String()
			}
			msg.ToolCalls = calls
		}
	}
	return &r
}

// Finished reports whether every choice seen has a finish reason: a stream that ends
// without one was cut short and must not be cached or reported as complete.
func (a *Assembler) Finished() bool {
	if len(a.resp.Choices) == 0 {
		return false
	}
	for _, c := range a.resp.Choices {
		if c.FinishReason == "" {
			return false
		}
	}
	return true
}

// Events turns a complete response into the events a stream of it would carry, with
// each choice's text split into pieces of about chunk bytes (on UTF-8 boundaries) so
// that a replayed answer streams in several chunks. chunk <= 0 means one piece.
func Events(r *Response, chunk int) []Event {
	evs := []Event{{Type: EventStart, ID: r.ID, Model: r.Model, Created: r.Created, Fingerprint: r.SystemFingerprint}}
	for _, c := range r.Choices {
		text := c.Message.Text()
		for len(text) > 0 {
			n := len(text)
			if chunk > 0 && n > chunk {
				n = chunk
				for n < len(text) && !utf8Start(text[n]) {
					n++
				}
			}
			evs = append(evs, Event{Type: EventText, Choice: c.Index, Text: text[:n]})
			text = text[n:]
		}
		for j, tc := range c.Message.ToolCalls {
			evs = append(evs, Event{Type: EventToolCall, Choice: c.Index, ToolIndex: j,
				ToolCall: ToolCall{ID: tc.ID, Name: tc.Name}})
			args := tc.Arguments
			for len(args) > 0 {
				n := len(args)
				if chunk > 0 && n > chunk {
					n = chunk
					for n < len(args) && !utf8Start(args[n]) {
						n++
					}
				}
				evs = append(evs, Event{Type: EventToolArgs, Choice: c.Index, ToolIndex: j,
					ToolCall: ToolCall{Arguments: args[:n]}})
				args = args[n:]
			}
		}
		evs = append(evs, Event{Type: EventFinish, Choice: c.Index, FinishReason: c.FinishReason})
	}
	u := r.Usage
	evs[0].Usage = &Usage{InputTokens: u.InputTokens, CachedInputTokens: u.CachedInputTokens, CacheWriteTokens: u.CacheWriteTokens}
	evs = append(evs, Event{Type: EventUsage, Usage: &u})
	return evs
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// SliceStream serves a fixed list of events; used for cache replays and tests.
type SliceStream struct {
	Events []Event
	i      int
}

// Recv returns the next event or io.EOF.
func (s *SliceStream) Recv() (Event, error) {
	if s.i >= len(s.Events) {
		return Event{}, io.EOF
	}
	s.i++
	return s.Events[s.i-1], nil
}

// Close does nothing.
func (s *SliceStream) Close() error { return nil }

// Buffered reports whether another event is ready without waiting.
func (s *SliceStream) Buffered() bool { return s.i < len(s.Events) }

// Buffered reports whether s's next event is ready without waiting, for streams that
// can tell (a relay then writes it before flushing); false when it cannot tell.
func Buffered(s Stream) bool {
	b, ok := s.(interface{ Buffered() bool })
	return ok && b.Buffered()
}
