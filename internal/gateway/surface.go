package gateway

import (
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/anthropic"
	"github.com/arbiterhq/arbiter/internal/wire/openai"
)

// surface is one inbound wire format: how a client's request is read and how the
// answer and errors are written back in the client's own format.
type surface struct {
	format         llm.Format
	decode         func([]byte) (*llm.Request, error)
	encodeResponse func(*llm.Response) ([]byte, error)
	newStream      func(*llm.Request) streamEncoder
	encodeError    func(*llm.Error) (int, []byte)
}

type streamEncoder interface {
	Encode(w *sse.Writer, ev llm.Event) error
	Finish(w *sse.Writer) error
	Fail(w *sse.Writer, err *llm.Error) error
}

var openaiSurface = &surface{
	format:         llm.FormatOpenAI,
	decode:         openai.DecodeRequest,
	encodeResponse: openai.EncodeResponse,
	newStream: func(r *llm.Request) streamEncoder {
		return openai.NewStreamEncoder(openai.StreamOptions{IncludeUsage: r.IncludeUsage})
	},
	encodeError: openai.EncodeError,
}

var anthropicSurface = &surface{
	format:         llm.FormatAnthropic,
	decode:         anthropic.DecodeRequest,
	encodeResponse: anthropic.EncodeResponse,
	newStream: func(r *llm.Request) streamEncoder {
		return anthropic.NewStreamEncoder(anthropic.StreamOptions{Ping: true})
	},
	encodeError: anthropic.EncodeError,
}
