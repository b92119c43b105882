package anthropic

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func thinkingAnswer(model string) *llm.Response {
	r := canned(model)
	m := &r.Choices[0].Message
	m.Content = append([]llm.Part{
		{Type: llm.PartThinking, Text: "Paris weather: call get_weather with the city.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
		{Type: llm.PartRedactedThinking, Data: "EmwKAhgBEgy3va3pzix/LafPsn4a"},
	}, m.Content...)
	return r
}

// The adapter reads thinking and redacted_thinking blocks (whole and streamed, with
// thinking_delta and signature_delta) into signed reasoning parts, and sends them
// back in the next turn exactly as they came.
func TestThinkingComesBackSignedAndGoesBackUnchanged(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, req *llm.Request) {
		if req.Stream {
			serveStream(w, thinkingAnswer(req.Model), 0)
		} else {
			serveJSON(w, thinkingAnswer(req.Model))
		}
	})
	p := newTestProvider(t, up.URL)
	ctx := context.Background()
	want := thinkingAnswer("claude-test").Choices[0].Message
	for _, stream := range []bool{false, true} {
		req := userRequest("claude-test")
		var resp *llm.Response
		var err error
		if stream {
			var s llm.Stream
			if s, err = p.Stream(ctx, req); err == nil {
				resp, err = llm.Collect(ctx, s)
			}
		} else {
			resp, err = p.Chat(ctx, req)
		}
		if err != nil {
			t.Fatal(err)
		}
		got := resp.Choices[0].Message
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stream=%v: got %+v\nwant %+v", stream, got, want)
		}
		next := userRequest("claude-test")
		next.Messages = append(next.Messages, got, llm.Message{Role: llm.RoleTool, ToolCallID: "toolu_1",
			Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}})
		if _, err := p.Chat(ctx, next); err != nil {
			t.Fatal(err)
		}
		_, sent, _, _ := up.last()
		if !reflect.DeepEqual(sent.Messages[1].Content, want.Content) {
			t.Fatalf("stream=%v: sent back %+v", stream, sent.Messages[1].Content)
		}
	}
}
