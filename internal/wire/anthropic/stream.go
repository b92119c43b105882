package anthropic

import (
	"encoding/json"
	"fmt"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// StreamOptions configures a StreamEncoder.
type StreamOptions struct {
	// Ping sends a ping event after message_start, as Anthropic does.
	Ping bool
}

// StreamEncoder turns neutral events into Anthropic's SSE events: message_start,
// content_block_start/delta/stop per text or tool_use block, then message_delta
// (stop_reason and cumulative usage) and message_stop at Finish. Only choice 0 is
// encoded. Signed reasoning becomes thinking blocks (thinking_delta, then
// signature_delta) and redacted_thinking blocks; unsigned reasoning is dropped (see
// doc.go).
type StreamEncoder struct {
	opts    StreamOptions
	started bool
	ended   bool
	// open is the index of the open content block, -1 when none; openText says
	// whether it is a text block (text deltas append to it), openThinking whether it
	// is a thinking block, and thinkingSigned whether its signature has begun (more
	// reasoning text is then another block).
	open           int
	openText       bool
	openThinking   bool
	thinkingSigned bool
	blocks         int
	toolBlock      map[int]int // neutral ToolIndex → content block index
	finish         llm.FinishReason
	usage          *llm.Usage
	buf            []byte
}

// NewStreamEncoder returns an encoder for one response.
func NewStreamEncoder(opts StreamOptions) *StreamEncoder {
	return &StreamEncoder{opts: opts, open: -1, toolBlock: map[int]int{}}
}

type startMessage struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Role         string      `json:"role"`
	Content      []wireBlock `json:"content"`
	Model        string      `json:"model"`
	StopReason   *string     `json:"stop_reason"`
	StopSequence *string     `json:"stop_sequence"`
	Usage        wireUsage   `json:"usage"`
}

type blockDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
}

type streamEvent struct {
	Type         string        `json:"type"`
	Message      *startMessage `json:"message,omitempty"`
	Index        *int          `json:"index,omitempty"`
	ContentBlock *wireBlock    `json:"content_block,omitempty"`
	Delta        any           `json:"delta,omitempty"`
	Usage        *wireUsage    `json:"usage,omitempty"`
}

type messageDelta struct {
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

func (e *StreamEncoder) write(w *sse.Writer, ev streamEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("anthropic: encoding %s event: %w", ev.Type, err)
	}
	if err := w.Write(ev.Type, b); err != nil {
		return fmt.Errorf("anthropic: writing %s event: %w", ev.Type, err)
	}
	return nil
}

func (e *StreamEncoder) start(w *sse.Writer, id, model string, u *llm.Usage) error {
	if e.started {
		return nil
	}
	e.started = true
	m := &startMessage{ID: id, Type: "message", Role: "assistant", Content: []wireBlock{}, Model: model}
	if u != nil {
		// Anthropic reports the prompt's tokens at the start; the output so far is 1.
		m.Usage = toWireUsage(llm.Usage{InputTokens: u.InputTokens, CachedInputTokens: u.CachedInputTokens, CacheWriteTokens: u.CacheWriteTokens, OutputTokens: 1})
	}
	err := e.write(w, streamEvent{Type: "message_start", Message: m})
	if err == nil && e.opts.Ping {
		err = w.Write("ping", []byte(`{"type":"ping"}`))
	}
	return err
}

func (e *StreamEncoder) closeBlock(w *sse.Writer) error {
	if e.open < 0 {
		return nil
	}
	i := e.open
	e.open, e.openText, e.openThinking, e.thinkingSigned = -1, false, false, false
	return e.write(w, streamEvent{Type: "content_block_stop", Index: &i})
}

func (e *StreamEncoder) openBlock(w *sse.Writer, b wireBlock) (int, error) {
	if err := e.closeBlock(w); err != nil {
		return 0, err
	}
	i := e.blocks
	e.blocks++
	e.open = i
	return i, e.write(w, streamEvent{Type: "content_block_start", Index: &i, ContentBlock: &b})
}

