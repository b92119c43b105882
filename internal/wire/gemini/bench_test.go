package gemini

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

func BenchmarkDecodeRequest(b *testing.B) {
	body := readTestdata(b, "request_full.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeRequest("gemini-2.5-pro", body, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	var req llm.Request
	if err := json.Unmarshal(readTestdata(b, "request_from_openai.neutral.json"), &req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := EncodeRequest(&req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := readTestdata(b, "response_function_call.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamEncode(b *testing.B) {
	resp := &llm.Response{ID: "r", Model: "m", Choices: []llm.Choice{{FinishReason: llm.FinishStop,
		Message: llm.TextMessage(llm.RoleAssistant, string(make([]byte, 2000)))}}, Usage: llm.Usage{InputTokens: 10, OutputTokens: 500}}
	evs := llm.Events(resp, 16)
	w := sse.NewWriter(io.Discard)
	for b.Loop() {
		enc := NewStreamEncoder(StreamOptions{})
		for _, ev := range evs {
			if err := enc.Encode(w, ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := enc.Finish(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecodeChunk(b *testing.B) {
	chunk := []byte(`{"candidates": [{"content": {"parts": [{"text": " look that up."}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 40,"candidatesTokenCount": 6,"totalTokenCount": 46},"modelVersion": "gemini-2.5-flash","responseId": "resp-stream-1"}`)
	d := NewStreamDecoder()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, _, err := d.Decode("", chunk); err != nil {
			b.Fatal(err)
		}
	}
}
