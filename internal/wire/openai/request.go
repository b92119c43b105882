// Package openai is the codec for OpenAI's Chat Completions and Embeddings wire
// format: bytes in, neutral internal/llm values out, and back. It serves the gateway's
// OpenAI-compatible surface and the emulator (server side: DecodeRequest,
// EncodeResponse, StreamEncoder, EncodeError) and the adapter for OpenAI and every
// OpenAI-compatible host (client side: EncodeRequest, DecodeResponse, StreamDecoder,
// DecodeError). It does no HTTP.
//
// Decoding is a single pass over the body with a small hand-written JSON reader, and
// encoding appends to one buffer: this code runs on every request the gateway serves.
package openai

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// invalid builds the invalid_request error for a field.
func invalid(param, msg string) *llm.Error {
	m := msg
	if param != "" {
		m = param + ": " + msg
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: m}
}

// fieldErr turns a scanner error met while reading param into an invalid_request error
// that says what was expected there.
func fieldErr(err error, param, expected string) error {
	if got, ok := isWrongType(err); ok {
		return invalid(param, "expected "+expected+", got "+got)
	}
	return jsonErr(err, param)
}

// jsonErr reports malformed JSON (or passes through an error that is already final).
func jsonErr(err error, param string) error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	if errors.Is(err, errNotInteger) {
		return invalid(param, "expected an integer, got a fractional number")
	}
	var se *syntaxError
	if errors.As(err, &se) {
		return &llm.Error{Kind: llm.KindInvalidRequest,
			Message: "request body is not valid JSON: " + se.Error()}
	}
	if got, ok := isWrongType(err); ok {
		return invalid(param, "unexpected "+got)
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: err.Error()}
}

func idx(prefix string, i int, rest string) string {
	return prefix + "[" + strconv.Itoa(i) + "]" + rest
}

// reqDecoder holds the scanner while a request body is read.
type reqDecoder struct{ s scanner }

// DecodeRequest parses and validates a Chat Completions request body. Errors are
// *llm.Error of kind invalid_request whose Param names the offending field. Top-level
// fields it does not model are kept verbatim in Extra (ExtraFormat = openai). The
// returned request does not alias body.
func DecodeRequest(body []byte) (*llm.Request, error) {
	d := reqDecoder{s: scanner{data: body}}
	req := &llm.Request{}
	if err := d.request(req); err != nil {
		return nil, err
	}
	return req, nil
}

