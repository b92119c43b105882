package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	wire "github.com/arbiterhq/arbiter/internal/wire/openai"
)

// sdkServer plays OpenAI with the server-side codec: it decodes what the official
// SDK sends, answers with whatever answer returns, and encodes it back. The last
// decoded request is kept for assertions.
type sdkServer struct {
	*httptest.Server
	mu      sync.Mutex
	lastReq *llm.Request
	// midStreamErr, when set, is sent after the first text chunk instead of finishing.
	midStreamErr *llm.Error
}

func newSDKServer(t *testing.T, answer func(*llm.Request) (*llm.Response, *llm.Error)) *sdkServer {
	t.Helper()
	s := &sdkServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/embeddings") {
			serveEmbeddings(w, body)
			return
		}
		req, err := wire.DecodeRequest(body)
		if err != nil {
			writeError(w, err.(*llm.Error))
			return
		}
		s.mu.Lock()
		s.lastReq = req
		s.mu.Unlock()
		resp, lerr := answer(req)
		if lerr != nil {
			writeError(w, lerr)
			return
		}
		if !req.Stream {
			b, _ := wire.EncodeResponse(resp)
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
			return
		}
		sse.Header(w.Header())
		sw := sse.NewWriter(w)
		enc := wire.NewStreamEncoder(wire.StreamOptions{IncludeUsage: req.IncludeUsage, SystemFingerprint: resp.SystemFingerprint})
		for i, ev := range llm.Events(resp, 3) {
			if err := enc.Encode(sw, ev); err != nil {
				t.Errorf("encode event: %v", err)
				return
			}
			if s.midStreamErr != nil && i == 1 {
				enc.Fail(sw, s.midStreamErr)
				return
			}
		}
		enc.Finish(sw)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sdkServer) last() *llm.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastReq
}

func writeError(w http.ResponseWriter, e *llm.Error) {
	status, body := wire.EncodeError(e)
	w.Header().Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", "7")
	}
	w.WriteHeader(status)
	w.Write(body)
}

func (s *sdkServer) client() openai.Client {
	return openai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
}

func textAnswer(text string) func(*llm.Request) (*llm.Response, *llm.Error) {
	return func(req *llm.Request) (*llm.Response, *llm.Error) {
		return &llm.Response{
			ID: "chatcmpl-abc123", Model: req.Model, Created: 1732000000, SystemFingerprint: "fp_test",
			Choices: []llm.Choice{{Index: 0, Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: llm.FinishStop}},
			Usage:   llm.Usage{InputTokens: 120, CachedInputTokens: 64, OutputTokens: 42, ReasoningTokens: 10},
		}, nil
	}
}

func TestSDKParsesNonStreamingCompletion(t *testing.T) {
	srv := newSDKServer(t, textAnswer("Hello there, \"friend\" — ünïcode\n"))
	c := srv.client()
	got, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.DeveloperMessage("be brief"),
			openai.UserMessage("hi"),
		},
		Temperature: openai.Float(0.2),
		Seed:        openai.Int(7),
		Stop:        openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END", "STOP"}},
		Metadata:    shared.Metadata{"team": "search"},
		User:        openai.String("u-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "chatcmpl-abc123" || got.Model != "gpt-4o-mini" || got.Created != 1732000000 || got.SystemFingerprint != "fp_test" || string(got.Object) != "chat.completion" {
		t.Fatalf("header fields: %+v", got)
	}
	ch := got.Choices[0]
	if ch.Message.Content != "Hello there, \"friend\" — ünïcode\n" || ch.FinishReason != "stop" || string(ch.Message.Role) != "assistant" {
		t.Fatalf("choice: %+v", ch)
	}
	u := got.Usage
	if u.PromptTokens != 120 || u.CompletionTokens != 42 || u.TotalTokens != 162 || u.PromptTokensDetails.CachedTokens != 64 || u.CompletionTokensDetails.ReasoningTokens != 10 {
		t.Fatalf("usage: %+v", u)
	}
	req := srv.last()
	if !req.Messages[0].Developer || req.Messages[0].Role != llm.RoleSystem || req.LastUserText() != "hi" {
		t.Fatalf("decoded messages: %+v", req.Messages)
	}
	if *req.Temperature != 0.2 || *req.Seed != 7 || strings.Join(req.Stop, ",") != "END,STOP" || req.Metadata["team"] != "search" || req.User != "u-1" {
		t.Fatalf("decoded params: %+v", req)
	}
}

