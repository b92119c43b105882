package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/schema"
)

// ForeignThoughtSignature is the placeholder Gemini documents for function calls it
// did not produce itself (history from another model, or a client that lost the
// signature): Gemini 3 refuses a model turn whose first functionCall carries no
// thoughtSignature.
const ForeignThoughtSignature = "skip_thought_signature_validator"

// RequiresThoughtSignatures reports whether model (Gemini's name, with or without
// "models/") validates thought signatures on function calls in history: Gemini 3
// does; earlier models do not, and are never sent the placeholder.
func RequiresThoughtSignatures(model string) bool {
	return strings.HasPrefix(strings.TrimPrefix(model, "models/"), "gemini-3")
}

// EncodeRequest writes a generateContent request body for r. The model and whether
// to stream are not in the body: the adapter puts them in the URL. System messages,
// wherever they are, become systemInstruction; tool results become functionResponse
// parts named after their call; tool schemas are translated to Gemini's subset and a
// schema it cannot express fails with invalid_request naming the construct and path.
func EncodeRequest(r *llm.Request) ([]byte, error) {
	w := wireRequest{}
	var system []wirePart
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Role != llm.RoleSystem {
			continue
		}
		for _, p := range m.Content {
			if p.Type == llm.PartText && p.Text != "" {
				system = append(system, textPart(p.Text))
			}
		}
	}
	if len(system) > 0 {
		w.SystemInstruction = &wireContent{Parts: system}
	}
	contents, err := encodeContents(r.Messages)
	if err != nil {
		return nil, err
	}
	if RequiresThoughtSignatures(r.Model) {
		placeholdSignatures(contents)
	}
	w.Contents = contents

	if len(r.Tools) > 0 {
		decls := make([]wireFunctionDecl, 0, len(r.Tools))
		for i, t := range r.Tools {
			d := wireFunctionDecl{Name: t.Name, Description: t.Description}
			if len(t.Parameters) > 0 && !isNull(t.Parameters) {
				p, err := schema.ToGemini(t.Parameters)
				if err != nil {
					return nil, schemaError(fmt.Sprintf("tools[%d].function.parameters", i), t.Name, err)
				}
				if !emptyObject(p) {
					d.Parameters = p
				}
			}
			decls = append(decls, d)
		}
		w.Tools = []wireTool{{FunctionDeclarations: decls}}
		if tc := r.ToolChoice; tc != nil {
			fc := &wireFCConfig{}
			switch tc.Mode {
			case llm.ToolChoiceNone:
				fc.Mode = "NONE"
			case llm.ToolChoiceRequired:
				fc.Mode = "ANY"
			case llm.ToolChoiceTool:
				fc.Mode, fc.AllowedFunctionNames = "ANY", []string{tc.Name}
			default:
				fc.Mode = "AUTO"
			}
			w.ToolConfig = &wireToolConfig{FunctionCallingConfig: fc}
		}
	}

	g := wireGenConfig{
		Temperature: r.Temperature, TopP: r.TopP, MaxOutputTokens: r.MaxTokens,
		StopSequences: r.Stop, CandidateCount: r.N, Seed: r.Seed,
		PresencePenalty: r.PresencePenalty, FrequencyPenalty: r.FrequencyPenalty,
	}
	if rf := r.ResponseFormat; rf != nil && (rf.Type == llm.ResponseJSONObject || rf.Type == llm.ResponseJSONSchema) {
		g.ResponseMIMEType = "application/json"
		if rf.Type == llm.ResponseJSONSchema && len(rf.Schema) > 0 {
			s, err := schema.ToGemini(rf.Schema)
			if err != nil {
				return nil, schemaError("response_format.json_schema.schema", rf.Name, err)
			}
			g.ResponseSchema = s
		}
	}
	if g.Temperature != nil || g.TopP != nil || g.MaxOutputTokens != nil || g.StopSequences != nil ||
		g.CandidateCount != nil || g.Seed != nil || g.PresencePenalty != nil || g.FrequencyPenalty != nil ||
		g.ResponseMIMEType != "" {
		w.GenerationConfig = &g
	}

	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("gemini: encoding request: %w", err)
	}
	if r.ExtraFormat == llm.FormatGemini && len(r.Extra) > 0 {
		return mergeExtra(body, r.Extra)
	}
	return body, nil
}