func (d *reqDecoder) request(req *llm.Request) error {
	s := &d.s
	switch c := s.peek(); c {
	case 0:
		return invalid("", "request body is empty; expected a JSON object")
	case '{':
	default:
		if kindName(c) == "invalid value" {
			return jsonErr(s.unexpected(), "")
		}
		return invalid("", "request body: expected a JSON object, got "+kindName(c))
	}
	s.objStart()
	sawModel, sawMessages := false, false
	var maxCompletion *int
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "model":
			sawModel = true
			if req.Model, err = s.stringValue(); err != nil {
				return fieldErr(err, "model", "a string")
			}
		case "messages":
			sawMessages = true
			if err := d.messages(req); err != nil {
				return err
			}
		case "tools":
			if err := d.tools(req); err != nil {
				return err
			}
		case "tool_choice":
			if err := d.toolChoice(req); err != nil {
				return err
			}
		case "parallel_tool_calls":
			if req.ParallelToolCalls, err = d.optBool("parallel_tool_calls"); err != nil {
				return err
			}
		case "response_format":
			if err := d.responseFormat(req); err != nil {
				return err
			}
		case "temperature":
			if req.Temperature, err = d.optFloat("temperature", 0, 2); err != nil {
				return err
			}
		case "top_p":
			if req.TopP, err = d.optFloat("top_p", 0, 1); err != nil {
				return err
			}
		case "presence_penalty":
			if req.PresencePenalty, err = d.optFloat("presence_penalty", -2, 2); err != nil {
				return err
			}
		case "frequency_penalty":
			if req.FrequencyPenalty, err = d.optFloat("frequency_penalty", -2, 2); err != nil {
				return err
			}
		case "max_tokens":
			if req.MaxTokens, err = d.optInt("max_tokens", 1); err != nil {
				return err
			}
		case "max_completion_tokens":
			if maxCompletion, err = d.optInt("max_completion_tokens", 1); err != nil {
				return err
			}
		case "n":
			if req.N, err = d.optInt("n", 1); err != nil {
				return err
			}
		case "seed":
			if isNull, err := s.null(); err != nil {
				return jsonErr(err, "seed")
			} else if !isNull {
				v, err := s.intValue()
				if err != nil {
					return fieldErr(err, "seed", "an integer")
				}
				req.Seed = &v
			}
		case "stop":
			if err := d.stop(req); err != nil {
				return err
			}
		case "stream":
			if b, err := d.optBool("stream"); err != nil {
				return err
			} else if b != nil {
				req.Stream = *b
			}
		case "stream_options":
			if err := d.streamOptions(req); err != nil {
				return err
			}
		case "user":
			if req.User, err = d.optString("user"); err != nil {
				return err
			}
		case "reasoning_effort":
			if req.ReasoningEffort, err = d.optString("reasoning_effort"); err != nil {
				return err
			}
		case "metadata":
			if err := d.metadata(req); err != nil {
				return err
			}
		default:
			raw, err := s.skip()
			if err != nil {
				return jsonErr(err, string(key))
			}
			if req.Extra == nil {
				req.Extra = make(map[string]json.RawMessage, 4)
				req.ExtraFormat = llm.FormatOpenAI
			}
			req.Extra[string(key)] = append(json.RawMessage(nil), raw...)
		}
	}
	if err := s.end(); err != nil {
		return jsonErr(err, "")
	}
	if maxCompletion != nil {
		req.MaxTokens = maxCompletion // the newer name wins when both are sent
	}
	switch {
	case !sawModel:
		return invalid("model", "missing required parameter")
	case req.Model == "":
		return invalid("model", "must not be empty")
	case !sawMessages:
		return invalid("messages", "missing required parameter")
	case len(req.Messages) == 0:
		return invalid("messages", "must contain at least one message")
	}
	if !req.Stream && req.IncludeUsage {
		return invalid("stream_options", "only allowed when stream is true")
	}
	if tc := req.ToolChoice; tc != nil && (tc.Mode == llm.ToolChoiceRequired || tc.Mode == llm.ToolChoiceTool) {
		if len(req.Tools) == 0 {
			return invalid("tool_choice", "only allowed when tools are specified")
		}
		if tc.Mode == llm.ToolChoiceTool {
			found := false
			for i := range req.Tools {
				if req.Tools[i].Name == tc.Name {
					found = true
					break
				}
			}
			if !found {
				return invalid("tool_choice.function.name", "no tool named "+strconv.Quote(tc.Name)+" in tools")
			}
		}
	}
	return nil
}

func (d *reqDecoder) optBool(param string) (*bool, error) {
	if isNull, err := d.s.null(); isNull || err != nil {
		return nil, jsonErr(err, param)
	}
	b, err := d.s.boolValue()
	if err != nil {
		return nil, fieldErr(err, param, "a boolean")
	}
	return &b, nil
}

func (d *reqDecoder) optString(param string) (string, error) {
	if isNull, err := d.s.null(); isNull || err != nil {
		return "", jsonErr(err, param)
	}
	v, err := d.s.stringValue()
	if err != nil {
		return "", fieldErr(err, param, "a string")
	}
	return v, nil
}

func (d *reqDecoder) optFloat(param string, lo, hi float64) (*float64, error) {
	if isNull, err := d.s.null(); isNull || err != nil {
		return nil, jsonErr(err, param)
	}
	f, err := d.s.floatValue()
	if err != nil {
		return nil, fieldErr(err, param, "a number")
	}
	if f < lo || f > hi {
		return nil, invalid(param, strconv.FormatFloat(f, 'g', -1, 64)+" is out of range; expected a number from "+
			strconv.FormatFloat(lo, 'g', -1, 64)+" to "+strconv.FormatFloat(hi, 'g', -1, 64))
	}
	return &f, nil
}

func (d *reqDecoder) optInt(param string, min int) (*int, error) {
	if isNull, err := d.s.null(); isNull || err != nil {
		return nil, jsonErr(err, param)
	}
	v, err := d.s.intValue()
	if err != nil {
		return nil, fieldErr(err, param, "an integer")
	}
	if v < int64(min) {
		return nil, invalid(param, strconv.FormatInt(v, 10)+" is out of range; expected at least "+strconv.Itoa(min))
	}
	if v > math.MaxInt32 {
		return nil, invalid(param, strconv.FormatInt(v, 10)+" is out of range; expected at most "+strconv.Itoa(math.MaxInt32))
	}
	n := int(v)
	return &n, nil
}

