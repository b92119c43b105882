package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrorKind classifies failures so that every wire format can report them and the
// executor can decide whether to fail over.
type ErrorKind string

const (
	KindInvalidRequest  ErrorKind = "invalid_request"
	KindAuthentication  ErrorKind = "authentication"
	KindPermission      ErrorKind = "permission"
	KindNotFound        ErrorKind = "not_found"
	KindRateLimited     ErrorKind = "rate_limited"
	KindOverloaded      ErrorKind = "overloaded"
	KindContextLength   ErrorKind = "context_length_exceeded"
	KindContentFilter   ErrorKind = "content_filter"
	KindTimeout         ErrorKind = "timeout"
	KindUpstreamServer  ErrorKind = "upstream_server"
	KindCanceled        ErrorKind = "canceled"
	KindRequestTooLarge ErrorKind = "request_too_large"
)

// Error is a failure with a kind. Message must never contain a secret.
type Error struct {
	Kind    ErrorKind
	Message string
	// Param names the offending request field, where known ("messages[2].content").
	Param string
	// Code is a machine-readable code in the client's vocabulary, where one applies
	// ("model_not_found", "invalid_api_key").
	Code string
	// Type, where set, is the error type in the client's vocabulary when it is more
	// specific than the kind's (OpenAI's "insufficient_quota", "tokens"); formats
	// without such a type ignore it.
	Type string
	// Status is the upstream HTTP status that produced the error, or 0.
	Status int
	// RetryAfter is how long the upstream asked us to wait (Retry-After, retry-after-ms).
	RetryAfter time.Duration
	// Provider is the deployment that failed, for logs and the ledger.
	Provider string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	s := string(e.Kind) + ": " + e.Message
	if e.Provider != "" {
		s = e.Provider + ": " + s
	}
	if e.Err != nil && e.Message == "" {
		s += e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status a gateway answers with for this kind.
func (e *Error) HTTPStatus() int {
	switch e.Kind {
	case KindInvalidRequest, KindContextLength:
		return http.StatusBadRequest
	case KindAuthentication:
		return http.StatusUnauthorized
	case KindPermission:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindRateLimited:
		return http.StatusTooManyRequests
	case KindOverloaded:
		return http.StatusServiceUnavailable
	case KindContentFilter:
		return http.StatusBadRequest
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindCanceled:
		return 499 // client closed request; never seen by a client that left
	default:
		return http.StatusBadGateway
	}
}

// Retryable reports whether another attempt (the same deployment later, or another
// one) may succeed: rate limits, overload, server errors and timeouts.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimited, KindOverloaded, KindUpstreamServer, KindTimeout:
		return true
	}
	return false
}

// Errorf builds an *Error of a kind with a formatted message.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// AsError converts any error into an *Error: an *Error in the chain is returned as
// is; context cancellation and deadlines become canceled and timeout; anything else
// (connection refused, reset, DNS) is an upstream_server error.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindCanceled, Message: "request canceled", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Message: "deadline exceeded", Err: err}
	}
	return &Error{Kind: KindUpstreamServer, Message: err.Error(), Err: err}
}

// StatusKind maps an upstream HTTP status onto a kind, for adapters whose body says
// nothing more specific.
func StatusKind(status int) ErrorKind {
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return KindInvalidRequest
	case status == http.StatusUnauthorized:
		return KindAuthentication
	case status == http.StatusForbidden:
		return KindPermission
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusRequestEntityTooLarge:
		return KindRequestTooLarge
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return KindTimeout
	case status == http.StatusServiceUnavailable || status == 529:
		return KindOverloaded
	default:
		return KindUpstreamServer
	}
}
