package anthropic

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// FuzzDecodeRequest checks that any body either decodes into a request that encodes
// again, or fails with an invalid_request error: never a panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`))
	if b, err := os.ReadFile(filepath.Join("testdata", "request_full.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":"a"}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		_, _ = EncodeRequest(req)
	})
}

// FuzzStreamDecoder: any event yields events or an *llm.Error, never a panic.
func FuzzStreamDecoder(f *testing.F) {
	f.Add("content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`))
	f.Add("message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`))
	f.Add("error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"x"}}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if _, _, err := NewStreamDecoder().Decode(name, data); err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *llm.Error: %v", err)
			}
		}
	})
}
