package anthropic_test

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

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/anthropic"
)

// fakeMessages serves POST /v1/messages with the server-side codec: it decodes what
// the official SDK sends and answers with a fixed neutral response, streamed or not.
type fakeMessages struct {
	mu      sync.Mutex
	got     *llm.Request
	resp    *llm.Response
	err     *llm.Error // answer with this error instead
	failAt  int        // stream: fail with failErr after this many events (0: never)
	failErr *llm.Error
}

func (f *fakeMessages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := anthropic.DecodeRequest(body)
	if err != nil {
		f.writeErr(w, llm.AsError(err))
		return
	}
	f.mu.Lock()
	f.got = req
	f.mu.Unlock()
	if f.err != nil {
		f.writeErr(w, f.err)
		return
	}
	if !req.Stream {
		b, err := anthropic.EncodeResponse(f.resp)
		if err != nil {
			f.writeErr(w, llm.AsError(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	sse.Header(w.Header())
	sw := sse.NewWriter(w)
	enc := anthropic.NewStreamEncoder(anthropic.StreamOptions{Ping: true})
	for i, ev := range llm.Events(f.resp, 3) {
		if f.failAt > 0 && i == f.failAt {
			_ = enc.Fail(sw, f.failErr)
			return
		}
		if err := enc.Encode(sw, ev); err != nil {
			return
		}
	}
	_ = enc.Finish(sw)
}

func (f *fakeMessages) writeErr(w http.ResponseWriter, e *llm.Error) {
	status, body := anthropic.EncodeError(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *fakeMessages) request() *llm.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got
}

func newClient(t *testing.T, h http.Handler) sdk.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-ant-test"), option.WithMaxRetries(0))
}

var weatherTool = sdk.ToolUnionParam{OfTool: &sdk.ToolParam{
	Name:        "get_weather",
	Description: sdk.String("Weather for a city"),
	InputSchema: sdk.ToolInputSchemaParam{
		Properties: map[string]any{"city": map[string]any{"type": "string"}},
		Required:   []string{"city"},
	},
	CacheControl: sdk.NewCacheControlEphemeralParam(),
}}

func answer(text string, calls ...llm.ToolCall) *llm.Response {
	finish := llm.FinishStop
	if len(calls) > 0 {
		finish = llm.FinishToolCalls
	}
	msg := llm.Message{Role: llm.RoleAssistant, ToolCalls: calls}
	if text != "" {
		msg.Content = []llm.Part{{Type: llm.PartText, Text: text}}
	}
	return &llm.Response{ID: "msg_test", Model: "claude-test",
		Choices: []llm.Choice{{Message: msg, FinishReason: finish}},
		Usage:   llm.Usage{InputTokens: 1100, CachedInputTokens: 1000, CacheWriteTokens: 60, OutputTokens: 25}}
}

func TestSDKNonStreamingRoundTrip(t *testing.T) {
	f := &fakeMessages{resp: answer("It is sunny.")}
	client := newClient(t, f)
	msg, err := client.Messages.New(context.Background(), sdk.MessageNewParams{
		Model:     "claude-test",
		MaxTokens: 512,
		System:    []sdk.TextBlockParam{{Text: "Be brief.", CacheControl: sdk.NewCacheControlEphemeralParam()}},
		Messages: []sdk.MessageParam{
			sdk.NewUserMessage(sdk.NewTextBlock("Weather in Paris?")),
			sdk.NewAssistantMessage(sdk.NewToolUseBlock("toolu_1", map[string]any{"city": "Paris"}, "get_weather")),
			sdk.NewUserMessage(sdk.NewToolResultBlock("toolu_1", "sunny", false), sdk.NewTextBlock("Thanks")),
		},
		Tools:      []sdk.ToolUnionParam{weatherTool},
		ToolChoice: sdk.ToolChoiceUnionParam{OfAuto: &sdk.ToolChoiceAutoParam{}},
		Metadata:   sdk.MetadataParam{UserID: sdk.String("u1")},
		TopK:       sdk.Int(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "It is sunny." || msg.StopReason != sdk.StopReasonEndTurn {
		t.Fatalf("SDK parsed %+v", msg)
	}
	u := msg.Usage
	if u.InputTokens != 40 || u.CacheReadInputTokens != 1000 || u.CacheCreationInputTokens != 60 || u.OutputTokens != 25 {
		t.Fatalf("usage = %+v, want input 40 (uncached), cache read 1000, write 60, output 25", u)
	}
	got := f.request()
	if got.System() != "Be brief." || got.User != "u1" || string(got.Extra["top_k"]) != "5" || *got.MaxTokens != 512 {
		t.Fatalf("decoded request = %+v", got)
	}
	if n := len(got.Messages); n != 5 || got.Messages[3].Role != llm.RoleTool || got.Messages[3].ToolName != "get_weather" {
		t.Fatalf("decoded messages = %+v", got.Messages)
	}
	if string(got.Tools[0].CacheControl) != `{"type":"ephemeral"}` || string(got.Messages[0].Content[0].CacheControl) != `{"type":"ephemeral"}` {
		t.Fatal("cache_control lost on tools or system")
	}
}

func TestSDKStreamingTextAndToolUseAccumulate(t *testing.T) {
	f := &fakeMessages{resp: answer("Let me look.", llm.ToolCall{ID: "toolu_9", Name: "get_weather", Arguments: `{"city":"San Francisco, CA"}`})}
	client := newClient(t, f)
	stream := client.Messages.NewStreaming(context.Background(), sdk.MessageNewParams{
		Model: "claude-test", MaxTokens: 100,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("Weather?"))},
		Tools:    []sdk.ToolUnionParam{weatherTool},
	})
	var msg sdk.Message
	deltas := 0
	for stream.Next() {
		ev := stream.Current()
		if ev.Type == "content_block_delta" && ev.Delta.Type == "input_json_delta" {
			deltas++
		}
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if deltas < 3 {
		t.Errorf("tool arguments arrived in %d input_json_delta events, want them streamed incrementally", deltas)
	}
	if len(msg.Content) != 2 || msg.Content[0].Text != "Let me look." {
		t.Fatalf("accumulated content = %+v", msg.Content)
	}
	tu := msg.Content[1]
	var input map[string]string
	if err := json.Unmarshal(tu.Input, &input); err != nil || tu.Type != "tool_use" || tu.ID != "toolu_9" || tu.Name != "get_weather" || input["city"] != "San Francisco, CA" {
		t.Fatalf("accumulated tool_use = %+v input=%s (%v)", tu, tu.Input, err)
	}
	if msg.StopReason != sdk.StopReasonToolUse || msg.ID != "msg_test" {
		t.Fatalf("stop_reason=%s id=%s", msg.StopReason, msg.ID)
	}
	if u := msg.Usage; u.InputTokens != 40 || u.CacheReadInputTokens != 1000 || u.CacheCreationInputTokens != 60 || u.OutputTokens != 25 {
		t.Fatalf("streamed usage = %+v", u)
	}
	if !f.request().Stream {
		t.Fatal("stream flag not decoded")
	}
}

func TestSDKSeesErrorsWithStatusAndType(t *testing.T) {
	for _, tc := range []struct {
		kind   llm.ErrorKind
		status int
		typ    string
	}{
		{llm.KindOverloaded, 529, "overloaded_error"},
		{llm.KindRateLimited, 429, "rate_limit_error"},
		{llm.KindAuthentication, 401, "authentication_error"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			f := &fakeMessages{err: &llm.Error{Kind: tc.kind, Message: "try later"}}
			client := newClient(t, f)
			_, err := client.Messages.New(context.Background(), sdk.MessageNewParams{Model: "m", MaxTokens: 1,
				Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hi"))}})
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *anthropic.Error", err)
			}
			if apiErr.StatusCode != tc.status || !strings.Contains(apiErr.RawJSON(), `"type":"`+tc.typ+`"`) {
				t.Fatalf("status %d body %s", apiErr.StatusCode, apiErr.RawJSON())
			}
		})
	}
}

func TestSDKInvalidRequestGetsAnthropicShaped400(t *testing.T) {
	f := &fakeMessages{resp: answer("x")}
	client := newClient(t, f)
	_, err := client.Messages.New(context.Background(), sdk.MessageNewParams{Model: "m", MaxTokens: 1,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hi"))},
		Tools:    []sdk.ToolUnionParam{{OfWebSearchTool20250305: &sdk.WebSearchTool20250305Param{}}}})
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.RawJSON(), "tools[0].type") {
		t.Fatalf("err = %v", err)
	}
}

func TestSDKMidStreamFailureIsAnError(t *testing.T) {
	f := &fakeMessages{resp: answer("a fairly long answer that streams in pieces"), failAt: 4,
		failErr: &llm.Error{Kind: llm.KindOverloaded, Message: "upstream went away"}}
	client := newClient(t, f)
	stream := client.Messages.NewStreaming(context.Background(), sdk.MessageNewParams{Model: "m", MaxTokens: 10,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hi"))}})
	n := 0
	for stream.Next() {
		n++
	}
	err := stream.Err()
	if err == nil || n == 0 {
		t.Fatalf("events=%d err=%v: a broken stream must end in an error", n, err)
	}
	if !strings.Contains(err.Error(), "overloaded_error") {
		t.Fatalf("err = %v, want the overloaded_error event", err)
	}
}
