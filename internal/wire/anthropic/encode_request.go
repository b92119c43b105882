package anthropic

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// DefaultMaxTokens is the max_tokens sent when neither the request nor the caller
// (WithDefaultMaxTokens) says otherwise; Anthropic requires the field.
const DefaultMaxTokens = 4096

// RequestOption adjusts EncodeRequest.
type RequestOption func(*requestOptions)

type requestOptions struct{ defaultMaxTokens int }

// WithDefaultMaxTokens sets max_tokens for requests that carry none; the gateway
// passes the catalog's max output tokens for the model.
func WithDefaultMaxTokens(n int) RequestOption {
	return func(o *requestOptions) {
		if n > 0 {
			o.defaultMaxTokens = n
		}
	}
}

// JSONToolName is the name of the tool EncodeRequest adds to carry a JSON
// response_format (Anthropic's classic API has no native field for it), or "" when
// the request asks for no JSON. Pass it to DecodeResponse and NewStreamDecoder
// (WithJSONTool) so that the forced tool call comes back as JSON text.
func JSONToolName(r *llm.Request) string {
	rf := r.ResponseFormat
	if rf == nil || (rf.Type != llm.ResponseJSONSchema && rf.Type != llm.ResponseJSONObject) {
		return ""
	}
	name := toolNameRe.ReplaceAllString(rf.Name, "_")
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "json_response"
	}
	for _, t := range r.Tools {
		if t.Name == name {
			// Never shadow a real tool.
			name = "json_response_" + name
			if len(name) > 64 {
				name = name[:64]
			}
			break
		}
	}
	return name
}

var toolNameRe = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// ToolUseID makes a tool call id from another provider acceptable to Anthropic,
// whose ids must match ^[a-zA-Z0-9_-]+$ (some OpenAI-compatible hosts use ids such
// as "functions.get_weather:0"). The mapping is deterministic, so a call and its
// result still match; an empty id stays empty.
func ToolUseID(id string) string {
	if id == "" || !toolNameRe.MatchString(id) {
		return id
	}
	return toolNameRe.ReplaceAllString(id, "_")
}

