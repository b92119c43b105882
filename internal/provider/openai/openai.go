// Package openai is the provider adapter for OpenAI and every OpenAI-compatible host
// (Groq, Together, DeepSeek, Mistral, Fireworks, OpenRouter, Ollama, vLLM): the same
// wire format reached at a different base URL with a different key. The wire format
// itself lives in internal/wire/openai; this package does the HTTP.
package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/provider"
	wire "github.com/arbiterhq/arbiter/internal/wire/openai"
)

// DefaultBaseURL is used when the configuration names none.
const DefaultBaseURL = "https://api.openai.com/v1"

// Limits on bodies read from upstream, so that a broken host cannot exhaust memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 1 << 20
)

// Provider talks to one OpenAI-compatible deployment. It is safe for concurrent use.
type Provider struct {
	name     string
	key      string
	chatURL  string
	embedURL string
	headers  [][2]string
	client   *http.Client
	scrub    provider.Scrubber
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Embedder = (*Provider)(nil)
)

// New returns an adapter for the deployment cfg describes. cfg.BaseURL includes the
// version path ("https://api.groq.com/openai/v1", "http://localhost:11434/v1"); an
// empty APIKey sends no Authorization header (Ollama, vLLM).
func New(cfg provider.Config) *Provider {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	name := cfg.Name
	if name == "" {
		name = "openai"
	}
	p := &Provider{
		name:     name,
		key:      cfg.APIKey,
		chatURL:  base + "/chat/completions",
		embedURL: base + "/embeddings",
		client:   cfg.HTTPClient(),
	}
	p.scrub = cfg.Scrubber(name)
	for k, v := range cfg.Headers {
		p.headers = append(p.headers, [2]string{k, v})
	}
	return p
}

// Name is the deployment's name, as given in the configuration.
func (p *Provider) Name() string { return p.name }

// post sends body to url and returns the response if its status is a success; an
// error status is read and decoded into an *llm.Error.
func (p *Provider) post(ctx context.Context, url string, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, p.scrub.Error(&llm.Error{Kind: llm.KindUpstreamServer, Message: "building request: " + err.Error()})
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	if stream {
		h.Set("Accept", "text/event-stream")
	} else {
		h.Set("Accept", "application/json")
	}
	if p.key != "" {
		h.Set("Authorization", "Bearer "+p.key)
	}
	for _, kv := range p.headers {
		h.Set(kv[0], kv[1])
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.scrub.Transport(ctx, "sending request to "+p.name, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	if rerr != nil && ctx.Err() != nil {
		return nil, p.scrub.Transport(ctx, "reading error response from "+p.name, rerr)
	}
	return nil, p.scrub.Error(wire.DecodeError(resp.StatusCode, resp.Header, data))
}

// Chat sends a non-streaming request and decodes the whole response.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	r := *req // shallow: only the stream flags change
	r.Stream, r.IncludeUsage = false, false
	body, err := wire.EncodeRequest(&r)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	resp, err := p.post(ctx, p.chatURL, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readAll(resp, maxResponseBytes)
	if err != nil {
		return nil, p.scrub.Transport(ctx, "reading response from "+p.name, err)
	}
	out, err := wire.DecodeResponse(data)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	return out, nil
}

// readAll reads a response body, sized by Content-Length when known, up to limit.
func readAll(resp *http.Response, limit int64) ([]byte, error) {
	n := resp.ContentLength
	if n <= 0 || n > limit {
		n = 4096
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+1))
	m, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if m > limit {
		return nil, errors.New("response larger than the limit")
	}
	return buf.Bytes(), nil
}

// Embed computes embeddings through the deployment's /embeddings endpoint.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.EmbeddingResponse, error) {
	body, err := wire.EncodeEmbeddingRequest(req)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	resp, err := p.post(ctx, p.embedURL, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readAll(resp, maxResponseBytes)
	if err != nil {
		return nil, p.scrub.Transport(ctx, "reading embeddings from "+p.name, err)
	}
	out, err := wire.DecodeEmbeddingResponse(data)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	if len(out.Vectors) != len(req.Input) {
		return nil, p.scrub.Error(llm.Errorf(llm.KindUpstreamServer, "upstream returned %d embeddings for %d inputs", len(out.Vectors), len(req.Input)))
	}
	return out, nil
}
