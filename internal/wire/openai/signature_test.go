package openai

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// A Gemini call's signature has no field in Chat Completions: the client sees it
// folded into the tool call id, whole and streamed.
func TestSignedToolCallIDsReachClients(t *testing.T) {
	resp := &llm.Response{ID: "r", Model: "gemini-3.5-flash", Choices: []llm.Choice{{
		Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
			{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`, Signature: "U0lHLTE="},
			{ID: "call_b", Name: "get_weather", Arguments: `{"city":"Lyon"}`}}},
		FinishReason: llm.FinishToolCalls}}}
	want := llm.JoinToolID("call_a", "U0lHLTE=")
	body, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Choices[0].Message.ToolCalls; got[0].ID != want || got[1].ID != "call_b" {
		t.Fatalf("client sees ids %q, %q; want %q, call_b", got[0].ID, got[1].ID, want)
	}
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	for _, ev := range llm.Events(resp, 4) {
		if err := enc.Encode(w, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"id":"`+want+`"`)) || !bytes.Contains(buf.Bytes(), []byte(`"id":"call_b"`)) {
		t.Fatalf("stream does not carry the folded id %q:\n%s", want, buf.Bytes())
	}
}

// When the history comes back, the call gets its short id and its signature, its
// result the same short id; an OpenAI provider receives short ids only.
func TestFoldedToolCallIDsSplitOnTheWayIn(t *testing.T) {
	long := llm.JoinToolID("call_a", strings.Repeat("U0lH", 100))
	foreign := "call_x" + llm.ToolIDMarker + "QUJD" // client-made: stays whole
	body, _ := json.Marshal(map[string]any{
		"model": "auto",
		"messages": []any{
			map[string]any{"role": "user", "content": "Weather?"},
			map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
				map[string]any{"id": long, "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris"}`}},
				map[string]any{"id": foreign, "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Lyon"}`}},
			}},
			map[string]any{"role": "tool", "tool_call_id": long, "content": "sunny"},
			map[string]any{"role": "tool", "tool_call_id": foreign, "content": "rain"},
		},
	})
	req, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	calls := req.Messages[1].ToolCalls
	if calls[0].ID != "call_a" || calls[0].Signature != strings.Repeat("U0lH", 100) {
		t.Fatalf("signed call decoded as %q / %q", calls[0].ID, calls[0].Signature)
	}
	if calls[1].ID != foreign || calls[1].Signature != "" {
		t.Fatalf("client-made id decoded as %q / %q", calls[1].ID, calls[1].Signature)
	}
	if req.Messages[2].ToolCallID != "call_a" || req.Messages[3].ToolCallID != foreign {
		t.Fatalf("results answer %q and %q", req.Messages[2].ToolCallID, req.Messages[3].ToolCallID)
	}
	up, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(up, []byte("U0lH")) {
		t.Fatalf("the signature reached an OpenAI-format provider:\n%s", up)
	}
	if !bytes.Contains(up, []byte(`"id":"call_a"`)) || !bytes.Contains(up, []byte(`"tool_call_id":"call_a"`)) {
		t.Fatalf("short ids not sent:\n%s", up)
	}
}
