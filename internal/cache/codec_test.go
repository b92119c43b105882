package cache

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func thinkingEntry() *Entry {
	return &Entry{
		Response: &llm.Response{
			ID: "msg_1", Model: "claude-sonnet-4-5", Created: 1764406800,
			Choices: []llm.Choice{{FinishReason: llm.FinishToolCalls, Message: llm.Message{
				Role: llm.RoleAssistant,
				Content: []llm.Part{
					{Type: llm.PartThinking, Text: "The user wants Paris weather.", Signature: "RXF3Q2tZSUFSZ0lF"},
					{Type: llm.PartRedactedThinking, Data: "EmwKAhgBEgy3va3pzix"},
					{Type: llm.PartText, Text: "Let me check."},
				},
				ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
			}}},
			Usage: llm.Usage{InputTokens: 100, OutputTokens: 80},
		},
		Model: "claude-sonnet-4-5", Provider: "anthropic", Cost: 42,
		Stored:  time.Unix(0, 1764406800123456789),
		Expires: time.Unix(0, 1764410400123456789),
	}
}

func TestEntryCodecRoundTripsSignedReasoning(t *testing.T) {
	in := thinkingEntry()
	b := MarshalEntry(in)
	if b[0] != codecVersion2 {
		t.Fatalf("version %d, want %d for an entry with signed parts and no signed call", b[0], codecVersion2)
	}
	out, err := UnmarshalEntry(string(b))
	if err != nil {
		t.Fatal(err)
	}
	out.Stored, out.Expires = in.Stored, in.Expires
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip differs:\n%+v\n%+v", out.Response.Choices[0].Message.Content, in.Response.Choices[0].Message.Content)
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalEntry(string(b[:i])); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", i)
		}
	}
}

// Entries without signatures keep version 1, byte for byte what the previous codec
// wrote, so replicas that predate version 2 still read them; and version 1 entries
// already in a store still decode.
func TestEntryCodecVersionOneStillReadAndWritten(t *testing.T) {
	in := thinkingEntry()
	c := in.Response.Choices[0].Message.Content
	in.Response.Choices[0].Message.Content = []llm.Part{{Type: llm.PartThinking, Text: c[0].Text}, c[2]} // unsigned reasoning
	b := MarshalEntry(in)
	if b[0] != 1 {
		t.Fatalf("version %d, want 1 when no part has a signature or data", b[0])
	}
	out, err := UnmarshalEntry(string(b))
	if err != nil {
		t.Fatal(err)
	}
	out.Stored, out.Expires = in.Stored, in.Expires
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip differs:\n%+v\n%+v", out.Response, in.Response)
	}
	// A version 1 entry as the previous codec wrote it (one text part "hi").
	// Layout: version, stored, expires, model, provider, cost, id, model, created,
	// fingerprint, five usage counts, estimated, one choice: index, finish, role, name,
	// call id, tool name, is_error, developer, one part (type, text, image URL, media
	// type, base64, detail, cache_control), no tool calls.
	v1 := []byte{1, 0, 0, 1, 'm', 1, 'p', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 4, 's', 't', 'o', 'p', 9, 'a', 's', 's', 'i', 's', 't', 'a', 'n', 't', 0, 0, 0, 0, 0,
		1, 4, 't', 'e', 'x', 't', 2, 'h', 'i', 0, 0, 0, 0, 0, 0}
	old, err := UnmarshalEntry(string(v1))
	if err != nil {
		t.Fatal(err)
	}
	if old.Response.Text() != "hi" || old.Model != "m" {
		t.Fatalf("version 1 entry decoded as %+v", old.Response)
	}
	if !bytes.Equal(MarshalEntry(old), v1) {
		t.Fatalf("re-encoded version 1 entry differs:\n%v\n%v", MarshalEntry(old), v1)
	}
}

func TestEntryCodecUnknownVersionIsAnError(t *testing.T) {
	b := MarshalEntry(thinkingEntry())
	b[0] = codecVersion + 1
	if _, err := UnmarshalEntry(string(b)); err == nil {
		t.Fatal("unknown version accepted")
	}
}

// A Gemini call's signature is kept (version 3), so a replay gives the client the same
// tool call ids; with reasoning parts too, both survive.
func TestEntryCodecRoundTripsSignedToolCalls(t *testing.T) {
	in := thinkingEntry()
	calls := in.Response.Choices[0].Message.ToolCalls
	calls[0].Signature = "CiQBcsjafQ/Xm+Gz7v1Zdh=="
	in.Response.Choices[0].Message.ToolCalls = append(calls, llm.ToolCall{ID: "c2", Name: "f", Arguments: `{}`})
	b := MarshalEntry(in)
	if b[0] != codecVersion {
		t.Fatalf("version %d, want %d for an entry with a signed call", b[0], codecVersion)
	}
	out, err := UnmarshalEntry(string(b))
	if err != nil {
		t.Fatal(err)
	}
	out.Stored, out.Expires = in.Stored, in.Expires
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip differs:\n%+v\n%+v", out.Response.Choices[0].Message.ToolCalls, in.Response.Choices[0].Message.ToolCalls)
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalEntry(string(b[:i])); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", i)
		}
	}
	// The same entry without the signature is version 2, readable by replicas that
	// predate version 3.
	in.Response.Choices[0].Message.ToolCalls[0].Signature = ""
	if b := MarshalEntry(in); b[0] != codecVersion2 {
		t.Fatalf("version %d without signed calls, want %d", b[0], codecVersion2)
	}
}
