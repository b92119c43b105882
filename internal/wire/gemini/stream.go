package gemini

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// StreamOptions configures a StreamEncoder (nothing yet; kept for the shared contract).
type StreamOptions struct{}

// StreamEncoder turns neutral events into streamGenerateContent?alt=sse chunks: each
// SSE data line is a whole GenerateContentResponse. Gemini sends a function call
// whole in one chunk, so tool call fragments are buffered until the call is complete.
// The last chunk carries the finish reasons and usageMetadata. Reasoning is dropped.
type StreamEncoder struct {
	id, model string
	pending   map[int]*pendingCall // choice → call being assembled
	finish    map[int]llm.FinishReason
	usage     *llm.Usage
	ended     bool
}

type pendingCall struct {
	index    int
	id, name string
	sig      string // thoughtSignature
	args     strings.Builder
}

// NewStreamEncoder returns an encoder for one response.
func NewStreamEncoder(StreamOptions) *StreamEncoder {
	return &StreamEncoder{pending: map[int]*pendingCall{}, finish: map[int]llm.FinishReason{}}
}

func (e *StreamEncoder) chunk(w *sse.Writer, cands []wireCandidate, usage *wireUsage) error {
	b, err := json.Marshal(wireResponse{Candidates: cands, UsageMetadata: usage, ModelVersion: e.model, ResponseID: e.id})
	if err != nil {
		return fmt.Errorf("gemini: encoding stream chunk: %w", err)
	}
	if err := w.Write("", b); err != nil {
		return fmt.Errorf("gemini: writing stream chunk: %w", err)
	}
	return nil
}

func (e *StreamEncoder) flush(w *sse.Writer, choice int) error {
	p := e.pending[choice]
	if p == nil {
		return nil
	}
	delete(e.pending, choice)
	part := wirePart{FunctionCall: &wireFunctionCall{ID: p.id, Name: p.name, Args: argsObject(p.args.String())}, ThoughtSignature: p.sig}
	return e.chunk(w, []wireCandidate{{Index: choice, Content: &wireContent{Role: "model", Parts: []wirePart{part}}}}, nil)
}

// Encode writes the chunks for one neutral event (possibly none yet).
func (e *StreamEncoder) Encode(w *sse.Writer, ev llm.Event) error {
	if e.ended {
		return nil
	}
	switch ev.Type {
	case llm.EventStart:
		e.id, e.model = ev.ID, ev.Model
	case llm.EventText:
		if ev.Text == "" {
			return nil
		}
		if err := e.flush(w, ev.Choice); err != nil {
			return err
		}
		return e.chunk(w, []wireCandidate{{Index: ev.Choice, Content: &wireContent{Role: "model", Parts: []wirePart{textPart(ev.Text)}}}}, nil)
	case llm.EventToolCall:
		if err := e.flush(w, ev.Choice); err != nil {
			return err
		}
		p := &pendingCall{index: ev.ToolIndex, id: ev.ToolCall.ID, name: ev.ToolCall.Name, sig: ev.ToolCall.Signature}
		p.args.WriteString(ev.ToolCall.Arguments)
		e.pending[ev.Choice] = p
	case llm.EventToolArgs:
		if p := e.pending[ev.Choice]; p != nil && p.index == ev.ToolIndex {
			p.args.WriteString(ev.ToolCall.Arguments)
		}
	case llm.EventFinish:
		e.finish[ev.Choice] = ev.FinishReason
		return e.flush(w, ev.Choice)
	case llm.EventUsage:
		if ev.Usage != nil {
			u := *ev.Usage
			e.usage = &u
		}
	}
	return nil
}

// Finish writes the final chunk: every choice's finishReason and the usage.
func (e *StreamEncoder) Finish(w *sse.Writer) error {
	if e.ended {
		return nil
	}
	e.ended = true
	choices := make([]int, 0, len(e.pending)+len(e.finish))
	for c := range e.pending {
		choices = append(choices, c)
	}
	sort.Ints(choices)
	for _, c := range choices {
		if err := e.flush(w, c); err != nil {
			return err
		}
	}
	choices = choices[:0]
	for c := range e.finish {
		choices = append(choices, c)
	}
	if len(choices) == 0 {
		choices = append(choices, 0)
	}
	sort.Ints(choices)
	cands := make([]wireCandidate, 0, len(choices))
	for _, c := range choices {
		empty := ""
		cands = append(cands, wireCandidate{Index: c, FinishReason: wireFinish(e.finish[c]),
			Content: &wireContent{Role: "model", Parts: []wirePart{{Text: &empty}}}})
	}
	var u *wireUsage
	if e.usage != nil {
		u = toWireUsage(*e.usage)
	}
	return e.chunk(w, cands, u)
}

