package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

func TestRequestGoldenFiles(t *testing.T) {
	req, err := DecodeRequest(readTestdata(t, "request_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "request_full.neutral.golden.json", indent(t, req))
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "request_full.reencoded.golden.json", indent(t, body))

	var fromOpenAI llm.Request
	if err := json.Unmarshal(readTestdata(t, "request_from_openai.neutral.json"), &fromOpenAI); err != nil {
		t.Fatal(err)
	}
	body, err = EncodeRequest(&fromOpenAI)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "request_from_openai.golden.json", indent(t, body))
}

func TestDecodeRequestTurnsToolResultsIntoToolMessages(t *testing.T) {
	req, err := DecodeRequest(readTestdata(t, "request_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	var roles []llm.Role
	for _, m := range req.Messages {
		roles = append(roles, m.Role)
	}
	want := []llm.Role{llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool, llm.RoleTool, llm.RoleUser}
	if !equalRoles(roles, want) {
		t.Fatalf("roles = %v, want %v", roles, want)
	}
	a, b := req.Messages[3], req.Messages[4]
	if a.ToolCallID != "toolu_01A" || a.ToolName != "get_weather" || a.Text() != "18°C, cloudy" || a.IsError {
		t.Errorf("first tool result = %+v", a)
	}
	if b.ToolCallID != "toolu_01B" || b.ToolName != "get_time" || !b.IsError {
		t.Errorf("second tool result lost is_error or its tool name: %+v", b)
	}
	if got := req.Messages[2].ToolCalls[0].Arguments; got != `{"city":"Paris","unit":"celsius"}` {
		t.Errorf("tool_use input = %s", got)
	}
	if req.MaxTokens == nil || *req.MaxTokens != 1024 || req.User != "user-1234" {
		t.Errorf("max_tokens/user not decoded: %v %q", req.MaxTokens, req.User)
	}
	if req.ParallelToolCalls == nil || *req.ParallelToolCalls {
		t.Error("disable_parallel_tool_use not kept as parallel_tool_calls=false")
	}
	if string(req.Extra["top_k"]) != "40" || req.ExtraFormat != llm.FormatAnthropic {
		t.Errorf("top_k not kept in Extra: %v %q", req.Extra, req.ExtraFormat)
	}
	if string(req.Messages[0].Content[1].CacheControl) != `{"type":"ephemeral"}` || string(req.Tools[1].CacheControl) != `{"type":"ephemeral"}` {
		t.Error("cache_control lost")
	}
}

func TestRequestRoundTripKeepsEveryTranslatedField(t *testing.T) {
	in := readTestdata(t, "request_full.json")
	req, err := DecodeRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	// The re-encoded body differs from the input only where Anthropic allows two
	// spellings (string vs text-block content), so decoding both must agree.
	again, err := DecodeRequest(out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(req)
	b, _ := json.Marshal(again)
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip changed the request:\n%s\n%s", a, b)
	}
}

func TestEncodeRequestFromOpenAIShapeIsValidAnthropic(t *testing.T) {
	var req llm.Request
	if err := json.Unmarshal(readTestdata(t, "request_from_openai.neutral.json"), &req); err != nil {
		t.Fatal(err)
	}
	body, err := EncodeRequest(&req)
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		System     []wireBlock     `json:"system"`
		MaxTokens  int             `json:"max_tokens"`
		Messages   []wireMessage   `json:"messages"`
		ToolChoice *wireToolChoice `json:"tool_choice"`
		Tools      []wireTool      `json:"tools"`
		Extra      json.RawMessage `json:"logit_bias"`
		Temp       float64         `json:"temperature"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.System) != 2 || *w.System[0].Text != "Be terse." || *w.System[1].Text != "Answer in French." {
		t.Errorf("system messages not hoisted into system, in order: %+v", w.System)
	}
	if w.MaxTokens != DefaultMaxTokens {
		t.Errorf("max_tokens = %d, want the default %d", w.MaxTokens, DefaultMaxTokens)
	}
	for i := 1; i < len(w.Messages); i++ {
		if w.Messages[i].Role == w.Messages[i-1].Role {
			t.Fatalf("turns %d and %d share role %s: roles must alternate", i-1, i, w.Messages[i].Role)
		}
	}
	last := w.Messages[len(w.Messages)-1]
	if last.Role != "user" || len(last.Content) != 4 || last.Content[0].Type != "tool_result" ||
		last.Content[1].Type != "tool_result" || last.Content[2].Type != "text" || last.Content[3].Type != "text" {
		t.Fatalf("tool results and the following user turns not grouped into one user turn: %+v", last)
	}
	if w.Extra != nil {
		t.Error("OpenAI-only extra field leaked into an Anthropic request")
	}
	if w.Temp != 1 {
		t.Errorf("temperature %v not clamped to Anthropic's maximum 1", w.Temp)
	}
	if w.ToolChoice == nil || w.ToolChoice.Type != "any" || len(w.Tools) != 2 || w.Tools[1].Name != "weather_summary" {
		t.Errorf("json_schema with real tools: tool_choice=%+v tools=%+v", w.ToolChoice, w.Tools)
	}
}

func TestEncodeRequestMaxTokensDefault(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}}
	for _, tc := range []struct {
		name string
		opts []RequestOption
		set  *int
		want int
	}{
		{"codec default", nil, nil, 4096},
		{"caller default", []RequestOption{WithDefaultMaxTokens(64000)}, nil, 64000},
		{"client's value wins", []RequestOption{WithDefaultMaxTokens(64000)}, ptr(100), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req.Clone()
			r.MaxTokens = tc.set
			body, err := EncodeRequest(r, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var w wireRequest
			_ = json.Unmarshal(body, &w)
			if w.MaxTokens != tc.want {
				t.Fatalf("max_tokens = %d, want %d", w.MaxTokens, tc.want)
			}
		})
	}
}

func TestJSONSchemaIsAForcedToolAndComesBackAsText(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")},
		ResponseFormat: &llm.ResponseFormat{Type: llm.ResponseJSONSchema, Name: "answer",
			Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)}}
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var w wireRequest
	_ = json.Unmarshal(body, &w)
	if len(w.Tools) != 1 || w.Tools[0].Name != "answer" || w.ToolChoice == nil || w.ToolChoice.Type != "tool" || w.ToolChoice.Name != "answer" {
		t.Fatalf("json_schema not turned into a forced tool: %s", body)
	}
	name := JSONToolName(req)
	resp, err := DecodeResponse([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"m",
		"content":[{"type":"tool_use","id":"toolu_1","name":"answer","input":{"n": 3}}],
		"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":6}}`), WithJSONTool(name))
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.Message.Text() != `{"n":3}` || len(c.Message.ToolCalls) != 0 || c.FinishReason != llm.FinishStop {
		t.Fatalf("forced tool call not returned as JSON text: %+v", c)
	}

	d := NewStreamDecoder(WithJSONTool(name))
	var a llm.Assembler
	for _, ev := range []struct{ name, data string }{
		{"message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"answer","input":{}}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"n\":"}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" 3}"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":6}}`},
		{"message_stop", `{"type":"message_stop"}`},
	} {
		evs, _, err := d.Decode(ev.name, []byte(ev.data))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			a.Add(e)
		}
	}
	got := a.Response().Choices[0]
	if got.Message.Text() != `{"n": 3}` || len(got.Message.ToolCalls) != 0 || got.FinishReason != llm.FinishStop {
		t.Fatalf("streamed forced tool call not returned as JSON text: %+v", got)
	}
}

