package openai

import (
	"encoding/json"
	"errors"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// malformed reports an upstream body that is not what the format promises. Such a
// response is the provider's fault, so it is an upstream_server error (retryable
// elsewhere), never the client's.
func malformed(err error, field string) *llm.Error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	msg := err.Error()
	if got, ok := isWrongType(err); ok {
		msg = "unexpected " + got
	}
	if field != "" {
		msg = field + ": " + msg
	}
	return &llm.Error{Kind: llm.KindUpstreamServer, Message: "malformed response from upstream: " + msg}
}

// DecodeResponse parses a chat.completion body from an OpenAI-compatible upstream. A
// body that is an error object (some hosts answer errors with status 200) is returned
// as its *llm.Error; malformed JSON is an upstream_server error.
func DecodeResponse(body []byte) (*llm.Response, error) {
	s := &scanner{data: body}
	if s.peek() != '{' {
		if s.peek() == 0 {
			return nil, malformed(errors.New("empty body"), "")
		}
		return nil, malformed(errors.New("expected a JSON object, got "+kindName(s.peek())), "")
	}
	r := &llm.Response{}
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return nil, malformed(err, "")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "id":
			r.ID, err = s.optStr()
		case "model":
			r.Model, err = s.optStr()
		case "system_fingerprint":
			r.SystemFingerprint, err = s.optStr()
		case "created":
			r.Created, err = s.optInt()
		case "choices":
			err = decodeChoices(s, r)
		case "usage":
			var u *llm.Usage
			if u, err = decodeUsage(s); u != nil {
				r.Usage = *u
			}
		case "error":
			raw, err := s.skip()
			if err != nil {
				return nil, malformed(err, "error")
			}
			if string(raw) != "null" {
				return nil, errorEvent(raw)
			}
		default:
			_, err = s.skip()
		}
		if err != nil {
			return nil, malformed(err, string(key))
		}
	}
	if err := s.end(); err != nil {
		return nil, malformed(err, "")
	}
	if len(r.Choices) == 0 {
		return nil, malformed(errors.New("no choices"), "")
	}
	return r, nil
}

// errorEvent decodes an error object sent in place of a response or chunk.
func errorEvent(raw []byte) *llm.Error {
	var obj errorObject
	if raw[0] == '"' {
		_ = json.Unmarshal(raw, &obj.Message)
	} else if err := json.Unmarshal(raw, &obj); err != nil {
		return malformed(err, "error")
	}
	return errorFromObject(0, &obj)
}

func (s *scanner) optStr() (string, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return "", err
	}
	return s.stringValue()
}

func (s *scanner) optInt() (int64, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return 0, err
	}
	return s.intValue()
}

func finishReason(v string) llm.FinishReason {
	if v == "function_call" {
		return llm.FinishToolCalls
	}
	return llm.FinishReason(v)
}

func decodeChoices(s *scanner, r *llm.Response) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '[' {
		return s.wrong()
	}
	s.arrStart()
	for i, first := 0, true; ; i, first = i+1, false {
		ok, err := s.nextElem(first)
		if err != nil || !ok {
			return err
		}
		if s.peek() != '{' {
			return s.wrong()
		}
		c := llm.Choice{Index: i, Message: llm.Message{Role: llm.RoleAssistant}}
		s.objStart()
		for first := true; ; first = false {
			key, ok, err := s.nextKey(first)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			switch string(key) {
			case "index":
				var n int64
				n, err = s.intValue()
				c.Index = int(n)
			case "finish_reason":
				var v string
				v, err = s.optStr()
				c.FinishReason = finishReason(v)
			case "message":
				err = decodeMessage(s, &c.Message)
			default:
				_, err = s.skip()
			}
			if err != nil {
				return err
			}
		}
		r.Choices = append(r.Choices, c)
	}
}

// decodeMessage reads a response message: content (a string, null, or parts from
// hosts that send them), refusal and tool calls.
func decodeMessage(s *scanner, m *llm.Message) error {
	if s.peek() != '{' {
		return s.wrong()
	}
	s.objStart()
	var text, refusal string
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(key) {
		case "content":
			text, err = contentText(s)
		case "refusal":
			// A refusal is the model's answer; formats without the field carry it as text.
			refusal, err = s.optStr()
		case "tool_calls":
			err = decodeToolCalls(s, m)
		default:
			_, err = s.skip()
		}
		if err != nil {
			return err
		}
	}
	if text == "" {
		text = refusal
	}
	if text != "" || len(m.ToolCalls) == 0 {
		m.Content = []llm.Part{{Type: llm.PartText, Text: text}}
	}
	return nil
}