func (d *reqDecoder) stop(req *llm.Request) error {
	s := &d.s
	switch s.peek() {
	case 'n':
		return jsonErr(s.literal("null"), "stop")
	case '"':
		v, err := s.str()
		if err != nil {
			return jsonErr(err, "stop")
		}
		req.Stop = []string{v}
		return nil
	case '[':
	default:
		return s.mismatch("stop", "expected a string or an array of strings")
	}
	s.arrStart()
	for i, first := 0, true; ; i, first = i+1, false {
		ok, err := s.nextElem(first)
		if err != nil {
			return jsonErr(err, "stop")
		}
		if !ok {
			return nil
		}
		v, err := s.stringValue()
		if err != nil {
			return fieldErr(err, idx("stop", i, ""), "a string")
		}
		req.Stop = append(req.Stop, v)
	}
}

func (d *reqDecoder) streamOptions(req *llm.Request) error {
	s := &d.s
	if isNull, err := s.null(); isNull || err != nil {
		return jsonErr(err, "stream_options")
	}
	if s.peek() != '{' {
		return s.mismatch("stream_options", "expected an object")
	}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "stream_options")
		}
		if !ok {
			return nil
		}
		if string(key) == "include_usage" {
			b, err := d.optBool("stream_options.include_usage")
			if err != nil {
				return err
			}
			req.IncludeUsage = b != nil && *b
			continue
		}
		// Other stream options (include_obfuscation) change nothing Arbiter sends.
		if _, err := s.skip(); err != nil {
			return jsonErr(err, "stream_options")
		}
	}
}

func (d *reqDecoder) metadata(req *llm.Request) error {
	s := &d.s
	if isNull, err := s.null(); isNull || err != nil {
		return jsonErr(err, "metadata")
	}
	if s.peek() != '{' {
		return s.mismatch("metadata", "expected an object of strings")
	}
	s.objStart()
	req.Metadata = make(map[string]string, 4)
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "metadata")
		}
		if !ok {
			return nil
		}
		k := string(key)
		v, err := s.stringValue()
		if err != nil {
			return fieldErr(err, "metadata."+k, "a string")
		}
		req.Metadata[k] = v
	}
}

func (d *reqDecoder) messages(req *llm.Request) error {
	s := &d.s
	if s.peek() != '[' {
		return s.mismatch("messages", "expected an array of messages")
	}
	s.arrStart()
	req.Messages = make([]llm.Message, 0, 4)
	for i, first := 0, true; ; i, first = i+1, false {
		ok, err := s.nextElem(first)
		if err != nil {
			return jsonErr(err, "messages")
		}
		if !ok {
			return nil
		}
		req.Messages = append(req.Messages, llm.Message{})
		if err := d.message(&req.Messages[i], i); err != nil {
			return err
		}
	}
}

