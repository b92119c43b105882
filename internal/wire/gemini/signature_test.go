package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// signatureHistory is a tool loop with three model steps: one Gemini signed, one
// from another provider (unsigned), and one with parallel calls whose first Gemini
// signed.
func signatureHistory(model string) *llm.Request {
	result := func(id, name string) llm.Message {
		return llm.Message{Role: llm.RoleTool, ToolCallID: id, ToolName: name, Content: []llm.Part{{Type: llm.PartText, Text: "ok"}}}
	}
	return &llm.Request{Model: model, Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "Weather in Paris, then Lyon, then Nice and Pau?"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "get_weather", Arguments: `{"city":"Paris"}`, Signature: "REAL-1"}}},
		result("a", "get_weather"),
		{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "Now Lyon."}},
			ToolCalls: []llm.ToolCall{{ID: "b", Name: "get_weather", Arguments: `{"city":"Lyon"}`}}},
		result("b", "get_weather"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
			{ID: "c", Name: "get_weather", Arguments: `{"city":"Nice"}`, Signature: "REAL-2"},
			{ID: "d", Name: "get_weather", Arguments: `{"city":"Pau"}`}}},
		result("c", "get_weather"),
		result("d", "get_weather"),
	}}
}

// callSignatures lists the thoughtSignature of every functionCall part, per model turn.
func callSignatures(t *testing.T, body []byte) [][]string {
	t.Helper()
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, c := range w.Contents {
		if c.Role != "model" {
			continue
		}
		var sigs []string
		for _, p := range c.Parts {
			if p.FunctionCall != nil {
				sigs = append(sigs, p.ThoughtSignature)
			}
		}
		out = append(out, sigs)
	}
	return out
}

func TestEncodeRequestSendsRealSignaturesAndPlaceholdsForGemini3(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  [][]string
	}{
		// Gemini 3: real signatures exactly; an unsigned first call gets the
		// placeholder; an unsigned parallel call after a signed one gets nothing.
		{"gemini-3.5-flash", [][]string{{"REAL-1"}, {ForeignThoughtSignature}, {"REAL-2", ""}}},
		{"models/gemini-3.1-pro-preview", [][]string{{"REAL-1"}, {ForeignThoughtSignature}, {"REAL-2", ""}}},
		// Earlier models: real signatures still go back, never the placeholder.
		{"gemini-2.5-flash", [][]string{{"REAL-1"}, {""}, {"REAL-2", ""}}},
	} {
		body, err := EncodeRequest(signatureHistory(tc.model))
		if err != nil {
			t.Fatal(err)
		}
		got := callSignatures(t, body)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d model turns, want %d: %s", tc.model, len(got), len(tc.want), body)
		}
		for i := range got {
			if len(got[i]) != len(tc.want[i]) {
				t.Fatalf("%s: turn %d has calls %q, want %q", tc.model, i, got[i], tc.want[i])
			}
			for j := range got[i] {
				if got[i][j] != tc.want[i][j] {
					t.Errorf("%s: turn %d call %d signature %q, want %q", tc.model, i, j, got[i][j], tc.want[i][j])
				}
			}
		}
	}
}

func TestRequiresThoughtSignatures(t *testing.T) {
	for model, want := range map[string]bool{
		"gemini-3.5-flash": true, "gemini-3.1-pro-preview": true, "models/gemini-3-pro": true,
		"gemini-2.5-flash": false, "gemini-2.0-flash": false, "gpt-4o-mini": false, "": false,
	} {
		if got := RequiresThoughtSignatures(model); got != want {
			t.Errorf("RequiresThoughtSignatures(%q) = %v", model, got)
		}
	}
}

const signedResponse = `{"candidates":[{"content":{"role":"model","parts":[
 {"text":"Checking both."},
 {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"U0lHLTE="},
 {"functionCall":{"name":"get_weather","args":{"city":"Lyon"}}}]},
 "finishReason":"STOP","index":0}],
 "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},
 "modelVersion":"gemini-3.5-flash","responseId":"resp-1"}`

func TestDecodeResponseReadsCallSignatures(t *testing.T) {
	resp, err := DecodeResponse([]byte(signedResponse))
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].Signature != "U0lHLTE=" || calls[1].Signature != "" {
		t.Fatalf("signatures not read from their parts: %+v", calls)
	}
	// Written back on the same part when encoded (the emulator's responses).
	body, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Choices[0].Message.ToolCalls; got[0].Signature != "U0lHLTE=" || got[1].Signature != "" {
		t.Fatalf("re-encoded response lost or moved signatures: %s", body)
	}
}

func TestStreamCarriesCallSignaturesBothWays(t *testing.T) {
	evs, err := decodeSSE(t, NewStreamDecoder(), []byte("data: "+string(compact([]byte(signedResponse)))+"\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	var sigs []string
	for _, ev := range evs {
		if ev.Type == llm.EventToolCall {
			sigs = append(sigs, ev.ToolCall.Signature)
		}
	}
	if len(sigs) != 2 || sigs[0] != "U0lHLTE=" || sigs[1] != "" {
		t.Fatalf("tool call events carry signatures %q", sigs)
	}
	resp, err := llm.Collect(context.Background(), &llm.SliceStream{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	for _, ev := range llm.Events(resp, 3) {
		if err := enc.Encode(w, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	again, err := decodeSSE(t, NewStreamDecoder(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	back, _ := llm.Collect(context.Background(), &llm.SliceStream{Events: again})
	if got := back.Choices[0].Message.ToolCalls; len(got) != 2 || got[0].Signature != "U0lHLTE=" || got[1].Signature != "" {
		t.Fatalf("re-encoded stream lost or moved signatures:\n%s", buf.Bytes())
	}
}

func TestDecodeRequestKeepsCallSignatures(t *testing.T) {
	body := []byte(`{"contents":[
	 {"role":"user","parts":[{"text":"hi"}]},
	 {"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"U0lH"}]},
	 {"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":"x"}}}]}]}`)
	req, err := DecodeRequest("gemini-3.5-flash", body, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Messages[1].ToolCalls[0].Signature; got != "U0lH" {
		t.Fatalf("signature %q", got)
	}
}
