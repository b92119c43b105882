package emulator

import (
	"net/http"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/gemini"
)

// geminiWire is Gemini's generateContent format, through internal/wire/gemini.
func geminiWire() *wire {
	return &wire{
		format: llm.FormatGemini,
		authorized: func(r *http.Request) bool {
			if strings.TrimSpace(r.Header.Get("X-Goog-Api-Key")) != "" || r.URL.Query().Get("key") != "" {
				return true
			}
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			return ok && strings.TrimSpace(tok) != ""
		},
		encodeError:    gemini.EncodeError,
		encodeResponse: gemini.EncodeResponse,
		newStream: func(*llm.Request, *llm.Response) streamEncoder {
			return gemini.NewStreamEncoder(gemini.StreamOptions{})
		},
		respID: func(hex string) string { return hex },
		toolID: func(hex string) string { return "call_" + hex },
		check:  checkThoughtSignatures,
		adorn:  signFunctionCalls,
	}
}

// serveGemini answers POST /{version}/models/{model}:{method}.
func (e *Emulator) serveGemini(version string, wf *wire) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		model, method, ok := strings.Cut(r.PathValue("target"), ":")
		path := "/" + version + "/models/{model}:" + method
		switch {
		case !ok || model == "":
			e.writeError(w, wf, &llm.Error{Kind: llm.KindNotFound,
				Message: "Unknown request URL " + r.URL.Path + ": want models/{model}:{method}."}, http.StatusNotFound)
		case method == "generateContent" || method == "streamGenerateContent":
			stream := method == "streamGenerateContent"
			if stream && r.URL.Query().Get("alt") != "sse" {
				// Without alt=sse Gemini streams one JSON array; every SDK asks for SSE.
				x := &exchange{e: e, w: w, r: r, wf: wf, path: path, model: model}
				e.stats.received(model, path)
				x.reject(&llm.Error{Kind: llm.KindInvalidRequest, Param: "alt",
					Message: "The emulator streams only as server-sent events: add ?alt=sse."}, 0)
				return
			}
			e.serveChat(w, r, wf, path, model, func(body []byte) (*llm.Request, error) {
				return gemini.DecodeRequest(model, body, stream)
			})
		case method == "embedContent" || method == "batchEmbedContents":
			batch := method == "batchEmbedContents"
			e.serveEmbed(w, r, wf, path, model,
				func(body []byte) (*llm.EmbeddingRequest, error) {
					return gemini.DecodeEmbeddingRequest(model, body, batch)
				},
				func(_ *llm.EmbeddingRequest, resp *llm.EmbeddingResponse) ([]byte, error) {
					return gemini.EncodeEmbeddingResponse(resp, batch)
				})
		default:
			e.writeError(w, wf, &llm.Error{Kind: llm.KindNotFound,
				Message: "Method " + method + " is not served by the emulator."}, http.StatusNotFound)
		}
	}
}
