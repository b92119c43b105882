package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// ResponseOption adjusts DecodeResponse and NewStreamDecoder.
type ResponseOption func(*responseOptions)

type responseOptions struct{ jsonTool string }

// WithJSONTool names the tool EncodeRequest added for a JSON response_format (see
// JSONToolName): its call comes back as the answer's text, not as a tool call.
func WithJSONTool(name string) ResponseOption {
	return func(o *responseOptions) { o.jsonTool = name }
}

// EncodeResponse writes a Messages API response for r's first choice (the format has
// no n). Usage is converted back to Anthropic's convention, where input_tokens
// excludes cache reads and writes.
func EncodeResponse(r *llm.Response) ([]byte, error) {
	w := wireResponse{ID: r.ID, Type: "message", Role: "assistant", Model: r.Model,
		Content: []wireBlock{}, Usage: toWireUsage(r.Usage)}
	reason := "end_turn"
	if len(r.Choices) > 0 {
		c := r.Choices[0]
		w.Content = responseBlocks(w.Content, &c.Message)
		for _, tc := range c.Message.ToolCalls {
			w.Content = append(w.Content, wireBlock{Type: "tool_use", ID: llm.JoinToolID(tc.ID, tc.Signature), Name: tc.Name, Input: toolInput(tc.Arguments)})
		}
		reason = stopReason(c.FinishReason)
	}
	w.StopReason = &reason
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encoding response: %w", err)
	}
	return body, nil
}

// responseBlocks appends a response message's content in order: signed reasoning as
// thinking and redacted_thinking blocks, consecutive text parts as one text block.
// Unsigned reasoning (another provider's) is left out: the client could not send it
// back.
func responseBlocks(out []wireBlock, m *llm.Message) []wireBlock {
	if len(m.Content) == 1 && m.Content[0].Type == llm.PartText {
		if t := m.Content[0].Text; t != "" {
			out = append(out, textBlock(t, nil))
		}
		return out
	}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, textBlock(text.String(), nil))
			text.Reset()
		}
	}
	for i := range m.Content {
		p := &m.Content[i]
		switch p.Type {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartThinking, llm.PartRedactedThinking:
			if b, ok := thinkingBlock(p); ok {
				flush()
				out = append(out, b)
			}
		}
	}
	flush()
	return out
}

// DecodeResponse parses a Messages API response body.
func DecodeResponse(body []byte, opts ...ResponseOption) (*llm.Response, error) {
	var o responseOptions
	for _, opt := range opts {
		opt(&o)
	}
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: "anthropic: malformed response body: " + err.Error(), Err: err}
	}
	if w.Type == "error" {
		return nil, decodeErrorBody(0, body)
	}
	msg := llm.Message{Role: llm.RoleAssistant}
	var text strings.Builder
	usedJSONTool := false
	// Reasoning blocks keep their place among the text (which is joined between them).
	flush := func() {
		if text.Len() > 0 {
			msg.Content = append(msg.Content, llm.Part{Type: llm.PartText, Text: text.String()})
			text.Reset()
		}
	}
	for _, b := range w.Content {
		switch b.Type {
		case "text":
			if b.Text != nil {
				text.WriteString(*b.Text)
			}
		case "thinking":
			flush()
			msg.Content = append(msg.Content, llm.Part{Type: llm.PartThinking, Text: deref(b.Thinking), Signature: deref(b.Signature)})
		case "redacted_thinking":
			flush()
			msg.Content = append(msg.Content, llm.Part{Type: llm.PartRedactedThinking, Data: b.Data})
		case "tool_use":
			if o.jsonTool != "" && b.Name == o.jsonTool {
				usedJSONTool = true
				text.Write(compact(b.Input))
				continue
			}
			args := string(compact(b.Input))
			if args == "" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	flush()
	reason := ""
	if w.StopReason != nil {
		reason = *w.StopReason
	}
	return &llm.Response{
		ID:    w.ID,
		Model: w.Model,
		Choices: []llm.Choice{{Message: msg,
			FinishReason: finishReason(reason, usedJSONTool && len(msg.ToolCalls) == 0)}},
		Usage: fromWireUsage(w.Usage),
	}, nil
}

// finishReason maps stop_reason; answeredByJSONTool turns the forced answer tool's
// tool_use stop into a plain stop.
func finishReason(s string, answeredByJSONTool bool) llm.FinishReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		if answeredByJSONTool {
			return llm.FinishStop
		}
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	}
	return llm.FinishStop // end_turn, stop_sequence, pause_turn
}

func stopReason(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

func toWireUsage(u llm.Usage) wireUsage {
	return wireUsage{
		InputTokens:              max(u.InputTokens-u.CachedInputTokens-u.CacheWriteTokens, 0),
		OutputTokens:             u.OutputTokens,
		CacheReadInputTokens:     u.CachedInputTokens,
		CacheCreationInputTokens: u.CacheWriteTokens,
	}
}

func fromWireUsage(w wireUsage) llm.Usage {
	return llm.Usage{
		InputTokens:       w.InputTokens + w.CacheReadInputTokens + w.CacheCreationInputTokens,
		CachedInputTokens: w.CacheReadInputTokens,
		CacheWriteTokens:  w.CacheCreationInputTokens,
		OutputTokens:      w.OutputTokens,
	}
}

// toolInput turns neutral arguments into a tool_use input object; anything that is
// not a JSON object (a model's broken output) is wrapped so the body stays valid.
func toolInput(args string) json.RawMessage {
	a := json.RawMessage(strings.TrimSpace(args))
	if len(a) == 0 {
		return json.RawMessage(`{}`)
	}
	if jsonKind(a) == "object" && json.Valid(a) {
		return compact(a)
	}
	wrapped, _ := json.Marshal(map[string]string{"_raw_arguments": args})
	return wrapped
}
