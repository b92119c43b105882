package openai

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestDecodeRequestRejectsBadInputNamingTheField(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, body, param, msg string
	}{
		{"empty body", ``, "", "request body is empty; expected a JSON object"},
		{"not an object", `[1,2]`, "", "request body: expected a JSON object, got array"},
		{"malformed JSON", `{"model":"m",` + msgs + `,}`, "", "request body is not valid JSON: expected a string key at byte 57"},
		{"truncated JSON", `{"model":"m","messages":[{"role":"user","content":"hi`, "", "request body is not valid JSON: unterminated string at byte 53"},
		{"truncated before a value", `{"model":"m","messages":`, "", "request body is not valid JSON: unexpected end of input at byte 24"},
		{"truncated before a number", `{"model":"m",` + msgs + `,"temperature":`, "", "request body is not valid JSON: unexpected end of input at byte 71"},
		{"not JSON where a value belongs", `{"model":"m","messages":[{"role":"user","content":x}]}`, "", "request body is not valid JSON: unexpected character 'x' at byte 50"},
		{"trailing data", `{"model":"m",` + msgs + `} x`, "", "request body is not valid JSON: unexpected data after the top-level value at byte 58"},
		{"missing model", `{` + msgs + `}`, "model", "model: missing required parameter"},
		{"model not a string", `{"model":4,` + msgs + `}`, "model", "model: expected a string, got number"},
		{"empty model", `{"model":"",` + msgs + `}`, "model", "model: must not be empty"},
		{"missing messages", `{"model":"m"}`, "messages", "messages: missing required parameter"},
		{"messages not an array", `{"model":"m","messages":{"role":"user"}}`, "messages", "messages: expected an array of messages, got object"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", "messages: must contain at least one message"},
		{"message not an object", `{"model":"m","messages":["hi"]}`, "messages[0]", "messages[0]: expected a message object, got string"},
		{"missing role", `{"model":"m","messages":[{"content":"hi"}]}`, "messages[0].role", "messages[0].role: missing required parameter"},
		{"unknown role", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"robot","content":"hi"}]}`, "messages[1].role", `messages[1].role: unsupported role "robot"; expected system, developer, user, assistant or tool`},
		{"content wrong type", `{"model":"m","messages":[{"role":"system","content":"a"},{"role":"user","content":5}]}`, "messages[1].content", "messages[1].content: expected a string or an array of content parts, got number"},
		{"missing user content", `{"model":"m","messages":[{"role":"user"}]}`, "messages[0].content", "messages[0].content: missing required parameter"},
		{"unknown part type", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"input_audio","input_audio":{}}]}]}`, "messages[0].content[1].type", `messages[0].content[1].type: unsupported content part type "input_audio"; expected text or image_url`},
		{"text part without text", `{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text", "messages[0].content[0].text: missing required parameter"},
		{"image without url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"detail":"low"}}]}]}`, "messages[0].content[0].image_url.url", "messages[0].content[0].image_url.url: missing required parameter"},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages[0].content[0].type", "messages[0].content[0].type: image parts are only allowed in user messages"},
		{"tool message without id", `{"model":"m","messages":[{"role":"tool","content":"42"}]}`, "messages[0].tool_call_id", "messages[0].tool_call_id: missing required parameter for a tool message"},
		{"assistant without content", `{"model":"m","messages":[{"role":"assistant"}]}`, "messages[0].content", "messages[0].content: an assistant message needs content or tool_calls"},
		{"tool call arguments not a string", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{"a":1}}}]}]}`, "messages[0].tool_calls[0].function.arguments", "messages[0].tool_calls[0].function.arguments: expected a string (JSON-encoded arguments), got object"},
		{"tool calls on a user message", `{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls", "messages[0].tool_calls: only assistant messages can have tool_calls"},
		{"tools not an array", `{"model":"m",` + msgs + `,"tools":{}}`, "tools", "tools: expected an array of tools, got object"},
		{"tool without name", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"parameters":{}}}]}`, "tools[0].function.name", "tools[0].function.name: missing required parameter"},
		{"tool of unknown type", `{"model":"m",` + msgs + `,"tools":[{"type":"web_search"}]}`, "tools[0].type", `tools[0].type: unsupported tool type "web_search"; expected function`},
		{"tool parameters not an object", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}`, "tools[0].function.parameters", "tools[0].function.parameters: expected a JSON schema object, got string"},
		{"bad tool_choice string", `{"model":"m",` + msgs + `,"tool_choice":"always"}`, "tool_choice", `tool_choice: invalid value "always"; expected "none", "auto", "required" or {"type":"function","function":{"name":...}}`},
		{"tool_choice number", `{"model":"m",` + msgs + `,"tool_choice":1}`, "tool_choice", `tool_choice: expected "none", "auto", "required" or {"type":"function","function":{"name":...}}, got number`},
		{"tool_choice without name", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{}}}`, "tool_choice.function.name", "tool_choice.function.name: missing required parameter"},
		{"tool_choice names unknown tool", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice.function.name", `tool_choice.function.name: no tool named "g" in tools`},
		{"tool_choice required without tools", `{"model":"m",` + msgs + `,"tool_choice":"required"}`, "tool_choice", "tool_choice: only allowed when tools are specified"},
		{"response_format unknown type", `{"model":"m",` + msgs + `,"response_format":{"type":"xml"}}`, "response_format.type", `response_format.type: unsupported value "xml"; expected text, json_object or json_schema`},
		{"json_schema without schema object", `{"model":"m",` + msgs + `,"response_format":{"type":"json_schema"}}`, "response_format.json_schema", "response_format.json_schema: missing required parameter"},
		{"json_schema without name", `{"model":"m",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`, "response_format.json_schema.name", "response_format.json_schema.name: missing required parameter"},
		{"temperature out of range", `{"model":"m",` + msgs + `,"temperature":2.5}`, "temperature", "temperature: 2.5 is out of range; expected a number from 0 to 2"},
		{"temperature a string", `{"model":"m",` + msgs + `,"temperature":"hot"}`, "temperature", "temperature: expected a number, got string"},
		{"max_tokens fractional", `{"model":"m",` + msgs + `,"max_tokens":10.5}`, "max_tokens", "max_tokens: expected an integer, got a fractional number"},
		{"max_tokens zero", `{"model":"m",` + msgs + `,"max_tokens":0}`, "max_tokens", "max_tokens: 0 is out of range; expected at least 1"},
		{"stop a number", `{"model":"m",` + msgs + `,"stop":3}`, "stop", "stop: expected a string or an array of strings, got number"},
		{"stop array of numbers", `{"model":"m",` + msgs + `,"stop":["a",3]}`, "stop[1]", "stop[1]: expected a string, got number"},
		{"stream a string", `{"model":"m",` + msgs + `,"stream":"yes"}`, "stream", "stream: expected a boolean, got string"},
		{"include_usage without stream", `{"model":"m",` + msgs + `,"stream_options":{"include_usage":true}}`, "stream_options", "stream_options: only allowed when stream is true"},
		{"metadata value not a string", `{"model":"m",` + msgs + `,"metadata":{"n":1}}`, "metadata.n", "metadata.n: expected a string, got number"},
		{"n zero", `{"model":"m",` + msgs + `,"n":0}`, "n", "n: 0 is out of range; expected at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.body))
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not an *llm.Error", err)
			}
			if le.Kind != llm.KindInvalidRequest || le.Param != tc.param || le.Message != tc.msg {
				t.Fatalf("got kind %s param %q message %q\nwant param %q message %q", le.Kind, le.Param, le.Message, tc.param, tc.msg)
			}
			if s, _ := EncodeError(le); s != 400 {
				t.Fatalf("status %d, want 400", s)
			}
		})
	}
}

func TestDecodeRequestKeepsUnknownFieldsVerbatim(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":3,"logit_bias":{"50256":-100},"service_tier":"flex","prediction":{"type":"content","content":"x"}}`
	req, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"logprobs": "true", "top_logprobs": "3", "logit_bias": `{"50256":-100}`, "service_tier": `"flex"`, "prediction": `{"type":"content","content":"x"}`}
	if len(req.Extra) != len(want) || req.ExtraFormat != llm.FormatOpenAI {
		t.Fatalf("extra: %v (%s)", req.Extra, req.ExtraFormat)
	}
	for k, v := range want {
		if string(req.Extra[k]) != v {
			t.Errorf("extra[%s] = %s, want %s", k, req.Extra[k], v)
		}
	}
}

