package gemini

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/schema"
)

// DecodeRequest parses and validates a generateContent request body as a Gemini
// client sends it; model and stream come from the URL path
// (models/{model}:generateContent or :streamGenerateContent). Errors are *llm.Error
// of kind invalid_request with Param naming the field. Fields with no neutral
// equivalent (safetySettings, cachedContent, generationConfig.topK, thinkingConfig,
// …) are kept in Extra; generationConfig leftovers under Extra["generationConfig"].
func DecodeRequest(model string, body []byte, stream bool) (*llm.Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, invalid("", "request body is not a valid JSON object: %v", err)
	}
	req := &llm.Request{Model: strings.TrimPrefix(model, "models/"), Stream: stream, IncludeUsage: stream}
	if req.Model == "" {
		return nil, invalid("model", "model: missing from the URL path")
	}
	var system []llm.Part
	var contents, toolConfig json.RawMessage
	for key, raw := range fields {
		var err error
		switch key {
		case "contents":
			contents = raw
		case "systemInstruction":
			system, err = decodeSystem(raw)
		case "tools":
			req.Tools, err = decodeTools(raw)
		case "toolConfig":
			toolConfig = raw
		case "generationConfig":
			err = decodeGenConfig(raw, req)
		default:
			setExtra(req, key, raw)
		}
		if err != nil {
			return nil, err
		}
	}
	if contents == nil {
		return nil, invalid("contents", "contents: field required")
	}
	msgs, err := decodeContents(contents)
	if err != nil {
		return nil, err
	}
	if len(system) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	req.Messages = append(req.Messages, msgs...)
	if toolConfig != nil {
		if err := decodeToolConfig(toolConfig, req); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func setExtra(req *llm.Request, key string, raw json.RawMessage) {
	if req.Extra == nil {
		req.Extra = map[string]json.RawMessage{}
	}
	req.Extra[key] = append(json.RawMessage(nil), raw...)
	req.ExtraFormat = llm.FormatGemini
}

func decodeSystem(raw json.RawMessage) ([]llm.Part, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c wireContent
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &c) != nil {
		return nil, invalid("systemInstruction", "systemInstruction: expected a content object with parts, got %s", jsonKind(raw))
	}
	var parts []llm.Part
	for j, p := range c.Parts {
		if p.Text == nil {
			return nil, invalid(fmt.Sprintf("systemInstruction.parts[%d]", j), "systemInstruction.parts[%d]: only text parts are allowed", j)
		}
		parts = append(parts, llm.Part{Type: llm.PartText, Text: *p.Text})
	}
	return parts, nil
}

// partKeys are the part fields this codec understands; any other (executableCode,
// codeExecutionResult, videoMetadata, …) is refused rather than dropped.
var partKeys = map[string]bool{"text": true, "thought": true, "inlineData": true, "fileData": true,
	"functionCall": true, "functionResponse": true, "thoughtSignature": true}