// Fail writes {"error":{…}} as a chunk: the genai SDKs raise it as an APIError.
func (e *StreamEncoder) Fail(w *sse.Writer, err *llm.Error) error {
	if e.ended {
		return nil
	}
	e.ended = true
	_, body := EncodeError(err)
	if werr := w.Write("", body); werr != nil {
		return fmt.Errorf("gemini: writing error chunk: %w", werr)
	}
	return nil
}

// StreamDecoder turns streamGenerateContent chunks into neutral events. Gemini has
// no end marker: Decode never reports done, and the reader calls EndOfStream when the
// body ends, which checks that every candidate finished and emits the usage (taken
// from the last usageMetadata, which Gemini repeats cumulatively).
type StreamDecoder struct {
	started  bool
	calls    map[int]int // candidate → tool calls so far
	finished map[int]bool
	usage    *llm.Usage
}

// NewStreamDecoder returns a decoder for one stream.
func NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{calls: map[int]int{}, finished: map[int]bool{}}
}

// EndOfStream is called when the body ends: it returns the closing usage event, or
// an upstream_server error when a candidate never received its finishReason (the
// stream was cut short).
func (d *StreamDecoder) EndOfStream() ([]llm.Event, error) {
	complete := len(d.finished) > 0
	for _, f := range d.finished {
		complete = complete && f
	}
	if !complete {
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: "gemini: stream ended before a finishReason"}
	}
	if d.usage == nil {
		return nil, nil
	}
	return []llm.Event{{Type: llm.EventUsage, Usage: d.usage}}, nil
}

// Decode handles one SSE event (Gemini sends no event names); done is always false.
func (d *StreamDecoder) Decode(_ string, data []byte) ([]llm.Event, bool, error) {
	var w wireResponse
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, false, &llm.Error{Kind: llm.KindUpstreamServer, Message: "gemini: malformed stream chunk: " + err.Error(), Err: err}
	}
	if w.Error != nil {
		return nil, false, errorFromInfo(*w.Error, w.Error.Code)
	}
	if err := blocked(&w); err != nil {
		return nil, false, err
	}
	var out []llm.Event
	if !d.started {
		d.started = true
		out = append(out, llm.Event{Type: llm.EventStart, ID: w.ResponseID, Model: w.ModelVersion})
	}
	if w.UsageMetadata != nil {
		u := fromWireUsage(*w.UsageMetadata)
		d.usage = &u
	}
	for _, c := range w.Candidates {
		if _, seen := d.finished[c.Index]; !seen {
			d.finished[c.Index] = false
		}
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				switch {
				case p.FunctionCall != nil:
					k := d.calls[c.Index]
					d.calls[c.Index] = k + 1
					tc := toolCall(w.ResponseID, c.Index, k, &p)
					out = append(out,
						llm.Event{Type: llm.EventToolCall, Choice: c.Index, ToolIndex: k, ToolCall: llm.ToolCall{ID: tc.ID, Name: tc.Name, Signature: tc.Signature}},
						llm.Event{Type: llm.EventToolArgs, Choice: c.Index, ToolIndex: k, ToolCall: llm.ToolCall{Arguments: tc.Arguments}})
				case p.Text != nil && *p.Text != "":
					typ := llm.EventText
					if p.Thought {
						typ = llm.EventReasoning
					}
					out = append(out, llm.Event{Type: typ, Choice: c.Index, Text: *p.Text})
				}
			}
		}
		if c.FinishReason != "" && !d.finished[c.Index] {
			d.finished[c.Index] = true
			out = append(out, llm.Event{Type: llm.EventFinish, Choice: c.Index, FinishReason: finishReason(c.FinishReason, d.calls[c.Index] > 0)})
		}
	}
	return out, false, nil
}
