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
	// EventReasoning carries a piece of the model's reasoning, where a provider streams
	// it: Text is the next piece of the reasoning block being streamed, Signature the
	// next piece of its signature (Anthropic signs a block after its text, so reasoning
	// after a signature starts a new block), and Redacted a whole redacted block's data.
	// Signed says the block will be signed.
	// Encoders for formats that cannot carry reasoning drop it.
	EventReasoning
	// EventToolCall opens a tool call: ToolIndex, ToolCall.ID and ToolCall.Name are
	// set, ToolCall.Signature when the provider signed the call, and
	// ToolCall.Arguments may hold a first fragment.
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
	Type EventType
	// Signed marks an EventReasoning piece of a block its provider signs (Anthropic's
	// thinking; the signature follows the text), so that an encoder can stream it to a
	// client who may send it back, before the signature has arrived.
	Signed       bool `json:",omitempty"`
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
	// Signature and Redacted belong to EventReasoning (see there). Left out of JSON
	// when empty, so that recorded event streams without reasoning stay as they were.
	Signature string `json:",omitempty"`
	Redacted  string `json:",omitempty"`
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

// Assembler builds a Response from stream events, one at a time. A choice's content
// keeps the order its parts arrived in: reasoning blocks, then text, as Anthropic
// sends them; consecutive text pieces form one text part.
type Assembler struct {
	resp    Response
	choices []*choiceState // pointers: the builders inside must not move
	started bool
}

// choiceState is one choice being assembled: its finished parts, and the text run or
// reasoning block still open (at most one of the two is open at a time).
type choiceState struct {
	parts []Part
	text  strings.Builder
	think *thinkState
	args  []strings.Builder
}

type thinkState struct{ text, sig strings.Builder }

func (st *choiceState) flushText() {
	if st.text.Len() > 0 {
		st.parts = append(st.parts, Part{Type: PartText, Text: st.text.String()})
		st.text = strings.Builder{}
	}
}

func (st *choiceState) flushThink() {
	if st.think != nil {
		st.parts = append(st.parts, st.think.part())
		st.think = nil
	}
}

func (t *thinkState) part() Part {
	return Part{Type: PartThinking, Text: t.text.String(), Signature: t.sig.String()}
}

func (a *Assembler) choice(i int) (*Choice, *choiceState) {
	for len(a.resp.Choices) <= i {
		n := len(a.resp.Choices)
		a.resp.Choices = append(a.resp.Choices, Choice{Index: n, Message: Message{Role: RoleAssistant}})
		a.choices = append(a.choices, &choiceState{})
	}
	return &a.resp.Choices[i], a.choices[i]
}

// toolCall returns the call ToolIndex of a choice, adding empty calls up to it.
func (a *Assembler) toolCall(choice, index int) (*ToolCall, *strings.Builder) {
	c, st := a.choice(choice)
	for len(c.Message.ToolCalls) <= index {
		c.Message.ToolCalls = append(c.Message.ToolCalls, ToolCall{})
		st.args = append(st.args, strings.Builder{})
	}
	return &c.Message.ToolCalls[index], &st.args[index]
}

// Add folds one event into the response.
func (a *Assembler) Add(ev Event) {
	switch ev.Type {
	case EventStart:
		a.started = true
		a.resp.ID, a.resp.Model, a.resp.Created = ev.ID, ev.Model, ev.Created
		a.resp.SystemFingerprint = ev.Fingerprint
	case EventText:
		_, st := a.choice(ev.Choice)
		if st.think != nil {
			st.flushThink()
		}
		st.text.WriteString(ev.Text)
	case EventReasoning:
		a.addReasoning(ev)
	case EventToolCall:
		tc, args := a.toolCall(ev.Choice, ev.ToolIndex)
		tc.ID, tc.Name, tc.Signature = ev.ToolCall.ID, ev.ToolCall.Name, ev.ToolCall.Signature
		args.WriteString(ev.ToolCall.Arguments)
	case EventToolArgs:
		_, args := a.toolCall(ev.Choice, ev.ToolIndex)
		args.WriteString(ev.ToolCall.Arguments)
	case EventFinish:
		c, _ := a.choice(ev.Choice)
		c.FinishReason = ev.FinishReason
	case EventUsage:
		if ev.Usage != nil {
			a.resp.Usage = *ev.Usage
		}
	}
}

