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
