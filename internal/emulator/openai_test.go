package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
	"go.uber.org/goleak"
)

// openaiServer starts the emulator over real HTTP and returns an official SDK client
// for it (no retries: each call is one request).
func openaiServer(t *testing.T, cfg Config) (*Emulator, *httptest.Server, openai.Client) {
	t.Helper()
	emu := New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("sk-emulator"), option.WithMaxRetries(0))
	return emu, srv, c
}

func chatParams(model, prompt string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are concise."),
			openai.UserMessage(prompt),
		},
	}
}

func TestOpenAISDKParsesACompletion(t *testing.T) {
	emu, _, c := openaiServer(t, Config{})
	ctx := context.Background()
	p := chatParams("gpt-4o-mini", "Why do caches need eviction policies?")
	got, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, "chatcmpl-") || got.Model != "gpt-4o-mini" || got.Created == 0 {
		t.Fatalf("header: %+v", got)
	}
	ch := got.Choices[0]
	if !strings.HasPrefix(ch.Message.Content, "[gpt-4o-mini] ") || ch.FinishReason != "stop" {
		t.Fatalf("choice: %+v", ch)
	}
	if got.Usage.PromptTokens < 10 || got.Usage.CompletionTokens != int64(TextTokens(ch.Message.Content)) {
		t.Fatalf("usage %+v for %d bytes", got.Usage, len(ch.Message.Content))
	}
	again, err := c.Chat.Completions.New(ctx, p)
	if err != nil || again.Choices[0].Message.Content != ch.Message.Content {
		t.Fatalf("second identical request answered differently (%v)", err)
	}
	st := emu.Stats()
	if m := st.ByModel["gpt-4o-mini"]; m.Requests != 2 || m.Succeeded != 2 {
		t.Fatalf("stats by model %+v", m)
	}
	if p := st.ByPath["/v1/chat/completions"]; p.Requests != 2 || p.Succeeded != 2 {
		t.Fatalf("stats by path %+v", p)
	}
}

func TestOpenAISDKStreamsTheSameAnswerWithUsage(t *testing.T) {
	_, _, c := openaiServer(t, Config{})
	ctx := context.Background()
	p := chatParams("gpt-4o-mini", "Summarise the benefits of retries with backoff.")
	whole, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := c.Chat.Completions.NewStreaming(ctx, p)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	var last openai.ChatCompletionChunk
	for st.Next() {
		last = st.Current()
		if !acc.AddChunk(last) {
			t.Fatalf("accumulator rejected %s", last.RawJSON())
		}
		chunks++
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != whole.Choices[0].Message.Content || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("streamed %q, whole %q", acc.Choices[0].Message.Content, whole.Choices[0].Message.Content)
	}
	if chunks < 20 {
		t.Fatalf("%d chunks: text not streamed in small pieces", chunks)
	}
	if len(last.Choices) != 0 || last.Usage.TotalTokens != whole.Usage.TotalTokens {
		t.Fatalf("last chunk %s, want the usage chunk matching %+v", last.RawJSON(), whole.Usage)
	}
}

func weatherToolParam() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather",
		Parameters: shared.FunctionParameters{
			"type": "object",
			"properties": map[string]any{
				"city": map[string]any{"type": "string"},
				"unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
				"days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7},
			},
			"required":             []string{"city", "unit", "days"},
			"additionalProperties": false,
		},
	})
}

func TestOpenAISDKStreamsToolArgumentsIncrementally(t *testing.T) {
	_, _, c := openaiServer(t, Config{})
	p := chatParams("gpt-4o", "What's the weather in Tokyo this week?")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherToolParam()}
	p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
	st := c.Chat.Completions.NewStreaming(context.Background(), p)
	var acc openai.ChatCompletionAccumulator
	argChunks := 0
	var finished *openai.FinishedChatCompletionToolCall
	for st.Next() {
		ch := st.Current()
		acc.AddChunk(ch)
		if len(ch.Choices) > 0 && len(ch.Choices[0].Delta.ToolCalls) > 0 && ch.Choices[0].Delta.ToolCalls[0].Function.Arguments != "" {
			argChunks++
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = &tc
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if finished == nil || finished.Name != "get_weather" || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("no finished tool call: %+v", acc.ChatCompletion)
	}
	if argChunks < 4 {
		t.Fatalf("arguments came in %d chunks, want them streamed incrementally", argChunks)
	}
	var args struct {
		City string
		Unit string
		Days int
	}
	if err := json.Unmarshal([]byte(finished.Arguments), &args); err != nil || args.City != "Tokyo" ||
		(args.Unit != "celsius" && args.Unit != "fahrenheit") || args.Days < 1 || args.Days > 7 {
		t.Fatalf("arguments %s do not satisfy the schema (%v)", finished.Arguments, err)
	}
}

