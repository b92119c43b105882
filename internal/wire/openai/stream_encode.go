package openai

import (
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// StreamOptions configures a StreamEncoder.
type StreamOptions struct {
	// IncludeUsage is the client's stream_options.include_usage: every chunk then
	// carries "usage":null and the usage event becomes a final chunk with
	// "choices":[]. Without it the usage event is dropped (Arbiter always asks
	// upstream for usage, for its own accounting).
	IncludeUsage bool
	// SystemFingerprint is sent in every chunk; null when empty.
	SystemFingerprint string
}

// StreamEncoder turns neutral stream events into chat.completion.chunk events. It is
// a state machine for one response; it is not safe for concurrent use.
type StreamEncoder struct {
	opts StreamOptions
	// prefix is the chunk's constant head, built once at EventStart:
	// {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"system_fingerprint":…,
	prefix []byte
	buf    []byte
	// roleSent marks the choices whose first chunk (carrying role) has been written.
	roleSent []bool
}

// NewStreamEncoder returns an encoder for one streamed response.
func NewStreamEncoder(opts StreamOptions) *StreamEncoder {
	return &StreamEncoder{opts: opts, buf: make([]byte, 0, 512)}
}

func (e *StreamEncoder) start(id, model string, created int64) {
	b := e.prefix[:0]
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, model)
	b = append(b, `,"system_fingerprint":`...)
	b = appendStringOrNull(b, e.opts.SystemFingerprint)
	b = append(b, ',')
	e.prefix = b
}

// choiceHead opens a chunk with one choice and its delta object, adding the role on
// the choice's first chunk.
func (e *StreamEncoder) choiceHead(choice int) []byte {
	b := append(e.buf[:0], e.prefix...)
	b = append(b, `"choices":[{"index":`...)
	b = appendInt(b, int64(choice))
	b = append(b, `,"delta":{`...)
	for len(e.roleSent) <= choice {
		e.roleSent = append(e.roleSent, false)
	}
	if !e.roleSent[choice] {
		e.roleSent[choice] = true
		b = append(b, `"role":"assistant",`...)
	}
	return b
}

// choiceTail closes the delta and the chunk.
func (e *StreamEncoder) choiceTail(b []byte, finish llm.FinishReason) []byte {
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = appendStringOrNull(b, string(finish))
	b = append(b, "}]"...)
	if e.opts.IncludeUsage {
		b = append(b, `,"usage":null`...)
	}
	return append(b, '}')
}

func (e *StreamEncoder) write(w *sse.Writer, b []byte) error {
	e.buf = b
	return w.Write("", b)
}

// Encode writes the chunk for one event (none for events the format has no place for:
// reasoning text, and usage when the client did not ask for it).
func (e *StreamEncoder) Encode(w *sse.Writer, ev llm.Event) error {
	if e.prefix == nil && ev.Type != llm.EventStart {
		e.start("", "", 0) // a stream without a start event still gets well-formed chunks
	}
	switch ev.Type {
	case llm.EventStart:
		if ev.Fingerprint != "" && e.opts.SystemFingerprint == "" {
			e.opts.SystemFingerprint = ev.Fingerprint // the upstream's, relayed as it sent it
		}
		e.start(ev.ID, ev.Model, ev.Created)
		b := e.choiceHead(0)
		b = append(b, `"content":"","refusal":null`...)
		return e.write(w, e.choiceTail(b, ""))
	case llm.EventText:
		b := e.choiceHead(ev.Choice)
		b = append(b, `"content":`...)
		b = appendString(b, ev.Text)
		return e.write(w, e.choiceTail(b, ""))
	case llm.EventToolCall:
		b := e.choiceHead(ev.Choice)
		b = append(b, `"tool_calls":[{"index":`...)
		b = appendInt(b, int64(ev.ToolIndex))
		b = append(b, `,"id":`...)
		b = appendString(b, llm.JoinToolID(ev.ToolCall.ID, ev.ToolCall.Signature))
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendString(b, ev.ToolCall.Name)
		b = append(b, `,"arguments":`...)
		b = appendString(b, ev.ToolCall.Arguments)
		b = append(b, "}}]"...)
		return e.write(w, e.choiceTail(b, ""))
	case llm.EventToolArgs:
		b := e.choiceHead(ev.Choice)
		b = append(b, `"tool_calls":[{"index":`...)
		b = appendInt(b, int64(ev.ToolIndex))
		b = append(b, `,"function":{"arguments":`...)
		b = appendString(b, ev.ToolCall.Arguments)
		b = append(b, "}}]"...)
		return e.write(w, e.choiceTail(b, ""))
	case llm.EventFinish:
		finish := ev.FinishReason
		if finish == "" {
			finish = llm.FinishStop
		}
		b := e.choiceHead(ev.Choice)
		return e.write(w, e.choiceTail(b, finish))
	case llm.EventUsage:
		if !e.opts.IncludeUsage || ev.Usage == nil {
			return nil
		}
		b := append(e.buf[:0], e.prefix...)
		b = append(b, `"choices":[],"usage":`...)
		b = appendUsage(b, ev.Usage)
		b = append(b, '}')
		return e.write(w, b)
	}
	return nil // EventReasoning: Chat Completions has no field for it
}

// Finish ends the stream cleanly with data: [DONE].
func (e *StreamEncoder) Finish(w *sse.Writer) error {
	e.buf = append(e.buf[:0], "[DONE]"...)
	return w.Write("", e.buf)
}

// Fail reports an error after the stream has started, as OpenAI does: a data event
// holding an error object, after which the stream ends (no [DONE]).
func (e *StreamEncoder) Fail(w *sse.Writer, err *llm.Error) error {
	e.buf = appendErrorBody(e.buf[:0], err)
	return w.Write("", e.buf)
}