func (a *Assembler) addReasoning(ev Event) {
	if ev.Text == "" && ev.Signature == "" && ev.Redacted == "" {
		return
	}
	_, st := a.choice(ev.Choice)
	st.flushText()
	if ev.Redacted != "" {
		st.flushThink()
		st.parts = append(st.parts, Part{Type: PartRedactedThinking, Data: ev.Redacted})
		return
	}
	if st.think != nil && st.think.sig.Len() > 0 && ev.Text != "" {
		st.flushThink() // a signed block is whole: more reasoning is another block
	}
	if st.think == nil {
		st.think = &thinkState{}
	}
	st.think.text.WriteString(ev.Text)
	st.think.sig.WriteString(ev.Signature)
}

// Response returns the response assembled so far.
func (a *Assembler) Response() *Response {
	r := a.resp
	r.Choices = make([]Choice, len(a.resp.Choices))
	copy(r.Choices, a.resp.Choices)
	for i := range r.Choices {
		msg := &r.Choices[i].Message
		st := a.choices[i]
		n := len(st.parts)
		if st.think != nil || st.text.Len() > 0 {
			n++
		}
		if n > 0 {
			content := make([]Part, 0, n)
			content = append(content, st.parts...)
			if st.think != nil {
				content = append(content, st.think.part())
			}
			if st.text.Len() > 0 {
				content = append(content, Part{Type: PartText, Text: st.text.String()})
			}
			msg.Content = content
		}
		if len(msg.ToolCalls) > 0 {
			calls := make([]ToolCall, len(msg.ToolCalls))
			copy(calls, msg.ToolCalls)
			for j := range calls {
				calls[j].Arguments = st.args[j].String()
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

// Events turns a complete response into the events a stream of it would carry, in
// the order of each choice's content (reasoning blocks with their signatures, text),
// then its tool calls, with text, reasoning and arguments split into pieces of about
// chunk bytes (on UTF-8 boundaries) so that a replayed answer streams in several
// chunks. chunk <= 0 means one piece.
func Events(r *Response, chunk int) []Event {
	evs := []Event{{Type: EventStart, ID: r.ID, Model: r.Model, Created: r.Created, Fingerprint: r.SystemFingerprint}}
	for _, c := range r.Choices {
		for k := range c.Message.Content {
			p := &c.Message.Content[k]
			switch p.Type {
			case PartText:
				for t := p.Text; t != ""; {
					n := pieceLen(t, chunk)
					evs = append(evs, Event{Type: EventText, Choice: c.Index, Text: t[:n]})
					t = t[n:]
				}
			case PartThinking:
				for t := p.Text; t != ""; {
					n := pieceLen(t, chunk)
					evs = append(evs, Event{Type: EventReasoning, Choice: c.Index, Text: t[:n], Signed: p.Signature != ""})
					t = t[n:]
				}
				if p.Signature != "" {
					evs = append(evs, Event{Type: EventReasoning, Choice: c.Index, Signature: p.Signature, Signed: true})
				}
			case PartRedactedThinking:
				if p.Data != "" {
					evs = append(evs, Event{Type: EventReasoning, Choice: c.Index, Redacted: p.Data, Signed: true})
				}
			}
		}
		for j, tc := range c.Message.ToolCalls {
			evs = append(evs, Event{Type: EventToolCall, Choice: c.Index, ToolIndex: j,
				ToolCall: ToolCall{ID: tc.ID, Name: tc.Name, Signature: tc.Signature}})
			for t := tc.Arguments; t != ""; {
				n := pieceLen(t, chunk)
				evs = append(evs, Event{Type: EventToolArgs, Choice: c.Index, ToolIndex: j,
					ToolCall: ToolCall{Arguments: t[:n]}})
				t = t[n:]
			}
		}
		evs = append(evs, Event{Type: EventFinish, Choice: c.Index, FinishReason: c.FinishReason})
	}
	u := r.Usage
	evs[0].Usage = &Usage{InputTokens: u.InputTokens, CachedInputTokens: u.CachedInputTokens, CacheWriteTokens: u.CacheWriteTokens}
	evs = append(evs, Event{Type: EventUsage, Usage: &u})
	return evs
}

// pieceLen is the length of s's next piece of about chunk bytes, ending on a UTF-8
// boundary (all of s when chunk <= 0).
func pieceLen(s string, chunk int) int {
	n := len(s)
	if chunk > 0 && n > chunk {
		n = chunk
		for n < len(s) && !utf8Start(s[n]) {
			n++
		}
	}
	return n
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
