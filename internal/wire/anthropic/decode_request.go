package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// DecodeRequest parses and validates a Messages API request body, as a client sends
// it to the gateway or to the emulator. Errors are *llm.Error of kind invalid_request
// with Param naming the field. Fields with no neutral equivalent (top_k, thinking,
// service_tier, …) and unknown fields are kept verbatim in Extra.
func DecodeRequest(body []byte) (*llm.Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) || len(bytes.TrimSpace(body)) == 0 {
			return nil, invalid("", "request body is not valid JSON: %v", err)
		}
		return nil, invalid("", "request body must be a JSON object")
	}
	req := &llm.Request{}
	var system []llm.Part
	var rawMessages json.RawMessage
	for key, raw := range fields {
		var err error
		switch key {
		case "model":
			err = decodeString(raw, key, &req.Model)
		case "max_tokens":
			var n int
			if err = decodeInt(raw, key, &n); err == nil {
				if n < 1 {
					err = invalid(key, "max_tokens: must be at least 1, got %d", n)
				}
				req.MaxTokens = &n
			}
		case "messages":
			rawMessages = raw
		case "system":
			system, err = decodeSystem(raw)
		case "tools":
			req.Tools, err = decodeTools(raw)
		case "tool_choice":
			err = decodeToolChoice(raw, req)
		case "stop_sequences":
			if !isNull(raw) {
				if e := json.Unmarshal(raw, &req.Stop); e != nil {
					err = invalid(key, "stop_sequences: expected an array of strings, got %s", jsonKind(raw))
				}
			}
		case "temperature":
			req.Temperature, err = decodeFloat(raw, key)
		case "top_p":
			req.TopP, err = decodeFloat(raw, key)
		case "stream":
			if !isNull(raw) {
				if e := json.Unmarshal(raw, &req.Stream); e != nil {
					err = invalid(key, "stream: expected a boolean, got %s", jsonKind(raw))
				}
			}
		case "metadata":
			err = decodeMetadata(raw, req)
		default:
			if req.Extra == nil {
				req.Extra = map[string]json.RawMessage{}
			}
			req.Extra[key] = append(json.RawMessage(nil), raw...)
		}
		if err != nil {
			return nil, err
		}
	}
	if req.Extra != nil {
		req.ExtraFormat = llm.FormatAnthropic
	}
	req.IncludeUsage = req.Stream // Anthropic streams always carry usage
	if req.Model == "" {
		return nil, invalid("model", "model: field required")
	}
	if req.MaxTokens == nil {
		return nil, invalid("max_tokens", "max_tokens: field required")
	}
	if rawMessages == nil {
		return nil, invalid("messages", "messages: field required")
	}
	msgs, err := decodeMessages(rawMessages)
	if err != nil {
		return nil, err
	}
	if len(system) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	req.Messages = append(req.Messages, msgs...)
	return req, nil
}