func TestOpenAISDKToolRoundTrip(t *testing.T) {
	_, _, c := openaiServer(t, Config{})
	ctx := context.Background()
	p := chatParams("gpt-4o", "Use get_weather for Paris.")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherToolParam()}
	first, err := c.Chat.Completions.New(ctx, p)
	if err != nil || len(first.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("first turn: %v %+v", err, first)
	}
	call := first.Choices[0].Message.ToolCalls[0]
	p.Messages = append(p.Messages, first.Choices[0].Message.ToParam(), openai.ToolMessage(`{"temp_c":18}`, call.ID))
	second, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Choices[0].Message.Content; !strings.Contains(got, `get_weather tool returned: {"temp_c":18}`) {
		t.Fatalf("answer does not quote the tool result: %q", got)
	}
}

func TestOpenAISDKJSONSchemaAnswerConforms(t *testing.T) {
	_, _, c := openaiServer(t, Config{})
	schemaText := `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":120},"tags":{"type":"array","items":{"type":"string"},"minItems":1}},"required":["name","age","tags"],"additionalProperties":false}`
	var schemaMap map[string]any
	_ = json.Unmarshal([]byte(schemaText), &schemaMap)
	p := chatParams("gpt-4o-mini", "Extract the person: Ada Lovelace, 36, mathematician.")
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: openai.Bool(true), Schema: schemaMap},
	}}
	got, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	assertConforms(t, compileSchema(t, schemaText), got.Choices[0].Message.Content)
}

func TestOpenAISDKReportsInjectedUsage(t *testing.T) {
	_, _, c := openaiServer(t, Config{Models: map[string]ModelConfig{
		"gpt-4o": {Usage: UsageOverride{CachedInputTokens: 12}},
	}})
	got, err := c.Chat.Completions.New(context.Background(), chatParams("gpt-4o", strings.Repeat("long context ", 40)),
		option.WithHeader(HeaderUsage, "cached=20;reasoning=33"))
	if err != nil {
		t.Fatal(err)
	}
	u := got.Usage
	if u.PromptTokensDetails.CachedTokens != 20 || u.CompletionTokensDetails.ReasoningTokens != 33 ||
		u.CompletionTokens != int64(TextTokens(got.Choices[0].Message.Content))+33 {
		t.Fatalf("usage %+v", u)
	}
	got, err = c.Chat.Completions.New(context.Background(), chatParams("gpt-4o", strings.Repeat("long context ", 40)))
	if err != nil || got.Usage.PromptTokensDetails.CachedTokens != 12 {
		t.Fatalf("model config usage: %+v %v", got.Usage, err)
	}
	o3, err := c.Chat.Completions.New(context.Background(), chatParams("o3-mini", "Prove it."))
	if err != nil || o3.Usage.CompletionTokensDetails.ReasoningTokens == 0 {
		t.Fatalf("o3-mini reported no reasoning tokens: %+v %v", o3.Usage, err)
	}
}

func TestOpenAISDKSeesEachStatusFaultAsAnAPIError(t *testing.T) {
	cases := []struct {
		fault      string
		status     int
		retryAfter string
	}{
		{"status=429;retry_after=2", 429, "2"},
		{"status=500", 500, ""},
		{"status=503;retry_after=1", 503, "1"},
		{"status=529", 529, ""},
		{"error", 500, ""}, // a mid-stream error on a non-streaming request: its status
	}
	emu, _, c := openaiServer(t, Config{})
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			_, err := c.Chat.Completions.New(context.Background(), chatParams("gpt-4o-mini", "hi"),
				option.WithHeader(HeaderFault, tc.fault))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %T %v is not *openai.Error", err, err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Message == "" || apiErr.Response.Header.Get("Retry-After") != tc.retryAfter {
				t.Fatalf("status %d message %q Retry-After %q", apiErr.StatusCode, apiErr.Message, apiErr.Response.Header.Get("Retry-After"))
			}
		})
	}
	faults := emu.Stats().ByModel["gpt-4o-mini"].Faults
	if faults["429"] != 1 || faults["500"] != 1 || faults["503"] != 1 || faults["529"] != 1 || faults["error"] != 1 {
		t.Fatalf("fault counters %v", faults)
	}
}

func TestOpenAISDKSeesStreamFaults(t *testing.T) {
	cases := []struct {
		fault   string
		chunks  int // chunks the SDK yields before the failure: one per neutral event
		errWant func(error) bool
	}{
		{"error;after=4;status=529", 4, func(err error) bool { var se *ssestream.StreamError; return errors.As(err, &se) }},
		{"cut;after=4", 4, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"malformed;after=2", 2, func(err error) bool { return err != nil }},
	}
	emu, _, c := openaiServer(t, Config{})
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			st := c.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o-mini", "Tell me a long story."),
				option.WithHeader(HeaderFault, tc.fault))
			n := 0
			for st.Next() {
				n++
			}
			if n != tc.chunks || !tc.errWant(st.Err()) {
				t.Fatalf("after %d chunks got %v", n, st.Err())
			}
		})
	}
	s := emu.Stats().ByModel["gpt-4o-mini"]
	if s.Requests != 3 || s.Succeeded != 0 || s.FaultsTotal() != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOpenAISDKSeesNonStreamingCutAndMalformedAsErrors(t *testing.T) {
	_, _, c := openaiServer(t, Config{})
	for _, f := range []string{"cut", "cut;after=1", "malformed"} {
		_, err := c.Chat.Completions.New(context.Background(), chatParams("gpt-4o-mini", "hi"), option.WithHeader(HeaderFault, f))
		var apiErr *openai.Error
		if err == nil || errors.As(err, &apiErr) {
			t.Fatalf("%s: got %v, want a transport or decoding error", f, err)
		}
	}
}