func TestResponseGoldenAndUsageConversion(t *testing.T) {
	in := readTestdata(t, "response_tool_use.json")
	resp, err := DecodeResponse(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "response_tool_use.neutral.golden.json", indent(t, resp))
	want := llm.Usage{InputTokens: 12 + 100 + 2000, CachedInputTokens: 2000, CacheWriteTokens: 100, OutputTokens: 48}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v (neutral input includes cache reads and writes)", resp.Usage, want)
	}
	if resp.Choices[0].FinishReason != llm.FinishToolCalls {
		t.Errorf("finish = %s", resp.Choices[0].FinishReason)
	}
	out, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, in, out) {
		t.Errorf("response round trip changed the body:\n%s\n%s", in, out)
	}
}

func TestFinishReasonMapping(t *testing.T) {
	for _, tc := range []struct {
		wire string
		want llm.FinishReason
		back string
	}{
		{"end_turn", llm.FinishStop, "end_turn"},
		{"stop_sequence", llm.FinishStop, "end_turn"},
		{"max_tokens", llm.FinishLength, "max_tokens"},
		{"tool_use", llm.FinishToolCalls, "tool_use"},
		{"refusal", llm.FinishContentFilter, "refusal"},
		{"pause_turn", llm.FinishStop, "end_turn"},
	} {
		if got := finishReason(tc.wire, false); got != tc.want {
			t.Errorf("%s → %s, want %s", tc.wire, got, tc.want)
		}
		if got := stopReason(tc.want); got != tc.back {
			t.Errorf("%s → %s, want %s", tc.want, got, tc.back)
		}
	}
}

