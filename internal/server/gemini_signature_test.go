package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/llm"
)

// Gemini 3 thought signatures through Arbiter: Gemini 3 signs the function calls it
// makes and refuses the next turn when the first call of a step comes back without
// its signature. OpenAI and Anthropic clients have no field for it, so Arbiter folds
// it into the tool call id; the emulator plays Gemini 3, signing calls and checking
// history as the API does.

const gemini3 = "gemini-3-flash-preview"

// newSignatureStack is newStack with the recorder in front of the emulator, Gemini 3
// on the gemini provider and gpt-4o-mini, claude-3-5-haiku-latest on their own.
func newSignatureStack(t *testing.T, cache bool) (*stack, *recorder) {
	rec := &recorder{}
	recSrv := httptest.NewServer(rec)
	t.Cleanup(recSrv.Close)
	s := newStack(t, emulator.Config{}, func(c *config.Config) {
		c.Cache.Enabled = &cache
		c.Routes = map[string]config.Route{
			gemini3:                   {Deployments: []string{"gemini"}},
			"gpt-4o-mini":             {Deployments: []string{"openai"}},
			"claude-3-5-haiku-latest": {Deployments: []string{"anthropic"}},
		}
		pointProvidersAt(c, recSrv.URL)
	})
	rec.emu.Store(s.emu)
	return s, rec
}

func weatherParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Temperature: openai.Float(0),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Use get_weather for Paris.")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool()}}
}

// chat runs one OpenAI SDK request, whole or streamed, and returns the message and
// the X-Arbiter-Cache header.
func chat(ctx context.Context, c openai.Client, p openai.ChatCompletionNewParams, stream bool) (openai.ChatCompletionMessage, string, error) {
	var raw *http.Response
	if !stream {
		r, err := c.Chat.Completions.New(ctx, p, option.WithResponseInto(&raw))
		if err != nil {
			return openai.ChatCompletionMessage{}, "", err
		}
		return r.Choices[0].Message, raw.Header.Get("X-Arbiter-Cache"), nil
	}
	st := c.Chat.Completions.NewStreaming(ctx, p, option.WithResponseInto(&raw))
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		acc.AddChunk(st.Current())
	}
	if err := st.Err(); err != nil {
		return openai.ChatCompletionMessage{}, "", err
	}
	if len(acc.Choices) == 0 {
		return openai.ChatCompletionMessage{}, "", errors.New("stream without choices")
	}
	return acc.Choices[0].Message, raw.Header.Get("X-Arbiter-Cache"), nil
}

// signedCall checks that id is a folded id carrying the emulator's signature of the
// call, and returns the short id and the signature.
func signedCall(t *testing.T, what, id, name, args string) (string, string) {
	t.Helper()
	short, sig := llm.SplitToolID(id)
	if sig == "" || !strings.Contains(id, llm.ToolIDMarker) {
		t.Fatalf("%s: tool call id %q carries no signature", what, id)
	}
	if !emulator.VerifyFunctionCall(name, args, sig) {
		t.Fatalf("%s: id %q carries %q, not the emulator's signature of %s(%s)", what, id, sig, name, args)
	}
	return short, sig
}

// firstCallPart returns the first functionCall part of the model turn in a recorded
// generateContent body.
func firstCallPart(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	contents, _ := body["contents"].([]any)
	for _, c := range contents {
		cm, _ := c.(map[string]any)
		if cm["role"] != "model" {
			continue
		}
		parts, _ := cm["parts"].([]any)
		for _, p := range parts {
			if pm, _ := p.(map[string]any); pm["functionCall"] != nil {
				return pm
			}
		}
	}
	t.Fatalf("no model functionCall upstream: %s", jsonOf(body))
	return nil
}

