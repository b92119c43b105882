package emulator

import (
	"encoding/json"
	"io"
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
	aw := anthropicWire()
	e.mux.HandleFunc("POST /v1/messages", e.serveMessages(aw))
	e.mux.HandleFunc("POST /v1/messages/count_tokens", e.serveCountTokens(aw))
	gm := geminiWire()
	e.mux.HandleFunc("POST /v1beta/models/{target}", e.serveGemini("v1beta", gm))
	e.mux.HandleFunc("POST /v1/models/{target}", e.serveGemini("v1", gm))
	e.mux.HandleFunc("GET /_emulator/stats", e.serveStats)
	e.mux.HandleFunc("PUT /_emulator/faults", e.serveSetFaults)
	e.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.writeError(w, oa, &llm.Error{Kind: llm.KindNotFound, Code: "unknown_url",
			Message: "Unknown request URL: " + r.Method + " " + r.URL.Path + " (emulator)."}, http.StatusNotFound)
	})
}

// serveStats answers GET /_emulator/stats with Stats as JSON, for load tests that run
// the emulator in another process (arbiter emulate).
func (e *Emulator) serveStats(w http.ResponseWriter, _ *http.Request) {
	body, err := json.Marshal(e.Stats())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// serveSetFaults answers PUT /_emulator/faults?model=NAME with a fault spec as the
// body (ParseFaults syntax; empty clears; no model sets the default): SetFaults over
// HTTP, so a test can break and heal a provider in another process.
func (e *Emulator) serveSetFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	spec, err := ParseFaults(string(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.SetFaults(r.URL.Query().Get("model"), spec)
	w.WriteHeader(http.StatusNoContent)
}