// EncodeRequest writes a Messages API request for r (r.Model is Anthropic's model
// name). System messages, wherever they are, become the system prompt; tool results
// are grouped into user turns; consecutive turns of one role are merged, as the API
// requires alternating roles.
func EncodeRequest(r *llm.Request, opts ...RequestOption) ([]byte, error) {
	o := requestOptions{defaultMaxTokens: DefaultMaxTokens}
	for _, opt := range opts {
		opt(&o)
	}
	if r.N != nil && *r.N > 1 {
		return nil, invalid("n", "n: Anthropic returns a single choice, got n=%d", *r.N)
	}
	w := wireRequest{
		Model:         r.Model,
		MaxTokens:     o.defaultMaxTokens,
		StopSequences: r.Stop,
		TopP:          r.TopP,
		Stream:        r.Stream,
	}
	if r.MaxTokens != nil && *r.MaxTokens > 0 {
		w.MaxTokens = *r.MaxTokens
	}
	if r.Temperature != nil {
		// Anthropic accepts 0..1; OpenAI clients may send up to 2.
		t := min(*r.Temperature, 1)
		w.Temperature = &t
	}
	if r.User != "" {
		w.Metadata = &wireMetadata{UserID: r.User}
	}

	var system []wireBlock
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Role != llm.RoleSystem {
			continue
		}
		for _, p := range m.Content {
			if p.Type == llm.PartText && p.Text != "" {
				system = append(system, textBlock(p.Text, p.CacheControl))
			}
		}
	}
	switch {
	case len(system) == 1 && system[0].CacheControl == nil:
		w.System = *system[0].Text
	case len(system) > 0:
		w.System = system
	}

	msgs, err := encodeMessages(r.Messages)
	if err != nil {
		return nil, err
	}
	w.Messages = msgs

	for _, t := range r.Tools {
		w.Tools = append(w.Tools, wireTool{Name: t.Name, Description: t.Description,
			InputSchema: inputSchema(t.Parameters), CacheControl: t.CacheControl})
	}
	if r.ToolChoice != nil && len(r.Tools) > 0 {
		switch r.ToolChoice.Mode {
		case llm.ToolChoiceAuto, "":
			w.ToolChoice = &wireToolChoice{Type: "auto"}
		case llm.ToolChoiceNone:
			w.ToolChoice = &wireToolChoice{Type: "none"}
		case llm.ToolChoiceRequired:
			w.ToolChoice = &wireToolChoice{Type: "any"}
		case llm.ToolChoiceTool:
			w.ToolChoice = &wireToolChoice{Type: "tool", Name: r.ToolChoice.Name}
		default:
			return nil, invalid("tool_choice", "tool_choice: unknown mode %q", r.ToolChoice.Mode)
		}
	}
	if name := JSONToolName(r); name != "" {
		rf := r.ResponseFormat
		schema := rf.Schema
		if rf.Type == llm.ResponseJSONObject || len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		desc := rf.Description
		if desc == "" {
			desc = "Respond with the final answer as this tool's input."
		}
		w.Tools = append(w.Tools, wireTool{Name: name, Description: desc, InputSchema: inputSchema(schema)})
		if len(w.Tools) == 1 || (w.ToolChoice != nil && w.ToolChoice.Type == "none") {
			// Only the answer tool is callable: force it.
			w.ToolChoice = &wireToolChoice{Type: "tool", Name: name}
		} else if w.ToolChoice == nil || w.ToolChoice.Type == "auto" {
			// Real tools too: the model must call one of them or answer via the tool.
			w.ToolChoice = &wireToolChoice{Type: "any"}
		}
	}
	if r.ParallelToolCalls != nil && !*r.ParallelToolCalls && len(w.Tools) > 0 {
		if w.ToolChoice == nil {
			w.ToolChoice = &wireToolChoice{Type: "auto"}
		}
		if w.ToolChoice.Type != "none" {
			t := true
			w.ToolChoice.DisableParallelToolUse = &t
		}
	}

	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encoding request: %w", err)
	}
	if r.ExtraFormat == llm.FormatAnthropic && len(r.Extra) > 0 {
		return mergeExtra(body, r.Extra)
	}
	return body, nil
}

// mergeExtra adds Anthropic-only fields the client sent (top_k, thinking, …) without
// overriding anything the codec wrote.
func mergeExtra(body []byte, extra map[string]json.RawMessage) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("anthropic: merging extra fields: %w", err)
	}
	for k, v := range extra {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("anthropic: merging extra fields: %w", err)
	}
	return out, nil
}

func inputSchema(s json.RawMessage) json.RawMessage {
	if jsonKind(s) != "object" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return s
}

func textBlock(s string, cc json.RawMessage) wireBlock {
	return wireBlock{Type: "text", Text: &s, CacheControl: cc}
}