// contentText reads content as a string, null, or an array of parts whose text is
// joined (Mistral's reasoning models answer with parts).
func contentText(s *scanner) (string, error) {
	switch s.peek() {
	case 'n':
		return "", s.literal("null")
	case '"':
		return s.str()
	case '[':
	default:
		return "", s.wrong()
	}
	var out []byte
	s.arrStart()
	for first := true; ; first = false {
		ok, err := s.nextElem(first)
		if err != nil {
			return "", err
		}
		if !ok {
			return string(out), nil
		}
		if s.peek() != '{' {
			if _, err := s.skip(); err != nil {
				return "", err
			}
			continue
		}
		var typ, text string
		s.objStart()
		for first := true; ; first = false {
			key, ok, err := s.nextKey(first)
			if err != nil {
				return "", err
			}
			if !ok {
				break
			}
			switch string(key) {
			case "type":
				typ, err = s.optStr()
			case "text":
				if s.peek() == '"' {
					text, err = s.str()
				} else {
					_, err = s.skip()
				}
			default:
				_, err = s.skip()
			}
			if err != nil {
				return "", err
			}
		}
		if typ == "text" || typ == "" {
			out = append(out, text...)
		}
	}
}

func decodeToolCalls(s *scanner, m *llm.Message) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '[' {
		return s.wrong()
	}
	s.arrStart()
	for first := true; ; first = false {
		ok, err := s.nextElem(first)
		if err != nil || !ok {
			return err
		}
		var tc llm.ToolCall
		if _, err := toolCallDelta(s, &tc); err != nil {
			return err
		}
		m.ToolCalls = append(m.ToolCalls, tc)
	}
}

// toolCallDelta reads one tool call object (complete, or a stream delta) and returns
// its index, or -1 when it has none.
func toolCallDelta(s *scanner, tc *llm.ToolCall) (int, error) {
	if s.peek() != '{' {
		return -1, s.wrong()
	}
	index := -1
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return -1, err
		}
		if !ok {
			return index, nil
		}
		switch string(key) {
		case "index":
			var n int64
			n, err = s.intValue()
			index = int(n)
		case "id":
			tc.ID, err = s.optStr()
		case "function":
			if isNull, nerr := s.null(); nerr != nil || isNull {
				err = nerr
				break
			}
			if s.peek() != '{' {
				return -1, s.wrong()
			}
			s.objStart()
			for first := true; ; first = false {
				key, ok, ferr := s.nextKey(first)
				if ferr != nil {
					return -1, ferr
				}
				if !ok {
					break
				}
				switch string(key) {
				case "name":
					tc.Name, ferr = s.optStr()
				case "arguments":
					if s.peek() == '{' {
						// A few hosts send arguments as an object; keep it as JSON text.
						var raw []byte
						raw, ferr = s.skip()
						tc.Arguments = string(raw)
					} else {
						tc.Arguments, ferr = s.optStr()
					}
				default:
					_, ferr = s.skip()
				}
				if ferr != nil {
					return -1, ferr
				}
			}
		default:
			_, err = s.skip()
		}
		if err != nil {
			return -1, err
		}
	}
}

// decodeUsage reads a usage object (nil for null). It understands OpenAI's details
// and DeepSeek's prompt_cache_hit_tokens.
func decodeUsage(s *scanner) (*llm.Usage, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return nil, err
	}
	if s.peek() != '{' {
		return nil, s.wrong()
	}
	u := &llm.Usage{}
	cacheHit := -1
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		var n int64
		switch string(key) {
		case "prompt_tokens":
			n, err = s.optInt()
			u.InputTokens = int(n)
		case "completion_tokens":
			n, err = s.optInt()
			u.OutputTokens = int(n)
		case "prompt_cache_hit_tokens":
			n, err = s.optInt()
			cacheHit = int(n)
		case "prompt_tokens_details":
			n, err = detailField(s, "cached_tokens")
			u.CachedInputTokens = int(n)
		case "completion_tokens_details":
			n, err = detailField(s, "reasoning_tokens")
			u.ReasoningTokens = int(n)
		default:
			_, err = s.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	if u.CachedInputTokens == 0 && cacheHit > 0 {
		u.CachedInputTokens = cacheHit
	}
	return u, nil
}

// detailField reads one integer field of a details object (null allowed).
func detailField(s *scanner, name string) (int64, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return 0, err
	}
	if s.peek() != '{' {
		return 0, s.wrong()
	}
	var v int64
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return 0, err
		}
		if !ok {
			return v, nil
		}
		if string(key) == name {
			if v, err = s.optInt(); err != nil {
				return 0, err
			}
			continue
		}
		if _, err := s.skip(); err != nil {
			return 0, err
		}
	}
}
