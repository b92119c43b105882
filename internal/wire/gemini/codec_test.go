package gemini

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
	req, err := DecodeRequest("models/gemini-2.5-pro", readTestdata(t, "request_full.json"), false)
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

func TestDecodeRequestLinksFunctionResponsesByName(t *testing.T) {
	req, err := DecodeRequest("gemini-2.5-pro", readTestdata(t, "request_full.json"), true)
	if err != nil {
		t.Fatal(err)
	}
	if req.Model != "gemini-2.5-pro" || !req.Stream {
		t.Fatalf("model/stream from the URL not used: %q %v", req.Model, req.Stream)
	}
	var roles []llm.Role
	for _, m := range req.Messages {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(rolesStrings(roles), " "); got != "system user assistant tool tool user" {
		t.Fatalf("roles = %s", got)
	}
	calls := req.Messages[2].ToolCalls
	r1, r2 := req.Messages[3], req.Messages[4]
	if r1.ToolCallID != calls[0].ID || r1.ToolName != "get_weather" || r1.Text() != `{"sky":"cloudy","temperature":18}` && r1.Text() != `{"temperature":18,"sky":"cloudy"}` {
		t.Errorf("first result %+v not linked to call %+v", r1, calls[0])
	}
	if r2.ToolCallID != calls[1].ID || !r2.IsError || r2.Text() != "timezone lookup failed" {
		t.Errorf("error result %+v not linked to call %+v or lost its error flag", r2, calls[1])
	}
	if len(req.Tools) != 2 {
		t.Errorf("allowedFunctionNames must restrict the tools offered: %d tools", len(req.Tools))
	}
	if req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceRequired {
		t.Errorf("ANY → %+v", req.ToolChoice)
	}
	if req.ResponseFormat == nil || req.ResponseFormat.Type != llm.ResponseJSONSchema ||
		string(req.ResponseFormat.Schema) != `{"properties":{"answer":{"type":"string"}},"required":["answer"],"type":"object"}` {
		t.Errorf("responseSchema → %+v", req.ResponseFormat)
	}
	if string(req.Extra["generationConfig"]) != `{"thinkingConfig":{"thinkingBudget":512},"topK":32}` || req.Extra["safetySettings"] == nil {
		t.Errorf("Gemini-only fields not kept: %s", req.Extra)
	}
}

func rolesStrings(rs []llm.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func TestEncodeRequestFromOpenAIShape(t *testing.T) {
	var req llm.Request
	if err := json.Unmarshal(readTestdata(t, "request_from_openai.neutral.json"), &req); err != nil {
		t.Fatal(err)
	}
	body, err := EncodeRequest(&req)
	if err != nil {
		t.Fatal(err)
	}
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.SystemInstruction.Parts) != 2 {
		t.Errorf("system messages not hoisted: %+v", w.SystemInstruction)
	}
	for i := 1; i < len(w.Contents); i++ {
		if w.Contents[i].Role == w.Contents[i-1].Role {
			t.Fatalf("contents %d and %d share role %s", i-1, i, w.Contents[i].Role)
		}
	}
	model := w.Contents[1]
	if model.Role != "model" || model.Parts[0].ThoughtSignature != "" || model.Parts[1].ThoughtSignature != "" {
		t.Errorf("%s validates no signatures and must get no placeholder: %+v", req.Model, model.Parts)
	}
	results := w.Contents[2].Parts
	if results[0].FunctionResponse.Name != "get_weather" || string(results[0].FunctionResponse.Response) != `{"output":"18C"}` ||
		string(results[1].FunctionResponse.Response) != `{"temp":25}` {
		t.Errorf("tool results not named and wrapped: %+v %+v", results[0].FunctionResponse, results[1].FunctionResponse)
	}
	if len(results) != 4 || *results[2].Text != "Summarise." {
		t.Errorf("tool results and following user text not in one user turn: %d parts", len(results))
	}
	decl := w.Tools[0].FunctionDeclarations
	if strings.Contains(string(decl[0].Parameters), "additionalProperties") || strings.Contains(string(decl[0].Parameters), "$") {
		t.Errorf("parameters still carry constructs Gemini rejects: %s", decl[0].Parameters)
	}
	if decl[1].Parameters != nil {
		t.Errorf("empty object parameters must be omitted, got %s", decl[1].Parameters)
	}
	fc := w.ToolConfig.FunctionCallingConfig
	if fc.Mode != "ANY" || len(fc.AllowedFunctionNames) != 1 || fc.AllowedFunctionNames[0] != "get_weather" {
		t.Errorf("tool choice → %+v", fc)
	}
	g := w.GenerationConfig
	if g.ResponseMIMEType != "application/json" || g.ResponseSchema == nil || *g.CandidateCount != 2 || *g.MaxOutputTokens != 300 {
		t.Errorf("generationConfig → %+v", g)
	}
	if strings.Contains(string(body), "logit_bias") {
		t.Error("OpenAI-only extra leaked into a Gemini request")
	}
}

func TestEncodeRequestRefusesUntranslatableSchemaWithPath(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")},
		Tools: []llm.Tool{{Name: "walk", Parameters: json.RawMessage(`{"type":"object","properties":{"tree":{"$ref":"#/$defs/n"}},"$defs":{"n":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/n"}}}}}}`)}}}
	_, err := EncodeRequest(req)
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest || e.Param != "tools[0].function.parameters" ||
		!strings.Contains(e.Message, "$ref (recursive)") || !strings.Contains(e.Message, "properties.tree.properties.kids.items") || !strings.Contains(e.Message, "walk") {
		t.Fatalf("err = %v", err)
	}
	if e.HTTPStatus() != 400 {
		t.Fatalf("status %d", e.HTTPStatus())
	}
}