func encodeMessages(in []llm.Message) ([]wireMessage, error) {
	var out []wireMessage
	add := func(role string, blocks []wireBlock, toolResults bool) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			last := &out[n-1]
			if toolResults {
				// tool_result blocks must open the user turn that follows tool_use.
				lead := 0
				for lead < len(last.Content) && last.Content[lead].Type == "tool_result" {
					lead++
				}
				merged := make([]wireBlock, 0, len(last.Content)+len(blocks))
				merged = append(merged, last.Content[:lead]...)
				merged = append(merged, blocks...)
				merged = append(merged, last.Content[lead:]...)
				last.Content = merged
				return
			}
			last.Content = append(last.Content, blocks...)
			return
		}
		out = append(out, wireMessage{Role: role, Content: blocks})
	}
	for i := range in {
		m := &in[i]
		path := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case llm.RoleSystem:
			continue // hoisted into system
		case llm.RoleUser:
			blocks, err := contentBlocks(m.Content, path+".content")
			if err != nil {
				return nil, err
			}
			add("user", blocks, false)
		case llm.RoleAssistant:
			blocks, err := contentBlocks(m.Content, path+".content")
			if err != nil {
				return nil, err
			}
			for j, tc := range m.ToolCalls {
				input := json.RawMessage(strings.TrimSpace(tc.Arguments))
				if len(input) == 0 {
					input = json.RawMessage(`{}`)
				}
				if jsonKind(input) != "object" || !json.Valid(input) {
					return nil, invalid(fmt.Sprintf("%s.tool_calls[%d].function.arguments", path, j),
						"%s.tool_calls[%d].function.arguments: expected a JSON object, got %q", path, j, tc.Arguments)
				}
				blocks = append(blocks, wireBlock{Type: "tool_use", ID: ToolUseID(tc.ID), Name: tc.Name, Input: compact(input)})
			}
			add("assistant", blocks, false)
		case llm.RoleTool:
			parts, err := contentBlocks(m.Content, path+".content")
			if err != nil {
				return nil, err
			}
			b := wireBlock{Type: "tool_result", ToolUseID: ToolUseID(m.ToolCallID), IsError: m.IsError}
			switch {
			case len(parts) == 1 && parts[0].Type == "text" && parts[0].CacheControl == nil:
				b.Content = *parts[0].Text
			case len(parts) > 0:
				b.Content = parts
			}
			add("user", []wireBlock{b}, true)
		default:
			return nil, invalid(path+".role", "%s.role: unknown role %q", path, m.Role)
		}
	}
	return out, nil
}

// contentBlocks converts neutral parts; empty text parts are dropped because the API
// rejects empty text blocks.
func contentBlocks(parts []llm.Part, path string) ([]wireBlock, error) {
	blocks := make([]wireBlock, 0, len(parts))
	for j, p := range parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				blocks = append(blocks, textBlock(p.Text, p.CacheControl))
			}
		case llm.PartImage:
			src, err := imageSource(p)
			if err != nil {
				return nil, invalid(fmt.Sprintf("%s[%d]", path, j), "%s[%d]: %v", path, j, err)
			}
			blocks = append(blocks, wireBlock{Type: "image", Source: src, CacheControl: p.CacheControl})
		case llm.PartThinking, llm.PartRedactedThinking:
			// Signed reasoning goes back exactly as Anthropic issued it, in its place
			// (ahead of the turn's text and tool_use, as it came). Unsigned reasoning
			// (another provider's) would be refused: it is not sent.
			if b, ok := thinkingBlock(&parts[j]); ok {
				blocks = append(blocks, b)
			}
		default:
			return nil, invalid(fmt.Sprintf("%s[%d].type", path, j), "%s[%d].type: unsupported part type %q", path, j, p.Type)
		}
	}
	return blocks, nil
}

// thinkingBlock writes a signed reasoning part as Anthropic's thinking or
// redacted_thinking block; ok is false for unsigned reasoning.
func thinkingBlock(p *llm.Part) (wireBlock, bool) {
	if !p.Signed() {
		return wireBlock{}, false
	}
	if p.Type == llm.PartRedactedThinking {
		return wireBlock{Type: "redacted_thinking", Data: p.Data}, true
	}
	text, sig := p.Text, p.Signature
	return wireBlock{Type: "thinking", Thinking: &text, Signature: &sig}, true
}

func imageSource(p llm.Part) (*wireSource, error) {
	if p.Base64 != "" {
		return &wireSource{Type: "base64", MediaType: p.MediaType, Data: p.Base64}, nil
	}
	u := p.ImageURL
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isB64 || mt == "" {
			return nil, fmt.Errorf("image data URL must be base64 with a media type")
		}
		return &wireSource{Type: "base64", MediaType: mt, Data: data}, nil
	}
	if u == "" {
		return nil, fmt.Errorf("image has neither data nor a URL")
	}
	return &wireSource{Type: "url", URL: u}, nil
}