func (d *reqDecoder) message(m *llm.Message, i int) error {
	s := &d.s
	if s.peek() != '{' {
		return s.mismatch(idx("messages", i, ""), "expected a message object")
	}
	s.objStart()
	var role []byte
	sawRole, sawContent, images := false, false, -1
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "messages")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "role":
			sawRole = true
			if role, err = s.bytesValue(); err != nil {
				return fieldErr(err, idx("messages", i, ".role"), "a string")
			}
		case "content":
			if isNull, err := s.null(); err != nil {
				return jsonErr(err, "messages")
			} else if isNull {
				continue
			}
			sawContent = true
			if images, err = d.content(m, i); err != nil {
				return err
			}
		case "name":
			if m.Name, err = s.optStr(); err != nil {
				return fieldErr(err, idx("messages", i, ".name"), "a string")
			}
		case "tool_call_id":
			if m.ToolCallID, err = s.optStr(); err != nil {
				return fieldErr(err, idx("messages", i, ".tool_call_id"), "a string")
			}
			// The same short id as the call's (see toolCalls).
			m.ToolCallID = llm.ShortToolID(m.ToolCallID)
		case "tool_calls":
			if err := d.toolCalls(m, i); err != nil {
				return err
			}
		default:
			// Fields a client echoes back from a response (refusal, annotations, audio,
			// function_call: null) carry nothing a provider needs.
			if _, err := s.skip(); err != nil {
				return jsonErr(err, "messages")
			}
		}
	}
	if !sawRole {
		return invalid(idx("messages", i, ".role"), "missing required parameter")
	}
	switch string(role) {
	case "system", "developer":
		m.Role, m.Developer = llm.RoleSystem, string(role) == "developer"
	case "user":
		m.Role = llm.RoleUser
	case "assistant":
		m.Role = llm.RoleAssistant
	case "tool":
		m.Role = llm.RoleTool
	default:
		return invalid(idx("messages", i, ".role"), "unsupported role "+strconv.Quote(string(role))+"; expected system, developer, user, assistant or tool")
	}
	if images >= 0 && m.Role != llm.RoleUser {
		return invalid(idx("messages", i, ".content")+idx("", images, ".type"), "image parts are only allowed in user messages")
	}
	if len(m.ToolCalls) > 0 && m.Role != llm.RoleAssistant {
		return invalid(idx("messages", i, ".tool_calls"), "only assistant messages can have tool_calls")
	}
	switch m.Role {
	case llm.RoleAssistant:
		if !sawContent && len(m.ToolCalls) == 0 {
			return invalid(idx("messages", i, ".content"), "an assistant message needs content or tool_calls")
		}
	case llm.RoleTool:
		if m.ToolCallID == "" {
			return invalid(idx("messages", i, ".tool_call_id"), "missing required parameter for a tool message")
		}
		fallthrough
	default:
		if !sawContent {
			return invalid(idx("messages", i, ".content"), "missing required parameter")
		}
	}
	return nil
}

// content reads a message's content (a string or an array of parts) and returns the
// index of the first image part, or -1.
func (d *reqDecoder) content(m *llm.Message, i int) (int, error) {
	s := &d.s
	switch s.peek() {
	case '"':
		v, err := s.str()
		if err != nil {
			return -1, jsonErr(err, "messages")
		}
		m.Content = []llm.Part{{Type: llm.PartText, Text: v}}
		return -1, nil
	case '[':
	default:
		return -1, s.mismatch(idx("messages", i, ".content"), "expected a string or an array of content parts")
	}
	s.arrStart()
	firstImage := -1
	m.Content = make([]llm.Part, 0, 2)
	for j, first := 0, true; ; j, first = j+1, false {
		ok, err := s.nextElem(first)
		if err != nil {
			return -1, jsonErr(err, "messages")
		}
		if !ok {
			return firstImage, nil
		}
		m.Content = append(m.Content, llm.Part{})
		if err := d.part(&m.Content[j], i, j); err != nil {
			return -1, err
		}
		if m.Content[j].Type == llm.PartImage && firstImage < 0 {
			firstImage = j
		}
	}
}

func (d *reqDecoder) part(p *llm.Part, i, j int) error {
	s := &d.s
	path := func(rest string) string { return idx("messages", i, ".content") + idx("", j, rest) }
	if s.peek() != '{' {
		return s.mismatch(path(""), "expected a content part object")
	}
	s.objStart()
	var typ []byte
	sawType, sawText, sawImage := false, false, false
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "messages")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "type":
			sawType = true
			if typ, err = s.bytesValue(); err != nil {
				return fieldErr(err, path(".type"), "a string")
			}
		case "text", "refusal":
			sawText = true
			if p.Text, err = s.stringValue(); err != nil {
				return fieldErr(err, path("."+string(key)), "a string")
			}
		case "image_url":
			sawImage = true
			if err := d.imageURL(p, func(rest string) string { return path(".image_url" + rest) }); err != nil {
				return err
			}
		default:
			if _, err := s.skip(); err != nil {
				return jsonErr(err, "messages")
			}
		}
	}
	switch {
	case !sawType:
		return invalid(path(".type"), "missing required parameter")
	case string(typ) == "text" || string(typ) == "refusal":
		if !sawText {
			return invalid(path("."+string(typ)), "missing required parameter")
		}
		p.Type = llm.PartText
		p.ImageURL, p.MediaType, p.Base64, p.Detail = "", "", "", ""
	case string(typ) == "image_url":
		if !sawImage {
			return invalid(path(".image_url"), "missing required parameter")
		}
		p.Type = llm.PartImage
		p.Text = ""
	default:
		return invalid(path(".type"), "unsupported content part type "+strconv.Quote(string(typ))+"; expected text or image_url")
	}
	return nil
}