func TestDecodeRequestRejectsWithFieldPath(t *testing.T) {
	for _, tc := range []struct {
		name, body, param, msg string
	}{
		{"not json", `{"model":`, "", "not valid JSON"},
		{"missing model", `{"max_tokens":1,"messages":[]}`, "model", "model: field required"},
		{"missing max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens", "max_tokens: field required"},
		{"content is a number", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":5}]}`,
			"messages[1].content", "messages[1].content: expected a string or an array of content blocks, got number"},
		{"bad role", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"hi"}]}`, "messages[0].role", `got "system"`},
		{"unsupported block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`,
			"messages[0].content[0].type", `content block type "document" is not supported`},
		{"bad image source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file"}}]}]}`,
			"messages[0].content[0].source.type", `expected "base64" or "url"`},
		{"server tool", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`,
			"tools[0].type", "server tool"},
		{"tool choice", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"sometimes"}}`,
			"tool_choice.type", "expected one of auto, any, tool, none"},
		{"max_tokens float", `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens", "expected an integer, got number 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.body))
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest {
				t.Fatalf("err = %v, want invalid_request", err)
			}
			if e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("param=%q message=%q, want param %q and message containing %q", e.Param, e.Message, tc.param, tc.msg)
			}
		})
	}
}

func TestErrorsMapBothWays(t *testing.T) {
	for _, tc := range []struct {
		kind   llm.ErrorKind
		status int
		typ    string
	}{
		{llm.KindInvalidRequest, 400, "invalid_request_error"},
		{llm.KindAuthentication, 401, "authentication_error"},
		{llm.KindPermission, 403, "permission_error"},
		{llm.KindNotFound, 404, "not_found_error"},
		{llm.KindRequestTooLarge, 413, "request_too_large"},
		{llm.KindRateLimited, 429, "rate_limit_error"},
		{llm.KindUpstreamServer, 500, "api_error"},
		{llm.KindTimeout, 504, "timeout_error"},
		{llm.KindOverloaded, 529, "overloaded_error"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			status, body := EncodeError(&llm.Error{Kind: tc.kind, Message: "boom"})
			want := `{"type":"error","error":{"type":"` + tc.typ + `","message":"boom"}}`
			if status != tc.status || string(body) != want {
				t.Fatalf("EncodeError = %d %s, want %d %s", status, body, tc.status, want)
			}
			back := DecodeError(status, nil, body)
			if back.Kind != tc.kind || back.Status != tc.status || back.Message != "boom" || back.Code != "" {
				t.Fatalf("DecodeError = %+v", back)
			}
		})
	}
}

func TestDecodeErrorKeepsRetryAfterAndSpotsContextLength(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "7")
	e := DecodeError(429, h, []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`))
	if e.RetryAfter != 7*time.Second || e.Kind != llm.KindRateLimited {
		t.Fatalf("got %+v", e)
	}
	h.Set("retry-after-ms", "1500")
	if e := DecodeError(529, h, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)); e.RetryAfter != 1500*time.Millisecond || e.Kind != llm.KindOverloaded || !e.Retryable() {
		t.Fatalf("got %+v", e)
	}
	e = DecodeError(400, nil, []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`))
	if e.Kind != llm.KindContextLength {
		t.Fatalf("kind = %s, want context_length_exceeded", e.Kind)
	}
	e = DecodeError(502, nil, []byte(`<html>Bad gateway</html>`))
	if e.Kind != llm.KindUpstreamServer || !strings.Contains(e.Message, "502") {
		t.Fatalf("non-JSON error = %+v", e)
	}
}

