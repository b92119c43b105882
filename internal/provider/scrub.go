package provider

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// Scrubber stamps an adapter's errors with the deployment's name and removes every
// secret from them, so that no key ever reaches a log line, a ledger or a client.
type Scrubber struct {
	name    string
	secrets []string
}

// Scrubber collects the secrets of a configuration: the API key, and the value of
// every extra header whose name suggests a credential (key, auth, token).
func (c Config) Scrubber(name string) Scrubber {
	s := Scrubber{name: name}
	if c.APIKey != "" {
		s.secrets = append(s.secrets, c.APIKey)
	}
	for k, v := range c.Headers {
		lk := strings.ToLower(k)
		if v != "" && (strings.Contains(lk, "key") || strings.Contains(lk, "auth") || strings.Contains(lk, "token")) {
			s.secrets = append(s.secrets, v)
		}
	}
	return s
}

// Redact removes every secret from text.
func (s Scrubber) Redact(text string) string {
	for _, k := range s.secrets {
		if strings.Contains(text, k) {
			text = strings.ReplaceAll(text, k, "[redacted]")
		}
	}
	return text
}

// Error converts err to an *llm.Error stamped with the deployment's name and with its
// message (and cause) scrubbed, without modifying an error value someone else holds.
func (s Scrubber) Error(err error) *llm.Error {
	c := *llm.AsError(err)
	c.Provider = s.name
	c.Message = s.Redact(c.Message)
	if c.Err != nil {
		if m := c.Err.Error(); s.Redact(m) != m {
			c.Err = errors.New(s.Redact(m))
		}
	}
	return &c
}

// Transport classifies a failure to send or read: the context's verdict first
// (canceled, deadline), else a connection problem with the upstream.
func (s Scrubber) Transport(ctx context.Context, what string, err error) *llm.Error {
	if cerr := ctx.Err(); cerr != nil {
		e := llm.AsError(cerr)
		return s.Error(&llm.Error{Kind: e.Kind, Message: e.Message + " while " + what, Err: cerr})
	}
	return s.Error(&llm.Error{Kind: llm.KindUpstreamServer, Message: what + ": " + err.Error(), Err: err})
}

// StreamError classifies a failure while reading a streamed body: the caller's
// context first, then a Close by the reader, then a body that ended mid-stream (cut
// says how, in the format's words), an oversized event, else a connection problem.
func (s Scrubber) StreamError(ctx context.Context, closed bool, err error, cut string) *llm.Error {
	switch {
	case ctx.Err() != nil:
		return s.Transport(ctx, "reading stream from "+s.name, err)
	case closed:
		return s.Error(&llm.Error{Kind: llm.KindCanceled, Message: "stream closed", Err: err})
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return s.Error(&llm.Error{Kind: llm.KindUpstreamServer, Message: cut, Err: err})
	case errors.Is(err, sse.ErrTooLarge):
		return s.Error(&llm.Error{Kind: llm.KindUpstreamServer, Message: "stream event too large", Err: err})
	}
	return s.Transport(ctx, "reading stream from "+s.name, err)
}