func (d *reqDecoder) imageURL(p *llm.Part, path func(rest string) string) error {
	s := &d.s
	var url string
	switch s.peek() {
	case '"': // an older shorthand some clients still send
		v, err := s.str()
		if err != nil {
			return jsonErr(err, path(""))
		}
		url = v
	case '{':
		s.objStart()
		sawURL := false
		for first := true; ; first = false {
			key, ok, err := s.nextKey(first)
			if err != nil {
				return jsonErr(err, "")
			}
			if !ok {
				break
			}
			switch string(key) {
			case "url":
				sawURL = true
				if url, err = s.stringValue(); err != nil {
					return fieldErr(err, path(".url"), "a string")
				}
			case "detail":
				if p.Detail, err = s.optStr(); err != nil {
					return fieldErr(err, path(".detail"), "a string")
				}
			default:
				if _, err := s.skip(); err != nil {
					return jsonErr(err, "")
				}
			}
		}
		if !sawURL {
			return invalid(path(".url"), "missing required parameter")
		}
	default:
		return s.mismatch(path(""), "expected an object with a url")
	}
	if url == "" {
		return invalid(path(".url"), "must not be empty")
	}
	setImageURL(p, url)
	return nil
}

// setImageURL stores an image URL, splitting a base64 data: URL into its media type
// and data so that formats that want raw base64 (Anthropic, Gemini) need not parse it.
func setImageURL(p *llm.Part, url string) {
	const pfx = "data:"
	if len(url) > len(pfx) && url[:len(pfx)] == pfx {
		rest := url[len(pfx):]
		for k := 0; k < len(rest); k++ {
			if rest[k] == ',' {
				meta := rest[:k]
				const b64 = ";base64"
				if len(meta) > len(b64) && meta[len(meta)-len(b64):] == b64 {
					p.MediaType, p.Base64 = meta[:len(meta)-len(b64)], rest[k+1:]
					return
				}
				break
			}
		}
	}
	p.ImageURL = url
}

func (d *reqDecoder) toolCalls(m *llm.Message, i int) error {
	s := &d.s
	param := func() string { return idx("messages", i, ".tool_calls") }
	if isNull, err := s.null(); isNull || err != nil {
		return jsonErr(err, "")
	}
	if s.peek() != '[' {
		return s.mismatch(param(), "expected an array of tool calls")
	}
	s.arrStart()
	for j, first := 0, true; ; j, first = j+1, false {
		ok, err := s.nextElem(first)
		if err != nil {
			return jsonErr(err, "")
		}
		if !ok {
			return nil
		}
		p := func(rest string) string { return idx(param(), j, rest) }
		if s.peek() != '{' {
			return s.mismatch(p(""), "expected a tool call object")
		}
		var tc llm.ToolCall
		var typ []byte
		sawFunc := false
		s.objStart()
		for first := true; ; first = false {
			key, ok, err := s.nextKey(first)
			if err != nil {
				return jsonErr(err, "")
			}
			if !ok {
				break
			}
			switch string(key) {
			case "id":
				if tc.ID, err = s.stringValue(); err != nil {
					return fieldErr(err, p(".id"), "a string")
				}
			case "type":
				if typ, err = s.bytesValue(); err != nil {
					return fieldErr(err, p(".type"), "a string")
				}
			case "function":
				sawFunc = true
				if err := d.callFunction(&tc, func(rest string) string { return p(".function" + rest) }); err != nil {
					return err
				}
			default:
				if _, err := s.skip(); err != nil {
					return jsonErr(err, "")
				}
			}
		}
		switch {
		case len(typ) > 0 && string(typ) != "function":
			return invalid(p(".type"), "unsupported tool call type "+strconv.Quote(string(typ))+"; expected function")
		case tc.ID == "":
			return invalid(p(".id"), "missing required parameter")
		case !sawFunc:
			return invalid(p(".function"), "missing required parameter")
		}
		// An id Arbiter gave out may carry the provider's signature on the call
		// (llm.JoinToolID): the call keeps it, providers get the short id.
		tc.ID, tc.Signature = llm.SplitToolID(tc.ID)
		m.ToolCalls = append(m.ToolCalls, tc)
	}
}

