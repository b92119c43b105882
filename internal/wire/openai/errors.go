package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// errorType is OpenAI's error "type" for a kind.
func errorType(k llm.ErrorKind) string {
	switch k {
	case llm.KindInvalidRequest, llm.KindContextLength, llm.KindContentFilter, llm.KindRequestTooLarge, llm.KindNotFound:
		// OpenAI reports an unknown model (404, code model_not_found) as an
		// invalid_request_error too.
		return "invalid_request_error"
	case llm.KindAuthentication:
		return "authentication_error"
	case llm.KindPermission:
		return "permission_error"
	case llm.KindRateLimited:
		return "rate_limit_error"
	default:
		return "server_error"
	}
}

// defaultCode is the code sent for a kind when the error carries none, so that
// clients (and DecodeError) can tell the cases apart.
func defaultCode(k llm.ErrorKind) string {
	switch k {
	case llm.KindContextLength:
		return "context_length_exceeded"
	case llm.KindRateLimited:
		return "rate_limit_exceeded"
	case llm.KindContentFilter:
		return "content_filter"
	case llm.KindRequestTooLarge:
		return "request_too_large"
	case llm.KindOverloaded:
		return "overloaded"
	case llm.KindTimeout:
		return "timeout"
	case llm.KindCanceled:
		return "canceled"
	}
	return ""
}

// EncodeError returns OpenAI's error body for err and the HTTP status to send it
// with: {"error":{"message":…,"type":…,"param":…,"code":…}}.
func EncodeError(err *llm.Error) (status int, body []byte) {
	return err.HTTPStatus(), appendErrorBody(make([]byte, 0, 128+len(err.Message)), err)
}

func appendErrorBody(b []byte, err *llm.Error) []byte {
	msg := err.Message
	if msg == "" {
		msg = err.Error()
	}
	code := err.Code
	if code == "" {
		code = defaultCode(err.Kind)
	}
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, msg)
	typ := err.Type
	if typ == "" {
		typ = errorType(err.Kind)
	}
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"param":`...)
	b = appendStringOrNull(b, err.Param)
	b = append(b, `,"code":`...)
	b = appendStringOrNull(b, code)
	return append(b, "}}"...)
}

// errorObject is the inside of OpenAI's error body. Code is a string for OpenAI but a
// number for some compatible hosts, hence raw.
type errorObject struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

// DecodeError turns an upstream error response into an *llm.Error: the kind from the
// body's code and type where they say more than the status (context_length_exceeded,
// rate_limit_exceeded, insufficient_quota), else from the status (529 → overloaded);
// RetryAfter from retry-after-ms or Retry-After (seconds or an HTTP date). It accepts
// the shapes OpenAI-compatible hosts use too: {"error":"text"}, {"message":…},
// {"detail":…}. The message is the upstream's; callers must redact secrets from it.
func DecodeError(status int, h http.Header, body []byte) *llm.Error {
	e := parseErrorBody(status, body)
	e.Status = status
	e.RetryAfter = retryAfter(h, time.Now())
	return e
}

func parseErrorBody(status int, body []byte) *llm.Error {
	var top struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
		Detail  json.RawMessage `json:"detail"`
	}
	var obj errorObject
	if err := json.Unmarshal(body, &top); err != nil {
		msg := "upstream returned HTTP " + strconv.Itoa(status)
		if t := strings.TrimSpace(string(body)); t != "" {
			if len(t) > 200 {
				t = t[:200] + "…"
			}
			msg += ": " + t
		}
		return &llm.Error{Kind: llm.StatusKind(status), Message: msg}
	}
	switch {
	case len(top.Error) > 0 && top.Error[0] == '{':
		_ = json.Unmarshal(top.Error, &obj)
	case len(top.Error) > 0 && top.Error[0] == '"':
		_ = json.Unmarshal(top.Error, &obj.Message)
	default:
		obj.Message, obj.Type, obj.Code = top.Message, top.Type, top.Code
		if obj.Message == "" && len(top.Detail) > 0 {
			if top.Detail[0] == '"' {
				_ = json.Unmarshal(top.Detail, &obj.Message)
			} else {
				obj.Message = string(top.Detail)
			}
		}
	}
	return errorFromObject(status, &obj)
}

func rawString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func errorFromObject(status int, obj *errorObject) *llm.Error {
	code := rawString(obj.Code)
	e := &llm.Error{Message: obj.Message, Code: code, Param: rawString(obj.Param)}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + strconv.Itoa(status)
		if status == 0 {
			e.Message = "upstream reported an error"
		}
	}
	e.Kind = errorKind(status, obj.Type, code, obj.Message)
	return e
}

func errorKind(status int, typ, code, msg string) llm.ErrorKind {
	switch code {
	case "context_length_exceeded", "string_above_max_length":
		return llm.KindContextLength
	case "rate_limit_exceeded", "insufficient_quota", "tokens_exceeded", "requests":
		return llm.KindRateLimited
	case "content_filter", "content_policy_violation":
		return llm.KindContentFilter
	case "overloaded", "engine_overloaded":
		return llm.KindOverloaded
	case "invalid_api_key":
		return llm.KindAuthentication
	case "model_not_found":
		return llm.KindNotFound
	case "request_too_large":
		return llm.KindRequestTooLarge
	}
	if status == http.StatusBadRequest && strings.Contains(msg, "maximum context length") {
		return llm.KindContextLength // vLLM and others say it only in words
	}
	if status == 529 || typ == "overloaded_error" {
		return llm.KindOverloaded
	}
	if status != 0 {
		return llm.StatusKind(status)
	}
	// Mid-stream errors have no status: go by type.
	switch typ {
	case "invalid_request_error":
		return llm.KindInvalidRequest
	case "authentication_error":
		return llm.KindAuthentication
	case "permission_error":
		return llm.KindPermission
	case "not_found_error":
		return llm.KindNotFound
	case "rate_limit_error", "tokens", "requests":
		return llm.KindRateLimited
	}
	return llm.KindUpstreamServer
}

// retryAfter reads how long the upstream asked us to wait: retry-after-ms (OpenAI's,
// more precise) first, then Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
