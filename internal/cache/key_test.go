package cache

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func ptr[T any](v T) *T { return &v }

// baseRequest is a typical agent turn: system prompt, a short conversation, a tool
// with a schema and a JSON response format.
func baseRequest() *llm.Request {
	return &llm.Request{
		Model: "gpt-4o-mini",
		Messages: []llm.Message{
			llm.TextMessage(llm.RoleSystem, "You are a concise assistant for a travel agency. "+strings.Repeat("Be polite. ", 20)),
			llm.TextMessage(llm.RoleUser, "What is the weather in Paris?"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "weather", Arguments: `{"city": "Paris", "unit": "c"}`}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: `{"temp": 21}`}}},
			llm.TextMessage(llm.RoleUser, "And should I take an umbrella tomorrow? "+strings.Repeat("I walk a lot. ", 30)),
		},
		Tools: []llm.Tool{{
			Name: "weather", Description: "Current weather for a city",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}`),
		}},
		ResponseFormat: &llm.ResponseFormat{Type: llm.ResponseJSONSchema, Name: "answer",
			Schema: json.RawMessage(`{"type":"object","properties":{"umbrella":{"type":"boolean"}}}`)},
		Temperature: ptr(0.0),
		MaxTokens:   ptr(512),
	}
}

func mustKey(t testing.TB, ns string, r *llm.Request) Key {
	t.Helper()
	k, err := KeyFor(ns, r)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyChangesWithEverythingThatChangesTheAnswer(t *testing.T) {
	cases := map[string]func(r *llm.Request){
		"model":               func(r *llm.Request) { r.Model = "gpt-4o" },
		"system prompt":       func(r *llm.Request) { r.Messages[0].Content[0].Text += "!" },
		"user text":           func(r *llm.Request) { r.Messages[4].Content[0].Text = "hi" },
		"role":                func(r *llm.Request) { r.Messages[1].Role = llm.RoleAssistant },
		"message name":        func(r *llm.Request) { r.Messages[1].Name = "alice" },
		"tool call id":        func(r *llm.Request) { r.Messages[2].ToolCalls[0].ID = "call_2" },
		"tool call arguments": func(r *llm.Request) { r.Messages[2].ToolCalls[0].Arguments = `{"city":"Lyon","unit":"c"}` },
		"tool result id":      func(r *llm.Request) { r.Messages[3].ToolCallID = "call_9" },
		"tool result error":   func(r *llm.Request) { r.Messages[3].IsError = true },
		"tool result text":    func(r *llm.Request) { r.Messages[3].Content[0].Text = `{"temp": 5}` },
		"image": func(r *llm.Request) {
			r.Messages[4].Content = append(r.Messages[4].Content, llm.Part{Type: llm.PartImage, ImageURL: "https://x/y.png"})
		},
		"message dropped": func(r *llm.Request) { r.Messages = r.Messages[1:] },
		"text moved to turn": func(r *llm.Request) {
			r.Messages[0].Content[0].Text += r.Messages[1].Content[0].Text
			r.Messages[1].Content[0].Text = ""
		},
		"tool description":     func(r *llm.Request) { r.Tools[0].Description = "Weather" },
		"tool schema":          func(r *llm.Request) { r.Tools[0].Parameters = json.RawMessage(`{"type":"object"}`) },
		"tool strict":          func(r *llm.Request) { r.Tools[0].Strict = ptr(true) },
		"no tools":             func(r *llm.Request) { r.Tools = nil },
		"tool choice required": func(r *llm.Request) { r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired} },
		"tool choice named":    func(r *llm.Request) { r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "weather"} },
		"tool choice none":     func(r *llm.Request) { r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone} },
		"parallel tool calls":  func(r *llm.Request) { r.ParallelToolCalls = ptr(false) },
		"response schema":      func(r *llm.Request) { r.ResponseFormat.Schema = json.RawMessage(`{"type":"object"}`) },
		"response format type": func(r *llm.Request) { r.ResponseFormat = &llm.ResponseFormat{Type: llm.ResponseJSONObject} },
		"no response format":   func(r *llm.Request) { r.ResponseFormat = nil },
		"temperature":          func(r *llm.Request) { r.Temperature = ptr(0.7) },
		"temperature unset":    func(r *llm.Request) { r.Temperature = nil },
		"top_p":                func(r *llm.Request) { r.TopP = ptr(0.9) },
		"max tokens":           func(r *llm.Request) { r.MaxTokens = ptr(100) },
		"max tokens unset":     func(r *llm.Request) { r.MaxTokens = nil },
		"stop":                 func(r *llm.Request) { r.Stop = []string{"\n"} },
		"seed":                 func(r *llm.Request) { r.Seed = ptr(int64(7)) },
		"presence penalty":     func(r *llm.Request) { r.PresencePenalty = ptr(0.5) },
		"frequency penalty":    func(r *llm.Request) { r.FrequencyPenalty = ptr(0.5) },
		"n":                    func(r *llm.Request) { r.N = ptr(3) },
		"reasoning effort":     func(r *llm.Request) { r.ReasoningEffort = "high" },
		"extra field": func(r *llm.Request) {
			r.Extra = map[string]json.RawMessage{"logit_bias": json.RawMessage(`{"50256":-100}`)}
			r.ExtraFormat = llm.FormatOpenAI
		},
	}
	base := mustKey(t, "tenant-a", baseRequest())
	seen := map[Key]string{}
	for name, mutate := range cases {
		r := baseRequest()
		mutate(r)
		k := mustKey(t, "tenant-a", r)
		if k == base {
			t.Errorf("%s: key unchanged", name)
		}
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s share a key", name, other)
		}
		seen[k] = name
	}
}

func TestKeyTellsReasoningBlocksApartBySignatureAndData(t *testing.T) {
	with := func(p llm.Part) Key {
		r := baseRequest()
		r.Messages[2].Content = []llm.Part{p}
		return mustKey(t, "tenant-a", r)
	}
	if with(llm.Part{Type: llm.PartThinking, Text: "t", Signature: "sig-1"}) == with(llm.Part{Type: llm.PartThinking, Text: "t", Signature: "sig-2"}) {
		t.Error("thinking blocks with different signatures share a key")
	}
	if with(llm.Part{Type: llm.PartRedactedThinking, Data: "data-1"}) == with(llm.Part{Type: llm.PartRedactedThinking, Data: "data-2"}) {
		t.Error("redacted thinking blocks with different data share a key")
	}
}

func TestKeyIgnoresWhatCannotChangeTheAnswer(t *testing.T) {
	cases := map[string]func(r *llm.Request){
		"stream":        func(r *llm.Request) { r.Stream = true; r.IncludeUsage = true },
		"user":          func(r *llm.Request) { r.User = "user-42" },
		"metadata":      func(r *llm.Request) { r.Metadata = map[string]string{"trace": "abc"} },
		"developer":     func(r *llm.Request) { r.Messages[0].Developer = true },
		"cache control": func(r *llm.Request) { r.Messages[0].Content[0].CacheControl = json.RawMessage(`{"type":"ephemeral"}`) },
		"schema spelling": func(r *llm.Request) {
			r.Tools[0].Parameters = json.RawMessage("{\n \"required\": [\"city\"],\n \"type\": \"object\",\n \"properties\": {\"unit\": {\"enum\": [\"c\", \"f\"], \"type\": \"string\"}, \"city\": {\"type\": \"string\"}}\n}")
		},
		"tool call argument spelling": func(r *llm.Request) { r.Messages[2].ToolCalls[0].Arguments = `{"unit":"c","city":"Paris"}` },
		"default n":                   func(r *llm.Request) { r.N = ptr(1) },
		"default top_p":               func(r *llm.Request) { r.TopP = ptr(1.0) },
		"default penalties":           func(r *llm.Request) { r.PresencePenalty = ptr(0.0); r.FrequencyPenalty = ptr(0.0) },
		"empty stop":                  func(r *llm.Request) { r.Stop = []string{} },
		"tool choice auto":            func(r *llm.Request) { r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto} },
		"negative zero temperature":   func(r *llm.Request) { r.Temperature = ptr(-0.0) },
		"empty assistant text":        func(r *llm.Request) { r.Messages[2].Content = []llm.Part{{Type: llm.PartText}} },
	}
	base := mustKey(t, "tenant-a", baseRequest())
	for name, mutate := range cases {
		r := baseRequest()
		mutate(r)
		if k := mustKey(t, "tenant-a", r); k != base {
			t.Errorf("%s: key changed", name)
		}
	}
}

func TestKeyNormalisesDefaultsWithoutTools(t *testing.T) {
	r := baseRequest()
	r.Tools = nil
	want := mustKey(t, "t", r)
	r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	r.ParallelToolCalls = ptr(true)
	r.ResponseFormat = nil
	if mustKey(t, "t", r) == want {
		t.Fatal("removing the response format did not change the key")
	}
	r2 := baseRequest()
	r2.Tools = nil
	r2.ResponseFormat = nil
	want = mustKey(t, "t", r2)
	r2.ResponseFormat = &llm.ResponseFormat{Type: llm.ResponseText}
	r2.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	if mustKey(t, "t", r2) != want {
		t.Fatal(`response format "text" and tool choice "none" without tools must be the defaults`)
	}
}

func TestKeyExtraFieldsAreCanonicalAndScopedByFormat(t *testing.T) {
	a := baseRequest()
	a.Extra = map[string]json.RawMessage{"b": json.RawMessage(`{"y":1,"x":2}`), "a": json.RawMessage(`true`)}
	a.ExtraFormat = llm.FormatOpenAI
	b := baseRequest()
	b.Extra = map[string]json.RawMessage{"a": json.RawMessage(`true`), "b": json.RawMessage(`{ "x": 2, "y": 1 }`)}
	b.ExtraFormat = llm.FormatOpenAI
	if mustKey(t, "t", a) != mustKey(t, "t", b) {
		t.Fatal("the same extra fields spelled differently changed the key")
	}
	b.ExtraFormat = llm.FormatAnthropic
	if mustKey(t, "t", a) == mustKey(t, "t", b) {
		t.Fatal("extra fields of another wire format share a key")
	}
}

func TestKeyIsScopedByNamespace(t *testing.T) {
	r := baseRequest()
	a, b := mustKey(t, "tenant-a", r), mustKey(t, "tenant-b", r)
	if a.Sum == b.Sum {
		t.Fatal("two tenants share a hash")
	}
	if a.Namespace != "tenant-a" {
		t.Fatalf("namespace %q", a.Namespace)
	}
	// A namespace must not be confusable with the start of the request.
	if mustKey(t, "ab", &llm.Request{Model: "c"}).Sum == mustKey(t, "a", &llm.Request{Model: "bc"}).Sum {
		t.Fatal("namespace and model run together")
	}
}

func TestKeyRefusesAnEmptyNamespace(t *testing.T) {
	if _, err := KeyFor("", baseRequest()); err != ErrNoNamespace {
		t.Fatalf("err = %v", err)
	}
	if _, err := PrefixKey("", baseRequest()); err != ErrNoNamespace {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyRejectsInvalidSchemas(t *testing.T) {
	r := baseRequest()
	r.Tools[0].Parameters = json.RawMessage(`{"type":`)
	if _, err := KeyFor("t", r); err == nil || !strings.Contains(err.Error(), "tools[0].parameters") {
		t.Fatalf("err = %v, want one naming tools[0].parameters", err)
	}
	// Tool call arguments are model output and may be invalid JSON: hashed verbatim.
	r = baseRequest()
	r.Messages[2].ToolCalls[0].Arguments = `{"city": "Par`
	if _, err := KeyFor("t", r); err != nil {
		t.Fatalf("invalid tool call arguments: %v", err)
	}
}

func TestPrefixKeyIgnoresOnlyTheLastUserText(t *testing.T) {
	a := baseRequest()
	b := baseRequest()
	b.Messages[4].Content[0].Text = "Is it going to rain in Paris tomorrow?"
	pa, _ := PrefixKey("t", a)
	pb, _ := PrefixKey("t", b)
	if pa != pb {
		t.Fatal("prefix keys differ although only the last user text does")
	}
	if ka := mustKey(t, "t", a); ka.Sum == pa.Sum {
		t.Fatal("the prefix key equals the exact key")
	}
	for name, mutate := range map[string]func(r *llm.Request){
		"earlier user turn": func(r *llm.Request) { r.Messages[1].Content[0].Text = "Weather in Rome?" },
		"system prompt":     func(r *llm.Request) { r.Messages[0].Content[0].Text = "Be brief." },
		"tool schema":       func(r *llm.Request) { r.Tools[0].Parameters = json.RawMessage(`{}`) },
		"temperature":       func(r *llm.Request) { r.Temperature = ptr(1.0) },
		"model":             func(r *llm.Request) { r.Model = "claude-haiku" },
		"image in last turn": func(r *llm.Request) {
			r.Messages[4].Content = append(r.Messages[4].Content, llm.Part{Type: llm.PartImage, ImageURL: "https://x/y.png"})
		},
	} {
		r := baseRequest()
		mutate(r)
		if p, _ := PrefixKey("t", r); p == pa {
			t.Errorf("%s: prefix key unchanged", name)
		}
	}
	if p, _ := PrefixKey("u", a); p == pa {
		t.Error("prefix key not scoped by namespace")
	}
}

func TestParseKeyRoundTrips(t *testing.T) {
	for _, ns := range []string{"tenant-a", "team:b/c*", "é"} {
		k := mustKey(t, ns, baseRequest())
		s := k.String()
		if strings.Count(s, ":") != 1 || strings.ContainsAny(s, "*?[]") {
			t.Fatalf("%q: printable form %q is not safe", ns, s)
		}
		got, err := ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != k {
			t.Fatalf("round trip of %q: %+v != %+v", s, got, k)
		}
	}
	for _, bad := range []string{"", "abc", "t:123", "t%zz:" + strings.Repeat("0", 64)} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	r := baseRequest()
	size := 0
	for _, m := range r.Messages {
		size += len(m.Text())
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := KeyFor("tenant-a", r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyShortChat(b *testing.B) {
	r := &llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "You are a helpful assistant."),
		llm.TextMessage(llm.RoleUser, "Summarise the plot of Hamlet in two sentences."),
	}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := KeyFor("tenant-a", r); err != nil {
			b.Fatal(err)
		}
	}
}