// decodeSSE runs a recorded stream through a StreamDecoder, event by event.
func decodeSSE(t *testing.T, d *StreamDecoder, stream []byte) ([]llm.Event, bool, error) {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream))
	var out []llm.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out, false, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, done, err := d.Decode(ev.Name, ev.Data)
		out = append(out, evs...)
		if err != nil || done {
			return out, done, err
		}
	}
}

func TestStreamDecoderGolden(t *testing.T) {
	evs, done, err := decodeSSE(t, NewStreamDecoder(), readTestdata(t, "stream_text_tool.sse"))
	if err != nil || !done {
		t.Fatalf("done=%v err=%v", done, err)
	}
	golden(t, "stream_text_tool.events.golden.txt", trace(evs))
	last := evs[len(evs)-1]
	if last.Type != llm.EventUsage || *last.Usage != (llm.Usage{InputTokens: 472 + 1024, CachedInputTokens: 1024, OutputTokens: 89}) {
		t.Fatalf("last event = %+v, want usage with cache reads folded into input", last)
	}
	// Re-encode the neutral events: the Anthropic stream must carry the same content.
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{Ping: true})
	for _, ev := range evs {
		if err := enc.Encode(w, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	golden(t, "stream_text_tool.reencoded.golden.sse", buf.Bytes())
	again, done, err := decodeSSE(t, NewStreamDecoder(), buf.Bytes())
	if err != nil || !done {
		t.Fatalf("re-decoding: done=%v err=%v", done, err)
	}
	if a, b := trace(evs), trace(again); !bytes.Equal(a, b) {
		t.Fatalf("encode→decode changed the events:\n%s\n%s", a, b)
	}
}

func TestStreamEncoderEventByEvent(t *testing.T) {
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	steps := []struct {
		ev   llm.Event
		want []string // event names written for this step
	}{
		{llm.Event{Type: llm.EventStart, ID: "msg_1", Model: "m"}, []string{"message_start"}},
		{llm.Event{Type: llm.EventText, Text: "Hi"}, []string{"content_block_start", "content_block_delta"}},
		{llm.Event{Type: llm.EventText, Text: " there"}, []string{"content_block_delta"}},
		{llm.Event{Type: llm.EventReasoning, Text: "hmm"}, nil},
		{llm.Event{Type: llm.EventToolCall, ToolIndex: 0, ToolCall: llm.ToolCall{ID: "c1", Name: "f"}}, []string{"content_block_stop", "content_block_start"}},
		{llm.Event{Type: llm.EventToolArgs, ToolIndex: 0, ToolCall: llm.ToolCall{Arguments: `{"a":`}}, []string{"content_block_delta"}},
		{llm.Event{Type: llm.EventToolArgs, ToolIndex: 0, ToolCall: llm.ToolCall{Arguments: `1}`}}, []string{"content_block_delta"}},
		{llm.Event{Type: llm.EventToolCall, ToolIndex: 1, ToolCall: llm.ToolCall{ID: "c2", Name: "g", Arguments: `{}`}}, []string{"content_block_stop", "content_block_start", "content_block_delta"}},
		{llm.Event{Type: llm.EventText, Choice: 1, Text: "other choice"}, nil},
		{llm.Event{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls}, []string{"content_block_stop"}},
		{llm.Event{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 10, CachedInputTokens: 4, OutputTokens: 3}}, nil},
	}
	for i, s := range steps {
		buf.Reset()
		if err := enc.Encode(w, s.ev); err != nil {
			t.Fatal(err)
		}
		if got := eventNames(t, buf.Bytes()); strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Fatalf("step %d (%v): wrote %v, want %v", i, s.ev.Type, got, s.want)
		}
	}
	buf.Reset()
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	want := "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":6,\"output_tokens\":3,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	if buf.String() != want {
		t.Fatalf("Finish wrote\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestStreamEncoderFailWritesErrorEvent(t *testing.T) {
	for _, tc := range []struct {
		kind llm.ErrorKind
		typ  string
	}{
		{llm.KindOverloaded, "overloaded_error"},
		{llm.KindUpstreamServer, "api_error"},
		{llm.KindTimeout, "api_error"},
	} {
		var buf bytes.Buffer
		w := sse.NewWriter(&buf)
		enc := NewStreamEncoder(StreamOptions{})
		_ = enc.Encode(w, llm.Event{Type: llm.EventStart, ID: "msg_1"})
		_ = enc.Encode(w, llm.Event{Type: llm.EventText, Text: "partial"})
		buf.Reset()
		if err := enc.Fail(w, &llm.Error{Kind: tc.kind, Message: "upstream broke"}); err != nil {
			t.Fatal(err)
		}
		want := `event: error` + "\n" + `data: {"type":"error","error":{"type":"` + tc.typ + `","message":"upstream broke"}}` + "\n\n"
		if buf.String() != want {
			t.Fatalf("Fail wrote %q, want %q", buf.String(), want)
		}
		buf.Reset()
		if err := enc.Finish(w); err != nil || buf.Len() != 0 {
			t.Fatalf("Finish after Fail wrote %q: a failed stream must not end cleanly", buf.String())
		}
		// The decoder on the other side surfaces it as an error of the same kind.
		_, _, err := NewStreamDecoder().Decode("error", []byte(strings.TrimPrefix(strings.Split(want, "\n")[1], "data: ")))
		var e *llm.Error
		if !errors.As(err, &e) || (tc.kind == llm.KindOverloaded && e.Kind != llm.KindOverloaded) {
			t.Fatalf("decoded error = %v", err)
		}
	}
}

