package openai

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// encodeEach returns the SSE data line written for each event ("" when none).
func encodeEach(t *testing.T, opts StreamOptions, evs ...llm.Event) []string {
	t.Helper()
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(opts)
	var out []string
	for _, ev := range evs {
		buf.Reset()
		if err := enc.Encode(w, ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(buf.String(), "\n\n"))
	}
	return out
}

const head = `data: {"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","system_fingerprint":null,`

func TestStreamEncoderEventByEvent(t *testing.T) {
	usage := &llm.Usage{InputTokens: 5, CachedInputTokens: 2, OutputTokens: 3, ReasoningTokens: 1}
	got := encodeEach(t, StreamOptions{},
		llm.Event{Type: llm.EventStart, ID: "c1", Model: "m", Created: 7},
		llm.Event{Type: llm.EventText, Text: "Hi \"you\"\n"},
		llm.Event{Type: llm.EventReasoning, Text: "hidden"},
		llm.Event{Type: llm.EventToolCall, ToolIndex: 0, ToolCall: llm.ToolCall{ID: "call_1", Name: "f"}},
		llm.Event{Type: llm.EventToolArgs, ToolIndex: 0, ToolCall: llm.ToolCall{Arguments: `{"a":`}},
		llm.Event{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls},
		llm.Event{Type: llm.EventUsage, Usage: usage},
	)
	want := []string{
		head + `"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
		head + `"choices":[{"index":0,"delta":{"content":"Hi \"you\"\n"},"logprobs":null,"finish_reason":null}]}`,
		"", // reasoning has no place in Chat Completions
		head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`,
		head + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]},"logprobs":null,"finish_reason":null}]}`,
		head + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
		"", // usage dropped: the client did not ask
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestStreamEncoderIncludeUsage(t *testing.T) {
	got := encodeEach(t, StreamOptions{IncludeUsage: true, SystemFingerprint: "fp_x"},
		llm.Event{Type: llm.EventStart, ID: "c1", Model: "m", Created: 7},
		llm.Event{Type: llm.EventFinish, FinishReason: llm.FinishStop},
		llm.Event{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 5, CachedInputTokens: 2, OutputTokens: 3, ReasoningTokens: 1}},
	)
	h := strings.Replace(head, `"system_fingerprint":null`, `"system_fingerprint":"fp_x"`, 1)
	want := []string{
		h + `"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
		h + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
		h + `"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"prompt_tokens_details":{"cached_tokens":2,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":1,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStreamEncoderSendsRoleOnEachChoicesFirstChunk(t *testing.T) {
	got := encodeEach(t, StreamOptions{},
		llm.Event{Type: llm.EventStart, ID: "c1", Model: "m", Created: 7},
		llm.Event{Type: llm.EventText, Choice: 1, Text: "b"},
		llm.Event{Type: llm.EventText, Choice: 1, Text: "c"},
	)
	if !strings.Contains(got[1], `{"index":1,"delta":{"role":"assistant","content":"b"}`) || strings.Contains(got[2], "role") {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
}

func TestStreamEncoderFinishAndFail(t *testing.T) {
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	enc.Finish(w)
	enc.Fail(w, &llm.Error{Kind: llm.KindOverloaded, Message: "busy"})
	want := "data: [DONE]\n\n" + `data: {"error":{"message":"busy","type":"server_error","param":null,"code":"overloaded"}}` + "\n\n"
	if buf.String() != want {
		t.Fatalf("got %q", buf.String())
	}
}

func decodeAll(t *testing.T, d *StreamDecoder, chunks ...string) ([]llm.Event, bool) {
	t.Helper()
	var out []llm.Event
	done := false
	for _, c := range chunks {
		evs, dn, err := d.Decode("", []byte(c))
		if err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		out = append(out, evs...)
		done = done || dn
	}
	return out, done
}

func TestStreamDecoderHoldsUsageUntilDone(t *testing.T) {
	d := NewStreamDecoder()
	evs, _ := decodeAll(t, d,
		`{"id":"x","model":"m","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
	)
	types := func(evs []llm.Event) (ts []llm.EventType) {
		for _, e := range evs {
			ts = append(ts, e.Type)
		}
		return ts
	}
	if got := types(evs); !reflect.DeepEqual(got, []llm.EventType{llm.EventStart, llm.EventText, llm.EventFinish}) {
		t.Fatalf("before [DONE]: %v", got)
	}
	tail, done, err := d.Decode("", []byte("[DONE]"))
	if err != nil || !done || len(tail) != 1 || tail[0].Type != llm.EventUsage || tail[0].Usage.InputTokens != 3 {
		t.Fatalf("[DONE] gave %+v %v %v", tail, done, err)
	}
	if evs[0].ID != "x" || evs[0].Model != "m" || evs[0].Created != 1 || evs[2].FinishReason != llm.FinishLength {
		t.Fatalf("events %+v", evs)
	}
}