func TestDecodeRequestDoesNotAliasTheBody(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"x_extra":{"a":1}}`)
	req, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = ' '
	}
	if string(req.Tools[0].Parameters) != `{"type":"object"}` || string(req.Extra["x_extra"]) != `{"a":1}` || req.Messages[0].Text() != "hi" {
		t.Fatalf("request changed with the body: %+v", req)
	}
}

func TestDecodeRequestFullShape(t *testing.T) {
	body := `{
	  "model": "gpt-4o",
	  "messages": [
	    {"role": "developer", "content": [{"type": "text", "text": "Be terse."}]},
	    {"role": "user", "name": "ann", "content": [
	      {"type": "text", "text": "What is in these?\n\u00e9\ud83d\ude00"},
	      {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}},
	      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
	    ]},
	    {"role": "assistant", "content": null, "refusal": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"q\":1}"}}]},
	    {"role": "tool", "tool_call_id": "call_1", "content": "a cat"}
	  ],
	  "max_tokens": 50, "max_completion_tokens": 100, "stop": "END", "n": 2, "seed": -3,
	  "presence_penalty": -0.5, "frequency_penalty": 1e-1, "top_p": 1, "reasoning_effort": "low",
	  "stream": true, "stream_options": {"include_usage": true, "include_obfuscation": false},
	  "tool_choice": "auto", "response_format": {"type": "json_object"}
	}`
	req, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	seed := int64(-3)
	want := &llm.Request{
		Model: "gpt-4o",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Developer: true, Content: []llm.Part{{Type: llm.PartText, Text: "Be terse."}}},
			{Role: llm.RoleUser, Name: "ann", Content: []llm.Part{
				{Type: llm.PartText, Text: "What is in these?\né😀"},
				{Type: llm.PartImage, ImageURL: "https://example.com/a.png", Detail: "high"},
				{Type: llm.PartImage, MediaType: "image/png", Base64: "iVBORw0KGgo="},
			}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "look", Arguments: `{"q":1}`}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "a cat"}}},
		},
		MaxTokens: i(100), Stop: []string{"END"}, N: i(2), Seed: &seed,
		PresencePenalty: f(-0.5), FrequencyPenalty: f(0.1), TopP: f(1), ReasoningEffort: "low",
		Stream: true, IncludeUsage: true,
		ToolChoice:     &llm.ToolChoice{Mode: llm.ToolChoiceAuto},
		ResponseFormat: &llm.ResponseFormat{Type: llm.ResponseJSONObject},
	}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
}

func TestDecodeRequestRejectsDeepNesting(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"x"}],"x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`
	_, err := DecodeRequest([]byte(body))
	var le *llm.Error
	if !errors.As(err, &le) || !strings.Contains(le.Message, "nesting too deep") {
		t.Fatalf("got %v", err)
	}
}
