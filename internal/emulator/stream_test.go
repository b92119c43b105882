package emulator

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestScheduleModelsTimeToFirstTokenAndPerTokenPace(t *testing.T) {
	resp := &llm.Response{ID: "r", Model: "m", Choices: []llm.Choice{{
		Message:      llm.TextMessage(llm.RoleAssistant, "one two threefour"),
		FinishReason: llm.FinishStop,
	}}, Usage: llm.Usage{InputTokens: 5, OutputTokens: 5}}
	lat := Latency{TTFT: 200 * time.Millisecond, PerToken: 10 * time.Millisecond}
	steps := lat.Schedule(resp)
	type want struct {
		typ  llm.EventType
		text string
		at   time.Duration
	}
	wants := []want{
		{llm.EventStart, "", 0},
		{llm.EventText, "one", 200 * time.Millisecond},
		{llm.EventText, " two", 210 * time.Millisecond},       // 4 bytes: one token
		{llm.EventText, " threefour", 240 * time.Millisecond}, // 10 bytes: three tokens
		{llm.EventFinish, "", 240 * time.Millisecond},
		{llm.EventUsage, "", 240 * time.Millisecond},
	}
	if len(steps) != len(wants) {
		t.Fatalf("got %d steps: %+v", len(steps), steps)
	}
	for i, w := range wants {
		s := steps[i]
		if s.Event.Type != w.typ || s.Event.Text != w.text || s.At != w.at {
			t.Fatalf("step %d: got %v %q at %v, want %v %q at %v", i, s.Event.Type, s.Event.Text, s.At, w.typ, w.text, w.at)
		}
	}
	if lat.Duration(resp) != 240*time.Millisecond {
		t.Fatalf("non-streaming reply at %v, want the last step's 240ms", lat.Duration(resp))
	}
}

func TestScheduleDelaysFirstTokenByReasoning(t *testing.T) {
	resp := Generate(userReq("Think about it."), "o3-mini")
	lat := Latency{TTFT: 100 * time.Millisecond, PerToken: time.Millisecond}
	steps := lat.Schedule(resp)
	want := 100*time.Millisecond + time.Duration(resp.Usage.ReasoningTokens)*time.Millisecond
	if steps[1].At != want {
		t.Fatalf("first token at %v, want TTFT plus %d reasoning tokens = %v", steps[1].At, resp.Usage.ReasoningTokens, want)
	}
}

func TestScheduleStreamsToolArgumentsInFragments(t *testing.T) {
	req := userReq("Use get_weather for Paris.")
	req.Tools = []llm.Tool{weatherTool}
	resp := Generate(req, "gpt-4o")
	steps := Latency{}.Schedule(resp)
	var args string
	frags := 0
	for _, s := range steps {
		if s.At != 0 {
			t.Fatalf("zero latency scheduled a step at %v", s.At)
		}
		if s.Event.Type == llm.EventToolArgs {
			frags++
			args += s.Event.ToolCall.Arguments
		}
	}
	if frags < 3 || args != resp.Choices[0].Message.ToolCalls[0].Arguments || !json.Valid([]byte(args)) {
		t.Fatalf("%d fragments joining to %q", frags, args)
	}
	if got, err := llm.Collect(t.Context(), stepsStream(steps)); err != nil || got.Choices[0].Message.ToolCalls[0] != resp.Choices[0].Message.ToolCalls[0] {
		t.Fatalf("collected %+v, %v", got, err)
	}
}

func TestScheduleTextReassemblesExactly(t *testing.T) {
	resp := Generate(userReq("Tell me about “quotes” and ünïcode in a long enough answer please."), "m")
	got, err := llm.Collect(t.Context(), stepsStream(Latency{}.Schedule(resp)))
	if err != nil || got.Text() != resp.Text() || got.Usage != resp.Usage {
		t.Fatalf("reassembled %q (%v)", got.Text(), err)
	}
}

func stepsStream(steps []Step) *llm.SliceStream {
	evs := make([]llm.Event, len(steps))
	for i, s := range steps {
		evs[i] = s.Event
	}
	return &llm.SliceStream{Events: evs}
}

func TestJitterSpreadsLatencyWithinBoundsAndReproducibly(t *testing.T) {
	l := Latency{TTFT: 100 * time.Millisecond, PerToken: 10 * time.Millisecond, Jitter: 0.3}
	seen := map[time.Duration]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		j := l.For(seed)
		if j != l.For(seed) {
			t.Fatal("same seed, different latency")
		}
		if j.TTFT < 70*time.Millisecond || j.TTFT > 130*time.Millisecond || j.PerToken < 7*time.Millisecond || j.PerToken > 13*time.Millisecond {
			t.Fatalf("seed %d: %+v outside ±30%%", seed, j)
		}
		seen[j.TTFT] = true
	}
	if len(seen) < 150 {
		t.Fatalf("only %d distinct TTFTs in 200 requests", len(seen))
	}
	if got := (Latency{TTFT: time.Second}).For(7); got.TTFT != time.Second {
		t.Fatalf("no jitter changed TTFT to %v", got.TTFT)
	}
}
