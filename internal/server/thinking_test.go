package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"

	"github.com/arbiterhq/arbiter/internal/emulator"
)

// Extended thinking through Arbiter: a Claude client that enables thinking and uses
// tools must get its thinking blocks (with their signatures) and be able to send them
// back, because Anthropic refuses the next turn without them. The emulator plays
// Anthropic and checks signatures and history as the Messages API does.

func anthropicSDK(base string) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(base+"/"), aoption.WithAPIKey("sk-client"), aoption.WithMaxRetries(0))
}

func thinkingTurn(model, prompt string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model: anthropic.Model(model), MaxTokens: 4000,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(1024),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("Weather forecast for a city"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city", "days"}},
		}}},
	}
}

// sendMessage runs one request, whole or streamed, and returns the message and the
// X-Arbiter-Cache header.
func sendMessage(ctx context.Context, c anthropic.Client, p anthropic.MessageNewParams, stream bool) (anthropic.Message, string, error) {
	var raw *http.Response
	if !stream {
		m, err := c.Messages.New(ctx, p, aoption.WithResponseInto(&raw))
		if err != nil {
			return anthropic.Message{}, "", err
		}
		return *m, raw.Header.Get("X-Arbiter-Cache"), nil
	}
	var msg anthropic.Message
	st := c.Messages.NewStreaming(ctx, p, aoption.WithResponseInto(&raw))
	for st.Next() {
		if err := msg.Accumulate(st.Current()); err != nil {
			return msg, "", err
		}
	}
	if err := st.Err(); err != nil {
		return msg, "", err
	}
	return msg, raw.Header.Get("X-Arbiter-Cache"), nil
}

// checkSignedThinkingThenToolUse fails unless msg opens with a thinking block the
// emulator signed, followed by a tool_use.
func checkSignedThinkingThenToolUse(t *testing.T, what string, msg anthropic.Message) {
	t.Helper()
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[1].Type != "tool_use" || msg.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("%s: content %+v, stop %q", what, msg.Content, msg.StopReason)
	}
	if th := msg.Content[0]; th.Thinking == "" || !emulator.VerifyThinking(th.Thinking, th.Signature) {
		t.Fatalf("%s: thinking block with an invalid signature: %+v", what, th)
	}
}

func TestThinkingToolLoopThroughArbiterToAnthropic(t *testing.T) {
	s, rec := newMatrixStack(t)
	p := matrixProviders[1] // anthropic
	if p.name != "anthropic" {
		t.Fatal("matrixProviders[1] is not the Anthropic provider")
	}
	c := anthropicSDK(s.arbSrv.URL)
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "whole", true: "streamed"}[stream]
		params := thinkingTurn(p.model, "Use get_weather for Paris.")
		first, _, err := sendMessage(ctx, c, params, stream)
		if err != nil {
			t.Fatalf("%s turn 1: %v", name, err)
		}
		checkSignedThinkingThenToolUse(t, name+" turn 1", first)
		lastUpstream(t, rec, p)

		tu := first.Content[1]
		params.Messages = append(params.Messages, first.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(tu.ID, "21 C and sunny", false)))
		second, _, err := sendMessage(ctx, c, params, stream)
		if err != nil {
			t.Fatalf("%s turn 2 (the emulator refused the history Arbiter sent): %v", name, err)
		}
		if len(second.Content) != 2 || second.Content[0].Type != "thinking" || !strings.Contains(second.Content[1].Text, "21 C and sunny") {
			t.Fatalf("%s turn 2: %+v", name, second.Content)
		}
		// What reached Anthropic on turn 2: the assistant turn opens with the very
		// block the client got, signature and all, before the tool_use.
		up := lastUpstream(t, rec, p)
		msgs, _ := up.body["messages"].([]any)
		if len(msgs) != 3 {
			t.Fatalf("%s turn 2: %d messages upstream", name, len(msgs))
		}
		blocks, _ := msgs[1].(map[string]any)["content"].([]any)
		b0, _ := blocks[0].(map[string]any)
		if len(blocks) != 2 || b0["type"] != "thinking" || b0["thinking"] != first.Content[0].Thinking || b0["signature"] != first.Content[0].Signature ||
			!emulator.VerifyThinking(first.Content[0].Thinking, b0["signature"].(string)) {
			t.Fatalf("%s turn 2: assistant turn sent upstream as %s", name, jsonOf(msgs[1]))
		}
		if b1, _ := blocks[1].(map[string]any); b1["type"] != "tool_use" {
			t.Fatalf("%s turn 2: second block %s", name, jsonOf(b1))
		}

		// The loop fails, with Anthropic's 400, when the block does not reach Anthropic:
		// through Arbiter (the client dropping it stands for Arbiter stripping it) …
		stripped := params
		stripped.Messages = append([]anthropic.MessageParam{}, params.Messages...)
		stripped.Messages[1] = anthropic.NewAssistantMessage(anthropic.NewToolUseBlock(tu.ID, tu.Input, tu.Name))
		_, _, err = sendMessage(ctx, c, stripped, stream)
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.RawJSON(), "invalid_request_error") ||
			!strings.Contains(apiErr.RawJSON(), "Expected `thinking` or `redacted_thinking`, but found `tool_use`") {
			t.Fatalf("%s: turn 2 without its thinking block: %v", name, err)
		}
		rec.take()
		// … and straight to the emulator, with the body Arbiter sent on turn 2 minus
		// that block.
		msgs[1].(map[string]any)["content"] = blocks[1:]
		status, body := postJSON(t, s.emuSrv.URL+"/v1/messages", map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01"}, up.body)
		if status != 400 || !strings.Contains(body, "a final `assistant` message must start with a thinking block") {
			t.Fatalf("%s: emulator took the stripped history: %d %s", name, status, body)
		}
	}
}

