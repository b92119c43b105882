package emulator

import (
	"net/http"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

// anthropicWire is Anthropic's Messages format, through internal/wire/anthropic.
func anthropicWire() *wire {
	return &wire{
		format: llm.FormatAnthropic,
		authorized: func(r *http.Request) bool {
			if strings.TrimSpace(r.Header.Get("X-Api-Key")) != "" {
				return true
			}
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			return ok && strings.TrimSpace(tok) != ""
		},
		encodeError:    anthropic.EncodeError,
		encodeResponse: anthropic.EncodeResponse,
		newStream: func(*llm.Request, *llm.Response) streamEncoder {
			return anthropic.NewStreamEncoder(anthropic.StreamOptions{Ping: true})
		},
		respID:         func(hex string) string { return "msg_" + hex },
		toolID:         func(hex string) string { return "toolu_" + hex },
		malformedEvent: "content_block_delta",
		check:          checkThinkingHistory,
		adorn:          addThinking,
	}
}

// serveMessages answers POST /v1/messages. Like Anthropic, it requires the
// anthropic-version header, so an adapter that forgets it fails here first.
func (e *Emulator) serveMessages(wf *wire) http.HandlerFunc {
	const path = "/v1/messages"
	return func(w http.ResponseWriter, r *http.Request) {
		if wf.authorized(r) && r.Header.Get("Anthropic-Version") == "" {
			e.stats.received("", path)
			x := &exchange{e: e, w: w, r: r, wf: wf, path: path}
			x.reject(&llm.Error{Kind: llm.KindInvalidRequest, Message: "anthropic-version: header is required"}, 0)
			return
		}
		e.serveChat(w, r, wf, path, "", anthropic.DecodeRequest)
	}
}

// serveCountTokens answers POST /v1/messages/count_tokens with the brain's prompt
// token count. Faults and latency do not apply: it is a free, instant endpoint.
func (e *Emulator) serveCountTokens(wf *wire) http.HandlerFunc {
	const path = "/v1/messages/count_tokens"
	return func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{e: e, w: w, r: r, wf: wf, path: path}
		body, ok := x.admit()
		if !ok {
			return
		}
		req, err := anthropic.DecodeCountTokensRequest(body)
		if err != nil {
			x.decodeFailed(err)
			return
		}
		x.model = req.Model
		e.stats.received(x.model, path)
		x.writeBody(anthropic.EncodeCountTokensResponse(PromptTokens(req)), Fault{})
	}
}