func TestEncodeRequestNeedsAToolNameForResults(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi"),
		{Role: llm.RoleTool, ToolCallID: "nowhere", Content: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}
	_, err := EncodeRequest(req)
	var e *llm.Error
	if !errors.As(err, &e) || e.Param != "messages[1].tool_call_id" {
		t.Fatalf("err = %v", err)
	}
}

func TestResponseGoldenUsageAndIDs(t *testing.T) {
	in := readTestdata(t, "response_function_call.json")
	resp, err := DecodeResponse(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "response_function_call.neutral.golden.json", indent(t, resp))
	want := llm.Usage{InputTokens: 2100, CachedInputTokens: 2000, OutputTokens: 70, ReasoningTokens: 50}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v (output = candidates + thoughts)", resp.Usage, want)
	}
	c := resp.Choices[0]
	if c.FinishReason != llm.FinishToolCalls || c.Message.ToolCalls[0].Arguments != `{"city":"Paris"}` {
		t.Errorf("choice = %+v", c)
	}
	again, _ := DecodeResponse(in)
	if again.Choices[0].Message.ToolCalls[0].ID != c.Message.ToolCalls[0].ID || !strings.HasPrefix(c.Message.ToolCalls[0].ID, "call_") {
		t.Error("synthesised call ids are not stable")
	}
	out, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "response_function_call.reencoded.golden.json", indent(t, out))
	back, err := DecodeResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(resp)
	b, _ := json.Marshal(back)
	if !bytes.Equal(a, b) {
		t.Fatalf("encode→decode changed the response:\n%s\n%s", a, b)
	}
}

func TestFinishReasons(t *testing.T) {
	for _, tc := range []struct {
		wire  string
		calls bool
		want  llm.FinishReason
	}{
		{"STOP", false, llm.FinishStop},
		{"STOP", true, llm.FinishToolCalls},
		{"MAX_TOKENS", false, llm.FinishLength},
		{"SAFETY", false, llm.FinishContentFilter},
		{"RECITATION", false, llm.FinishContentFilter},
		{"PROHIBITED_CONTENT", false, llm.FinishContentFilter},
		{"BLOCKLIST", false, llm.FinishContentFilter},
		{"SPII", false, llm.FinishContentFilter},
		{"OTHER", false, llm.FinishStop},
	} {
		if got := finishReason(tc.wire, tc.calls); got != tc.want {
			t.Errorf("%s (calls=%v) → %s, want %s", tc.wire, tc.calls, got, tc.want)
		}
	}
}

