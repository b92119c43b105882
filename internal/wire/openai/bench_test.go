package openai

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// benchBody is a typical chat request: a system prompt, a few turns of history, one
// tool. About 2 KiB.
func benchBody(b *testing.B) []byte {
	b.Helper()
	body, err := os.ReadFile("testdata/requests/tools.json")
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	msgs := m["messages"].([]any)
	msgs = append([]any{map[string]any{"role": "system", "content": strings.Repeat("You are a careful assistant. ", 20)}}, msgs...)
	msgs = append(msgs, map[string]any{"role": "assistant", "content": strings.Repeat("Boston is 22°C and Paris 18°C. ", 8)},
		map[string]any{"role": "user", "content": "And what should I wear in each city tomorrow morning?"})
	m["messages"] = msgs
	out, _ := json.Marshal(m)
	return out
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRequestStdlibMap is the baseline DecodeRequest replaces: a generic
// encoding/json decode of the same body into map[string]any.
func BenchmarkDecodeRequestStdlibMap(b *testing.B) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeRequest(benchBody(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchResponse() *llm.Response {
	return &llm.Response{
		ID: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", Model: "gpt-4o-mini-2024-07-18", Created: 1741570283, SystemFingerprint: "fp_fc9f1d7035",
		Choices: []llm.Choice{{Index: 0, FinishReason: llm.FinishStop, Message: llm.TextMessage(llm.RoleAssistant,
			strings.Repeat("Tomorrow morning Boston will be mild, so a light jacket is enough; \"Paris\" is cooler.\n", 10))}},
		Usage: llm.Usage{InputTokens: 412, CachedInputTokens: 256, OutputTokens: 180},
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	r := benchResponse()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	body, _ := EncodeResponse(benchResponse())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEncode encodes one whole streamed answer (start, ~110 text deltas
// of ~8 bytes as models emit them, finish, usage, [DONE]); ns/op is per stream, and
// ns/op divided by the events gives the cost per chunk.
func BenchmarkStreamEncode(b *testing.B) {
	evs := llm.Events(benchResponse(), 8)
	w := sse.NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		enc := NewStreamEncoder(StreamOptions{IncludeUsage: true})
		for _, ev := range evs {
			if err := enc.Encode(w, ev); err != nil {
				b.Fatal(err)
			}
		}
		enc.Finish(w)
	}
	b.ReportMetric(float64(len(evs)), "events/op")
}

// BenchmarkStreamDecode decodes the same stream as an upstream would send it.
func BenchmarkStreamDecode(b *testing.B) {
	evs := llm.Events(benchResponse(), 8)
	var chunks [][]byte
	enc := NewStreamEncoder(StreamOptions{IncludeUsage: true})
	cw := &chunkWriter{}
	w := sse.NewWriter(cw)
	for _, ev := range evs {
		enc.Encode(w, ev)
	}
	enc.Finish(w)
	chunks = cw.chunks
	b.ReportAllocs()
	for b.Loop() {
		d := NewStreamDecoder()
		for _, c := range chunks {
			if _, _, err := d.Decode("", c); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(chunks)), "events/op")
}

// chunkWriter keeps the data of each SSE event written to it.
type chunkWriter struct{ chunks [][]byte }

func (c *chunkWriter) Write(p []byte) (int, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(string(p), "data: "), "\n\n")
	c.chunks = append(c.chunks, []byte(s))
	return len(p), nil
}
