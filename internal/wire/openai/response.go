package openai

import (
	"github.com/arbiterhq/arbiter/internal/llm"
)

// EncodeResponse encodes a complete response as a chat.completion object, field for
// field as OpenAI sends it.
func EncodeResponse(r *llm.Response) ([]byte, error) {
	size := 512 + len(r.ID) + len(r.Model)
	for i := range r.Choices {
		m := &r.Choices[i].Message
		for _, p := range m.Content {
			size += len(p.Text) + len(p.Text)/8
		}
		for _, tc := range m.ToolCalls {
			size += 96 + len(tc.ID) + len(tc.Signature)*4/3 + len(tc.Name) + len(tc.Arguments) + len(tc.Arguments)/4
		}
	}
	b := make([]byte, 0, size)
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = appendInt(b, r.Created)
	b = append(b, `,"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"choices":[`...)
	for i := range r.Choices {
		c := &r.Choices[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = appendInt(b, int64(c.Index))
		b = append(b, `,"message":{"role":"assistant","content":`...)
		b = appendContent(b, &c.Message)
		b = append(b, `,"refusal":null`...)
		if len(c.Message.ToolCalls) > 0 {
			b = append(b, `,"tool_calls":[`...)
			for j, tc := range c.Message.ToolCalls {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = appendString(b, llm.JoinToolID(tc.ID, tc.Signature))
				b = append(b, `,"type":"function","function":{"name":`...)
				b = appendString(b, tc.Name)
				b = append(b, `,"arguments":`...)
				b = appendString(b, tc.Arguments)
				b = append(b, "}}"...)
			}
			b = append(b, ']')
		}
		b = append(b, `,"annotations":[]},"logprobs":null,"finish_reason":`...)
		b = appendStringOrNull(b, string(c.FinishReason))
		b = append(b, '}')
	}
	b = append(b, `],"usage":`...)
	b = appendUsage(b, &r.Usage)
	b = append(b, `,"system_fingerprint":`...)
	b = appendStringOrNull(b, r.SystemFingerprint)
	b = append(b, '}')
	return b, nil
}

// appendContent writes a response message's content: its text, or null when the
// message is only tool calls.
func appendContent(b []byte, m *llm.Message) []byte {
	hasText := false
	for _, p := range m.Content {
		if p.Type == llm.PartText {
			hasText = true
			break
		}
	}
	if !hasText && len(m.ToolCalls) > 0 {
		return append(b, "null"...)
	}
	if len(m.Content) == 1 && m.Content[0].Type == llm.PartText {
		return appendString(b, m.Content[0].Text)
	}
	return appendString(b, m.Text()) // text parts only: reasoning has no field here
}

// appendUsage writes OpenAI's usage object. Arbiter's usage already follows OpenAI's
// conventions (prompt includes cached, completion includes reasoning).
func appendUsage(b []byte, u *llm.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, int64(u.InputTokens))
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, int64(u.OutputTokens))
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, int64(u.InputTokens+u.OutputTokens))
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, int64(u.CachedInputTokens))
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, int64(u.ReasoningTokens))
	b = append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
	return b
}
