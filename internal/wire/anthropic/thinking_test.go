package anthropic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

// signedParts is what Anthropic answers with extended thinking: a signed thinking
// block, a redacted one, then the text (tool_use follows as tool calls).
func signedParts() []llm.Part {
	return []llm.Part{
		{Type: llm.PartThinking, Text: "The user wants the weather; call get_weather.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
		{Type: llm.PartRedactedThinking, Data: "EmwKAhgBEgy3va3pzix/LafPsn4a"},
		{Type: llm.PartText, Text: "Let me check."},
	}
}

func signedAnswer() *llm.Response {
	return &llm.Response{ID: "msg_t", Model: "claude-test", Choices: []llm.Choice{{
		Message: llm.Message{Role: llm.RoleAssistant, Content: signedParts(),
			ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		FinishReason: llm.FinishToolCalls}},
		Usage: llm.Usage{InputTokens: 50, OutputTokens: 90}}
}

const historyWithThinking = `{"model":"claude-test","max_tokens":2000,
	"thinking":{"type":"enabled","budget_tokens":1024},
	"messages":[
		{"role":"user","content":"Weather in Paris?"},
		{"role":"assistant","content":[
			{"type":"thinking","thinking":"The user wants the weather; call get_weather.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
			{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},
			{"type":"text","text":"Let me check."},
			{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}`

func TestThinkingHistoryRoundTripsToAnthropic(t *testing.T) {
	req, err := anthropic.DecodeRequest([]byte(historyWithThinking))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Messages[1].Content; !reflect.DeepEqual(got, signedParts()) {
		t.Fatalf("assistant content decoded as %+v", got)
	}
	body, err := anthropic.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Thinking json.RawMessage `json:"thinking"`
		Messages []struct {
			Content []map[string]any `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sent.Thinking), `"budget_tokens":1024`) {
		t.Fatalf("thinking config not forwarded: %s", body)
	}
	got := sent.Messages[1].Content
	want := []map[string]any{
		{"type": "thinking", "thinking": "The user wants the weather; call get_weather.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
		{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
		{"type": "text", "text": "Let me check."},
		{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{"city": "Paris"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("assistant turn sent as\n%v\nwant\n%v", got, want)
	}
}

func TestThinkingWithEmptyTextKeepsItsField(t *testing.T) {
	// Anthropic can omit the thinking text and keep the signature; the block must still
	// carry "thinking":"" (a required field).
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "hi"),
		{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartThinking, Signature: "sig"}},
			ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "f", Arguments: `{}`}}},
		{Role: llm.RoleTool, ToolCallID: "toolu_1", Content: []llm.Part{{Type: llm.PartText, Text: "ok"}}},
	}}
	body, err := anthropic.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`{"type":"thinking","thinking":"","signature":"sig"}`)) {
		t.Fatalf("body %s", body)
	}
}

func TestUnsignedReasoningIsNotSentToAnthropic(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "hi"),
		{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartThinking, Text: "UNSIGNED deepseek reasoning"}, {Type: llm.PartText, Text: "Hello"}}},
		llm.TextMessage(llm.RoleUser, "again"),
	}}
	body, err := anthropic.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("UNSIGNED")) || !bytes.Contains(body, []byte("Hello")) {
		t.Fatalf("body %s", body)
	}
}

func TestThinkingBlocksInHistoryAreValidated(t *testing.T) {
	for name, block := range map[string]string{
		"thinking without its text": `{"type":"thinking","signature":"s"}`,
		"redacted without data":     `{"type":"redacted_thinking"}`,
	} {
		body := `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[` + block + `]}]}`
		_, err := anthropic.DecodeRequest([]byte(body))
		if le := llm.AsError(err); err == nil || le.Kind != llm.KindInvalidRequest || !strings.HasPrefix(le.Param, "messages[1].content[0]") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

const thinkingResponseBody = `{"id":"msg_t","type":"message","role":"assistant","model":"claude-test",
	"content":[
		{"type":"thinking","thinking":"The user wants the weather; call get_weather.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
		{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},
		{"type":"text","text":"Let me check."},
		{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
	"stop_reason":"tool_use","stop_sequence":null,
	"usage":{"input_tokens":50,"output_tokens":90,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`

func TestThinkingResponseDecodesAndEncodesInOrder(t *testing.T) {
	resp, err := anthropic.DecodeResponse([]byte(thinkingResponseBody))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp, signedAnswer()) {
		t.Fatalf("decoded %+v", resp.Choices[0].Message)
	}
	body, err := anthropic.EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(body, &a)
	_ = json.Unmarshal([]byte(thinkingResponseBody), &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("re-encoded\n%s\nwant\n%s", body, thinkingResponseBody)
	}
}

// An upstream stream as Anthropic sends it with extended thinking.
var thinkingStream = []struct{ name, data string }{
	{"message_start", `{"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":1}}}`},
	{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants the weather; "}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"call get_weather."}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":0}`},
	{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":1}`},
	{"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Let me check."}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":2}`},
	{"content_block_start", `{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":3}`},
	{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":90}}`},
	{"message_stop", `{"type":"message_stop"}`},
}

func TestThinkingStreamDecodesIntoSignedReasoning(t *testing.T) {
	dec := anthropic.NewStreamDecoder()
	var a llm.Assembler
	for _, ev := range thinkingStream {
		evs, _, err := dec.Decode(ev.name, []byte(ev.data))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Type == llm.EventReasoning && !e.Signed {
				t.Fatalf("Anthropic reasoning not marked signed: %+v", e)
			}
			a.Add(e)
		}
	}
	got := a.Response()
	if !reflect.DeepEqual(got.Choices[0].Message, signedAnswer().Choices[0].Message) {
		t.Fatalf("assembled %+v", got.Choices[0].Message)
	}
}

// encodeStream writes a response as an Anthropic stream and returns its events.
func encodeStream(t *testing.T, resp *llm.Response) []sse.Event {
	t.Helper()
	var buf bytes.Buffer
	sw := sse.NewWriter(&buf)
	enc := anthropic.NewStreamEncoder(anthropic.StreamOptions{})
	for _, ev := range llm.Events(resp, 7) {
		if err := enc.Encode(sw, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Finish(sw); err != nil {
		t.Fatal(err)
	}
	rd := sse.NewReader(&buf)
	var out []sse.Event
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ev.Data = append([]byte(nil), ev.Data...) // the reader reuses its buffer
		out = append(out, ev)
	}
}

func TestThinkingStreamEncodesAsAnthropicDoes(t *testing.T) {
	evs := encodeStream(t, signedAnswer())
	var kinds []string
	for _, ev := range evs {
		var m struct {
			ContentBlock struct{ Type string } `json:"content_block"`
			Delta        struct{ Type string } `json:"delta"`
		}
		_ = json.Unmarshal(ev.Data, &m)
		switch ev.Name {
		case "content_block_start":
			kinds = append(kinds, "start:"+m.ContentBlock.Type)
		case "content_block_delta":
			if k := "delta:" + m.Delta.Type; len(kinds) == 0 || kinds[len(kinds)-1] != k {
				kinds = append(kinds, k) // runs of one delta type count once
			}
		}
	}
	want := []string{"start:thinking", "delta:thinking_delta", "delta:signature_delta", "start:redacted_thinking",
		"start:text", "delta:text_delta", "start:tool_use", "delta:input_json_delta"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("blocks %v\nwant %v", kinds, want)
	}
	// Decoding what was encoded gives the same response back.
	dec := anthropic.NewStreamDecoder()
	var a llm.Assembler
	for _, ev := range evs {
		out, _, err := dec.Decode(ev.Name, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out {
			a.Add(e)
		}
	}
	if got := a.Response().Choices[0].Message; !reflect.DeepEqual(got, signedAnswer().Choices[0].Message) {
		t.Fatalf("re-decoded %+v", got)
	}
}

func TestUnsignedReasoningIsInvisibleToAnthropicClients(t *testing.T) {
	resp := &llm.Response{ID: "chatcmpl-1", Model: "deepseek", Choices: []llm.Choice{{
		Message: llm.Message{Role: llm.RoleAssistant, Content: []llm.Part{
			{Type: llm.PartThinking, Text: "UNSIGNED reasoning"}, {Type: llm.PartText, Text: "Hello"}}},
		FinishReason: llm.FinishStop}}}
	body, err := anthropic.EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("UNSIGNED")) || bytes.Contains(body, []byte(`"thinking"`)) {
		t.Fatalf("response %s", body)
	}
	for _, ev := range encodeStream(t, resp) {
		if bytes.Contains(ev.Data, []byte("UNSIGNED")) || bytes.Contains(ev.Data, []byte(`"thinking`)) {
			t.Fatalf("stream event %s %s", ev.Name, ev.Data)
		}
	}
}

// The official SDK reads the thinking blocks, whole and streamed, and sends them back
// unchanged with ToParam: the next request decodes to the same parts.
func TestSDKReadsAndReturnsThinkingBlocks(t *testing.T) {
	f := &fakeMessages{resp: signedAnswer()}
	client := newClient(t, f)
	ctx := context.Background()
	params := sdk.MessageNewParams{
		Model: "claude-test", MaxTokens: 2000,
		Thinking: sdk.ThinkingConfigParamOfEnabled(1024),
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("Weather in Paris?"))},
		Tools:    []sdk.ToolUnionParam{weatherTool},
	}
	for _, stream := range []bool{false, true} {
		var msg sdk.Message
		if stream {
			st := client.Messages.NewStreaming(ctx, params)
			for st.Next() {
				if err := msg.Accumulate(st.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
		} else {
			m, err := client.Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			msg = *m
		}
		if len(msg.Content) != 4 || msg.Content[0].Type != "thinking" || msg.Content[0].Signature != "EqQBCgIYAhIM1gbcDa9GJwZA2b3h" ||
			msg.Content[0].Thinking != "The user wants the weather; call get_weather." ||
			msg.Content[1].Type != "redacted_thinking" || msg.Content[1].Data != "EmwKAhgBEgy3va3pzix/LafPsn4a" {
			t.Fatalf("stream=%v: SDK read %+v", stream, msg.Content)
		}
		next := params
		next.Messages = append(append([]sdk.MessageParam{}, params.Messages...), msg.ToParam(),
			sdk.NewUserMessage(sdk.NewToolResultBlock(msg.Content[3].ID, "sunny", false)))
		if _, err := client.Messages.New(ctx, next); err != nil {
			t.Fatal(err)
		}
		if got := f.request().Messages[1].Content; !reflect.DeepEqual(got, signedParts()) {
			t.Fatalf("stream=%v: sent back as %+v", stream, got)
		}
	}
}
