// Package gemini is the provider adapter for the Gemini API: generateContent,
// streamGenerateContent?alt=sse and batchEmbedContents. The wire format lives in
// internal/wire/gemini; this package does the HTTP.
package gemini

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/provider"
	wire "github.com/arbiterhq/arbiter/internal/wire/gemini"
)

// DefaultBaseURL is used when the configuration names none.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// Limits on bodies read from upstream, so that a broken host cannot exhaust memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 1 << 20
)

// Provider talks to one Gemini API deployment. It is safe for concurrent use.
type Provider struct {
	name    string
	key     string
	base    string // up to and including /v1beta/models/
	headers [][2]string
	client  *http.Client
	scrub   provider.Scrubber
	now     func() time.Time
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Embedder = (*Provider)(nil)
)

// New returns an adapter for the deployment cfg describes. cfg.BaseURL has no
// version path ("https://generativelanguage.googleapis.com").
func New(cfg provider.Config) *Provider {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	name := cfg.Name
	if name == "" {
		name = "gemini"
	}
	p := &Provider{name: name, key: cfg.APIKey, base: base + "/v1beta/models/", client: cfg.HTTPClient(), now: time.Now}
	p.scrub = cfg.Scrubber(name)
	for k, v := range cfg.Headers {
		p.headers = append(p.headers, [2]string{k, v})
	}
	return p
}

// Name is the deployment's name.
func (p *Provider) Name() string { return p.name }

// endpoint is the URL of a model's method ("generateContent").
func (p *Provider) endpoint(model, method string) string {
	return p.base + url.PathEscape(strings.TrimPrefix(model, "models/")) + ":" + method
}

// Chat sends a generateContent request and decodes the whole response.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := wire.EncodeRequest(req)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	resp, err := p.post(ctx, p.endpoint(req.Model, "generateContent"), body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readAll(resp.Body, maxResponseBytes)
	if err != nil {
		return nil, p.scrub.Transport(ctx, "reading response from "+p.name, err)
	}
	out, err := wire.DecodeResponse(data)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	if out.Model == "" {
		out.Model = req.Model
	}
	if out.Created == 0 {
		out.Created = p.now().Unix()
	}
	return out, nil
}

// Embed computes embeddings through batchEmbedContents, one request per input.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.EmbeddingResponse, error) {
	body, err := wire.EncodeEmbeddingRequest(req)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	resp, err := p.post(ctx, p.endpoint(req.Model, "batchEmbedContents"), body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readAll(resp.Body, maxResponseBytes)
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
	out.Model = req.Model
	return out, nil
}

// post sends body and returns the response when its status is a success; an error
// status is read and decoded into an *llm.Error.
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
		h.Set("x-goog-api-key", p.key) // a header, never ?key=, so the key stays out of URLs in errors
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
	data, rerr := readAll(resp.Body, maxErrorBytes)
	if rerr != nil && ctx.Err() != nil {
		return nil, p.scrub.Transport(ctx, "reading error response from "+p.name, rerr)
	}
	return nil, p.scrub.Error(wire.DecodeError(resp.StatusCode, resp.Header, data))
}

func readAll(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errors.New("response larger than the limit")
	}
	return data, nil
}
