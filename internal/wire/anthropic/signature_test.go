package anthropic

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

var toolUseIDRe = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// A Gemini call's signature has no field in the Messages API: the client sees it
// folded into the tool_use id (still a valid id), whole and streamed.
func TestSignedToolUseIDsReachClients(t *testing.T) {
	sig := "CiQBcsjafQ/Xm+Gz7v1Zdh=="
	resp := &llm.Response{ID: "r", Model: "gemini-3.5-flash", Choices: []llm.Choice{{
		Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
			{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`, Signature: sig}}},
		FinishReason: llm.FinishToolCalls}}}
	want := llm.JoinToolID("call_a", sig)
	if !toolUseIDRe.MatchString(want) {
		t.Fatalf("folded id %q is not a valid tool_use id", want)
	}
	body, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"id":"`+want+`"`)) {
		t.Fatalf("response does not carry the folded id %q:\n%s", want, body)
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
	if !bytes.Contains(buf.Bytes(), []byte(`"id":"`+want+`"`)) {
		t.Fatalf("stream does not carry the folded id %q:\n%s", want, buf.Bytes())
	}
}

// When the history comes back, the call gets its short id and signature and its
// result the same short id; Anthropic receives short ids and never the signature.
func TestFoldedToolUseIDsSplitOnTheWayIn(t *testing.T) {
	sig := strings.Repeat("U0lH", 50)
	long := llm.JoinToolID("call_a", sig)
	body, _ := json.Marshal(map[string]any{
		"model": "auto", "max_tokens": 100,
		"messages": []any{
			map[string]any{"role": "user", "content": "Weather?"},
			map[string]any{"role": "assistant", "content": []any{
				map[string]any{"type": "tool_use", "id": long, "name": "get_weather", "input": map[string]any{"city": "Paris"}}}},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "tool_result", "tool_use_id": long, "content": "sunny"}}},
		},
	})
	req, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	tc := req.Messages[1].ToolCalls[0]
	if tc.ID != "call_a" || tc.Signature != sig {
		t.Fatalf("call decoded as %q / %q", tc.ID, tc.Signature)
	}
	if res := req.Messages[2]; res.ToolCallID != "call_a" || res.ToolName != "get_weather" {
		t.Fatalf("result answers %q (tool %q)", res.ToolCallID, res.ToolName)
	}
	up, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(up, []byte("U0lH")) || bytes.Contains(up, []byte(llm.ToolIDMarker)) {
		t.Fatalf("the signature reached Anthropic:\n%s", up)
	}
}