// Encode writes the SSE events for one neutral event.
func (e *StreamEncoder) Encode(w *sse.Writer, ev llm.Event) error {
	if e.ended || ev.Choice != 0 {
		return nil
	}
	if ev.Type == llm.EventStart {
		return e.start(w, ev.ID, ev.Model, ev.Usage)
	}
	if err := e.start(w, "", "", nil); err != nil {
		return err
	}
	switch ev.Type {
	case llm.EventText:
		if ev.Text == "" {
			return nil
		}
		if e.open < 0 || !e.openText {
			empty := ""
			if _, err := e.openBlock(w, wireBlock{Type: "text", Text: &empty}); err != nil {
				return err
			}
			e.openText = true
		}
		i := e.open
		return e.write(w, streamEvent{Type: "content_block_delta", Index: &i,
			Delta: blockDelta{Type: "text_delta", Text: &ev.Text}})
	case llm.EventReasoning:
		return e.reasoning(w, ev)
	case llm.EventToolCall:
		i, err := e.openBlock(w, wireBlock{Type: "tool_use", ID: llm.JoinToolID(ev.ToolCall.ID, ev.ToolCall.Signature), Name: ev.ToolCall.Name, Input: json.RawMessage(`{}`)})
		if err != nil {
			return err
		}
		e.toolBlock[ev.ToolIndex] = i
		if ev.ToolCall.Arguments == "" {
			return nil
		}
		return e.write(w, streamEvent{Type: "content_block_delta", Index: &i,
			Delta: blockDelta{Type: "input_json_delta", PartialJSON: &ev.ToolCall.Arguments}})
	case llm.EventToolArgs:
		i, ok := e.toolBlock[ev.ToolIndex]
		if !ok || ev.ToolCall.Arguments == "" {
			return nil // arguments for a call never opened: nothing valid to attach them to
		}
		return e.write(w, streamEvent{Type: "content_block_delta", Index: &i,
			Delta: blockDelta{Type: "input_json_delta", PartialJSON: &ev.ToolCall.Arguments}})
	case llm.EventFinish:
		e.finish = ev.FinishReason
		return e.closeBlock(w)
	case llm.EventUsage:
		if ev.Usage != nil {
			u := *ev.Usage
			e.usage = &u
		}
	}
	return nil
}

// reasoning writes a piece of signed reasoning: thinking text and signature deltas
// into the open thinking block (opening one when needed), or a whole redacted block.
func (e *StreamEncoder) reasoning(w *sse.Writer, ev llm.Event) error {
	if !ev.Signed {
		return nil // another provider's reasoning: the client could not send it back
	}
	if ev.Redacted != "" {
		if _, err := e.openBlock(w, wireBlock{Type: "redacted_thinking", Data: ev.Redacted}); err != nil {
			return err
		}
		return e.closeBlock(w)
	}
	if ev.Text == "" && ev.Signature == "" {
		return nil
	}
	if e.open < 0 || !e.openThinking || e.thinkingSigned && ev.Text != "" {
		empty := ""
		if _, err := e.openBlock(w, wireBlock{Type: "thinking", Thinking: &empty}); err != nil {
			return err
		}
		e.openThinking = true
	}
	i := e.open
	if ev.Text != "" {
		if err := e.write(w, streamEvent{Type: "content_block_delta", Index: &i,
			Delta: blockDelta{Type: "thinking_delta", Thinking: &ev.Text}}); err != nil {
			return err
		}
	}
	if ev.Signature == "" {
		return nil
	}
	e.thinkingSigned = true
	return e.write(w, streamEvent{Type: "content_block_delta", Index: &i,
		Delta: blockDelta{Type: "signature_delta", Signature: &ev.Signature}})
}

// Finish closes any open block and writes message_delta and message_stop.
func (e *StreamEncoder) Finish(w *sse.Writer) error {
	if e.ended {
		return nil
	}
	if err := e.start(w, "", "", nil); err != nil {
		return err
	}
	if err := e.closeBlock(w); err != nil {
		return err
	}
	e.ended = true
	reason := stopReason(e.finish)
	var u wireUsage
	if e.usage != nil {
		u = toWireUsage(*e.usage)
	}
	if err := e.write(w, streamEvent{Type: "message_delta", Delta: messageDelta{StopReason: &reason}, Usage: &u}); err != nil {
		return err
	}
	return w.Write("message_stop", []byte(`{"type":"message_stop"}`))
}

