package emulator

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func userReq(text string) *llm.Request {
	return &llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "You are a helpful assistant."),
		llm.TextMessage(llm.RoleUser, text),
	}}
}

func ptr[T any](v T) *T { return &v }

func TestGenerateIsDeterministicAndNamesTheModel(t *testing.T) {
	req := userReq("Explain how a circuit breaker protects a service from cascading failures.")
	a, b := Generate(req, "gpt-4o-mini"), Generate(req, "gpt-4o-mini")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same request, different answers:\n%+v\n%+v", a, b)
	}
	if !strings.HasPrefix(a.Text(), "[gpt-4o-mini] ") {
		t.Fatalf("answer does not name its model: %q", a.Text())
	}
	if !strings.Contains(a.Text(), "Explain how a circuit breaker") {
		t.Fatalf("answer does not echo the prompt's topic: %q", a.Text())
	}
	other := Generate(req, "claude-3-5-haiku-latest")
	if !strings.HasPrefix(other.Text(), "[claude-3-5-haiku-latest] ") || other.Text()[25:] == a.Text()[14:] {
		t.Fatalf("another model gives the same prose")
	}
	if c := Generate(userReq("Something else entirely, please."), "gpt-4o-mini"); c.Text() == a.Text() {
		t.Fatal("a different prompt gets the same answer")
	}
	if a.Choices[0].FinishReason != llm.FinishStop || a.Usage.OutputTokens != TextTokens(a.Text()) {
		t.Fatalf("finish %q, usage %+v for %d-byte text", a.Choices[0].FinishReason, a.Usage, len(a.Text()))
	}
}

func TestGenerateAnswerLengthGrowsWithThePrompt(t *testing.T) {
	short := Generate(userReq("Hi."), "m").Usage.OutputTokens
	long := Generate(userReq(strings.Repeat("Please consider the following background carefully. ", 40)), "m").Usage.OutputTokens
	if short < 30 || short > 200 || long <= short {
		t.Fatalf("short prompt → %d tokens, long prompt → %d tokens", short, long)
	}
}

func TestGenerateMaxTokensCutsAPrefixWithFinishLength(t *testing.T) {
	req := userReq("Write a paragraph about caching.")
	full := Generate(req, "m").Text()
	cut := req.Clone()
	cut.MaxTokens = ptr(7)
	r := Generate(cut, "m")
	if r.Choices[0].FinishReason != llm.FinishLength {
		t.Fatalf("finish %q, want length", r.Choices[0].FinishReason)
	}
	if r.Usage.OutputTokens != 7 || !strings.HasPrefix(full, r.Text()) {
		t.Fatalf("got %d tokens %q; want 7 tokens, a prefix of %q", r.Usage.OutputTokens, r.Text(), full)
	}
}

func TestGenerateHonoursStopSequences(t *testing.T) {
	req := userReq("Write a paragraph about caching.")
	full := Generate(req, "m").Text()
	words := strings.Fields(full)
	stop := words[len(words)/2]
	withStop := req.Clone()
	withStop.Stop = []string{"zzz-never", stop}
	r := Generate(withStop, "m")
	want := full[:strings.Index(full, stop)]
	if r.Text() != want || r.Choices[0].FinishReason != llm.FinishStop {
		t.Fatalf("stop %q: got %q (%s), want %q", stop, r.Text(), r.Choices[0].FinishReason, want)
	}
}

var weatherTool = llm.Tool{Name: "get_weather", Description: "Current weather", Parameters: json.RawMessage(`{
	"type":"object",
	"properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},
	"required":["location"],"additionalProperties":false}`)}

