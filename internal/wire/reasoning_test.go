// Package wire_test checks what every non-Anthropic codec must do with Anthropic's
// reasoning parts: they are signed for Anthropic only, so they must never reach
// another format, not as text and not as a signature.
package wire_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/gemini"
	"github.com/arbiterhq/arbiter/internal/wire/openai"
)

var secrets = []string{"SECRET-THOUGHT", "SECRET-SIG", "SECRET-DATA"}

// codec is the part of a wire package these tests need.
type codec struct {
	name           string
	encodeRequest  func(*llm.Request) ([]byte, error)
	encodeResponse func(*llm.Response) ([]byte, error)
	newStream      func() streamEncoder
}

type streamEncoder interface {
	Encode(*sse.Writer, llm.Event) error
	Finish(*sse.Writer) error
}

var codecs = []codec{
	{"openai", openai.EncodeRequest, openai.EncodeResponse, func() streamEncoder { return openai.NewStreamEncoder(openai.StreamOptions{}) }},
	{"gemini", gemini.EncodeRequest, gemini.EncodeResponse, func() streamEncoder { return gemini.NewStreamEncoder(gemini.StreamOptions{}) }},
}

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
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			body, err := c.encodeRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			checkNoSecrets(t, "request", body)
			for _, want := range []string{"Checking.", "Lyon", "rain"} {
				if !bytes.Contains(body, []byte(want)) {
					t.Fatalf("request lost %q:\n%s", want, body)
				}
			}
		})
	}
}

func TestEncodeResponseAndStreamDropThinking(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			for _, content := range [][]llm.Part{
				thinkingParts()[:1], // one reasoning part and nothing else
				thinkingParts(),
				append(thinkingParts(), llm.Part{Type: llm.PartText, Text: "It is sunny."}),
			} {
				resp := &llm.Response{ID: "r", Model: "m", Choices: []llm.Choice{{
					Message: llm.Message{Role: llm.RoleAssistant, Content: content}, FinishReason: llm.FinishStop}}}
				body, err := c.encodeResponse(resp)
				if err != nil {
					t.Fatal(err)
				}
				checkNoSecrets(t, "response", body)
				var buf bytes.Buffer
				w := sse.NewWriter(&buf)
				enc := c.newStream()
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
		})
	}
}
