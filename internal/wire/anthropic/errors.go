package anthropic

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// StatusOverloaded is Anthropic's status for overloaded_error.
const StatusOverloaded = 529

// errorType maps a kind onto Anthropic's error type and status.
func errorType(k llm.ErrorKind) (string, int) {
	switch k {
	case llm.KindInvalidRequest, llm.KindContextLength, llm.KindContentFilter:
		return "invalid_request_error", http.StatusBadRequest
	case llm.KindAuthentication:
		return "authentication_error", http.StatusUnauthorized
	case llm.KindPermission:
		return "permission_error", http.StatusForbidden
	case llm.KindNotFound:
		return "not_found_error", http.StatusNotFound
	case llm.KindRequestTooLarge:
		return "request_too_large", http.StatusRequestEntityTooLarge
	case llm.KindRateLimited:
		return "rate_limit_error", http.StatusTooManyRequests
	case llm.KindOverloaded:
		return "overloaded_error", StatusOverloaded
	case llm.KindTimeout:
		return "timeout_error", http.StatusGatewayTimeout
	case llm.KindCanceled:
		return "api_error", 499
	}
	return "api_error", http.StatusInternalServerError
}

// EncodeError writes err as {"type":"error","error":{"type","message"}} with the
// status Anthropic uses for that type (529 for overloaded_error).
func EncodeError(err *llm.Error) (int, []byte) {
	typ, status := errorType(err.Kind)
	return status, errorJSON(typ, message(err))
}

// message is the text a client sees: the error's message, never empty.
func message(err *llm.Error) string {
	if err.Message != "" {
		return err.Message
	}
	return err.Error()
}

func errorJSON(typ, message string) []byte {
	b, _ := json.Marshal(wireErrorBody{Type: "error", Error: wireErrorInfo{Type: typ, Message: message}})
	return b
}

// DecodeError turns an upstream error response into an *llm.Error, keeping
// Retry-After (or retry-after-ms) and the status.
func DecodeError(status int, h http.Header, body []byte) *llm.Error {
	e := decodeErrorBody(status, body)
	e.RetryAfter = retryAfter(h)
	return e
}

func decodeErrorBody(status int, body []byte) *llm.Error {
	var w wireErrorBody
	e := &llm.Error{Status: status}
	if json.Unmarshal(body, &w) == nil && w.Error.Type != "" {
		e.Message = w.Error.Message
		e.Kind = kindOf(w.Error.Type, status)
	} else {
		e.Kind = llm.StatusKind(status)
		e.Message = "anthropic: HTTP " + strconv.Itoa(status)
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 512 {
			e.Message += ": " + s
		}
	}
	if e.Kind == llm.KindInvalidRequest && isContextLength(e.Message) {
		e.Kind = llm.KindContextLength
	}
	return e
}

func kindOf(typ string, status int) llm.ErrorKind {
	switch typ {
	case "invalid_request_error":
		return llm.KindInvalidRequest
	case "authentication_error":
		return llm.KindAuthentication
	case "permission_error", "billing_error":
		return llm.KindPermission
	case "not_found_error":
		return llm.KindNotFound
	case "request_too_large":
		return llm.KindRequestTooLarge
	case "rate_limit_error":
		return llm.KindRateLimited
	case "overloaded_error":
		return llm.KindOverloaded
	case "timeout_error":
		return llm.KindTimeout
	case "api_error":
		return llm.KindUpstreamServer
	}
	if status == 0 {
		return llm.KindUpstreamServer
	}
	return llm.StatusKind(status)
}

func isContextLength(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "prompt is too long") || strings.Contains(m, "context window") ||
		strings.Contains(m, "context length")
}

// retryAfter reads retry-after-ms (milliseconds) or Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