func TestSDKParsesStreamWithoutUsage(t *testing.T) {
	srv := newSDKServer(t, textAnswer("streamed answer in pieces"))
	c := srv.client()
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for st.Next() {
		ch := st.Current()
		if !acc.AddChunk(ch) {
			t.Fatalf("accumulator rejected chunk %d: %s", chunks, ch.RawJSON())
		}
		if strings.Contains(ch.RawJSON(), `"usage"`) {
			t.Fatalf("chunk carries usage though the client did not ask: %s", ch.RawJSON())
		}
		if chunks == 0 && ch.Choices[0].Delta.Role != "assistant" {
			t.Fatalf("first chunk has no role: %s", ch.RawJSON())
		}
		chunks++
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 5 {
		t.Fatalf("got %d chunks, want the text split over several", chunks)
	}
	if acc.Choices[0].Message.Content != "streamed answer in pieces" || acc.Choices[0].FinishReason != "stop" || acc.ID != "chatcmpl-abc123" {
		t.Fatalf("accumulated: %+v", acc.ChatCompletion)
	}
	if acc.Usage.TotalTokens != 0 {
		t.Fatalf("usage without include_usage: %+v", acc.Usage)
	}
}

func TestSDKParsesStreamWithUsage(t *testing.T) {
	srv := newSDKServer(t, textAnswer("counted"))
	c := srv.client()
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "gpt-4o-mini",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	var last openai.ChatCompletionChunk
	for st.Next() {
		last = st.Current()
		acc.AddChunk(last)
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if !srv.last().IncludeUsage {
		t.Fatal("include_usage not decoded")
	}
	if len(last.Choices) != 0 || last.Usage.TotalTokens != 162 {
		t.Fatalf("last chunk should be the usage chunk with no choices: %s", last.RawJSON())
	}
	u := acc.Usage
	if u.PromptTokens != 120 || u.CompletionTokens != 42 || u.PromptTokensDetails.CachedTokens != 64 || u.CompletionTokensDetails.ReasoningTokens != 10 {
		t.Fatalf("accumulated usage: %+v", u)
	}
	if acc.Choices[0].Message.Content != "counted" {
		t.Fatalf("content: %q", acc.Choices[0].Message.Content)
	}
}

func toolAnswer(req *llm.Request) (*llm.Response, *llm.Error) {
	return &llm.Response{
		ID: "chatcmpl-tools", Model: req.Model, Created: 1732000001,
		Choices: []llm.Choice{{Index: 0, FinishReason: llm.FinishToolCalls, Message: llm.Message{
			Role: llm.RoleAssistant,
			ToolCalls: []llm.ToolCall{
				{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
				{ID: "call_2", Name: "get_weather", Arguments: `{"city":"Tōkyō","unit":"celsius"}`},
			},
		}}},
		Usage: llm.Usage{InputTokens: 80, OutputTokens: 30},
	}, nil
}

func weatherParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris and Tokyo?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        "get_weather",
			Description: openai.String("Current weather"),
			Strict:      openai.Bool(true),
			Parameters: shared.FunctionParameters{
				"type":                 "object",
				"properties":           map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}}},
				"required":             []string{"city", "unit"},
				"additionalProperties": false,
			},
		})},
		ToolChoice:        openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
		ParallelToolCalls: openai.Bool(true),
	}
}

func TestSDKParsesToolCalls(t *testing.T) {
	srv := newSDKServer(t, toolAnswer)
	c := srv.client()
	got, err := c.Chat.Completions.New(context.Background(), weatherParams())
	if err != nil {
		t.Fatal(err)
	}
	calls := got.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "call_1" || calls[0].Function.Name != "get_weather" || calls[1].Function.Arguments != `{"city":"Tōkyō","unit":"celsius"}` || got.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool calls: %+v", got.Choices[0])
	}
	req := srv.last()
	if len(req.Tools) != 1 || req.Tools[0].Name != "get_weather" || req.Tools[0].Strict == nil || !*req.Tools[0].Strict ||
		req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceTool || req.ToolChoice.Name != "get_weather" ||
		req.ParallelToolCalls == nil || !*req.ParallelToolCalls {
		t.Fatalf("decoded tools: %+v %+v", req.Tools, req.ToolChoice)
	}
	var schema map[string]any
	if err := json.Unmarshal(req.Tools[0].Parameters, &schema); err != nil || schema["type"] != "object" {
		t.Fatalf("tool parameters: %s %v", req.Tools[0].Parameters, err)
	}
}

