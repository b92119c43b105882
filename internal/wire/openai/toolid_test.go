package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestEncodeRequestFitsLongToolIDsToOpenAIsLimit(t *testing.T) {
	long := "toolu_" + strings.Repeat("x", 70) // another provider's id, too long for OpenAI
	req := &llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "Weather in Paris and Lyon?"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
			{ID: long, Name: "get_weather", Arguments: `{"city":"Paris"}`},
			{ID: "call_short", Name: "get_weather", Arguments: `{"city":"Lyon"}`},
		}},
		{Role: llm.RoleTool, ToolCallID: long, Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
		{Role: llm.RoleTool, ToolCallID: "call_short", Content: []llm.Part{{Type: llm.PartText, Text: "rain"}}},
	}}
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Messages []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	calls, res1, res2 := got.Messages[1].ToolCalls, got.Messages[2].ToolCallID, got.Messages[3].ToolCallID
	if len(calls) != 2 || len(calls[0].ID) > 40 || calls[0].ID != res1 {
		t.Fatalf("long id not fitted consistently: call %q, result %q", calls[0].ID, res1)
	}
	if calls[1].ID != "call_short" || res2 != "call_short" {
		t.Fatalf("a short id was changed: %q / %q", calls[1].ID, res2)
	}
}