var searchTool = llm.Tool{Name: "search_docs", Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}`)}

func TestGenerateToolChoice(t *testing.T) {
	cases := []struct {
		name     string
		user     string
		choice   *llm.ToolChoice
		parallel *bool
		want     []string // tool names called; nil: a text answer
	}{
		{"required calls a tool", "Hello there.", &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil, []string{"?"}},
		{"named tool is called", "Hello there.", &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "search_docs"}, nil, []string{"search_docs"}},
		{"auto without a mention answers in text", "Tell me a story.", nil, nil, nil},
		{"auto calls a tool named in the message", "What does get_weather say for Paris?", nil, nil, []string{"get_weather"}},
		{"auto matches a name written with spaces", "Please get weather in Oslo.", &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil, []string{"get_weather"}},
		{"auto calls each mentioned tool in order", "Use search docs, then get_weather.", nil, nil, []string{"search_docs", "get_weather"}},
		{"parallel false calls only the first", "Use search docs, then get_weather.", nil, ptr(false), []string{"search_docs"}},
		{"auto with use-a-tool phrase", "Please use a tool to help me.", nil, nil, []string{"get_weather"}},
		{"none never calls", "What does get_weather say?", &llm.ToolChoice{Mode: llm.ToolChoiceNone}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := userReq(c.user)
			req.Tools = []llm.Tool{weatherTool, searchTool}
			req.ToolChoice, req.ParallelToolCalls = c.choice, c.parallel
			r := Generate(req, "gpt-4o")
			calls := r.Choices[0].Message.ToolCalls
			if c.want == nil {
				if len(calls) != 0 || r.Text() == "" || r.Choices[0].FinishReason != llm.FinishStop {
					t.Fatalf("want a text answer, got %+v", r.Choices[0])
				}
				return
			}
			if len(calls) != len(c.want) || r.Choices[0].FinishReason != llm.FinishToolCalls {
				t.Fatalf("want calls %v, got %+v", c.want, r.Choices[0])
			}
			for i, call := range calls {
				if c.want[i] != "?" && call.Name != c.want[i] {
					t.Fatalf("call %d is %s, want %s", i, call.Name, c.want[i])
				}
				if !strings.HasPrefix(call.ID, "call_") || !json.Valid([]byte(call.Arguments)) {
					t.Fatalf("bad call %+v", call)
				}
			}
		})
	}
}

func TestGenerateToolArgumentsUseThePlaceInThePrompt(t *testing.T) {
	req := userReq("What is the weather like in Lisbon today? Use get_weather.")
	req.Tools = []llm.Tool{weatherTool}
	r := Generate(req, "gpt-4o")
	var args struct{ Location string }
	if err := json.Unmarshal([]byte(r.Choices[0].Message.ToolCalls[0].Arguments), &args); err != nil || args.Location != "Lisbon" {
		t.Fatalf("arguments %s, want location Lisbon", r.Choices[0].Message.ToolCalls[0].Arguments)
	}
}

func TestGenerateQuotesTheToolResult(t *testing.T) {
	req := userReq("What is the weather in Paris? Use get_weather.")
	req.Tools = []llm.Tool{weatherTool}
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	first := Generate(req, "gpt-4o")
	call := first.Choices[0].Message.ToolCalls[0]
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call}},
		llm.Message{Role: llm.RoleTool, ToolCallID: call.ID, Content: []llm.Part{{Type: llm.PartText, Text: `{"temp_c":21,"sky":"clear"}`}}})
	r := Generate(req, "gpt-4o")
	if len(r.Choices[0].Message.ToolCalls) != 0 {
		t.Fatal("answered a tool result with another tool call")
	}
	if !strings.Contains(r.Text(), `get_weather tool returned: {"temp_c":21,"sky":"clear"}`) {
		t.Fatalf("answer does not quote the tool result: %q", r.Text())
	}
}

// schemaCases are the shapes tool and response schemas take in practice.
var schemaCases = []struct{ name, schema string }{
	{"flat object", `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":120},"member":{"type":"boolean"}},"required":["name","age","member"],"additionalProperties":false}`},
	{"enum and const", `{"type":"object","properties":{"unit":{"enum":["celsius","fahrenheit"]},"v":{"const":3},"kind":{"type":"string","enum":["a","b"]}},"required":["unit","v","kind"]}`},
	{"numbers with bounds", `{"type":"object","properties":{"p":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},"q":{"type":"integer","multipleOf":5,"minimum":12,"maximum":40},"r":{"type":"number","multipleOf":0.25,"minimum":-3}},"required":["p","q","r"]}`},
	{"strings with formats and lengths", `{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"},"mail":{"type":"string","format":"email"},"id":{"type":"string","format":"uuid"},"site":{"type":"string","format":"uri"},"code":{"type":"string","minLength":10,"maxLength":12},"tiny":{"type":"string","maxLength":3}},"required":["when","day","mail","id","site","code","tiny"]}`},
	{"arrays", `{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"},"minItems":2,"maxItems":4,"uniqueItems":true},"pair":{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false},"picks":{"type":"array","items":{"enum":[1,2,3]},"minItems":3,"uniqueItems":true}},"required":["tags","pair","picks"]}`},
	{"nested objects", `{"type":"object","properties":{"order":{"type":"object","properties":{"id":{"type":"string"},"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1}},"required":["sku","qty"],"additionalProperties":false},"minItems":1}},"required":["id","lines"]}},"required":["order"]}`},
	{"nullable types", `{"type":"object","properties":{"note":{"type":["string","null"]},"count":{"type":["null","integer"]}},"required":["note","count"]}`},
	{"anyOf and oneOf", `{"type":"object","properties":{"a":{"anyOf":[{"type":"null"},{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}]},"b":{"oneOf":[{"type":"string","maxLength":5},{"type":"integer"}]}},"required":["a","b"]}`},
	{"allOf merged", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"integer"}},"required":["b"]}]}`},
	{"refs into defs", `{"type":"object","properties":{"home":{"$ref":"#/$defs/address"},"work":{"$ref":"#/definitions/address"}},"required":["home","work"],"$defs":{"address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string","minLength":5,"maxLength":5}},"required":["city","zip"]}},"definitions":{"address":{"$ref":"#/$defs/address"}}}`},
	{"recursive tree", `{"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"label":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["label","children"]}}}`},
	{"required without property schema", `{"type":"object","required":["anything"]}`},
	{"top-level array", `{"type":"array","items":{"type":"integer","minimum":10,"maximum":12},"minItems":1,"maxItems":2}`},
	{"empty schema", `{}`},
}