func TestGeminiSignatureToolLoopWithTheOpenAISDK(t *testing.T) {
	s, rec := newSignatureStack(t, false)
	c := sdk(s.arbSrv.URL)
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "whole", true: "streamed"}[stream]
		p := weatherParams(gemini3)
		first, _, err := chat(ctx, c, p, stream)
		if err != nil {
			t.Fatalf("%s turn 1: %v", name, err)
		}
		if len(first.ToolCalls) != 1 {
			t.Fatalf("%s turn 1: %+v", name, first)
		}
		call := first.ToolCalls[0]
		_, sig := signedCall(t, name+" turn 1", call.ID, call.Function.Name, call.Function.Arguments)
		rec.take()

		p.Messages = append(p.Messages, first.ToParam(), openai.ToolMessage("21 C and sunny", call.ID))
		second, _, err := chat(ctx, c, p, stream)
		if err != nil {
			t.Fatalf("%s turn 2 (Gemini 3 refused the history Arbiter sent): %v", name, err)
		}
		if !strings.Contains(second.Content, "21 C and sunny") {
			t.Fatalf("%s turn 2: %q", name, second.Content)
		}
		// Gemini received the real signature, on the call, not the placeholder.
		reqs := rec.take()
		if len(reqs) != 1 {
			t.Fatalf("%s turn 2: %d upstream requests", name, len(reqs))
		}
		up := reqs[0].body
		part := firstCallPart(t, up)
		if part["thoughtSignature"] != sig {
			t.Fatalf("%s turn 2: Gemini got thoughtSignature %v, want the signature it gave, %q", name, part["thoughtSignature"], sig)
		}
		if strings.Contains(jsonOf(up), llm.ToolIDMarker) {
			t.Fatalf("%s turn 2: a folded id reached Gemini: %s", name, jsonOf(up))
		}

		// Without the signature, the same history is Gemini 3's 400: straight to the
		// emulator with Arbiter's turn-2 body minus the signature …
		delete(part, "thoughtSignature")
		status, body := postJSON(t, s.emuSrv.URL+"/v1beta/models/"+gemini3+":generateContent", map[string]string{"x-goog-api-key": "k"}, up)
		if status != 400 || !strings.Contains(body, "missing a thought_signature") || !strings.Contains(body, "INVALID_ARGUMENT") {
			t.Fatalf("%s: the emulator took the unsigned history: %d %s", name, status, body)
		}
	}
}

// A client that lost the signature (it sends the short id), or history whose calls
// another provider made: Arbiter sends the placeholder and the turn succeeds.
func TestGeminiSignatureUnsignedHistoryGetsThePlaceholder(t *testing.T) {
	s, rec := newSignatureStack(t, false)
	c := sdk(s.arbSrv.URL)
	ctx := context.Background()
	first, _, err := chat(ctx, c, weatherParams(gemini3), false)
	if err != nil || len(first.ToolCalls) != 1 {
		t.Fatalf("turn 1: %v %+v", err, first)
	}
	short, _ := llm.SplitToolID(first.ToolCalls[0].ID)
	rec.take()
	for _, id := range []string{short, "call_Xy12fromAnotherProvider", "toolu_01A09q90qw90lq917835lq9"} {
		p := weatherParams(gemini3)
		p.Messages = append(p.Messages,
			openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
				ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID: id, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris","days":1}`}}}}}},
			openai.ToolMessage("18 C", id))
		for _, stream := range []bool{false, true} {
			msg, _, err := chat(ctx, c, p, stream)
			if err != nil || !strings.Contains(msg.Content, "18 C") {
				t.Fatalf("id %q, streamed=%v: %v %q", id, stream, err, msg.Content)
			}
			if got := firstCallPart(t, lastUpstream(t, rec, matrixProvider{path: "/v1beta/models/{model}:generateContent", upstream: gemini3}).body)["thoughtSignature"]; got != "skip_thought_signature_validator" {
				t.Fatalf("id %q: Gemini got thoughtSignature %v, want the placeholder", id, got)
			}
		}
	}
}

func TestGeminiSignatureToolLoopWithTheAnthropicSDK(t *testing.T) {
	s, rec := newSignatureStack(t, false)
	c := anthropicSDK(s.arbSrv.URL)
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "whole", true: "streamed"}[stream]
		params := anthropic.MessageNewParams{
			Model: anthropic.Model(gemini3), MaxTokens: 1000,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Use get_weather for Paris."))},
			Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
				Name: "get_weather", Description: anthropic.String("Weather forecast for a city"),
				InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city", "days"}},
			}}},
		}
		first, _, err := sendMessage(ctx, c, params, stream)
		if err != nil {
			t.Fatalf("%s turn 1: %v", name, err)
		}
		var tu anthropic.ContentBlockUnion
		for _, b := range first.Content {
			if b.Type == "tool_use" {
				tu = b
			}
		}
		if tu.ID == "" {
			t.Fatalf("%s turn 1: no tool_use in %+v", name, first.Content)
		}
		_, sig := signedCall(t, name+" turn 1", tu.ID, tu.Name, string(tu.Input))
		rec.take()

		params.Messages = append(params.Messages, first.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(tu.ID, "21 C and sunny", false)))
		second, _, err := sendMessage(ctx, c, params, stream)
		if err != nil {
			t.Fatalf("%s turn 2 (Gemini 3 refused the history Arbiter sent): %v", name, err)
		}
		if len(second.Content) == 0 || !strings.Contains(second.Content[0].Text, "21 C and sunny") {
			t.Fatalf("%s turn 2: %+v", name, second.Content)
		}
		reqs := rec.take()
		if len(reqs) != 1 {
			t.Fatalf("%s turn 2: %d upstream requests", name, len(reqs))
		}
		if got := firstCallPart(t, reqs[0].body)["thoughtSignature"]; got != sig {
			t.Fatalf("%s turn 2: Gemini got thoughtSignature %v, want %q", name, got, sig)
		}
	}
}

