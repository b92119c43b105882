// Package anthropic is the provider adapter for Anthropic's Messages API. The wire
// format lives in internal/wire/anthropic; this package does the HTTP.
package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/provider"
	wire "github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

// DefaultBaseURL is used when the configuration names none.
const DefaultBaseURL = "https://api.anthropic.com"

// APIVersion is sent as anthropic-version on every request.
const APIVersion = "2023-06-01"

// Limits on bodies read from upstream, so that a broken host cannot exhaust memory.
const (
	maxResponseBytes = 64 << 20
	maxErrorBytes    = 1 << 20
)

// Provider talks to one Anthropic deployment. It is safe for concurrent use.
type Provider struct {
	name      string
	key       string
	url       string
	headers   [][2]string
	client    *http.Client
	maxTokens func(model string) int
	scrub     provider.Scrubber
	now       func() time.Time
}

var _ provider.Provider = (*Provider)(nil)

// Option adjusts a Provider.
type Option func(*Provider)

// WithMaxTokens sets the max_tokens sent when a request carries none (Anthropic
// requires one): the gateway passes the catalog's max output tokens per model. A
// result <= 0 falls back to wire.DefaultMaxTokens.
func WithMaxTokens(f func(model string) int) Option {
	return func(p *Provider) { p.maxTokens = f }
}

// New returns an adapter for the deployment cfg describes. cfg.BaseURL has no version
// path ("https://api.anthropic.com"); cfg.Headers can add anthropic-beta.
func New(cfg provider.Config, opts ...Option) *Provider {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	name := cfg.Name
	if name == "" {
		name = "anthropic"
	}
	p := &Provider{name: name, key: cfg.APIKey, url: base + "/v1/messages", client: cfg.HTTPClient(), now: time.Now}
	p.scrub = cfg.Scrubber(name)
	for k, v := range cfg.Headers {
		p.headers = append(p.headers, [2]string{k, v})
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Name is the deployment's name.
func (p *Provider) Name() string { return p.name }

func (p *Provider) encode(req *llm.Request, stream bool) ([]byte, error) {
	r := req.Clone()
	r.Stream = stream
	var opts []wire.RequestOption
	if p.maxTokens != nil {
		opts = append(opts, wire.WithDefaultMaxTokens(p.maxTokens(req.Model)))
	}
	body, err := wire.EncodeRequest(r, opts...)
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	return body, nil
}

// Chat sends a non-streaming request and decodes the whole response.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.encode(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readAll(resp.Body, maxResponseBytes)
	if err != nil {
		return nil, p.scrub.Transport(ctx, "reading response from "+p.name, err)
	}
	out, err := wire.DecodeResponse(data, wire.WithJSONTool(wire.JSONToolName(req)))
	if err != nil {
		return nil, p.scrub.Error(err)
	}
	if out.Created == 0 {
		out.Created = p.now().Unix() // the Messages API has no timestamp
	}
	return out, nil
}

// post sends body and returns the response when its status is a success; an error
// status is read and decoded into an *llm.Error.
func (p *Provider) post(ctx context.Context, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
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
	h.Set("anthropic-version", APIVersion)
	if p.key != "" {
		h.Set("x-api-key", p.key)
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
