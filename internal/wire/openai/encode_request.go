package openai

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// usesMaxCompletionTokens reports whether a model rejects max_tokens and wants
// max_completion_tokens (OpenAI's reasoning models). Every other OpenAI-compatible
// host understands max_tokens, and several understand nothing else.
func usesMaxCompletionTokens(r *llm.Request) bool {
	m := r.Model
	if i := strings.LastIndexByte(m, '/'); i >= 0 { // "openai/o3-mini" on OpenRouter
		m = m[i+1:]
	}
	return r.ReasoningEffort != "" || strings.HasPrefix(m, "o1") || strings.HasPrefix(m, "o3") ||
		strings.HasPrefix(m, "o4") || strings.HasPrefix(m, "gpt-5")
}

// knownField is a top-level field EncodeRequest writes itself; an Extra entry of
// the same name is not written twice.
func knownField(k string) bool {
	switch k {
	case "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
		"temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
		"presence_penalty", "frequency_penalty", "n", "reasoning_effort", "stream",
		"stream_options", "user", "metadata":
		return true
	}
	return false
}

// EncodeRequest encodes a request for an OpenAI-compatible upstream; r.Model is the
// provider's model name. A streamed request always asks for usage
// (stream_options.include_usage), whatever the client asked, so that every stream
// can be priced. Extra fields are written only when they came from an OpenAI client.
func EncodeRequest(r *llm.Request) ([]byte, error) {
	size := 256
	for i := range r.Messages {
		for _, p := range r.Messages[i].Content {
			size += 32 + len(p.Text) + len(p.Text)/8 + len(p.ImageURL) + len(p.Base64)
		}
		for _, tc := range r.Messages[i].ToolCalls {
			size += 64 + len(tc.Arguments) + len(tc.Arguments)/4
		}
	}
	for i := range r.Tools {
		size += 64 + len(r.Tools[i].Description) + len(r.Tools[i].Parameters)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"messages":[`...)
	for i := range r.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMessage(b, &r.Messages[i])
	}
	b = append(b, ']')
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range r.Tools {
			t := &r.Tools[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = appendString(b, t.Description)
			}
			if len(t.Parameters) > 0 {
				b = append(b, `,"parameters":`...)
				b = append(b, t.Parameters...)
			}
			if t.Strict != nil {
				b = append(b, `,"strict":`...)
				b = appendBool(b, *t.Strict)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	// OpenAI rejects tool_choice (any value) when no tools are sent.
	if tc := r.ToolChoice; tc != nil && len(r.Tools) > 0 {
		b = append(b, `,"tool_choice":`...)
		if tc.Mode == llm.ToolChoiceTool {
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, tc.Name)
			b = append(b, "}}"...)
		} else {
			b = appendString(b, string(tc.Mode))
		}
	}
	if r.ParallelToolCalls != nil && len(r.Tools) > 0 {
		b = append(b, `,"parallel_tool_calls":`...)
		b = appendBool(b, *r.ParallelToolCalls)
	}
	if rf := r.ResponseFormat; rf != nil {
		b = append(b, `,"response_format":{"type":`...)
		b = appendString(b, string(rf.Type))
		if rf.Type == llm.ResponseJSONSchema {
			b = append(b, `,"json_schema":{"name":`...)
			b = appendString(b, rf.Name)
			if rf.Description != "" {
				b = append(b, `,"description":`...)
				b = appendString(b, rf.Description)
			}
			if len(rf.Schema) > 0 {
				b = append(b, `,"schema":`...)
				b = append(b, rf.Schema...)
			}
			if rf.Strict != nil {
				b = append(b, `,"strict":`...)
				b = appendBool(b, *rf.Strict)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = appendOptFloat(b, `,"temperature":`, r.Temperature)
	b = appendOptFloat(b, `,"top_p":`, r.TopP)
	if r.MaxTokens != nil {
		if usesMaxCompletionTokens(r) {
			b = append(b, `,"max_completion_tokens":`...)
		} else {
			b = append(b, `,"max_tokens":`...)
		}
		b = appendInt(b, int64(*r.MaxTokens))
	}
	if len(r.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if r.Seed != nil {
		b = append(b, `,"seed":`...)
		b = appendInt(b, *r.Seed)
	}
	b = appendOptFloat(b, `,"presence_penalty":`, r.PresencePenalty)
	b = appendOptFloat(b, `,"frequency_penalty":`, r.FrequencyPenalty)
	if r.N != nil {
		b = append(b, `,"n":`...)
		b = appendInt(b, int64(*r.N))
	}
	if r.ReasoningEffort != "" {
		b = append(b, `,"reasoning_effort":`...)
		b = appendString(b, r.ReasoningEffort)
	}
	if r.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = appendString(b, r.User)
	}
	if len(r.Metadata) > 0 {
		keys := make([]string, 0, len(r.Metadata))
		for k := range r.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"metadata":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, r.Metadata[k])
		}
		b = append(b, '}')
	}
	if r.ExtraFormat == llm.FormatOpenAI && len(r.Extra) > 0 {
		keys := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			if !knownField(k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys) // deterministic bodies: cache keys and golden files depend on it
		for _, k := range keys {
			b = append(b, ',')
			b = appendString(b, k)
			b = append(b, ':')
			b = append(b, r.Extra[k]...)
		}
	}
	return append(b, '}'), nil
}

func appendOptFloat(b []byte, key string, f *float64) []byte {
	if f == nil {
		return b
	}
	b = append(b, key...)
	return appendFloat(b, *f, 64)
}

func appendMessage(b []byte, m *llm.Message) []byte {
	if hasThinking(m) {
		// Chat Completions has no field for reasoning, and another provider's
		// signature means nothing here: send the turn without it.
		c := *m
		c.Content = make([]llm.Part, 0, len(m.Content))
		for _, p := range m.Content {
			if !p.IsThinking() {
				c.Content = append(c.Content, p)
			}
		}
		m = &c
	}
	b = append(b, `{"role":`...)
	switch {
	case m.Role == llm.RoleSystem && m.Developer:
		b = append(b, `"developer"`...)
	default:
		b = appendString(b, string(m.Role))
	}
	if m.Name != "" && m.Role != llm.RoleTool {
		b = append(b, `,"name":`...)
		b = appendString(b, m.Name)
	}
	b = append(b, `,"content":`...)
	switch {
	case m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0 && !hasText(m):
		b = append(b, "null"...)
	case len(m.Content) == 1 && m.Content[0].Type == llm.PartText:
		// A single text goes as a plain string, the form every compatible host accepts.
		b = appendString(b, m.Content[0].Text)
	case len(m.Content) == 0:
		b = append(b, `""`...)
	default:
		b = append(b, '[')
		for i := range m.Content {
			p := &m.Content[i]
			if i > 0 {
				b = append(b, ',')
			}
			if p.Type == llm.PartImage {
				b = append(b, `{"type":"image_url","image_url":{"url":`...)
				if p.ImageURL != "" {
					b = appendString(b, p.ImageURL)
				} else {
					b = appendString(b, "data:"+p.MediaType+";base64,"+p.Base64)
				}
				if p.Detail != "" {
					b = append(b, `,"detail":`...)
					b = appendString(b, p.Detail)
				}
				b = append(b, "}}"...)
				continue
			}
			b = append(b, `{"type":"text","text":`...)
			b = appendString(b, p.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendString(b, providerToolID(tc.ID))
			b = append(b, `,"type":"function","function":{"name":`...)
			b = appendString(b, tc.Name)
			b = append(b, `,"arguments":`...)
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			b = appendString(b, args)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m.Role == llm.RoleTool {
		b = append(b, `,"tool_call_id":`...)
		b = appendString(b, providerToolID(m.ToolCallID))
	}
	return append(b, '}')
}

func hasThinking(m *llm.Message) bool {
	for i := range m.Content {
		if m.Content[i].IsThinking() {
			return true
		}
	}
	return false
}

func hasText(m *llm.Message) bool {
	for i := range m.Content {
		if m.Content[i].Type == llm.PartText {
			return true
		}
	}
	return false
}

// maxToolIDLen is the longest tool call id OpenAI accepts in a request. Ids made by
// other providers can be longer, and a conversation may fail over mid-way.
const maxToolIDLen = 40

// providerToolID returns id, or, when it is longer than OpenAI accepts, a stand-in
// derived from it alone, so that a call and the result that names it still match.
func providerToolID(id string) string {
	if len(id) <= maxToolIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "call_" + hex.EncodeToString(sum[:16])
}
