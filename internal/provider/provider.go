// Package provider defines what an upstream LLM provider adapter does. Each wire family
// has its own package below this one (openai, anthropic, gemini); the executor calls
// adapters only through these interfaces.
package provider

import (
	"context"
	"net/http"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Provider sends chat requests to one upstream deployment. The request's Model is
// the provider's own model name. Errors are *llm.Error with the kind set; an adapter
// never retries on its own (the executor decides).
type Provider interface {
	// Chat sends a request and waits for the whole response.
	Chat(ctx context.Context, req *llm.Request) (*llm.Response, error)
	// Stream sends a request and returns its events as they arrive. It returns once
	// the upstream has answered with a success status (an error status is returned as
	// an error here, before any event). Cancelling ctx aborts the upstream request.
	Stream(ctx context.Context, req *llm.Request) (llm.Stream, error)
}

// Embedder computes embeddings through a provider's endpoint.
type Embedder interface {
	Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.EmbeddingResponse, error)
}

// Config is what every adapter needs to reach a deployment.
type Config struct {
	// Name identifies the deployment in logs, metrics and the ledger ("openai", "groq").
	Name string
	// BaseURL is where the API lives, including the version path for OpenAI-style
	// hosts ("https://api.openai.com/v1"), without it for Anthropic
	// ("https://api.anthropic.com") and Gemini ("https://generativelanguage.googleapis.com").
	BaseURL string
	// APIKey is the secret sent upstream; it must never be logged or echoed in errors.
	APIKey string
	// Headers are extra headers sent on every request (OpenRouter's HTTP-Referer, …).
	Headers map[string]string
	// Client is the HTTP client to use; nil means a default with sane transport limits.
	Client *http.Client
}

// HTTPClient returns c.Client or a default client tuned for many concurrent
// connections to one host. The client has no overall timeout: deadlines come from the
// request context, so that long streams are not cut.
func (c Config) HTTPClient() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return DefaultClient()
}

// DefaultClient builds an HTTP client for upstream calls.
func DefaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 0 // time to first byte is the executor's business
	return &http.Client{Transport: t}
}