func TestBlockedPromptIsContentFilterError(t *testing.T) {
	body := []byte(`{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash"}`)
	_, err := DecodeResponse(body)
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindContentFilter || !strings.Contains(e.Message, "SAFETY") || e.Code != "" {
		t.Fatalf("err = %v", err)
	}
	_, _, err = NewStreamDecoder().Decode("", body)
	if !errors.As(err, &e) || e.Kind != llm.KindContentFilter {
		t.Fatalf("stream err = %v", err)
	}
}

func TestDecodeRequestRejectsWithFieldPath(t *testing.T) {
	for _, tc := range []struct{ name, body, param, msg string }{
		{"no contents", `{}`, "contents", "contents: field required"},
		{"bad role", `{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}`, "contents[0].role", `got "assistant"`},
		{"code execution part", `{"contents":[{"role":"user","parts":[{"executableCode":{"code":"1"}}]}]}`, "contents[0].parts[0].executableCode", "not supported"},
		{"audio", `{"contents":[{"parts":[{"inlineData":{"mimeType":"audio/wav","data":"AA=="}}]}]}`, "contents[0].parts[0].inlineData.mimeType", "only images"},
		{"built-in tool", `{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}`, "tools[0].googleSearch", "built-in Gemini tools"},
		{"bad mode", `{"contents":[{"parts":[{"text":"x"}]}],"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}}`, "toolConfig.functionCallingConfig.mode", "expected AUTO, ANY or NONE"},
		{"temperature string", `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"temperature":"hot"}}`, "generationConfig.temperature", "expected a number, got string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest("m", []byte(tc.body), false)
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest || e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("err = %v (param %q), want param %q and %q", err, paramOf(err), tc.param, tc.msg)
			}
		})
	}
}

func paramOf(err error) string {
	var e *llm.Error
	if errors.As(err, &e) {
		return e.Param
	}
	return ""
}