func decodeSystem(raw json.RawMessage) ([]llm.Part, error) {
	switch jsonKind(raw) {
	case "null":
		return nil, nil
	case "string":
		var s string
		_ = json.Unmarshal(raw, &s)
		if s == "" {
			return nil, nil
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	case "array":
		var blocks []json.RawMessage
		_ = json.Unmarshal(raw, &blocks)
		parts := make([]llm.Part, 0, len(blocks))
		for i, b := range blocks {
			path := fmt.Sprintf("system[%d]", i)
			var blk struct {
				Type         string          `json:"type"`
				Text         *string         `json:"text"`
				CacheControl json.RawMessage `json:"cache_control"`
			}
			if jsonKind(b) != "object" || json.Unmarshal(b, &blk) != nil {
				return nil, invalid(path, "%s: expected a text block object, got %s", path, jsonKind(b))
			}
			if blk.Type != "text" || blk.Text == nil {
				return nil, invalid(path+".type", "%s.type: system blocks must be text blocks, got %q", path, blk.Type)
			}
			parts = append(parts, llm.Part{Type: llm.PartText, Text: *blk.Text, CacheControl: keepObject(blk.CacheControl)})
		}
		return parts, nil
	}
	return nil, invalid("system", "system: expected a string or an array of text blocks, got %s", jsonKind(raw))
}

func decodeTools(raw json.RawMessage) ([]llm.Tool, error) {
	if isNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, invalid("tools", "tools: expected an array of tool definitions, got %s", jsonKind(raw))
	}
	tools := make([]llm.Tool, 0, len(items))
	for i, it := range items {
		path := fmt.Sprintf("tools[%d]", i)
		var t struct {
			Type         string          `json:"type"`
			Name         string          `json:"name"`
			Description  string          `json:"description"`
			InputSchema  json.RawMessage `json:"input_schema"`
			CacheControl json.RawMessage `json:"cache_control"`
			Strict       *bool           `json:"strict"`
		}
		if jsonKind(it) != "object" || json.Unmarshal(it, &t) != nil {
			return nil, invalid(path, "%s: expected a tool object, got %s", path, jsonKind(it))
		}
		if t.Type != "" && t.Type != "custom" {
			// Server tools (web_search_…, bash_…, computer_…) run inside Anthropic; no
			// other provider can honour them, so refuse instead of dropping silently.
			return nil, invalid(path+".type", "%s.type: server tool %q is not supported by this gateway", path, t.Type)
		}
		if t.Name == "" {
			return nil, invalid(path+".name", "%s.name: field required", path)
		}
		if jsonKind(t.InputSchema) != "object" {
			return nil, invalid(path+".input_schema", "%s.input_schema: expected a JSON schema object, got %s", path, jsonKind(t.InputSchema))
		}
		tools = append(tools, llm.Tool{
			Name:         t.Name,
			Description:  t.Description,
			Parameters:   append(json.RawMessage(nil), t.InputSchema...),
			Strict:       t.Strict,
			CacheControl: keepObject(t.CacheControl),
		})
	}
	return tools, nil
}

func decodeToolChoice(raw json.RawMessage, req *llm.Request) error {
	if isNull(raw) {
		return nil
	}
	var tc wireToolChoice
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &tc) != nil {
		return invalid("tool_choice", "tool_choice: expected an object, got %s", jsonKind(raw))
	}
	switch tc.Type {
	case "auto":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
	case "any":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	case "none":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	case "tool":
		if tc.Name == "" {
			return invalid("tool_choice.name", "tool_choice.name: field required when type is \"tool\"")
		}
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: tc.Name}
	default:
		return invalid("tool_choice.type", "tool_choice.type: expected one of auto, any, tool, none, got %q", tc.Type)
	}
	if tc.DisableParallelToolUse != nil {
		parallel := !*tc.DisableParallelToolUse
		req.ParallelToolCalls = &parallel
	}
	return nil
}

func decodeMetadata(raw json.RawMessage, req *llm.Request) error {
	if isNull(raw) {
		return nil
	}
	var md map[string]json.RawMessage
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &md) != nil {
		return invalid("metadata", "metadata: expected an object, got %s", jsonKind(raw))
	}
	for k, v := range md {
		if k != "user_id" {
			return invalid("metadata."+k, "metadata.%s: extra inputs are not permitted", k)
		}
		if isNull(v) {
			continue
		}
		if err := decodeString(v, "metadata.user_id", &req.User); err != nil {
			return err
		}
	}
	return nil
}

