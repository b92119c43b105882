package openai

import (
	"bytes"
	"errors"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// StreamDecoder turns an upstream's chat.completion.chunk events into neutral events.
// It is a state machine for one response; not safe for concurrent use.
//
// Usage is held back and emitted as the last event when [DONE] arrives (or at
// EndOfStream), because hosts differ in where they put it: OpenAI sends a final chunk
// with "choices":[], vLLM and Together put it on the finishing chunk, Groq sends it
// in x_groq.usage.
type StreamDecoder struct {
	started bool
	done    bool
	evs     []llm.Event
	usage   *llm.Usage
	// opened[c] lists the tool indices already opened in choice c; finished[c] is set
	// once choice c has a finish reason.
	opened   [][]int
	finished []bool
}

// NewStreamDecoder returns a decoder for one streamed response.
func NewStreamDecoder() *StreamDecoder { return &StreamDecoder{evs: make([]llm.Event, 0, 4)} }

// Decode takes one SSE event and returns the neutral events it carries (the slice is
// reused by the next call), done=true at [DONE], or the upstream's error event as an
// *llm.Error. Malformed chunks are upstream_server errors.
func (d *StreamDecoder) Decode(name string, data []byte) (evs []llm.Event, done bool, err error) {
	d.evs = d.evs[:0]
	if string(data) == "[DONE]" {
		d.done = true
		d.flushUsage()
		return d.evs, true, nil
	}
	if d.done {
		return nil, true, nil // nothing after [DONE] counts
	}
	s := &scanner{data: data}
	if s.peek() != '{' {
		return nil, false, malformed(errors.New("stream event is not a JSON object"), "")
	}
	if name == "error" && !bytes.Contains(data, []byte(`"error"`)) {
		// A named error event whose data is the error object itself (some proxies).
		return nil, false, errorEvent(data)
	}
	var id, model, fingerprint string
	var created int64
	// Choices are decoded into events as they are read; the start event, which needs
	// id/model/created from anywhere in the chunk, is put in front afterwards.
	if !d.started {
		d.evs = append(d.evs, llm.Event{Type: llm.EventStart})
	}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return nil, false, malformed(err, "")
		}
		if !ok {
			break
		}
		switch k := string(key); {
		case d.started && (k == "id" || k == "model" || k == "created"):
			// Repeated on every chunk; only the first one's are kept, so the rest
			// are validated without being copied.
			_, err = s.skip()
		case k == "id":
			id, err = s.optStr()
		case k == "model":
			model, err = s.optStr()
		case k == "created":
			created, err = s.optInt()
		}
		if err != nil {
			return nil, false, malformed(err, string(key))
		}
		switch string(key) {
		case "id", "model", "created":
		case "system_fingerprint":
			if !d.started {
				fingerprint, err = s.optStr()
			} else {
				_, err = s.skip()
			}
		case "choices":
			err = d.choices(s)
		case "usage":
			var u *llm.Usage
			if u, err = decodeUsage(s); u != nil {
				d.usage = u
			}
		case "x_groq":
			err = d.groq(s)
		case "error":
			raw, serr := s.skip()
			if serr != nil {
				return nil, false, malformed(serr, "error")
			}
			if string(raw) != "null" {
				return nil, false, errorEvent(raw)
			}
		default:
			_, err = s.skip()
		}
		if err != nil {
			return nil, false, malformed(err, string(key))
		}
	}
	if err := s.end(); err != nil {
		return nil, false, malformed(err, "")
	}
	if !d.started {
		d.started = true
		d.evs[0].ID, d.evs[0].Model, d.evs[0].Created = id, model, created
		d.evs[0].Fingerprint = fingerprint
	}
	return d.evs, false, nil
}

// EndOfStream is called when the upstream body ends. It returns the held-back usage
// event if the response is complete ([DONE] seen, or every choice finished: a few
// hosts omit [DONE]), and an upstream_server error if the stream was cut short.
func (d *StreamDecoder) EndOfStream() ([]llm.Event, error) {
	d.evs = d.evs[:0]
	if d.done {
		return d.evs, nil
	}
	complete := len(d.finished) > 0
	for _, f := range d.finished {
		complete = complete && f
	}
	if !complete {
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: "stream ended before completion"}
	}
	d.done = true
	d.flushUsage()
	return d.evs, nil
}

