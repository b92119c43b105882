// Package tokens counts tokens offline, for the cases where a provider reported no
// usage (a stream cut before its usage event, a host that omits it) and for
// count_tokens. It uses OpenAI's tiktoken encodings (o200k_base for current models),
// embedded in the binary by github.com/tiktoken-go/tokenizer; for other vendors'
// models it is an estimate, and records say so.
package tokens

import (
	"fmt"
	"sync"

	"github.com/tiktoken-go/tokenizer"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Counter counts tokens. The encoding tables are built on first use (about 100 ms),
// not at start-up, since most requests never need them.
type Counter struct {
	once  sync.Once
	codec tokenizer.Codec
	err   error
}

// New returns a counter for o200k_base.
func New() *Counter { return &Counter{} }

func (c *Counter) load() error {
	c.once.Do(func() {
		c.codec, c.err = tokenizer.Get(tokenizer.O200kBase)
		if c.err != nil {
			c.err = fmt.Errorf("load o200k_base encoding: %w", c.err)
		}
	})
	return c.err
}

// Text counts the tokens of a text.
func (c *Counter) Text(s string) int {
	if s == "" {
		return 0
	}
	if err := c.load(); err != nil {
		return (len(s) + 3) / 4 // the encoding is embedded; this cannot happen in a build that passed its tests
	}
	n, err := c.codec.Count(s)
	if err != nil {
		return (len(s) + 3) / 4
	}
	return n
}

// Per-message framing tokens in OpenAI's chat format (role and separators), and a
// flat cost per image: OpenAI's low-detail image is 85 tokens.
const (
	perMessage = 3
	perReply   = 3
	perImage   = 85
)

// Request estimates the input tokens of a request: messages, tool definitions and
// tool calls, with OpenAI's chat framing.
func (c *Counter) Request(r *llm.Request) int {
	n := perReply
	for i := range r.Messages {
		m := &r.Messages[i]
		n += perMessage
		for _, p := range m.Content {
			switch p.Type {
			case llm.PartText:
				n += c.Text(p.Text)
			case llm.PartImage:
				n += perImage
			}
		}
		for _, tc := range m.ToolCalls {
			n += c.Text(tc.Name) + c.Text(tc.Arguments) + perMessage
		}
	}
	for _, t := range r.Tools {
		n += c.Text(t.Name) + c.Text(t.Description) + c.Text(string(t.Parameters)) + perMessage
	}
	return n
}

// Response estimates the output tokens of an assembled (possibly partial) response.
func (c *Counter) Response(r *llm.Response) int {
	n := 0
	for i := range r.Choices {
		m := &r.Choices[i].Message
		n += c.Text(m.Text())
		for _, tc := range m.ToolCalls {
			n += c.Text(tc.Name) + c.Text(tc.Arguments)
		}
	}
	return n
}