// decodeMessages turns Anthropic turns into neutral messages: a user turn carrying
// tool_result blocks becomes one RoleTool message per result (in order), followed by
// a user message with the turn's other blocks, if any.
func decodeMessages(raw json.RawMessage) ([]llm.Message, error) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, invalid("messages", "messages: expected an array of messages, got %s", jsonKind(raw))
	}
	if len(items) == 0 {
		return nil, invalid("messages", "messages: at least one message is required")
	}
	toolNames := map[string]string{} // tool_use id → name, so tool results can say which tool
	var out []llm.Message
	for i, it := range items {
		path := fmt.Sprintf("messages[%d]", i)
		var m struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if jsonKind(it) != "object" || json.Unmarshal(it, &m) != nil {
			return nil, invalid(path, "%s: expected a message object, got %s", path, jsonKind(it))
		}
		if m.Role != "user" && m.Role != "assistant" {
			return nil, invalid(path+".role", "%s.role: expected \"user\" or \"assistant\", got %q", path, m.Role)
		}
		blocks, err := decodeContent(m.Content, path+".content")
		if err != nil {
			return nil, err
		}
		if m.Role == "assistant" {
			msg := llm.Message{Role: llm.RoleAssistant}
			for j, b := range blocks {
				switch b.Type {
				case "text":
					msg.Content = append(msg.Content, llm.Part{Type: llm.PartText, Text: *b.Text, CacheControl: b.CacheControl})
				case "thinking":
					msg.Content = append(msg.Content, llm.Part{Type: llm.PartThinking, Text: *b.Thinking, Signature: deref(b.Signature)})
				case "redacted_thinking":
					msg.Content = append(msg.Content, llm.Part{Type: llm.PartRedactedThinking, Data: b.Data})
				case "tool_use":
					// An id Arbiter gave out may carry the provider's signature on the
					// call (llm.JoinToolID): the call keeps it, providers get the short id.
					id, sig := llm.SplitToolID(b.ID)
					toolNames[id] = b.Name
					msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: id, Name: b.Name, Arguments: string(b.Input), Signature: sig})
				case "image":
					return nil, invalid(fmt.Sprintf("%s.content[%d].type", path, j), "%s.content[%d].type: image blocks are only allowed in user messages", path, j)
				case "tool_result":
					return nil, invalid(fmt.Sprintf("%s.content[%d].type", path, j), "%s.content[%d].type: tool_result blocks are only allowed in user messages", path, j)
				}
			}
			out = append(out, msg)
			continue
		}
		var user *llm.Message
		for j, b := range blocks {
			switch b.Type {
			case "tool_result":
				user = nil
				parts, err := toolResultParts(b.Content, fmt.Sprintf("%s.content[%d].content", path, j))
				if err != nil {
					return nil, err
				}
				id := llm.ShortToolID(b.ToolUseID) // the same short id as its call's
				out = append(out, llm.Message{Role: llm.RoleTool, Content: parts, ToolCallID: id,
					ToolName: toolNames[id], IsError: b.IsError})
			case "text", "image":
				if user == nil {
					out = append(out, llm.Message{Role: llm.RoleUser})
					user = &out[len(out)-1]
				}
				user.Content = append(user.Content, blockPart(b))
			case "tool_use":
				return nil, invalid(fmt.Sprintf("%s.content[%d].type", path, j), "%s.content[%d].type: tool_use blocks are only allowed in assistant messages", path, j)
			}
		}
		if len(blocks) == 0 {
			out = append(out, llm.Message{Role: llm.RoleUser})
		}
	}
	return out, nil
}

// decodeContent parses a message's content: a string or an array of blocks.
func decodeContent(raw json.RawMessage, path string) ([]wireBlock, error) {
	switch jsonKind(raw) {
	case "string":
		var s string
		_ = json.Unmarshal(raw, &s)
		return []wireBlock{{Type: "text", Text: &s}}, nil
	case "array":
	default:
		return nil, invalid(path, "%s: expected a string or an array of content blocks, got %s", path, jsonKind(raw))
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	blocks := make([]wireBlock, 0, len(items))
	for j, it := range items {
		bp := fmt.Sprintf("%s[%d]", path, j)
		var b struct {
			Type         string          `json:"type"`
			Text         *string         `json:"text"`
			Source       json.RawMessage `json:"source"`
			ID           string          `json:"id"`
			Name         string          `json:"name"`
			Input        json.RawMessage `json:"input"`
			ToolUseID    string          `json:"tool_use_id"`
			Content      json.RawMessage `json:"content"`
			IsError      bool            `json:"is_error"`
			Thinking     *string         `json:"thinking"`
			Signature    *string         `json:"signature"`
			Data         *string         `json:"data"`
			CacheControl json.RawMessage `json:"cache_control"`
		}
		if jsonKind(it) != "object" || json.Unmarshal(it, &b) != nil {
			return nil, invalid(bp, "%s: expected a content block object, got %s", bp, jsonKind(it))
		}
		wb := wireBlock{Type: b.Type, CacheControl: keepObject(b.CacheControl)}
		switch b.Type {
		case "text":
			if b.Text == nil {
				return nil, invalid(bp+".text", "%s.text: field required", bp)
			}
			wb.Text = b.Text
		case "image":
			src, err := decodeSource(b.Source, bp+".source")
			if err != nil {
				return nil, err
			}
			wb.Source = src
		case "tool_use":
			if b.ID == "" || b.Name == "" {
				return nil, invalid(bp, "%s: tool_use blocks need an id and a name", bp)
			}
			if jsonKind(b.Input) != "object" {
				return nil, invalid(bp+".input", "%s.input: expected an object, got %s", bp, jsonKind(b.Input))
			}
			wb.ID, wb.Name, wb.Input = b.ID, b.Name, compact(b.Input)
		case "tool_result":
			if b.ToolUseID == "" {
				return nil, invalid(bp+".tool_use_id", "%s.tool_use_id: field required", bp)
			}
			wb.ToolUseID, wb.IsError = b.ToolUseID, b.IsError
			wb.Content = b.Content
		case "thinking":
			// The signature is kept as sent; without one the block cannot go back to
			// Anthropic (see EncodeRequest), which is the provider that would check it.
			if b.Thinking == nil {
				return nil, invalid(bp+".thinking", "%s.thinking: field required", bp)
			}
			wb.Thinking, wb.Signature = b.Thinking, b.Signature
		case "redacted_thinking":
			if b.Data == nil || *b.Data == "" {
				return nil, invalid(bp+".data", "%s.data: field required", bp)
			}
			wb.Data = *b.Data
		default:
			return nil, invalid(bp+".type", "%s.type: content block type %q is not supported (supported: text, image, tool_use, tool_result)", bp, b.Type)
		}
		blocks = append(blocks, wb)
	}
	return blocks, nil
}

func decodeSource(raw json.RawMessage, path string) (*wireSource, error) {
	var s wireSource
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &s) != nil {
		return nil, invalid(path, "%s: expected an image source object, got %s", path, jsonKind(raw))
	}
	switch s.Type {
	case "base64":
		if s.MediaType == "" || s.Data == "" {
			return nil, invalid(path, "%s: base64 sources need media_type and data", path)
		}
	case "url":
		if s.URL == "" {
			return nil, invalid(path+".url", "%s.url: field required", path)
		}
	default:
		return nil, invalid(path+".type", "%s.type: expected \"base64\" or \"url\", got %q", path, s.Type)
	}
	return &s, nil
}