func decodeContents(raw json.RawMessage) ([]llm.Message, error) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, invalid("contents", "contents: expected an array of contents, got %s", jsonKind(raw))
	}
	if len(items) == 0 {
		return nil, invalid("contents", "contents: at least one content is required")
	}
	var out []llm.Message
	// Calls not yet answered, by name, so that a functionResponse without an id
	// links to the earliest open call of that name.
	open := map[string][]string{}
	for i, it := range items {
		path := fmt.Sprintf("contents[%d]", i)
		var c struct {
			Role  string            `json:"role"`
			Parts []json.RawMessage `json:"parts"`
		}
		if jsonKind(it) != "object" || json.Unmarshal(it, &c) != nil {
			return nil, invalid(path, "%s: expected a content object, got %s", path, jsonKind(it))
		}
		role := c.Role
		switch role {
		case "", "user", "function":
			role = "user"
		case "model":
		default:
			return nil, invalid(path+".role", "%s.role: expected \"user\" or \"model\", got %q", path, c.Role)
		}
		var cur *llm.Message
		for j, rawPart := range c.Parts {
			pp := fmt.Sprintf("%s.parts[%d]", path, j)
			var keys map[string]json.RawMessage
			if json.Unmarshal(rawPart, &keys) != nil {
				return nil, invalid(pp, "%s: expected a part object, got %s", pp, jsonKind(rawPart))
			}
			for k := range keys {
				if !partKeys[k] {
					return nil, invalid(pp+"."+k, "%s.%s: this part type is not supported (supported: text, inlineData, fileData, functionCall, functionResponse)", pp, k)
				}
			}
			var p wirePart
			if err := json.Unmarshal(rawPart, &p); err != nil {
				return nil, invalid(pp, "%s: %v", pp, err)
			}
			switch {
			case p.FunctionResponse != nil:
				if role != "user" {
					return nil, invalid(pp+".functionResponse", "%s.functionResponse: only allowed in user turns", pp)
				}
				fr := p.FunctionResponse
				id := fr.ID
				if q := open[fr.Name]; id == "" && len(q) > 0 {
					id = q[0]
				}
				if q := open[fr.Name]; len(q) > 0 {
					for k, v := range q {
						if v == id {
							open[fr.Name] = append(q[:k:k], q[k+1:]...)
							break
						}
					}
				}
				if id == "" {
					id = fmt.Sprintf("call_%d_%d", i, j)
				}
				text, isErr := responseText(fr.Response)
				out = append(out, llm.Message{Role: llm.RoleTool, ToolCallID: id, ToolName: fr.Name, IsError: isErr,
					Content: []llm.Part{{Type: llm.PartText, Text: text}}})
				cur = nil
				continue
			case p.FunctionCall != nil:
				if role != "model" {
					return nil, invalid(pp+".functionCall", "%s.functionCall: only allowed in model turns", pp)
				}
			}
			if cur == nil {
				r := llm.RoleUser
				if role == "model" {
					r = llm.RoleAssistant
				}
				out = append(out, llm.Message{Role: r})
				cur = &out[len(out)-1]
			}
			switch {
			case p.FunctionCall != nil:
				fc := p.FunctionCall
				id := fc.ID
				if id == "" {
					id = fmt.Sprintf("call_%d_%d", i, j)
				}
				open[fc.Name] = append(open[fc.Name], id)
				args := "{}"
				if len(fc.Args) > 0 && !isNull(fc.Args) {
					args = string(compact(fc.Args))
				}
				cur.ToolCalls = append(cur.ToolCalls, llm.ToolCall{ID: id, Name: fc.Name, Arguments: args, Signature: p.ThoughtSignature})
			case p.Thought:
				// The model's own thoughts in history: only Gemini can use them.
			case p.Text != nil:
				cur.Content = append(cur.Content, llm.Part{Type: llm.PartText, Text: *p.Text})
			case p.InlineData != nil:
				if !strings.HasPrefix(p.InlineData.MIMEType, "image/") {
					return nil, invalid(pp+".inlineData.mimeType", "%s.inlineData.mimeType: only images are supported, got %q", pp, p.InlineData.MIMEType)
				}
				cur.Content = append(cur.Content, llm.Part{Type: llm.PartImage, MediaType: p.InlineData.MIMEType, Base64: p.InlineData.Data})
			case p.FileData != nil:
				if mt := p.FileData.MIMEType; mt != "" && !strings.HasPrefix(mt, "image/") {
					return nil, invalid(pp+".fileData.mimeType", "%s.fileData.mimeType: only images are supported, got %q", pp, mt)
				}
				cur.Content = append(cur.Content, llm.Part{Type: llm.PartImage, ImageURL: p.FileData.FileURI, MediaType: p.FileData.MIMEType})
			}
		}
		if len(c.Parts) == 0 {
			return nil, invalid(path+".parts", "%s.parts: at least one part is required", path)
		}
	}
	return out, nil
}

// responseText turns a functionResponse.response object into the tool result text:
// {"output": x} gives x, {"error": x} gives x marked as an error, anything else its JSON.
func responseText(raw json.RawMessage) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil && len(m) == 1 {
		for k, v := range m {
			if k != "output" && k != "error" {
				break
			}
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(compact(v))
			}
			return s, k == "error"
		}
	}
	if len(raw) == 0 {
		return "", false
	}
	return string(compact(raw)), false
}

func decodeTools(raw json.RawMessage) ([]llm.Tool, error) {
	if isNull(raw) {
		return nil, nil
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, invalid("tools", "tools: expected an array of tool objects, got %s", jsonKind(raw))
	}
	var tools []llm.Tool
	for i, it := range items {
		keys := make([]string, 0, len(it))
		for k := range it {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			path := fmt.Sprintf("tools[%d].%s", i, k)
			if k != "functionDeclarations" {
				return nil, invalid(path, "%s: built-in Gemini tools are not supported by this gateway; declare functions instead", path)
			}
			var decls []struct {
				Name                 string          `json:"name"`
				Description          string          `json:"description"`
				Parameters           json.RawMessage `json:"parameters"`
				ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
			}
			if json.Unmarshal(it[k], &decls) != nil {
				return nil, invalid(path, "%s: expected an array of function declarations", path)
			}
			for j, d := range decls {
				dp := fmt.Sprintf("%s[%d]", path, j)
				if d.Name == "" {
					return nil, invalid(dp+".name", "%s.name: field required", dp)
				}
				t := llm.Tool{Name: d.Name, Description: d.Description}
				switch {
				case len(d.ParametersJSONSchema) > 0 && !isNull(d.ParametersJSONSchema):
					t.Parameters = compact(d.ParametersJSONSchema)
				case len(d.Parameters) > 0 && !isNull(d.Parameters):
					js, err := schema.FromGemini(d.Parameters)
					if err != nil {
						return nil, invalid(dp+".parameters", "%s.parameters: %v", dp, err)
					}
					t.Parameters = js
				}
				tools = append(tools, t)
			}
		}
	}
	return tools, nil
}