func TestHangLastsUntilTheClientGivesUpAndLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	emu := New(Config{Faults: MustParseFaults("hang")})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: tr}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Chat.Completions.New(ctx, chatParams("gpt-4o-mini", "hi"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the client's deadline", err)
	}
	srv.Close() // waits for the handler: it must have returned once the client left
	if f := emu.Stats().Total.Faults["hang"]; f != 1 {
		t.Fatalf("hang faults %d", f)
	}
}

func TestClientCancelStopsAStreamAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// An hour per token: only cancellation can end this stream.
	emu := New(Config{Latency: Latency{PerToken: time.Hour}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: tr}))
	ctx, cancel := context.WithCancel(context.Background())
	st := c.Chat.Completions.NewStreaming(ctx, chatParams("gpt-4o-mini", "Tell me a story."))
	if !st.Next() {
		t.Fatalf("no first chunk: %v", st.Err())
	}
	cancel()
	for st.Next() {
	}
	_ = st.Close()
	srv.Close()
	if s := emu.Stats().Total; s.Canceled != 1 || s.Succeeded != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOpenAIRoutesRejectMissingAuthAndUnknownPaths(t *testing.T) {
	emu, srv, _ := openaiServer(t, Config{})
	post := func(path, auth, body string) (*http.Response, map[string]map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if resp, out := post("/v1/chat/completions", "", body); resp.StatusCode != 401 || out["error"]["type"] == nil {
		t.Fatalf("no auth: %d %v", resp.StatusCode, out)
	}
	if resp, out := post("/v1/chat/completions", "Bearer x", `{"model":"m","messages":"nope"}`); resp.StatusCode != 400 || !strings.Contains(out["error"]["message"].(string), "messages") {
		t.Fatalf("bad body: %d %v", resp.StatusCode, out)
	}
	if resp, _ := post("/v1/chat/completions", "Bearer x", body); resp.StatusCode != 200 {
		t.Fatalf("good request: %d", resp.StatusCode)
	}
	if resp, out := post("/v2/nothing", "Bearer x", body); resp.StatusCode != 404 || out["error"] == nil {
		t.Fatalf("unknown path: %d %v", resp.StatusCode, out)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set(HeaderFault, "status=teapot")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("bad fault header: %v %v", resp, err)
	}
	resp.Body.Close()
	// The unknown path is no provider request: not counted.
	if s := emu.Stats().Total; s.Requests != 4 || s.Rejected != 3 || s.Succeeded != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOpenAISDKListsModels(t *testing.T) {
	_, _, c := openaiServer(t, Config{Models: map[string]ModelConfig{"my-custom-model": {}}})
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	joined := strings.Join(ids, ",")
	if !strings.Contains(joined, "my-custom-model") || !strings.Contains(joined, "gpt-4o-mini") {
		t.Fatalf("models %v", ids)
	}
}

func BenchmarkEmulatorChat(b *testing.B) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	body := `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are concise."},{"role":"user","content":"Explain what a reverse proxy does, briefly."}]}`
	streamBody := strings.Replace(body, `{"model"`, `{"stream":true,"stream_options":{"include_usage":true},"model"`, 1)
	for _, bc := range []struct{ name, body string }{{"non-streaming", body}, {"streaming", streamBody}} {
		b.Run(bc.name, func(b *testing.B) {
			client := srv.Client()
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(bc.body))
				req.Header.Set("Authorization", "Bearer x")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

func TestOpenAISDKEmbeddings(t *testing.T) {
	emu, _, c := openaiServer(t, Config{})
	got, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"reset my password", "how do I reset my password"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 || len(got.Data[0].Embedding) != 1536 || got.Usage.PromptTokens == 0 {
		t.Fatalf("%d vectors of %d dims, usage %+v", len(got.Data), len(got.Data[0].Embedding), got.Usage)
	}
	want := Embed([]string{"reset my password"}, 1536)[0]
	for i, v := range got.Data[0].Embedding {
		if float32(v) != want[i] {
			t.Fatalf("dim %d: %v, want %v", i, v, want[i])
		}
	}
	small, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-large", Dimensions: openai.Int(64),
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")},
	})
	if err != nil || len(small.Data[0].Embedding) != 64 {
		t.Fatalf("dimensions 64: %v", err)
	}
	_, err = c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")},
	}, option.WithHeader(HeaderFault, "status=429"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("fault: %v", err)
	}
	if s := emu.Stats().ByPath["/v1/embeddings"]; s.Requests != 3 || s.Succeeded != 2 || s.Faults["429"] != 1 {
		t.Fatalf("stats %+v", s)
	}
}