// Fail writes an error event mid-stream: the SDKs raise it as an API error, so a
// broken upstream never looks like a complete answer.
func (e *StreamEncoder) Fail(w *sse.Writer, err *llm.Error) error {
	if e.ended {
		return nil
	}
	e.ended = true
	// Mid-stream, Anthropic itself only ever sends overloaded_error or api_error.
	typ := "api_error"
	if err.Kind == llm.KindOverloaded {
		typ = "overloaded_error"
	}
	if werr := w.Write("error", errorJSON(typ, message(err))); werr != nil {
		return fmt.Errorf("anthropic: writing error event: %w", werr)
	}
	return nil
}

// StreamDecoder turns Anthropic's SSE events into neutral events.
type StreamDecoder struct {
	opts     responseOptions
	usage    wireUsage
	tools    int
	blocks   map[int]blockState
	jsonUsed bool
	finished bool
}

type blockState struct {
	kind      string // text, tool, json, thinking, other
	toolIndex int
}

// NewStreamDecoder returns a decoder for one stream.
func NewStreamDecoder(opts ...ResponseOption) *StreamDecoder {
	d := &StreamDecoder{blocks: map[int]blockState{}}
	for _, opt := range opts {
		opt(&d.opts)
	}
	return d
}

type inEvent struct {
	Type         string          `json:"type"`
	Message      *wireResponse   `json:"message"`
	Index        int             `json:"index"`
	ContentBlock *wireBlock      `json:"content_block"`
	Delta        json.RawMessage `json:"delta"`
	Usage        *struct {
		InputTokens              *int `json:"input_tokens"`
		OutputTokens             *int `json:"output_tokens"`
		CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	} `json:"usage"`
	Error *wireErrorInfo `json:"error"`
}