func TestStreamDecoderToolCallsWithoutIndex(t *testing.T) {
	// Some hosts send each call whole, without "index".
	d := NewStreamDecoder()
	evs, _ := decodeAll(t, d,
		`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	)
	var a llm.Assembler
	for _, ev := range evs {
		a.Add(ev)
	}
	got := a.Response().Choices[0].Message.ToolCalls
	want := []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{"x":1}`}, {ID: "b", Name: "g", Arguments: "{}"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
}

func TestStreamDecoderErrorEvent(t *testing.T) {
	d := NewStreamDecoder()
	_, _, err := d.Decode("", []byte(`{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`))
	var le *llm.Error
	if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || le.Message != "The server had an error while processing your request." {
		t.Fatalf("got %v", err)
	}
}

func TestStreamDecoderNamedErrorEvent(t *testing.T) {
	_, _, err := NewStreamDecoder().Decode("error", []byte(`{"message":"Provider returned error","code":502}`))
	var le *llm.Error
	if !errors.As(err, &le) || le.Message != "Provider returned error" || le.Code != "502" {
		t.Fatalf("got %v", err)
	}
}

func TestStreamDecoderEndOfStream(t *testing.T) {
	cut := NewStreamDecoder()
	decodeAll(t, cut, `{"id":"x","choices":[{"index":0,"delta":{"content":"par"}}]}`)
	if _, err := cut.EndOfStream(); err == nil || err.(*llm.Error).Message != "stream ended before completion" {
		t.Fatalf("cut stream: %v", err)
	}
	empty := NewStreamDecoder()
	if _, err := empty.EndOfStream(); err == nil {
		t.Fatal("a stream with no events at all is not complete")
	}
	finished := NewStreamDecoder()
	decodeAll(t, finished, `{"id":"x","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	tail, err := finished.EndOfStream()
	if err != nil || len(tail) != 1 || tail[0].Type != llm.EventUsage {
		t.Fatalf("finished stream without [DONE]: %+v %v", tail, err)
	}
}

func TestStreamDecoderMalformedChunk(t *testing.T) {
	for _, c := range []string{`{"choices":[{"delta":{"content":5}}]}`, `{"choices":`, `not json`} {
		_, _, err := NewStreamDecoder().Decode("", []byte(c))
		var le *llm.Error
		if !errors.As(err, &le) || le.Kind != llm.KindUpstreamServer || !strings.HasPrefix(le.Message, "malformed response from upstream") {
			t.Errorf("%s: got %v", c, err)
		}
	}
}

func TestEmbeddingsRoundTrip(t *testing.T) {
	req, err := DecodeEmbeddingRequest([]byte(`{"model":"text-embedding-3-small","input":["a","b"],"dimensions":2,"encoding_format":"base64","user":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Input) != 2 || *req.Dimensions != 2 || req.EncodingFormat != "base64" {
		t.Fatalf("decoded %+v", req)
	}
	up, _ := EncodeEmbeddingRequest(req)
	if string(up) != `{"model":"text-embedding-3-small","input":["a","b"],"dimensions":2,"user":"u"}` {
		t.Fatalf("upstream body %s", up)
	}
	resp := &llm.EmbeddingResponse{Model: "text-embedding-3-small", Vectors: [][]float32{{0.5, -0.25}, {1e-8, 3}}, Usage: llm.Usage{InputTokens: 2}}
	for _, f := range []string{"float", "base64"} {
		b, _ := EncodeEmbeddingResponse(resp, f)
		back, err := DecodeEmbeddingResponse(b)
		if err != nil || !reflect.DeepEqual(back, resp) {
			t.Fatalf("%s: %s -> %+v %v", f, b, back, err)
		}
	}
	for body, param := range map[string]string{
		`{"model":"m"}`:                                      "input",
		`{"model":"m","input":[]}`:                           "input",
		`{"model":"m","input":[[1,2]]}`:                      "input[0]",
		`{"model":"m","input":5}`:                            "input",
		`{"input":"x"}`:                                      "model",
		`{"model":"m","input":"x","encoding_format":"int8"}`: "encoding_format",
	} {
		_, err := DecodeEmbeddingRequest([]byte(body))
		var le *llm.Error
		if !errors.As(err, &le) || le.Param != param || le.Kind != llm.KindInvalidRequest {
			t.Errorf("%s: got %v, want an error on %s", body, err, param)
		}
	}
}