func TestStreamDecoderWithoutMessageStopIsNotDone(t *testing.T) {
	stream := readTestdata(t, "stream_text_tool.sse")
	cut := stream[:bytes.Index(stream, []byte("event: message_delta"))]
	evs, done, err := decodeSSE(t, NewStreamDecoder(), cut)
	if err != nil || done {
		t.Fatalf("done=%v err=%v: a cut stream must not look finished", done, err)
	}
	var a llm.Assembler
	for _, e := range evs {
		a.Add(e)
	}
	if a.Finished() {
		t.Fatal("assembler reports a cut stream as finished")
	}
}

func eventNames(t *testing.T, b []byte) []string {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(b))
	var names []string
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		var typ struct{ Type string }
		if err := json.Unmarshal(ev.Data, &typ); err != nil || typ.Type != ev.Name {
			t.Fatalf("event %q carries data type %q (%v)", ev.Name, typ.Type, err)
		}
		names = append(names, ev.Name)
	}
}

func equalRoles(a, b []llm.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func TestForeignToolCallIDsAreMadeValidForAnthropic(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "hi"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "functions.get_weather:0", Name: "get_weather", Arguments: `{}`}}},
		{Role: llm.RoleTool, ToolCallID: "functions.get_weather:0", Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
	}}
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var w wireRequest
	_ = json.Unmarshal(body, &w)
	use, result := w.Messages[1].Content[0], w.Messages[2].Content[0]
	if use.ID != "functions_get_weather_0" || result.ToolUseID != use.ID {
		t.Fatalf("tool_use id %q, tool_result id %q", use.ID, result.ToolUseID)
	}
}

func TestCountTokensRequestNeedsNoMaxTokens(t *testing.T) {
	req, err := DecodeCountTokensRequest([]byte(`{"model":"claude-x","system":"s","messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.MaxTokens != nil || req.System() != "s" || req.LastUserText() != "hello" {
		t.Fatalf("req = %+v", req)
	}
	if _, err := DecodeCountTokensRequest([]byte(`{"model":"claude-x","messages":[{"role":"user","content":3}]}`)); err == nil {
		t.Fatal("invalid content accepted")
	}
	if got := string(EncodeCountTokensResponse(42)); got != `{"input_tokens":42}` {
		t.Fatal(got)
	}
}

func TestEncodeErrorNeverSendsAnEmptyMessage(t *testing.T) {
	_, body := EncodeError(&llm.Error{Kind: llm.KindTimeout})
	if !strings.Contains(string(body), `"message":"timeout: `) {
		t.Fatalf("body = %s", body)
	}
}