func schemaError(param, name string, err error) error {
	var se *schema.Error
	if errors.As(err, &se) {
		return invalid(param, "%s (%s): %v", param, name, se)
	}
	return invalid(param, "%s (%s): %v", param, name, err)
}

// emptyObject reports an OBJECT schema without properties, which Gemini refuses as
// function parameters ("properties: should be non-empty for OBJECT type").
func emptyObject(s json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(s, &m) != nil {
		return false
	}
	if p, ok := m["properties"]; ok {
		var props map[string]json.RawMessage
		if json.Unmarshal(p, &props) != nil || len(props) > 0 {
			return false
		}
	}
	for k, v := range m {
		switch {
		case k == "properties", k == "description":
		case k == "type" && string(v) == `"OBJECT"`:
		default:
			return false
		}
	}
	return true
}

// mergeExtra adds Gemini-only fields a Gemini client sent (safetySettings, …, and the
// generationConfig fields in Extra["generationConfig"]) without overriding ours.
func mergeExtra(body []byte, extra map[string]json.RawMessage) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("gemini: merging extra fields: %w", err)
	}
	for k, v := range extra {
		if k == "generationConfig" {
			var ours, theirs map[string]json.RawMessage
			_ = json.Unmarshal(m[k], &ours)
			if json.Unmarshal(v, &theirs) != nil {
				continue
			}
			if ours == nil {
				ours = map[string]json.RawMessage{}
			}
			for gk, gv := range theirs {
				if _, ok := ours[gk]; !ok {
					ours[gk] = gv
				}
			}
			m[k], _ = json.Marshal(ours)
			continue
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("gemini: merging extra fields: %w", err)
	}
	return out, nil
}

func textPart(s string) wirePart { return wirePart{Text: &s} }

func encodeContents(in []llm.Message) ([]wireContent, error) {
	var out []wireContent
	add := func(role string, parts []wirePart) {
		if len(parts) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Parts = append(out[n-1].Parts, parts...)
			return
		}
		out = append(out, wireContent{Role: role, Parts: parts})
	}
	names := map[string]string{} // tool call id → function name
	for i := range in {
		m := &in[i]
		path := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case llm.RoleSystem:
			continue
		case llm.RoleUser:
			parts, err := contentParts(m.Content, path+".content")
			if err != nil {
				return nil, err
			}
			add("user", parts)
		case llm.RoleAssistant:
			parts, err := contentParts(m.Content, path+".content")
			if err != nil {
				return nil, err
			}
			for j, tc := range m.ToolCalls {
				names[tc.ID] = tc.Name
				args := json.RawMessage(strings.TrimSpace(tc.Arguments))
				if len(args) == 0 {
					args = json.RawMessage(`{}`)
				}
				if jsonKind(args) != "object" || !json.Valid(args) {
					return nil, invalid(fmt.Sprintf("%s.tool_calls[%d].function.arguments", path, j),
						"%s.tool_calls[%d].function.arguments: expected a JSON object, got %q", path, j, tc.Arguments)
				}
				// The signature Gemini put on this call, exactly; another provider's
				// calls have none.
				parts = append(parts, wirePart{FunctionCall: &wireFunctionCall{Name: tc.Name, Args: compact(args)},
					ThoughtSignature: tc.Signature})
			}
			add("model", parts)
		case llm.RoleTool:
			name := m.ToolName
			if name == "" {
				name = names[m.ToolCallID]
			}
			if name == "" {
				return nil, invalid(path+".tool_call_id", "%s.tool_call_id: %q answers no earlier tool call, and Gemini needs the function's name", path, m.ToolCallID)
			}
			var text strings.Builder
			var images []wirePart
			for j, p := range m.Content {
				switch p.Type {
				case llm.PartText:
					text.WriteString(p.Text)
				case llm.PartImage:
					ip, err := imagePart(p)
					if err != nil {
						return nil, invalid(fmt.Sprintf("%s.content[%d]", path, j), "%s.content[%d]: %v", path, j, err)
					}
					images = append(images, ip)
				}
			}
			resp := functionResponse(text.String(), m.IsError)
			parts := append([]wirePart{{FunctionResponse: &wireFunctionResponse{Name: name, Response: resp}}}, images...)
			add("user", parts)
		default:
			return nil, invalid(path+".role", "%s.role: unknown role %q", path, m.Role)
		}
	}
	return out, nil
}

