package emulator

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/openai"
)

// openaiWire is OpenAI's Chat Completions format, through internal/wire/openai.
func openaiWire() *wire {
	return &wire{
		format: llm.FormatOpenAI,
		authorized: func(r *http.Request) bool {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			return ok && strings.TrimSpace(tok) != ""
		},
		encodeError:    openai.EncodeError,
		encodeResponse: openai.EncodeResponse,
		newStream: func(req *llm.Request, resp *llm.Response) streamEncoder {
			return openai.NewStreamEncoder(openai.StreamOptions{
				IncludeUsage:      req.IncludeUsage,
				SystemFingerprint: resp.SystemFingerprint,
			})
		},
		respID: func(hex string) string { return "chatcmpl-" + hex },
		toolID: func(hex string) string { return "call_" + hex },
		check:  checkToolCallIDs,
	}
}

// wellKnownModels is what GET /v1/models lists beside configured names.
var wellKnownModels = []string{
	"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o3-mini", "o4-mini",
	"gpt-5", "gpt-5-mini", "text-embedding-3-small", "text-embedding-3-large",
	"claude-3-5-haiku-latest", "claude-sonnet-4-5", "claude-opus-4-1",
	"gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004",
}

// listModels answers GET /v1/models in OpenAI's list shape.
func (e *Emulator) listModels(w http.ResponseWriter, r *http.Request) {
	names := e.cfg.ListModels
	if names == nil {
		seen := map[string]bool{}
		e.mu.RLock()
		for k := range e.models {
			if !strings.HasSuffix(k, "*") && !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
		e.mu.RUnlock()
		for _, k := range wellKnownModels {
			if !seen[k] {
				names = append(names, k)
			}
		}
		sort.Strings(names)
	}
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: make([]model, 0, len(names))}
	for _, n := range names {
		list.Data = append(list.Data, model{ID: n, Object: "model", Created: 1700000000, OwnedBy: "emulator"})
	}
	body, _ := json.Marshal(list)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