func (d *reqDecoder) callFunction(tc *llm.ToolCall, path func(rest string) string) error {
	s := &d.s
	if s.peek() != '{' {
		return s.mismatch(path(""), "expected an object")
	}
	s.objStart()
	sawName := false
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "name":
			sawName = true
			if tc.Name, err = s.stringValue(); err != nil {
				return fieldErr(err, path(".name"), "a string")
			}
		case "arguments":
			if tc.Arguments, err = s.stringValue(); err != nil {
				return fieldErr(err, path(".arguments"), "a string (JSON-encoded arguments)")
			}
		default:
			if _, err := s.skip(); err != nil {
				return jsonErr(err, "")
			}
		}
	}
	if !sawName || tc.Name == "" {
		return invalid(path(".name"), "missing required parameter")
	}
	return nil
}

func (d *reqDecoder) tools(req *llm.Request) error {
	s := &d.s
	if isNull, err := s.null(); isNull || err != nil {
		return jsonErr(err, "tools")
	}
	if s.peek() != '[' {
		return s.mismatch("tools", "expected an array of tools")
	}
	s.arrStart()
	for j, first := 0, true; ; j, first = j+1, false {
		ok, err := s.nextElem(first)
		if err != nil {
			return jsonErr(err, "tools")
		}
		if !ok {
			return nil
		}
		p := func(rest string) string { return idx("tools", j, rest) }
		if s.peek() != '{' {
			return s.mismatch(p(""), "expected a tool object")
		}
		var t llm.Tool
		var typ []byte
		sawType, sawFunc := false, false
		s.objStart()
		for first := true; ; first = false {
			key, ok, err := s.nextKey(first)
			if err != nil {
				return jsonErr(err, "")
			}
			if !ok {
				break
			}
			switch string(key) {
			case "type":
				sawType = true
				if typ, err = s.bytesValue(); err != nil {
					return fieldErr(err, p(".type"), "a string")
				}
			case "function":
				sawFunc = true
				if err := d.toolFunction(&t, func(rest string) string { return p(".function" + rest) }); err != nil {
					return err
				}
			default:
				if _, err := s.skip(); err != nil {
					return jsonErr(err, "")
				}
			}
		}
		switch {
		case !sawType:
			return invalid(p(".type"), "missing required parameter")
		case string(typ) != "function":
			return invalid(p(".type"), "unsupported tool type "+strconv.Quote(string(typ))+"; expected function")
		case !sawFunc:
			return invalid(p(".function"), "missing required parameter")
		}
		req.Tools = append(req.Tools, t)
	}
}

func (d *reqDecoder) toolFunction(t *llm.Tool, path func(rest string) string) error {
	s := &d.s
	if s.peek() != '{' {
		return s.mismatch(path(""), "expected an object")
	}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "name":
			if t.Name, err = s.stringValue(); err != nil {
				return fieldErr(err, path(".name"), "a string")
			}
		case "description":
			if t.Description, err = s.optStr(); err != nil {
				return fieldErr(err, path(".description"), "a string")
			}
		case "parameters":
			if isNull, err := s.null(); err != nil {
				return jsonErr(err, "")
			} else if isNull {
				continue
			}
			if s.peek() != '{' {
				return s.mismatch(path(".parameters"), "expected a JSON schema object")
			}
			raw, err := s.skip()
			if err != nil {
				return jsonErr(err, "")
			}
			t.Parameters = append(json.RawMessage(nil), raw...)
		case "strict":
			if isNull, err := s.null(); err != nil {
				return jsonErr(err, "")
			} else if isNull {
				continue
			}
			v, err := s.boolValue()
			if err != nil {
				return fieldErr(err, path(".strict"), "a boolean")
			}
			t.Strict = &v
		default:
			if _, err := s.skip(); err != nil {
				return jsonErr(err, "")
			}
		}
	}
	if t.Name == "" {
		return invalid(path(".name"), "missing required parameter")
	}
	return nil
}

