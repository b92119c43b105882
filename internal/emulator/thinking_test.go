package emulator

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
)

func thinkingParams(prompt string) sdk.MessageNewParams {
	p := messageParams("claude-sonnet-4-5", prompt)
	p.MaxTokens = 4000
	p.Thinking = sdk.ThinkingConfigParamOfEnabled(1024)
	p.Tools = []sdk.ToolUnionParam{anthropicWeatherTool}
	return p
}

// firstTurn asks for a tool call with thinking enabled, whole or streamed.
func firstTurn(t *testing.T, c sdk.Client, p sdk.MessageNewParams, stream bool) (sdk.Message, []string) {
	t.Helper()
	ctx := context.Background()
	if !stream {
		m, err := c.Messages.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return *m, nil
	}
	var msg sdk.Message
	var deltas []string
	st := c.Messages.NewStreaming(ctx, p)
	for st.Next() {
		ev := st.Current()
		if ev.Type == "content_block_delta" && (len(deltas) == 0 || deltas[len(deltas)-1] != ev.Delta.Type) {
			deltas = append(deltas, ev.Delta.Type)
		}
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	return msg, deltas
}

func TestThinkingAnswersWithASignedBlockFirst(t *testing.T) {
	_, _, c := anthropicServer(t, Config{})
	for _, stream := range []bool{false, true} {
		msg, deltas := firstTurn(t, c, thinkingParams("Use get_weather for Oslo."), stream)
		if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[1].Type != "tool_use" {
			t.Fatalf("stream=%v: content %+v", stream, msg.Content)
		}
		th := msg.Content[0]
		if th.Thinking == "" || !VerifyThinking(th.Thinking, th.Signature) || !strings.Contains(th.Thinking, "get_weather") {
			t.Fatalf("stream=%v: thinking block %+v", stream, th)
		}
		if stream && strings.Join(deltas, ",") != "thinking_delta,signature_delta,input_json_delta" {
			t.Fatalf("deltas %v", deltas)
		}
		if msg.Usage.OutputTokens < int64(TextTokens(th.Thinking)) {
			t.Fatalf("stream=%v: output tokens %d leave out the thinking (%d)", stream, msg.Usage.OutputTokens, TextTokens(th.Thinking))
		}
	}
	// Without thinking enabled, no thinking block.
	p := thinkingParams("Use get_weather for Oslo.")
	p.Thinking = sdk.ThinkingConfigParamUnion{}
	if msg, _ := firstTurn(t, c, p, false); msg.Content[0].Type != "tool_use" {
		t.Fatalf("thinking without asking: %+v", msg.Content)
	}
}

func TestThinkingHistoryIsCheckedLikeTheMessagesAPI(t *testing.T) {
	_, _, c := anthropicServer(t, Config{})
	ctx := context.Background()
	p := thinkingParams("Use get_weather for Oslo.")
	first, _ := firstTurn(t, c, p, false)
	result := sdk.NewUserMessage(sdk.NewToolResultBlock(first.Content[1].ID, "-3 C", false))
	second := func(assistant sdk.MessageParam) error {
		q := p
		q.Messages = append(append([]sdk.MessageParam{}, p.Messages...), assistant, result)
		_, err := c.Messages.New(ctx, q)
		return err
	}
	if err := second(first.ToParam()); err != nil {
		t.Fatalf("the turn sent back unchanged: %v", err)
	}
	status400 := func(name string, err error, want string) {
		t.Helper()
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.RawJSON(), `"type":"invalid_request_error"`) ||
			!strings.Contains(apiErr.RawJSON(), want) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	stripped := sdk.NewAssistantMessage(sdk.NewToolUseBlock(first.Content[1].ID, first.Content[1].Input, "get_weather"))
	status400("thinking stripped", second(stripped),
		"messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block")
	forged := sdk.NewAssistantMessage(sdk.NewThinkingBlock(first.Content[0].Signature, first.Content[0].Thinking+" (edited)"),
		sdk.NewToolUseBlock(first.Content[1].ID, first.Content[1].Input, "get_weather"))
	status400("thinking edited", second(forged), "messages.1.content.0: Invalid `signature` in `thinking` block")
	redacted := sdk.NewAssistantMessage(sdk.NewRedactedThinkingBlock(RedactedThinking("hidden")),
		sdk.NewToolUseBlock(first.Content[1].ID, first.Content[1].Input, "get_weather"))
	if err := second(redacted); err != nil {
		t.Fatalf("redacted block the emulator issued: %v", err)
	}
	badRedacted := sdk.NewAssistantMessage(sdk.NewRedactedThinkingBlock("bm90IG91cnM="),
		sdk.NewToolUseBlock(first.Content[1].ID, first.Content[1].Input, "get_weather"))
	status400("redacted forged", second(badRedacted), "messages.1.content.0: Invalid `data` in `redacted_thinking` block")
	// Thinking disabled: no requirement on the last turn.
	p.Thinking = sdk.ThinkingConfigParamUnion{}
	if err := second(stripped); err != nil {
		t.Fatalf("thinking disabled: %v", err)
	}
}