// postJSON posts body as JSON to url with the given headers and returns the
// status and the response body (for requests the official SDKs cannot make,
// such as straight to the emulator).
func postJSON(t *testing.T, url string, hdr map[string]string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// An exact-cache hit replays the signed thinking block, whole and streamed, whichever
// form filled the cache, and the replayed block is good for the next turn.
func TestThinkingCachedAnswerReplaysTheSignedBlock(t *testing.T) {
	s := newStack(t, emulator.Config{}, nil)
	c := anthropicSDK(s.arbSrv.URL)
	ctx := context.Background()
	for _, firstStreamed := range []bool{false, true} {
		params := thinkingTurn("claude-3-5-haiku-latest", map[bool]string{false: "Use get_weather for Oslo.", true: "Use get_weather for Rome."}[firstStreamed])
		first, cache, err := sendMessage(ctx, c, params, firstStreamed)
		if err != nil || cache != "miss" {
			t.Fatalf("first (streamed=%v): cache %q, %v", firstStreamed, cache, err)
		}
		checkSignedThinkingThenToolUse(t, "first", first)
		upstream := s.emu.Stats().Total.Requests
		for _, stream := range []bool{false, true} {
			again, cache, err := sendMessage(ctx, c, params, stream)
			if err != nil || cache != "hit" {
				t.Fatalf("replay (streamed=%v): cache %q, %v", stream, cache, err)
			}
			checkSignedThinkingThenToolUse(t, "replay", again)
			if again.Content[0].Thinking != first.Content[0].Thinking || again.Content[0].Signature != first.Content[0].Signature {
				t.Fatalf("replay (streamed=%v) changed the thinking block: %+v, first %+v", stream, again.Content[0], first.Content[0])
			}
			if stream {
				// The replayed turn goes back to Anthropic, which accepts its signature.
				tu := again.Content[1]
				next := params
				next.Messages = append(append([]anthropic.MessageParam{}, params.Messages...), again.ToParam(),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock(tu.ID, "mild", false)))
				if _, _, err := sendMessage(ctx, c, next, false); err != nil {
					t.Fatalf("next turn after a replay: %v", err)
				}
			}
		}
		if got := s.emu.Stats().Total.Requests; got != upstream+1 {
			t.Fatalf("upstream saw %d requests, want %d (replays and the next turn)", got, upstream+1)
		}
	}
}

// An Anthropic client's thinking blocks are Anthropic's: when its conversation is
// routed to an OpenAI-format or Gemini provider they are not sent, neither as text nor
// as a signature, and the turn still succeeds.
func TestThinkingHistoryNeverReachesOtherProviders(t *testing.T) {
	s, rec := newMatrixStack(t)
	c := anthropicSDK(s.arbSrv.URL)
	for _, p := range []matrixProvider{matrixProviders[0], matrixProviders[2]} {
		params := thinkingTurn(p.model, "Use get_weather for Paris.")
		params.Messages = append(params.Messages,
			anthropic.NewAssistantMessage(
				anthropic.NewThinkingBlock("SIGNATURE-ANTHROPIC-ONLY", "THOUGHT-the user wants Paris weather"),
				anthropic.NewRedactedThinkingBlock("REDACTED-ANTHROPIC-ONLY"),
				anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Paris", "days": 1}, "get_weather")),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "21 C", false)))
		for _, stream := range []bool{false, true} {
			msg, _, err := sendMessage(context.Background(), c, params, stream)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Type != "text" || !strings.Contains(msg.Content[0].Text, "21 C") {
				t.Fatalf("%s: %+v", p.name, msg.Content)
			}
			body := jsonOf(lastUpstream(t, rec, p).body)
			for _, secret := range []string{"SIGNATURE-ANTHROPIC-ONLY", "THOUGHT-", "REDACTED-ANTHROPIC-ONLY", "budget_tokens"} {
				if strings.Contains(body, secret) {
					t.Fatalf("%s received %s: %s", p.name, secret, body)
				}
			}
		}
	}
}