func compileSchema(t *testing.T, s string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://schema.json")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return sch
}

func assertConforms(t *testing.T, sch *jsonschema.Schema, value string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(value))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, value)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("value does not satisfy the schema: %v\n%s", err, value)
	}
}

func TestToolArgumentsSatisfyTheSchema(t *testing.T) {
	for _, c := range schemaCases {
		t.Run(c.name, func(t *testing.T) {
			sch := compileSchema(t, c.schema)
			// Many seeds: enums, ranges and array lengths are drawn at random.
			for i := 0; i < 25; i++ {
				req := userReq("Please call the tool. Variant " + string(rune('a'+i)))
				req.Tools = []llm.Tool{{Name: "f", Parameters: json.RawMessage(c.schema)}}
				req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
				r := Generate(req, "gpt-4o")
				assertConforms(t, sch, r.Choices[0].Message.ToolCalls[0].Arguments)
			}
		})
	}
}

func TestJSONSchemaAnswersSatisfyTheSchema(t *testing.T) {
	for _, c := range schemaCases {
		t.Run(c.name, func(t *testing.T) {
			sch := compileSchema(t, c.schema)
			for i := 0; i < 10; i++ {
				req := userReq("Extract the data. Case " + string(rune('a'+i)))
				req.ResponseFormat = &llm.ResponseFormat{Type: llm.ResponseJSONSchema, Name: "out", Schema: json.RawMessage(c.schema)}
				r := Generate(req, "gemini-2.0-flash")
				assertConforms(t, sch, r.Text())
			}
		})
	}
}

func TestJSONSchemaAnswerNamesTheModelInAFreeText(t *testing.T) {
	req := userReq("Summarise.")
	req.ResponseFormat = &llm.ResponseFormat{Type: llm.ResponseJSONSchema, Schema: json.RawMessage(
		`{"type":"object","properties":{"score":{"type":"integer"},"summary":{"type":"string"}},"required":["score","summary"]}`)}
	if r := Generate(req, "gpt-4.1"); !strings.Contains(r.Text(), `"summary":"[gpt-4.1] `) {
		t.Fatalf("answer %s does not name the model", r.Text())
	}
}

