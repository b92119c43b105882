package llm

import (
	"context"
	"reflect"
	"testing"
)

func TestEventsThenCollectRoundTrips(t *testing.T) {
	resp := &Response{
		ID: "r1", Model: "m", Created: 42, SystemFingerprint: "fp_1",
		Choices: []Choice{{
			Index:        0,
			Message:      Message{Role: RoleAssistant, Content: []Part{{Type: PartText, Text: "héllo wörld, this is a longer answer"}}, ToolCalls: []ToolCall{{ID: "c1", Name: "f", Arguments: `{"city":"Paris"}`}}},
			FinishReason: FinishToolCalls,
		}},
		Usage: Usage{InputTokens: 10, CachedInputTokens: 4, OutputTokens: 7, ReasoningTokens: 2},
	}
	evs := Events(resp, 5)
	texts := 0
	for _, e := range evs {
		if e.Type == EventText {
			texts++
		}
	}
	if texts < 3 {
		t.Fatalf("text split into %d events, want several", texts)
	}
	got, err := Collect(context.Background(), &SliceStream{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Fatalf("collected %+v\nwant %+v", got, resp)
	}
}

func TestAssemblerFinishedNeedsFinishReason(t *testing.T) {
	var a Assembler
	a.Add(Event{Type: EventStart, ID: "x"})
	a.Add(Event{Type: EventText, Text: "partial"})
	if a.Finished() {
		t.Fatal("a stream cut before its finish event reports finished")
	}
	a.Add(Event{Type: EventFinish, FinishReason: FinishStop})
	if !a.Finished() {
		t.Fatal("finished stream not finished")
	}
}

func TestAsErrorClassifiesContext(t *testing.T) {
	if AsError(context.Canceled).Kind != KindCanceled || AsError(context.DeadlineExceeded).Kind != KindTimeout {
		t.Fatal("context errors misclassified")
	}
	e := &Error{Kind: KindRateLimited}
	if AsError(e) != e {
		t.Fatal("AsError must return an *Error unchanged")
	}
}

func TestEventsThenCollectKeepsSignedReasoningInOrder(t *testing.T) {
	resp := &Response{
		ID: "msg_1", Model: "claude",
		Choices: []Choice{{
			Message: Message{Role: RoleAssistant, Content: []Part{
				{Type: PartThinking, Text: "Let me check the weather tool first.", Signature: "c2lnLTE="},
				{Type: PartRedactedThinking, Data: "ZW5jcnlwdGVk"},
				{Type: PartThinking, Text: "Second block.", Signature: "c2lnLTI="},
				{Type: PartText, Text: "I will call the tool."},
			}, ToolCalls: []ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			FinishReason: FinishToolCalls,
		}},
		Usage: Usage{InputTokens: 10, OutputTokens: 30},
	}
	evs := Events(resp, 8)
	sigs := 0
	for _, e := range evs {
		if e.Type == EventReasoning && !e.Signed {
			t.Fatalf("reasoning of a signed block not marked Signed: %+v", e)
		}
		if e.Type == EventReasoning && e.Signature != "" {
			sigs++
			if e.Text != "" {
				t.Fatalf("signature event carries text %q", e.Text)
			}
		}
	}
	if sigs != 2 {
		t.Fatalf("%d signature events, want 2", sigs)
	}
	got, err := Collect(context.Background(), &SliceStream{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Fatalf("collected %+v\nwant %+v", got.Choices[0].Message.Content, resp.Choices[0].Message.Content)
	}
}

func TestAssemblerReasoningBlocksSplitOnSignatureAndText(t *testing.T) {
	var a Assembler
	for _, ev := range []Event{
		{Type: EventStart},
		{Type: EventReasoning, Text: "think "},
		{Type: EventReasoning, Text: "more"},
		{Type: EventReasoning, Signature: "AB"},
		{Type: EventReasoning, Signature: "CD"}, // signatures may come in pieces
		{Type: EventReasoning, Text: "again"},   // after a signature: a new block
		{Type: EventReasoning, Signature: "EF"},
		{Type: EventText, Text: "answer "},
		{Type: EventText, Text: "text"},
		{Type: EventReasoning, Text: "unsigned, from another provider"},
	} {
		a.Add(ev)
	}
	mid := a.Response()
	a.Add(Event{Type: EventText, Text: "tail"})
	a.Add(Event{Type: EventFinish, FinishReason: FinishStop})
	want := []Part{
		{Type: PartThinking, Text: "think more", Signature: "ABCD"},
		{Type: PartThinking, Text: "again", Signature: "EF"},
		{Type: PartText, Text: "answer text"},
		{Type: PartThinking, Text: "unsigned, from another provider"},
	}
	if got := mid.Choices[0].Message.Content; !reflect.DeepEqual(got, want) {
		t.Fatalf("content so far %+v\nwant %+v", got, want)
	}
	want = append(want, Part{Type: PartText, Text: "tail"})
	if got := a.Response().Choices[0].Message.Content; !reflect.DeepEqual(got, want) {
		t.Fatalf("content %+v\nwant %+v", got, want)
	}
	if got := a.Response().Text(); got != "answer texttail" {
		t.Fatalf("Text() = %q: reasoning must not count as text", got)
	}
}

func TestAssemblerInterleavedChoices(t *testing.T) {
	// Choice 1 appearing after choice 0 has text grows the per-choice state: what was
	// written before must survive.
	var a Assembler
	a.Add(Event{Type: EventText, Choice: 0, Text: "a"})
	a.Add(Event{Type: EventToolCall, Choice: 0, ToolIndex: 0, ToolCall: ToolCall{ID: "c", Name: "f", Arguments: "{"}})
	a.Add(Event{Type: EventText, Choice: 1, Text: "b"})
	a.Add(Event{Type: EventText, Choice: 2, Text: "c"})
	a.Add(Event{Type: EventText, Choice: 0, Text: "a"})
	a.Add(Event{Type: EventToolArgs, Choice: 0, ToolIndex: 0, ToolCall: ToolCall{Arguments: "}"}})
	r := a.Response()
	if r.Choices[0].Message.Text() != "aa" || r.Choices[1].Message.Text() != "b" || r.Choices[2].Message.Text() != "c" {
		t.Fatalf("texts %q %q %q", r.Choices[0].Message.Text(), r.Choices[1].Message.Text(), r.Choices[2].Message.Text())
	}
	if r.Choices[0].Message.ToolCalls[0].Arguments != "{}" {
		t.Fatalf("arguments %q", r.Choices[0].Message.ToolCalls[0].Arguments)
	}
}

func TestAssemblerTextAllocatesNothingPerEvent(t *testing.T) {
	var a Assembler
	a.Add(Event{Type: EventText, Text: "warm up the builder with some capacity"})
	ev := Event{Type: EventText, Text: "x"}
	allocs := testing.AllocsPerRun(1000, func() { a.Add(ev) })
	// The builder grows geometrically: well under one allocation per event.
	if allocs > 0.05 {
		t.Fatalf("%.2f allocations per text event", allocs)
	}
}