func TestErrorsMapBothWays(t *testing.T) {
	for _, tc := range []struct {
		kind   llm.ErrorKind
		code   int
		status string
	}{
		{llm.KindInvalidRequest, 400, "INVALID_ARGUMENT"},
		{llm.KindAuthentication, 401, "UNAUTHENTICATED"},
		{llm.KindPermission, 403, "PERMISSION_DENIED"},
		{llm.KindNotFound, 404, "NOT_FOUND"},
		{llm.KindRequestTooLarge, 413, "INVALID_ARGUMENT"},
		{llm.KindRateLimited, 429, "RESOURCE_EXHAUSTED"},
		{llm.KindUpstreamServer, 500, "INTERNAL"},
		{llm.KindOverloaded, 503, "UNAVAILABLE"},
		{llm.KindTimeout, 504, "DEADLINE_EXCEEDED"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			code, body := EncodeError(&llm.Error{Kind: tc.kind, Message: "boom"})
			want := `{"error":{"code":` + itoa(tc.code) + `,"message":"boom","status":"` + tc.status + `"}}`
			if code != tc.code || string(body) != want {
				t.Fatalf("EncodeError = %d %s, want %d %s", code, body, tc.code, want)
			}
			back := DecodeError(code, nil, body)
			if back.Kind != tc.kind || back.Status != tc.code || back.Message != "boom" {
				t.Fatalf("DecodeError = %+v", back)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestDecodeErrorRetryDelayAndBadKey(t *testing.T) {
	body := []byte(`{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"13s"}]}}`)
	if e := DecodeError(429, nil, body); e.RetryAfter != 13*time.Second || e.Kind != llm.KindRateLimited {
		t.Fatalf("got %+v", e)
	}
	h := http.Header{}
	h.Set("Retry-After", "3")
	if e := DecodeError(503, h, []byte(`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`)); e.RetryAfter != 3*time.Second || e.Kind != llm.KindOverloaded {
		t.Fatalf("got %+v", e)
	}
	bad := []byte(`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`)
	if e := DecodeError(400, nil, bad); e.Kind != llm.KindAuthentication {
		t.Fatalf("bad key → %s, want authentication", e.Kind)
	}
}

// decodeSSE runs a recorded stream through a StreamDecoder, event by event, then
// EndOfStream as a reader does when the body ends.
func decodeSSE(t *testing.T, d *StreamDecoder, stream []byte) ([]llm.Event, error) {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream))
	var out []llm.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			evs, err := d.EndOfStream()
			return append(out, evs...), err
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, done, err := d.Decode(ev.Name, ev.Data)
		out = append(out, evs...)
		if done {
			t.Fatal("Gemini streams have no end marker: Decode must not report done")
		}
		if err != nil {
			return out, err
		}
	}
}

func TestStreamDecoderGoldenAndReencode(t *testing.T) {
	evs, err := decodeSSE(t, NewStreamDecoder(), readTestdata(t, "stream_text_call.sse"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "stream_text_call.events.golden.txt", trace(evs))
	types := make([]llm.EventType, len(evs))
	for i, e := range evs {
		types[i] = e.Type
	}
	want := []llm.EventType{llm.EventStart, llm.EventText, llm.EventText, llm.EventToolCall, llm.EventToolArgs, llm.EventFinish, llm.EventUsage}
	if !equalTypes(types, want) {
		t.Fatalf("event types %v, want %v", types, want)
	}
	if evs[5].FinishReason != llm.FinishToolCalls || *evs[6].Usage != (llm.Usage{InputTokens: 40, OutputTokens: 54, ReasoningTokens: 30}) {
		t.Fatalf("finish %s usage %+v", evs[5].FinishReason, *evs[6].Usage)
	}
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	for _, ev := range evs {
		if err := enc.Encode(w, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	golden(t, "stream_text_call.reencoded.golden.sse", buf.Bytes())
	again, err := decodeSSE(t, NewStreamDecoder(), buf.Bytes())
	if err != nil {
		t.Fatalf("re-decoding: %v", err)
	}
	if a, b := trace(evs), trace(again); !bytes.Equal(a, b) {
		t.Fatalf("encode→decode changed the events:\n%s\n%s", a, b)
	}
}

func equalTypes(a, b []llm.EventType) bool {
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

func TestStreamEncoderBuffersToolCallUntilWhole(t *testing.T) {
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	steps := []struct {
		ev     llm.Event
		chunks int
	}{
		{llm.Event{Type: llm.EventStart, ID: "r1", Model: "gemini-x"}, 0},
		{llm.Event{Type: llm.EventText, Text: "Hi"}, 1},
		{llm.Event{Type: llm.EventReasoning, Text: "hmm"}, 0},
		{llm.Event{Type: llm.EventToolCall, ToolCall: llm.ToolCall{ID: "c1", Name: "f"}}, 0},
		{llm.Event{Type: llm.EventToolArgs, ToolCall: llm.ToolCall{Arguments: `{"a":`}}, 0},
		{llm.Event{Type: llm.EventToolArgs, ToolCall: llm.ToolCall{Arguments: `1}`}}, 0},
		{llm.Event{Type: llm.EventToolCall, ToolIndex: 1, ToolCall: llm.ToolCall{ID: "c2", Name: "g", Arguments: `{}`}}, 1},
		{llm.Event{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls}, 1},
		{llm.Event{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 5, OutputTokens: 3}}, 0},
	}
	for i, s := range steps {
		buf.Reset()
		if err := enc.Encode(w, s.ev); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "data: "); n != s.chunks {
			t.Fatalf("step %d: %d chunks, want %d: %s", i, n, s.chunks, buf.String())
		}
		if s.ev.Type == llm.EventToolCall && s.ev.ToolIndex == 1 && !strings.Contains(buf.String(), `"functionCall":{"id":"c1","name":"f","args":{"a":1}}`) {
			t.Fatalf("the first call must be sent whole when the second opens: %s", buf.String())
		}
	}
	buf.Reset()
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	want := `data: {"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8},"modelVersion":"gemini-x","responseId":"r1"}` + "\n\n"
	if buf.String() != want {
		t.Fatalf("final chunk\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestStreamFailWritesErrorChunk(t *testing.T) {
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(StreamOptions{})
	_ = enc.Encode(w, llm.Event{Type: llm.EventText, Text: "part"})
	buf.Reset()
	if err := enc.Fail(w, &llm.Error{Kind: llm.KindOverloaded, Message: "went away"}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "data: {\"error\":{\"code\":503,\"message\":\"went away\",\"status\":\"UNAVAILABLE\"}}\n\n" {
		t.Fatalf("got %q", buf.String())
	}
	_, _, err := NewStreamDecoder().Decode("", bytes.TrimSpace(bytes.TrimPrefix(buf.Bytes(), []byte("data: "))))
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindOverloaded {
		t.Fatalf("decoded %v", err)
	}
}

func TestStreamCutBeforeFinishIsAnError(t *testing.T) {
	s := readTestdata(t, "stream_text_call.sse")
	cut := s[:bytes.LastIndex(s, []byte("data: "))]
	_, err := decodeSSE(t, NewStreamDecoder(), cut)
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindUpstreamServer {
		t.Fatalf("err = %v: a stream without finishReason must end in an error", err)
	}
}

func TestEmbeddingsBothWays(t *testing.T) {
	single := []byte(`{"model":"models/text-embedding-004","content":{"parts":[{"text":"hello "},{"text":"world"}]},"taskType":"RETRIEVAL_QUERY","outputDimensionality":256}`)
	req, err := DecodeEmbeddingRequest("models/text-embedding-004", single, false)
	if err != nil {
		t.Fatal(err)
	}
	if req.Model != "text-embedding-004" || len(req.Input) != 1 || req.Input[0] != "hello world" || *req.Dimensions != 256 || string(req.Extra["taskType"]) != `"RETRIEVAL_QUERY"` {
		t.Fatalf("decoded %+v", req)
	}
	batch, err := EncodeEmbeddingRequest(&llm.EmbeddingRequest{Model: "text-embedding-004", Input: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "embed_batch_request.golden.json", indent(t, batch))
	back, err := DecodeEmbeddingRequest("text-embedding-004", batch, true)
	if err != nil || len(back.Input) != 2 || back.Input[1] != "b" {
		t.Fatalf("batch round trip: %+v %v", back, err)
	}
	resp := &llm.EmbeddingResponse{Vectors: [][]float32{{0.5, -1}, {0.25, 2}}}
	for _, isBatch := range []bool{false, true} {
		body, err := EncodeEmbeddingResponse(resp, isBatch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeEmbeddingResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		n := 1
		if isBatch {
			n = 2
		}
		if len(got.Vectors) != n || got.Vectors[0][1] != -1 {
			t.Fatalf("batch=%v: %s → %+v", isBatch, body, got)
		}
	}
}

func TestFunctionResponseWrapping(t *testing.T) {
	for _, tc := range []struct {
		text    string
		isError bool
		want    string
	}{
		{`{"temp": 25}`, false, `{"temp":25}`},
		{`[1, 2]`, false, `{"output":[1,2]}`},
		{`42`, false, `{"output":42}`},
		{`sunny`, false, `{"output":"sunny"}`},
		{`{"broken"`, false, `{"output":"{\"broken\""}`},
		{`boom`, true, `{"error":"boom"}`},
	} {
		got := string(functionResponse(tc.text, tc.isError))
		if got != tc.want {
			t.Errorf("%q (error=%v) → %s, want %s", tc.text, tc.isError, got, tc.want)
		}
		if back, isErr := responseText(json.RawMessage(got)); isErr != tc.isError || (tc.text == "sunny" && back != "sunny") {
			t.Errorf("%s decodes back to %q error=%v", got, back, isErr)
		}
	}
}