type inDelta struct {
	Type         string  `json:"type"`
	Text         string  `json:"text"`
	PartialJSON  string  `json:"partial_json"`
	Thinking     string  `json:"thinking"`
	Signature    string  `json:"signature"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// Decode handles one SSE event. done is true at message_stop; an error event is
// returned as an *llm.Error.
func (d *StreamDecoder) Decode(name string, data []byte) ([]llm.Event, bool, error) {
	var ev inEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, &llm.Error{Kind: llm.KindUpstreamServer, Message: fmt.Sprintf("anthropic: malformed %s event: %v", name, err), Err: err}
	}
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case "message_start":
		if ev.Message == nil {
			return nil, false, &llm.Error{Kind: llm.KindUpstreamServer, Message: "anthropic: message_start without a message"}
		}
		d.usage = ev.Message.Usage
		start := fromWireUsage(ev.Message.Usage)
		start.OutputTokens, start.ReasoningTokens = 0, 0
		return []llm.Event{{Type: llm.EventStart, ID: ev.Message.ID, Model: ev.Message.Model, Usage: &start}}, false, nil
	case "content_block_start":
		b := ev.ContentBlock
		if b == nil {
			return nil, false, nil
		}
		switch b.Type {
		case "text":
			d.blocks[ev.Index] = blockState{kind: "text"}
			if b.Text != nil && *b.Text != "" {
				return []llm.Event{{Type: llm.EventText, Text: *b.Text}}, false, nil
			}
		case "tool_use":
			if d.opts.jsonTool != "" && b.Name == d.opts.jsonTool {
				d.blocks[ev.Index] = blockState{kind: "json"}
				d.jsonUsed = true
				return nil, false, nil
			}
			st := blockState{kind: "tool", toolIndex: d.tools}
			d.tools++
			d.blocks[ev.Index] = st
			out := llm.Event{Type: llm.EventToolCall, ToolIndex: st.toolIndex, ToolCall: llm.ToolCall{ID: b.ID, Name: b.Name}}
			if in := compact(b.Input); len(in) > 0 && string(in) != "{}" {
				out.ToolCall.Arguments = string(in)
			}
			return []llm.Event{out}, false, nil
		case "thinking":
			// Anthropic signs every thinking block (the signature comes last, in a
			// signature_delta): its pieces are marked Signed from the start.
			d.blocks[ev.Index] = blockState{kind: "thinking"}
			if t, sig := deref(b.Thinking), deref(b.Signature); t != "" || sig != "" {
				return []llm.Event{{Type: llm.EventReasoning, Text: t, Signature: sig, Signed: true}}, false, nil
			}
		case "redacted_thinking":
			d.blocks[ev.Index] = blockState{kind: "other"}
			if b.Data != "" {
				return []llm.Event{{Type: llm.EventReasoning, Redacted: b.Data, Signed: true}}, false, nil
			}
		default:
			d.blocks[ev.Index] = blockState{kind: "other"}
		}
		return nil, false, nil
	case "content_block_delta":
		var dl inDelta
		if err := json.Unmarshal(ev.Delta, &dl); err != nil {
			return nil, false, &llm.Error{Kind: llm.KindUpstreamServer, Message: "anthropic: malformed content_block_delta: " + err.Error(), Err: err}
		}
		st := d.blocks[ev.Index]
		switch dl.Type {
		case "text_delta":
			if dl.Text != "" {
				return []llm.Event{{Type: llm.EventText, Text: dl.Text}}, false, nil
			}
		case "input_json_delta":
			if dl.PartialJSON == "" {
				return nil, false, nil
			}
			switch st.kind {
			case "json":
				return []llm.Event{{Type: llm.EventText, Text: dl.PartialJSON}}, false, nil
			case "tool":
				return []llm.Event{{Type: llm.EventToolArgs, ToolIndex: st.toolIndex, ToolCall: llm.ToolCall{Arguments: dl.PartialJSON}}}, false, nil
			}
		case "thinking_delta":
			if dl.Thinking != "" {
				return []llm.Event{{Type: llm.EventReasoning, Text: dl.Thinking, Signed: true}}, false, nil
			}
		case "signature_delta":
			if dl.Signature != "" {
				return []llm.Event{{Type: llm.EventReasoning, Signature: dl.Signature, Signed: true}}, false, nil
			}
		}
		return nil, false, nil
	case "message_delta":
		if ev.Usage != nil {
			// Usage here is cumulative for the whole message: overwrite what is given.
			if v := ev.Usage.OutputTokens; v != nil {
				d.usage.OutputTokens = *v
			}
			if v := ev.Usage.InputTokens; v != nil {
				d.usage.InputTokens = *v
			}
			if v := ev.Usage.CacheCreationInputTokens; v != nil {
				d.usage.CacheCreationInputTokens = *v
			}
			if v := ev.Usage.CacheReadInputTokens; v != nil {
				d.usage.CacheReadInputTokens = *v
			}
		}
		var dl inDelta
		_ = json.Unmarshal(ev.Delta, &dl)
		if dl.StopReason == nil || d.finished {
			return nil, false, nil
		}
		d.finished = true
		return []llm.Event{{Type: llm.EventFinish,
			FinishReason: finishReason(*dl.StopReason, d.jsonUsed && d.tools == 0)}}, false, nil
	case "message_stop":
		var out []llm.Event
		if !d.finished {
			d.finished = true
			out = append(out, llm.Event{Type: llm.EventFinish, FinishReason: llm.FinishStop})
		}
		u := fromWireUsage(d.usage)
		return append(out, llm.Event{Type: llm.EventUsage, Usage: &u}), true, nil
	case "error":
		info := wireErrorInfo{Type: "api_error", Message: "upstream stream error"}
		if ev.Error != nil {
			info = *ev.Error
		}
		return nil, false, &llm.Error{Kind: kindOf(info.Type, 0), Message: info.Message}
	}
	// ping, content_block_stop and event types added later carry nothing for us.
	return nil, false, nil
}
