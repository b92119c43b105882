package tokens

import (
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestCountsWithTheRealEncoding(t *testing.T) {
	c := New()
	// "hello world" is two tokens in o200k_base; a character heuristic would say 3.
	if got := c.Text("hello world"); got != 2 {
		t.Fatalf("hello world = %d tokens, want 2", got)
	}
	req := &llm.Request{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hello world")}}
	if got := c.Request(req); got != 2+perMessage+perReply {
		t.Fatalf("request = %d", got)
	}
}
