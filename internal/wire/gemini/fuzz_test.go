package gemini

import (
	"errors"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// FuzzDecodeRequest checks that any body either decodes into a request the client
// side can encode again, or fails with an invalid_request error: never a panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	f.Add(readTestdata(f, "request_full.json"))
	f.Add([]byte(`{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{"output":1}}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest("m", body, false)
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

// FuzzStreamDecoder: any chunk yields events or an *llm.Error, never a panic.
func FuzzStreamDecoder(f *testing.F) {
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]},"finishReason":"STOP"}]}`))
	f.Add([]byte(`{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewStreamDecoder()
		if _, _, err := d.Decode("", data); err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *llm.Error: %v", err)
			}
		}
		_, _ = d.EndOfStream()
	})
}