func (d *StreamDecoder) flushUsage() {
	if d.usage != nil {
		d.evs = append(d.evs, llm.Event{Type: llm.EventUsage, Usage: d.usage})
		d.usage = nil
	}
}

func (d *StreamDecoder) choices(s *scanner) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '[' {
		return s.wrong()
	}
	s.arrStart()
	for i, first := 0, true; ; i, first = i+1, false {
		ok, err := s.nextElem(first)
		if err != nil || !ok {
			return err
		}
		if err := d.choice(s, i); err != nil {
			return err
		}
	}
}

// choice decodes one choice delta. Its fields may come in any order, so the finish
// reason is held until the delta's content has been emitted.
func (d *StreamDecoder) choice(s *scanner, pos int) error {
	if s.peek() != '{' {
		return s.wrong()
	}
	index := pos
	var finish string
	// Events for this choice are appended as the delta is read; their Choice field is
	// fixed up at the end, since "index" may come after "delta".
	mark := len(d.evs)
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(key) {
		case "index":
			var n int64
			n, err = s.intValue()
			index = int(n)
		case "finish_reason":
			finish, err = s.optStr()
		case "delta", "message":
			err = d.delta(s)
		default:
			_, err = s.skip()
		}
		if err != nil {
			return err
		}
	}
	if index < 0 || index > 1<<16 {
		return errors.New("choice index out of range")
	}
	for len(d.finished) <= index {
		d.finished = append(d.finished, false)
		d.opened = append(d.opened, nil)
	}
	for k := mark; k < len(d.evs); k++ {
		ev := &d.evs[k]
		ev.Choice = index
		if ev.Type == llm.EventToolCall || ev.Type == llm.EventToolArgs {
			ev.Type = d.toolEventType(index, ev.ToolIndex)
		}
	}
	if finish != "" {
		d.finished[index] = true
		d.evs = append(d.evs, llm.Event{Type: llm.EventFinish, Choice: index, FinishReason: finishReason(finish)})
	}
	return nil
}

// toolEventType decides whether a tool delta opens a call or continues one.
func (d *StreamDecoder) toolEventType(choice, tool int) llm.EventType {
	for _, t := range d.opened[choice] {
		if t == tool {
			return llm.EventToolArgs
		}
	}
	d.opened[choice] = append(d.opened[choice], tool)
	return llm.EventToolCall
}

func (d *StreamDecoder) delta(s *scanner) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '{' {
		return s.wrong()
	}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch string(key) {
		case "content", "refusal":
			var v string
			if v, err = contentText(s); err == nil && v != "" {
				d.evs = append(d.evs, llm.Event{Type: llm.EventText, Text: v})
			}
		case "reasoning_content", "reasoning": // DeepSeek, vLLM / OpenRouter, Groq
			var v string
			if s.peek() == '"' {
				if v, err = s.str(); err == nil && v != "" {
					d.evs = append(d.evs, llm.Event{Type: llm.EventReasoning, Text: v})
				}
			} else {
				_, err = s.skip()
			}
		case "tool_calls":
			err = d.toolDeltas(s)
		default:
			_, err = s.skip()
		}
		if err != nil {
			return err
		}
	}
}

func (d *StreamDecoder) toolDeltas(s *scanner) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '[' {
		return s.wrong()
	}
	s.arrStart()
	for pos, first := 0, true; ; pos, first = pos+1, false {
		ok, err := s.nextElem(first)
		if err != nil || !ok {
			return err
		}
		var tc llm.ToolCall
		index, err := toolCallDelta(s, &tc)
		if err != nil {
			return err
		}
		if index < 0 {
			index = pos // hosts that omit index send one call per position
		}
		// Type is settled in choice() once the choice index is known.
		d.evs = append(d.evs, llm.Event{Type: llm.EventToolArgs, ToolIndex: index, ToolCall: tc})
	}
}

// groq reads Groq's x_groq extension, which carries usage on the last chunk.
func (d *StreamDecoder) groq(s *scanner) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '{' {
		return s.wrong()
	}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil || !ok {
			return err
		}
		if string(key) == "usage" {
			u, err := decodeUsage(s)
			if err != nil {
				return err
			}
			if u != nil && d.usage == nil {
				d.usage = u
			}
			continue
		}
		if _, err := s.skip(); err != nil {
			return err
		}
	}
}