func decodeToolConfig(raw json.RawMessage, req *llm.Request) error {
	if isNull(raw) {
		return nil
	}
	var tc wireToolConfig
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &tc) != nil {
		return invalid("toolConfig", "toolConfig: expected an object, got %s", jsonKind(raw))
	}
	fc := tc.FunctionCallingConfig
	if fc == nil {
		return nil
	}
	if len(fc.AllowedFunctionNames) > 0 {
		// Only the allowed functions may be called: offer only those.
		allowed := map[string]bool{}
		for _, n := range fc.AllowedFunctionNames {
			allowed[n] = true
		}
		var kept []llm.Tool
		for _, t := range req.Tools {
			if allowed[t.Name] {
				kept = append(kept, t)
			}
		}
		req.Tools = kept
	}
	switch fc.Mode {
	case "", "MODE_UNSPECIFIED":
	case "AUTO", "VALIDATED":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
	case "NONE":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	case "ANY":
		if len(fc.AllowedFunctionNames) == 1 {
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: fc.AllowedFunctionNames[0]}
		} else {
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
		}
	default:
		return invalid("toolConfig.functionCallingConfig.mode", "toolConfig.functionCallingConfig.mode: expected AUTO, ANY or NONE, got %q", fc.Mode)
	}
	return nil
}

func decodeGenConfig(raw json.RawMessage, req *llm.Request) error {
	if isNull(raw) {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return invalid("generationConfig", "generationConfig: expected an object, got %s", jsonKind(raw))
	}
	rest := map[string]json.RawMessage{}
	var mime string
	var rschema, rjsonSchema json.RawMessage
	num := func(key string, dst **float64) error {
		var f float64
		if json.Unmarshal(fields[key], &f) != nil {
			return invalid("generationConfig."+key, "generationConfig.%s: expected a number, got %s", key, jsonKind(fields[key]))
		}
		*dst = &f
		return nil
	}
	integer := func(key string) (int64, error) {
		var n int64
		if json.Unmarshal(fields[key], &n) != nil {
			return 0, invalid("generationConfig."+key, "generationConfig.%s: expected an integer, got %s", key, jsonKind(fields[key]))
		}
		return n, nil
	}
	for key, v := range fields {
		if isNull(v) {
			continue
		}
		var err error
		switch key {
		case "temperature":
			err = num(key, &req.Temperature)
		case "topP":
			err = num(key, &req.TopP)
		case "presencePenalty":
			err = num(key, &req.PresencePenalty)
		case "frequencyPenalty":
			err = num(key, &req.FrequencyPenalty)
		case "maxOutputTokens", "candidateCount":
			var n int64
			if n, err = integer(key); err == nil {
				i := int(n)
				if key == "maxOutputTokens" {
					req.MaxTokens = &i
				} else {
					req.N = &i
				}
			}
		case "seed":
			var n int64
			if n, err = integer(key); err == nil {
				req.Seed = &n
			}
		case "stopSequences":
			if json.Unmarshal(v, &req.Stop) != nil {
				err = invalid("generationConfig.stopSequences", "generationConfig.stopSequences: expected an array of strings")
			}
		case "responseMimeType":
			_ = json.Unmarshal(v, &mime)
		case "responseSchema":
			rschema = v
		case "responseJsonSchema":
			rjsonSchema = v
		default:
			rest[key] = v
		}
		if err != nil {
			return err
		}
	}
	switch mime {
	case "", "text/plain":
	case "application/json":
		rf := &llm.ResponseFormat{Type: llm.ResponseJSONObject}
		switch {
		case rjsonSchema != nil:
			rf.Type, rf.Name, rf.Schema = llm.ResponseJSONSchema, "response", compact(rjsonSchema)
		case rschema != nil:
			js, err := schema.FromGemini(rschema)
			if err != nil {
				return invalid("generationConfig.responseSchema", "generationConfig.responseSchema: %v", err)
			}
			rf.Type, rf.Name, rf.Schema = llm.ResponseJSONSchema, "response", js
		}
		req.ResponseFormat = rf
		rschema, rjsonSchema = nil, nil
	default:
		// text/x.enum and other types have no neutral form: kept for Gemini only.
		rest["responseMimeType"], _ = json.Marshal(mime)
	}
	if rschema != nil {
		rest["responseSchema"] = rschema
	}
	if rjsonSchema != nil {
		rest["responseJsonSchema"] = rjsonSchema
	}
	if len(rest) > 0 {
		b, _ := json.Marshal(rest)
		setExtra(req, "generationConfig", b)
	}
	return nil
}