func TestJSONObjectAnswerIsAnObject(t *testing.T) {
	req := userReq("Give me JSON.")
	req.ResponseFormat = &llm.ResponseFormat{Type: llm.ResponseJSONObject}
	var obj map[string]any
	r := Generate(req, "gpt-4o-mini")
	if err := json.Unmarshal([]byte(r.Text()), &obj); err != nil || obj["model"] != "gpt-4o-mini" {
		t.Fatalf("answer %q is not a JSON object naming the model (%v)", r.Text(), err)
	}
}

func TestUsageCountsPromptImagesAndReasoning(t *testing.T) {
	base := userReq("Describe this.")
	in := Generate(base, "gpt-4o").Usage.InputTokens
	withImage := userReq("Describe this.")
	withImage.Messages[1].Content = append(withImage.Messages[1].Content, llm.Part{Type: llm.PartImage, ImageURL: "https://example.com/cat.png"})
	if got := Generate(withImage, "gpt-4o").Usage.InputTokens; got != in+imageTokens {
		t.Fatalf("image adds %d tokens, want %d", got-in, imageTokens)
	}
	longer := userReq("Describe this." + strings.Repeat(" More words here.", 50))
	if got := Generate(longer, "gpt-4o").Usage.InputTokens; got <= in+150 {
		t.Fatalf("850 more bytes add only %d tokens", got-in)
	}

	plain := Generate(base, "gpt-4o-mini").Usage
	if plain.ReasoningTokens != 0 {
		t.Fatalf("gpt-4o-mini reports reasoning: %+v", plain)
	}
	for _, m := range []string{"o3-mini", "o4-mini", "gpt-5-mini", "gemini-2.5-pro"} {
		r := Generate(base, m)
		u := r.Usage
		if u.ReasoningTokens < 32 || u.OutputTokens != u.ReasoningTokens+TextTokens(r.Text()) {
			t.Fatalf("%s: usage %+v for a %d-token answer", m, u, TextTokens(r.Text()))
		}
	}
	capped := userReq("Describe this.")
	capped.MaxTokens = ptr(20)
	if u := Generate(capped, "o3-mini").Usage; u.OutputTokens != 20 {
		t.Fatalf("max_tokens 20 on a reasoning model: usage %+v", u)
	}
}

func TestUsageOverrideReportsCachedAndReasoningTokens(t *testing.T) {
	r := Generate(userReq("Hello"), "claude-3-5-haiku-latest")
	in, out := r.Usage.InputTokens, r.Usage.OutputTokens
	applyUsage(r, UsageOverride{CachedInputTokens: 5, CacheWriteTokens: 1 << 20, ReasoningTokens: 40})
	u := r.Usage
	if u.CachedInputTokens != 5 || u.CacheWriteTokens != in-5 || u.ReasoningTokens != 40 || u.OutputTokens != out+40 || u.InputTokens != in {
		t.Fatalf("override gave %+v (input %d, output %d before)", u, in, out)
	}
	applyUsage(r, UsageOverride{ReasoningTokens: -1})
	if r.Usage.ReasoningTokens != 0 || r.Usage.OutputTokens != out {
		t.Fatalf("reasoning=-1 gave %+v", r.Usage)
	}
}

func TestEmbedIsDeterministicUnitAndSimilarForSimilarTexts(t *testing.T) {
	texts := []string{
		"How do I reset my password?",
		"how do i reset my password",
		"What is the capital of France?",
	}
	a, b := Embed(texts, 256), Embed(texts, 256)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("embeddings are not deterministic")
	}
	for i, v := range a {
		if len(v) != 256 {
			t.Fatalf("vector %d has %d dims", i, len(v))
		}
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Fatalf("vector %d has norm² %f", i, n)
		}
	}
	cos := func(x, y []float32) float64 {
		var s float64
		for i := range x {
			s += float64(x[i]) * float64(y[i])
		}
		return s
	}
	same, other := cos(a[0], a[1]), cos(a[0], a[2])
	if same < 0.9 || same >= 1 || other > 0.4 {
		t.Fatalf("cosine paraphrase %.3f, unrelated %.3f", same, other)
	}
}