// placeholdSignatures gives the first functionCall of each model turn that has no
// signature of its own the documented placeholder, which Gemini 3 accepts for calls it
// did not sign (it validates only the first call of a step; parallel calls after it
// come unsigned from Gemini too). Real signatures are never replaced.
func placeholdSignatures(contents []wireContent) {
	for i := range contents {
		if contents[i].Role != "model" {
			continue
		}
		for j := range contents[i].Parts {
			if p := &contents[i].Parts[j]; p.FunctionCall != nil {
				if p.ThoughtSignature == "" {
					p.ThoughtSignature = ForeignThoughtSignature
				}
				break
			}
		}
	}
}

// functionResponse wraps a tool result as the object Gemini requires: a JSON object
// result as is, other JSON (an array, a number) as {"output": value}, plain text as
// {"output": text}, and failures as {"error": text}.
func functionResponse(text string, isError bool) json.RawMessage {
	t := json.RawMessage(strings.TrimSpace(text))
	if isError {
		b, _ := json.Marshal(map[string]string{"error": text})
		return b
	}
	if k := jsonKind(t); (k == "object" || k == "array" || k == "number" || k == "boolean") && json.Valid(t) {
		if k == "object" {
			return compact(t)
		}
		b, _ := json.Marshal(map[string]json.RawMessage{"output": compact(t)})
		return b
	}
	b, _ := json.Marshal(map[string]string{"output": text})
	return b
}

func contentParts(parts []llm.Part, path string) ([]wirePart, error) {
	out := make([]wirePart, 0, len(parts))
	for j, p := range parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				out = append(out, textPart(p.Text))
			}
		case llm.PartImage:
			ip, err := imagePart(p)
			if err != nil {
				return nil, invalid(fmt.Sprintf("%s[%d]", path, j), "%s[%d]: %v", path, j, err)
			}
			out = append(out, ip)
		case llm.PartThinking, llm.PartRedactedThinking:
			// Another provider's reasoning (Anthropic's, signed for Anthropic only):
			// Gemini would take it as text the model said, so it is not sent.
		default:
			return nil, invalid(fmt.Sprintf("%s[%d].type", path, j), "%s[%d].type: unsupported part type %q", path, j, p.Type)
		}
	}
	return out, nil
}

// imagePart: base64 data and data: URLs become inlineData; other URLs fileData (Gemini
// fetches only URLs it can reach, such as its Files API).
func imagePart(p llm.Part) (wirePart, error) {
	if p.Base64 != "" {
		return wirePart{InlineData: &wireBlob{MIMEType: p.MediaType, Data: p.Base64}}, nil
	}
	u := p.ImageURL
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isB64 || mt == "" {
			return wirePart{}, fmt.Errorf("image data URL must be base64 with a media type")
		}
		return wirePart{InlineData: &wireBlob{MIMEType: mt, Data: data}}, nil
	}
	if u == "" {
		return wirePart{}, fmt.Errorf("image has neither data nor a URL")
	}
	mt := p.MediaType
	if mt == "" {
		mt = guessImageType(u)
	}
	return wirePart{FileData: &wireFileData{MIMEType: mt, FileURI: u}}, nil
}

func guessImageType(u string) string {
	path, _, _ := strings.Cut(u, "?")
	switch {
	case strings.HasSuffix(path, ".png"):
		return "image/png"
	case strings.HasSuffix(path, ".gif"):
		return "image/gif"
	case strings.HasSuffix(path, ".webp"):
		return "image/webp"
	}
	return "image/jpeg"
}
