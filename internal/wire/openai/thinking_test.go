package openai

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// Anthropic's reasoning parts (signed for Anthropic only) must never reach this
// format: not as text, not as a signature.
var secrets = []string{"SECRET-THOUGHT", "SECRET-SIG", "SECRET-DATA"}

func thinkingParts() []llm.Part {
	return []llm.Part{
		{Type: llm.PartThinking, Text: "SECRET-THOUGHT about the weather", Signature: "SECRET-SIG"},
		{Type: llm.PartRedactedThinking, Data: "SECRET-DATA"},
	}
}

func checkNoSecrets(t *testing.T, what string, body []byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Fatalf("%s carries %s:\n%s", what, s, body)
		}
	}
}

func TestEncodeRequestDropsThinking(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "Weather in Paris?"),
		{Role: llm.RoleAssistant, Content: append(thinkingParts(), llm.Part{Type: llm.PartText, Text: "Checking."}),
			ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{Role: llm.RoleTool, ToolCallID: "toolu_1", ToolName: "get_weather", Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
		// Reasoning only, no text: the turn keeps its tool call and nothing else.
		{Role: llm.RoleAssistant, Content: thinkingParts(),
			ToolCalls: []llm.ToolCall{{ID: "toolu_2", Name: "get_weather", Arguments: `{"city":"Lyon"}`}}},
		{Role: llm.RoleTool, ToolCallID: "toolu_2", ToolName: "get_weather", Content: []llm.Part{{Type: llm.PartText, Text: "rain"}}},
	}}
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSecrets(t, "request", body)
	for _, want := range []string{"Checking.", "Lyon", "rain"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("request lost %q:\n%s", want, body)
		}
	}
}

func TestEncodeResponseAndStreamDropThinking(t *testing.T) {
	for _, content := range [][]llm.Part{
		thinkingParts()[:1], // one reasoning part and nothing else
		thinkingParts(),
		append(thinkingParts(), llm.Part{Type: llm.PartText, Text: "It is sunny."}),
	} {
		resp := &llm.Response{ID: "r", Model: "m", Choices: []llm.Choice{{
			Message: llm.Message{Role: llm.RoleAssistant, Content: content}, FinishReason: llm.FinishStop}}}
		body, err := EncodeResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		checkNoSecrets(t, "response", body)
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
		checkNoSecrets(t, "stream", buf.Bytes())
		if len(content) == 3 && !strings.Contains(string(body), "sunny") {
			t.Fatalf("response lost its text: %s", body)
		}
	}
}
