package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

func anthropicServer(t *testing.T, cfg Config) (*Emulator, *httptest.Server, sdk.Client) {
	t.Helper()
	emu := New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv, sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-ant-emulator"), option.WithMaxRetries(0))
}

func messageParams(model, prompt string) sdk.MessageNewParams {
	return sdk.MessageNewParams{
		Model:     sdk.Model(model),
		MaxTokens: 1024,
		System:    []sdk.TextBlockParam{{Text: "You are concise."}},
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock(prompt))},
	}
}

var anthropicWeatherTool = sdk.ToolUnionParam{OfTool: &sdk.ToolParam{
	Name: "get_weather",
	InputSchema: sdk.ToolInputSchemaParam{
		Properties: map[string]any{
			"city": map[string]any{"type": "string"},
			"unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
		},
		Required: []string{"city", "unit"},
	},
}}

func TestAnthropicSDKParsesAMessageWithCacheUsage(t *testing.T) {
	emu, _, c := anthropicServer(t, Config{})
	msg, err := c.Messages.New(context.Background(), messageParams("claude-3-5-haiku-latest", "What makes a good API?"),
		option.WithHeader(HeaderUsage, "cached=10;cache_write=5"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.ID, "msg_") || string(msg.Model) != "claude-3-5-haiku-latest" || msg.StopReason != sdk.StopReasonEndTurn {
		t.Fatalf("message %+v", msg)
	}
	if len(msg.Content) != 1 || !strings.HasPrefix(msg.Content[0].Text, "[claude-3-5-haiku-latest] ") {
		t.Fatalf("content %+v", msg.Content)
	}
	u := msg.Usage
	if u.CacheReadInputTokens != 10 || u.CacheCreationInputTokens != 5 || u.InputTokens < 5 || u.OutputTokens != int64(TextTokens(msg.Content[0].Text)) {
		t.Fatalf("usage %+v", u)
	}
	if s := emu.Stats().ByPath["/v1/messages"]; s.Requests != 1 || s.Succeeded != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAnthropicSDKSeesMaxTokensStop(t *testing.T) {
	_, _, c := anthropicServer(t, Config{})
	p := messageParams("claude-sonnet-4-5", "Write an essay about queues.")
	p.MaxTokens = 5
	msg, err := c.Messages.New(context.Background(), p)
	if err != nil || msg.StopReason != sdk.StopReasonMaxTokens || msg.Usage.OutputTokens != 5 {
		t.Fatalf("%v %+v", err, msg)
	}
}

func TestAnthropicSDKStreamsToolUseIncrementally(t *testing.T) {
	_, _, c := anthropicServer(t, Config{})
	p := messageParams("claude-sonnet-4-5", "What's the weather in Madrid?")
	p.Tools = []sdk.ToolUnionParam{anthropicWeatherTool}
	p.ToolChoice = sdk.ToolChoiceUnionParam{OfAny: &sdk.ToolChoiceAnyParam{}}
	stream := c.Messages.NewStreaming(context.Background(), p)
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
	if deltas < 3 || msg.StopReason != sdk.StopReasonToolUse || len(msg.Content) != 1 {
		t.Fatalf("%d input_json_delta events, message %+v", deltas, msg)
	}
	tu := msg.Content[0]
	var in struct{ City, Unit string }
	if err := json.Unmarshal(tu.Input, &in); err != nil || tu.Name != "get_weather" || !strings.HasPrefix(tu.ID, "toolu_") ||
		in.City != "Madrid" || (in.Unit != "celsius" && in.Unit != "fahrenheit") {
		t.Fatalf("tool_use %+v input %s (%v)", tu, tu.Input, err)
	}
	if msg.Usage.OutputTokens == 0 || msg.Usage.InputTokens == 0 {
		t.Fatalf("streamed usage %+v", msg.Usage)
	}
}

func TestAnthropicSDKToolRoundTripQuotesTheResult(t *testing.T) {
	_, _, c := anthropicServer(t, Config{})
	ctx := context.Background()
	p := messageParams("claude-sonnet-4-5", "Use get_weather for Oslo.")
	p.Tools = []sdk.ToolUnionParam{anthropicWeatherTool}
	first, err := c.Messages.New(ctx, p)
	if err != nil || first.StopReason != sdk.StopReasonToolUse {
		t.Fatalf("%v %+v", err, first)
	}
	p.Messages = append(p.Messages, first.ToParam(),
		sdk.NewUserMessage(sdk.NewToolResultBlock(first.Content[0].ID, "-3 C and snowing", false)))
	second, err := c.Messages.New(ctx, p)
	if err != nil || !strings.Contains(second.Content[0].Text, "get_weather tool returned: -3 C and snowing") {
		t.Fatalf("%v %+v", err, second)
	}
}

func TestAnthropicSDKSeesFaultsInAnthropicShape(t *testing.T) {
	cases := []struct {
		fault, typ string
		status     int
	}{
		{"status=529", "overloaded_error", 529},
		{"status=429;retry_after=3", "rate_limit_error", 429},
		{"status=500", "api_error", 500},
	}
	_, _, c := anthropicServer(t, Config{})
	for _, tc := range cases {
		_, err := c.Messages.New(context.Background(), messageParams("claude-3-5-haiku-latest", "hi"), option.WithHeader(HeaderFault, tc.fault))
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status || !strings.Contains(apiErr.RawJSON(), `"type":"`+tc.typ+`"`) {
			t.Fatalf("%s: %v", tc.fault, err)
		}
	}
	stream := c.Messages.NewStreaming(context.Background(), messageParams("claude-3-5-haiku-latest", "Tell me a story."),
		option.WithHeader(HeaderFault, "error;after=5;status=529"))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); n == 0 || err == nil || !strings.Contains(err.Error(), "overloaded_error") {
		t.Fatalf("after %d events: %v", n, err)
	}
}

func TestAnthropicRouteRequiresKeyAndVersion(t *testing.T) {
	_, srv, _ := anthropicServer(t, Config{})
	body := `{"model":"claude-3-5-haiku-latest","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		headers map[string]string
		status  int
		typ     string
	}{
		{map[string]string{"anthropic-version": "2023-06-01"}, 401, "authentication_error"},
		{map[string]string{"x-api-key": "k"}, 400, "invalid_request_error"},
		{map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01"}, 200, ""},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(body))
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Type  string
			Error struct{ Type string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tc.status || tc.typ != "" && (out.Type != "error" || out.Error.Type != tc.typ) {
			t.Fatalf("headers %v: status %d body %+v", tc.headers, resp.StatusCode, out)
		}
	}
}
