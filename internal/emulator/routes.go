package emulator

import (
	"net/http"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/openai"
)

func (e *Emulator) routes() {
	oa := openaiWire()
	e.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		e.serveChat(w, r, oa, "/v1/chat/completions", "", openai.DecodeRequest)
	})
	e.mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
		e.serveEmbed(w, r, oa, "/v1/embeddings", "", openai.DecodeEmbeddingRequest,
			func(req *llm.EmbeddingRequest, resp *llm.EmbeddingResponse) ([]byte, error) {
				return openai.EncodeEmbeddingResponse(resp, req.EncodingFormat)
			})
	})
	e.mux.HandleFunc("GET /v1/models", e.listModels)
	e.mux.HandleFunc("POST /v1/messages", e.serveMessages(anthropicWire()))
	gm := geminiWire()
	e.mux.HandleFunc("POST /v1beta/models/{target}", e.serveGemini("v1beta", gm))
	e.mux.HandleFunc("POST /v1/models/{target}", e.serveGemini("v1", gm))
	e.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.writeError(w, oa, &llm.Error{Kind: llm.KindNotFound, Code: "unknown_url",
			Message: "Unknown request URL: " + r.Method + " " + r.URL.Path + " (emulator)."}, http.StatusNotFound)
	})
}