// Turn 2 of a Gemini 3 conversation goes to another provider: it gets the short ids,
// within OpenAI's 40 characters (the emulator refuses longer ones, as OpenAI does), a
// call and its result still match, and the signature goes nowhere.
func TestGeminiSignatureHistoryToOtherProvidersUsesShortIDs(t *testing.T) {
	s, rec := newSignatureStack(t, false)
	c := sdk(s.arbSrv.URL)
	ctx := context.Background()
	first, _, err := chat(ctx, c, weatherParams(gemini3), false)
	if err != nil || len(first.ToolCalls) != 1 {
		t.Fatalf("turn 1: %v %+v", err, first)
	}
	call := first.ToolCalls[0]
	short, sig := signedCall(t, "turn 1", call.ID, call.Function.Name, call.Function.Arguments)
	if len(call.ID) <= 40 {
		t.Fatalf("folded id %q is not longer than 40 characters: the test would prove nothing", call.ID)
	}
	rec.take()
	for _, model := range []string{"gpt-4o-mini", "claude-3-5-haiku-latest"} {
		p := weatherParams(model)
		p.Messages = append(p.Messages, first.ToParam(), openai.ToolMessage("21 C and sunny", call.ID))
		for _, stream := range []bool{false, true} {
			msg, _, err := chat(ctx, c, p, stream)
			if err != nil || !strings.Contains(msg.Content, "21 C and sunny") {
				t.Fatalf("%s streamed=%v: %v %q", model, stream, err, msg.Content)
			}
			reqs := rec.take()
			if len(reqs) != 1 {
				t.Fatalf("%s: %d upstream requests", model, len(reqs))
			}
			body := reqs[0].body
			if up := jsonOf(body); strings.Contains(up, llm.ToolIDMarker) || strings.Contains(up, sig) {
				t.Fatalf("%s received the signature: %s", model, up)
			}
			msgs, _ := body["messages"].([]any)
			var callID, resultID string
			for _, m := range msgs {
				mm, _ := m.(map[string]any)
				if tcs, _ := mm["tool_calls"].([]any); len(tcs) > 0 {
					callID, _ = tcs[0].(map[string]any)["id"].(string)
				}
				if id, _ := mm["tool_call_id"].(string); id != "" {
					resultID = id
				}
				if blocks, _ := mm["content"].([]any); len(blocks) > 0 {
					for _, b := range blocks {
						bm, _ := b.(map[string]any)
						if id, _ := bm["id"].(string); bm["type"] == "tool_use" {
							callID = id
						}
						if id, _ := bm["tool_use_id"].(string); bm["type"] == "tool_result" {
							resultID = id
						}
					}
				}
			}
			if callID != short || resultID != short || len(callID) > 40 {
				t.Fatalf("%s: call id %q, result id %q; want both %q", model, callID, resultID, short)
			}
		}
	}
}

// An exact-cache hit replays the same folded ids, whole and streamed, and a replayed
// id is good for the next turn.
func TestGeminiSignatureCachedAnswerReplaysTheSameIDs(t *testing.T) {
	s, _ := newSignatureStack(t, true)
	c := sdk(s.arbSrv.URL)
	ctx := context.Background()
	p := weatherParams(gemini3)
	first, cache, err := chat(ctx, c, p, false)
	if err != nil || cache != "miss" || len(first.ToolCalls) != 1 {
		t.Fatalf("first: cache %q, %v %+v", cache, err, first)
	}
	call := first.ToolCalls[0]
	signedCall(t, "first", call.ID, call.Function.Name, call.Function.Arguments)
	for _, stream := range []bool{false, true} {
		again, cache, err := chat(ctx, c, p, stream)
		if err != nil || cache != "hit" {
			t.Fatalf("replay (streamed=%v): cache %q, %v", stream, cache, err)
		}
		if len(again.ToolCalls) != 1 || again.ToolCalls[0].ID != call.ID {
			t.Fatalf("replay (streamed=%v) changed the tool call id: %+v, first %q", stream, again.ToolCalls, call.ID)
		}
		next := weatherParams(gemini3)
		next.Messages = append(next.Messages, again.ToParam(), openai.ToolMessage("mild, stream="+map[bool]string{false: "0", true: "1"}[stream], again.ToolCalls[0].ID))
		if msg, _, err := chat(ctx, c, next, false); err != nil || !strings.Contains(msg.Content, "mild") {
			t.Fatalf("next turn after a replay: %v %q", err, msg.Content)
		}
	}
}
