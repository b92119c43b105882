package anthropic

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
		if _, err := DecodeRequest(body); err != nil {
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
	body := readTestdata(b, "response_tool_use.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamEncode(b *testing.B) {
	resp := &llm.Response{ID: "msg", Model: "m", Choices: []llm.Choice{{FinishReason: llm.FinishStop,
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

func BenchmarkStreamDecodeDelta(b *testing.B) {
	delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather."}}`)
	d := NewStreamDecoder()
	_, _, _ = d.Decode("content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	b.SetBytes(int64(len(delta)))
	for b.Loop() {
		if _, _, err := d.Decode("content_block_delta", delta); err != nil {
			b.Fatal(err)
		}
	}
}
