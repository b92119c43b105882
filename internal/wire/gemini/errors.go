package gemini

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// errorStatus maps a kind onto Google's canonical status name and HTTP code.
func errorStatus(k llm.ErrorKind) (string, int) {
	switch k {
	case llm.KindInvalidRequest, llm.KindContextLength, llm.KindContentFilter:
		return "INVALID_ARGUMENT", http.StatusBadRequest
	case llm.KindRequestTooLarge:
		return "INVALID_ARGUMENT", http.StatusRequestEntityTooLarge
	case llm.KindAuthentication:
		return "UNAUTHENTICATED", http.StatusUnauthorized
	case llm.KindPermission:
		return "PERMISSION_DENIED", http.StatusForbidden
	case llm.KindNotFound:
		return "NOT_FOUND", http.StatusNotFound
	case llm.KindRateLimited:
		return "RESOURCE_EXHAUSTED", http.StatusTooManyRequests
	case llm.KindOverloaded:
		return "UNAVAILABLE", http.StatusServiceUnavailable
	case llm.KindTimeout:
		return "DEADLINE_EXCEEDED", http.StatusGatewayTimeout
	case llm.KindCanceled:
		return "CANCELLED", 499
	}
	return "INTERNAL", http.StatusInternalServerError
}

// EncodeError writes err as {"error":{"code","message","status"}}.
func EncodeError(err *llm.Error) (int, []byte) {
	status, code := errorStatus(err.Kind)
	msg := err.Message
	if msg == "" {
		msg = err.Error()
	}
	return code, errorJSON(code, msg, status)
}

func errorJSON(code int, message, status string) []byte {
	b, _ := json.Marshal(wireErrorBody{Error: wireErrorInfo{Code: code, Message: message, Status: status}})
	return b
}

// DecodeError turns an upstream error response into an *llm.Error, keeping
// Retry-After, retry-after-ms, or the RetryInfo detail's retryDelay.
func DecodeError(status int, h http.Header, body []byte) *llm.Error {
	var w wireErrorBody
	var e *llm.Error
	if json.Unmarshal(body, &w) == nil && (w.Error.Status != "" || w.Error.Message != "") {
		e = errorFromInfo(w.Error, status)
	} else {
		e = &llm.Error{Kind: llm.StatusKind(status), Status: status, Message: "gemini: HTTP " + strconv.Itoa(status)}
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 512 {
			e.Message += ": " + s
		}
	}
	if d := retryAfter(h); d > 0 {
		e.RetryAfter = d
	}
	return e
}

func errorFromInfo(info wireErrorInfo, status int) *llm.Error {
	if status == 0 {
		status = info.Code
	}
	// Code is left empty: it is in the client's vocabulary, and the kind says it all.
	e := &llm.Error{Status: status, Message: info.Message, Kind: kindOf(info, status)}
	for _, d := range info.Details {
		var ri struct {
			Type       string `json:"@type"`
			RetryDelay string `json:"retryDelay"`
		}
		if json.Unmarshal(d, &ri) == nil && strings.HasSuffix(ri.Type, "google.rpc.RetryInfo") {
			if dur, err := time.ParseDuration(ri.RetryDelay); err == nil && dur > 0 {
				e.RetryAfter = dur
			}
		}
	}
	return e
}

func kindOf(info wireErrorInfo, status int) llm.ErrorKind {
	msg := strings.ToLower(info.Message)
	switch info.Status {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		switch {
		case status == http.StatusRequestEntityTooLarge:
			return llm.KindRequestTooLarge
		case strings.Contains(msg, "api key not valid") || strings.Contains(msg, "api_key_invalid"):
			// Gemini answers a bad key with 400 INVALID_ARGUMENT.
			return llm.KindAuthentication
		case strings.Contains(msg, "exceeds the maximum number of tokens") || strings.Contains(msg, "input token count"):
			return llm.KindContextLength
		}
		return llm.KindInvalidRequest
	case "UNAUTHENTICATED":
		return llm.KindAuthentication
	case "PERMISSION_DENIED":
		return llm.KindPermission
	case "NOT_FOUND":
		return llm.KindNotFound
	case "RESOURCE_EXHAUSTED":
		return llm.KindRateLimited
	case "UNAVAILABLE":
		return llm.KindOverloaded
	case "DEADLINE_EXCEEDED":
		return llm.KindTimeout
	case "CANCELLED":
		return llm.KindCanceled
	case "INTERNAL", "UNKNOWN", "DATA_LOSS", "ABORTED":
		return llm.KindUpstreamServer
	}
	if status == 0 {
		return llm.KindUpstreamServer
	}
	return llm.StatusKind(status)
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