// toolResultParts decodes a tool_result's content: absent, a string, or text and
// image blocks.
func toolResultParts(content any, path string) ([]llm.Part, error) {
	raw, _ := content.(json.RawMessage)
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	blocks, err := decodeContent(raw, path)
	if err != nil {
		return nil, err
	}
	parts := make([]llm.Part, 0, len(blocks))
	for j, b := range blocks {
		if b.Type != "text" && b.Type != "image" {
			return nil, invalid(fmt.Sprintf("%s[%d].type", path, j), "%s[%d].type: tool results may hold text and image blocks, got %q", path, j, b.Type)
		}
		parts = append(parts, blockPart(b))
	}
	return parts, nil
}

func blockPart(b wireBlock) llm.Part {
	if b.Type == "text" {
		return llm.Part{Type: llm.PartText, Text: *b.Text, CacheControl: b.CacheControl}
	}
	p := llm.Part{Type: llm.PartImage, CacheControl: b.CacheControl}
	if b.Source.Type == "url" {
		p.ImageURL = b.Source.URL
	} else {
		p.MediaType, p.Base64 = b.Source.MediaType, b.Source.Data
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func invalid(param, format string, args ...any) *llm.Error {
	e := llm.Errorf(llm.KindInvalidRequest, format, args...)
	e.Param = param
	return e
}

func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isNull(raw json.RawMessage) bool { return jsonKind(raw) == "null" }

// keepObject returns raw when it is a JSON object (cache_control), else nil.
func keepObject(raw json.RawMessage) json.RawMessage {
	if jsonKind(raw) != "object" {
		return nil
	}
	return compact(raw)
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}

func decodeString(raw json.RawMessage, param string, dst *string) error {
	if json.Unmarshal(raw, dst) != nil || jsonKind(raw) != "string" {
		return invalid(param, "%s: expected a string, got %s", param, jsonKind(raw))
	}
	return nil
}

func decodeInt(raw json.RawMessage, param string, dst *int) error {
	if json.Unmarshal(raw, dst) != nil {
		return invalid(param, "%s: expected an integer, got %s", param, strings.TrimSpace(describe(raw)))
	}
	return nil
}

func decodeFloat(raw json.RawMessage, param string) (*float64, error) {
	if isNull(raw) {
		return nil, nil
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return nil, invalid(param, "%s: expected a number, got %s", param, jsonKind(raw))
	}
	return &f, nil
}

// describe names a value's kind, or the number itself when it is a non-integer number.
func describe(raw json.RawMessage) string {
	if k := jsonKind(raw); k != "number" {
		return k
	}
	return "number " + string(bytes.TrimSpace(raw))
}