func (d *reqDecoder) toolChoice(req *llm.Request) error {
	s := &d.s
	const expected = "expected \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}"
	switch s.peek() {
	case 'n':
		return jsonErr(s.literal("null"), "tool_choice")
	case '"':
		v, err := s.str()
		if err != nil {
			return jsonErr(err, "tool_choice")
		}
		switch v {
		case "none", "auto", "required":
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceMode(v)}
			return nil
		}
		return invalid("tool_choice", "invalid value "+strconv.Quote(v)+"; "+expected)
	case '{':
	default:
		return s.mismatch("tool_choice", expected)
	}
	s.objStart()
	var typ []byte
	var name string
	sawFunc := false
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "tool_choice")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "type":
			if typ, err = s.bytesValue(); err != nil {
				return fieldErr(err, "tool_choice.type", "a string")
			}
		case "function":
			sawFunc = true
			if s.peek() != '{' {
				return s.mismatch("tool_choice.function", "expected an object")
			}
			s.objStart()
			for first := true; ; first = false {
				key, ok, err := s.nextKey(first)
				if err != nil {
					return jsonErr(err, "tool_choice.function")
				}
				if !ok {
					break
				}
				if string(key) == "name" {
					if name, err = s.stringValue(); err != nil {
						return fieldErr(err, "tool_choice.function.name", "a string")
					}
					continue
				}
				if _, err := s.skip(); err != nil {
					return jsonErr(err, "tool_choice.function")
				}
			}
		default:
			if _, err := s.skip(); err != nil {
				return jsonErr(err, "tool_choice")
			}
		}
	}
	switch {
	case string(typ) != "function":
		return invalid("tool_choice.type", "unsupported value "+strconv.Quote(string(typ))+"; expected function")
	case !sawFunc:
		return invalid("tool_choice.function", "missing required parameter")
	case name == "":
		return invalid("tool_choice.function.name", "missing required parameter")
	}
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: name}
	return nil
}

func (d *reqDecoder) responseFormat(req *llm.Request) error {
	s := &d.s
	if isNull, err := s.null(); isNull || err != nil {
		return jsonErr(err, "response_format")
	}
	if s.peek() != '{' {
		return s.mismatch("response_format", "expected an object")
	}
	s.objStart()
	rf := &llm.ResponseFormat{}
	var typ []byte
	sawSchema := false
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, "response_format")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "type":
			if typ, err = s.bytesValue(); err != nil {
				return fieldErr(err, "response_format.type", "a string")
			}
		case "json_schema":
			sawSchema = true
			if err := d.jsonSchema(rf); err != nil {
				return err
			}
		default:
			if _, err := s.skip(); err != nil {
				return jsonErr(err, "response_format")
			}
		}
	}
	switch string(typ) {
	case "text":
		rf.Type = llm.ResponseText
		rf.Name, rf.Description, rf.Schema, rf.Strict = "", "", nil, nil
	case "json_object":
		rf.Type = llm.ResponseJSONObject
		rf.Name, rf.Description, rf.Schema, rf.Strict = "", "", nil, nil
	case "json_schema":
		if !sawSchema {
			return invalid("response_format.json_schema", "missing required parameter")
		}
		rf.Type = llm.ResponseJSONSchema
	case "":
		return invalid("response_format.type", "missing required parameter")
	default:
		return invalid("response_format.type", "unsupported value "+strconv.Quote(string(typ))+"; expected text, json_object or json_schema")
	}
	req.ResponseFormat = rf
	return nil
}

func (d *reqDecoder) jsonSchema(rf *llm.ResponseFormat) error {
	s := &d.s
	const param = "response_format.json_schema"
	if s.peek() != '{' {
		return s.mismatch(param, "expected an object")
	}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return jsonErr(err, param)
		}
		if !ok {
			break
		}
		switch string(key) {
		case "name":
			if rf.Name, err = s.stringValue(); err != nil {
				return fieldErr(err, param+".name", "a string")
			}
		case "description":
			if rf.Description, err = d.optString(param + ".description"); err != nil {
				return err
			}
		case "schema":
			if isNull, err := s.null(); err != nil {
				return jsonErr(err, param)
			} else if isNull {
				continue
			}
			if s.peek() != '{' {
				return s.mismatch(param+".schema", "expected a JSON schema object")
			}
			raw, err := s.skip()
			if err != nil {
				return jsonErr(err, param)
			}
			rf.Schema = append(json.RawMessage(nil), raw...)
		case "strict":
			if rf.Strict, err = d.optBool(param + ".strict"); err != nil {
				return err
			}
		default:
			if _, err := s.skip(); err != nil {
				return jsonErr(err, param)
			}
		}
	}
	if rf.Name == "" {
		return invalid(param+".name", "missing required parameter")
	}
	return nil
}
