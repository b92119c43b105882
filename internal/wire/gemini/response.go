package gemini

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// DecodeResponse parses a generateContent response. A prompt blocked before any
// candidate (promptFeedback.blockReason) is returned as a content_filter error.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: "gemini: malformed response body: " + err.Error(), Err: err}
	}
	if w.Error != nil {
		return nil, errorFromInfo(*w.Error, w.Error.Code)
	}
	if err := blocked(&w); err != nil {
		return nil, err
	}
	resp := &llm.Response{ID: w.ResponseID, Model: w.ModelVersion}
	for _, c := range w.Candidates {
		msg := llm.Message{Role: llm.RoleAssistant}
		var text strings.Builder
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				switch {
				case p.FunctionCall != nil:
					msg.ToolCalls = append(msg.ToolCalls, toolCall(w.ResponseID, c.Index, len(msg.ToolCalls), &p))
				case p.Thought:
				case p.Text != nil:
					text.WriteString(*p.Text)
				}
			}
		}
		if text.Len() > 0 {
			msg.Content = []llm.Part{{Type: llm.PartText, Text: text.String()}}
		}
		resp.Choices = append(resp.Choices, llm.Choice{Index: c.Index, Message: msg,
			FinishReason: finishReason(c.FinishReason, len(msg.ToolCalls) > 0)})
	}
	if w.UsageMetadata != nil {
		resp.Usage = fromWireUsage(*w.UsageMetadata)
	}
	return resp, nil
}

func blocked(w *wireResponse) *llm.Error {
	if w.PromptFeedback == nil || w.PromptFeedback.BlockReason == "" || len(w.Candidates) > 0 {
		return nil
	}
	msg := "gemini: prompt blocked (" + w.PromptFeedback.BlockReason + ")"
	if w.PromptFeedback.BlockReasonMessage != "" {
		msg += ": " + w.PromptFeedback.BlockReasonMessage
	}
	return &llm.Error{Kind: llm.KindContentFilter, Message: msg}
}

// toolCall reads a functionCall part, with the thoughtSignature Gemini put on it.
func toolCall(responseID string, candidate, k int, p *wirePart) llm.ToolCall {
	fc := p.FunctionCall
	id := fc.ID
	if id == "" {
		id = callID(responseID, candidate, k, fc.Name)
	}
	args := "{}"
	if len(fc.Args) > 0 && !isNull(fc.Args) {
		args = string(compact(fc.Args))
	}
	return llm.ToolCall{ID: id, Name: fc.Name, Arguments: args, Signature: p.ThoughtSignature}
}

// finishReason maps Gemini's finishReason; Gemini says STOP after function calls,
// which the neutral form calls tool_calls.
func finishReason(s string, calls bool) llm.FinishReason {
	switch s {
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return llm.FinishContentFilter
	}
	if calls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, …
}

func wireFinish(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "MAX_TOKENS"
	case llm.FinishContentFilter:
		return "SAFETY"
	}
	return "STOP"
}

func fromWireUsage(u wireUsage) llm.Usage {
	return llm.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}

func toWireUsage(u llm.Usage) *wireUsage {
	return &wireUsage{
		PromptTokenCount:        u.InputTokens,
		CandidatesTokenCount:    max(u.OutputTokens-u.ReasoningTokens, 0),
		ThoughtsTokenCount:      u.ReasoningTokens,
		CachedContentTokenCount: u.CachedInputTokens,
		TotalTokenCount:         u.InputTokens + u.OutputTokens,
	}
}

// EncodeResponse writes a generateContent response with one candidate per choice.
func EncodeResponse(r *llm.Response) ([]byte, error) {
	w := wireResponse{ResponseID: r.ID, ModelVersion: r.Model, UsageMetadata: toWireUsage(r.Usage)}
	for _, c := range r.Choices {
		parts := []wirePart{}
		if t := c.Message.Text(); t != "" {
			parts = append(parts, textPart(t))
		}
		for _, tc := range c.Message.ToolCalls {
			parts = append(parts, wirePart{FunctionCall: &wireFunctionCall{ID: tc.ID, Name: tc.Name, Args: argsObject(tc.Arguments)},
				ThoughtSignature: tc.Signature})
		}
		w.Candidates = append(w.Candidates, wireCandidate{Index: c.Index, FinishReason: wireFinish(c.FinishReason),
			Content: &wireContent{Role: "model", Parts: parts}})
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("gemini: encoding response: %w", err)
	}
	return b, nil
}

// argsObject turns neutral arguments into functionCall.args; a model's broken,
// non-object output is wrapped so that the body stays valid.
func argsObject(args string) json.RawMessage {
	a := json.RawMessage(strings.TrimSpace(args))
	if len(a) == 0 {
		return json.RawMessage(`{}`)
	}
	if jsonKind(a) == "object" && json.Valid(a) {
		return compact(a)
	}
	b, _ := json.Marshal(map[string]string{"_raw_arguments": args})
	return b
}