func TestSDKAccumulatesStreamedToolCalls(t *testing.T) {
	srv := newSDKServer(t, toolAnswer)
	c := srv.client()
	st := c.Chat.Completions.NewStreaming(context.Background(), weatherParams())
	var acc openai.ChatCompletionAccumulator
	var finished []openai.FinishedChatCompletionToolCall
	for st.Next() {
		if !acc.AddChunk(st.Current()) {
			t.Fatalf("accumulator rejected chunk: %s", st.Current().RawJSON())
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "call_1" || calls[0].Function.Arguments != `{"city":"Paris","unit":"celsius"}` ||
		calls[1].ID != "call_2" || calls[1].Function.Arguments != `{"city":"Tōkyō","unit":"celsius"}` {
		t.Fatalf("accumulated tool calls: %+v", calls)
	}
	if len(finished) != 2 || finished[0].Name != "get_weather" || finished[1].Arguments != `{"city":"Tōkyō","unit":"celsius"}` {
		t.Fatalf("finished tool calls: %+v", finished)
	}
	if acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("finish reason %q", acc.Choices[0].FinishReason)
	}
}

func TestSDKJSONSchemaResponse(t *testing.T) {
	srv := newSDKServer(t, textAnswer(`{"name":"Ada","age":36}`))
	c := srv.client()
	schema := map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"name": map[string]any{"type": "string"}, "age": map[string]any{"type": "integer"}},
		"required":             []string{"name", "age"},
		"additionalProperties": false,
	}
	got, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("who?")},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: openai.Bool(true), Schema: schema},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var person struct {
		Name string
		Age  int
	}
	if err := json.Unmarshal([]byte(got.Choices[0].Message.Content), &person); err != nil || person.Name != "Ada" || person.Age != 36 {
		t.Fatalf("content %q: %v", got.Choices[0].Message.Content, err)
	}
	rf := srv.last().ResponseFormat
	if rf == nil || rf.Type != llm.ResponseJSONSchema || rf.Name != "person" || rf.Strict == nil || !*rf.Strict || !strings.Contains(string(rf.Schema), `"required"`) {
		t.Fatalf("decoded response_format: %+v", rf)
	}
}

func TestSDKSeesErrors(t *testing.T) {
	cases := []struct {
		name   string
		err    *llm.Error
		status int
		typ    string
		code   string
	}{
		{"rate limit", &llm.Error{Kind: llm.KindRateLimited, Message: "slow down", RetryAfter: 7e9}, 429, "rate_limit_error", "rate_limit_exceeded"},
		{"context length", &llm.Error{Kind: llm.KindContextLength, Message: "too long", Param: "messages"}, 400, "invalid_request_error", "context_length_exceeded"},
		{"auth", &llm.Error{Kind: llm.KindAuthentication, Message: "bad key", Code: "invalid_api_key"}, 401, "authentication_error", "invalid_api_key"},
		{"not found", &llm.Error{Kind: llm.KindNotFound, Message: "no such model", Code: "model_not_found", Param: "model"}, 404, "invalid_request_error", "model_not_found"},
		{"overloaded", &llm.Error{Kind: llm.KindOverloaded, Message: "busy"}, 503, "server_error", "overloaded"},
		{"upstream", &llm.Error{Kind: llm.KindUpstreamServer, Message: "boom"}, 502, "server_error", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSDKServer(t, func(*llm.Request) (*llm.Response, *llm.Error) { return nil, tc.err })
			c := srv.client()
			_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %T %v is not *openai.Error", err, err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Type != tc.typ || apiErr.Code != tc.code || apiErr.Message != tc.err.Message || apiErr.Param != tc.err.Param {
				t.Fatalf("got status %d type %q code %q message %q param %q", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message, apiErr.Param)
			}
		})
	}
}

func TestSDKSeesValidationErrorNamingTheField(t *testing.T) {
	srv := newSDKServer(t, textAnswer("unused"))
	c := srv.client()
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		Temperature: openai.Float(3),
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "temperature" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("got %v", err)
	}
}

func TestSDKSeesMidStreamError(t *testing.T) {
	srv := newSDKServer(t, textAnswer("this answer will be cut"))
	srv.midStreamErr = &llm.Error{Kind: llm.KindUpstreamServer, Message: "upstream went away"}
	c := srv.client()
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	n := 0
	for st.Next() {
		n++
	}
	var se *ssestream.StreamError
	if !errors.As(st.Err(), &se) || !strings.Contains(se.Message, "upstream went away") || n != 2 {
		t.Fatalf("after %d chunks got %v", n, st.Err())
	}
	var body struct {
		Error struct{ Message, Type string }
	}
	if err := json.Unmarshal(se.Event.Data, &body); err != nil || body.Error.Type != "server_error" {
		t.Fatalf("error event %s: %v", se.Event.Data, err)
	}
}

func serveEmbeddings(w http.ResponseWriter, body []byte) {
	req, err := wire.DecodeEmbeddingRequest(body)
	if err != nil {
		writeError(w, err.(*llm.Error))
		return
	}
	resp := &llm.EmbeddingResponse{Model: req.Model, Usage: llm.Usage{InputTokens: 3 * len(req.Input)}}
	for i := range req.Input {
		resp.Vectors = append(resp.Vectors, []float32{float32(i) + 0.5, -0.25, 1e-3})
	}
	b, _ := wire.EncodeEmbeddingResponse(resp, req.EncodingFormat)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func TestSDKParsesEmbeddings(t *testing.T) {
	srv := newSDKServer(t, textAnswer("unused"))
	c := srv.client()
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			got, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model:          "text-embedding-3-small",
				Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
				EncodingFormat: format,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Data) != 2 || got.Data[1].Index != 1 || got.Model != "text-embedding-3-small" || got.Usage.PromptTokens != 6 {
				t.Fatalf("got %+v", got)
			}
			if v := got.Data[1].Embedding; len(v) != 3 || v[0] != 1.5 || v[1] != -0.25 || float32(v[2]) != 1e-3 {
				t.Fatalf("vector %v", v)
			}
		})
	}
}
