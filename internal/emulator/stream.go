package emulator

import (
	"time"
	"unicode/utf8"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Latency models how long a provider takes: TTFT before the first output token
// (plus PerToken for each reasoning token the model thinks first), then PerToken for
// each output token. The zero value answers at once (benchmarks).
type Latency struct {
	TTFT     time.Duration
	PerToken time.Duration
	// Jitter varies TTFT and PerToken per request by up to this fraction (0.3: ±30 %,
	// at most 1), as a function of the request body: latencies spread like a real
	// provider's while runs stay reproducible.
	Jitter float64
}

// For returns the latency of one request: l with its jitter drawn from seed.
func (l Latency) For(seed uint64) Latency {
	j := min(l.Jitter, 1)
	if j <= 0 {
		return Latency{TTFT: l.TTFT, PerToken: l.PerToken}
	}
	r := newRNG(seed)
	vary := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) * (1 + j*(2*r.float()-1)))
	}
	return Latency{TTFT: vary(l.TTFT), PerToken: vary(l.PerToken)}
}

// Step is one stream event and when it is sent, measured from the request's arrival.
type Step struct {
	At    time.Duration
	Event llm.Event
}

// Schedule turns a response into the events of its stream, each with its send time.
// Text is split into word-sized chunks (about one token, as providers stream) and
// tool arguments into fragments of 3-12 bytes, so that streamed tool calls arrive
// incrementally. The last step's time is when a non-streaming answer is sent.
func (l Latency) Schedule(resp *llm.Response) []Step {
	steps := make([]Step, 0, 8+len(resp.Text())/4)
	in := &llm.Usage{InputTokens: resp.Usage.InputTokens, CachedInputTokens: resp.Usage.CachedInputTokens, CacheWriteTokens: resp.Usage.CacheWriteTokens}
	steps = append(steps, Step{Event: llm.Event{Type: llm.EventStart, ID: resp.ID, Model: resp.Model, Created: resp.Created, Fingerprint: resp.SystemFingerprint, Usage: in}})
	at := l.TTFT + time.Duration(resp.Usage.ReasoningTokens)*l.PerToken
	first := true
	// emit advances the clock by the tokens of the piece just produced: the first
	// piece arrives at TTFT, each later one PerToken-per-token after the previous.
	emit := func(ev llm.Event, piece string) {
		if !first {
			at += time.Duration(max(1, TextTokens(piece))) * l.PerToken
		}
		first = false
		steps = append(steps, Step{At: at, Event: ev})
	}
	for _, c := range resp.Choices {
		for k := range c.Message.Content {
			p := &c.Message.Content[k]
			switch p.Type {
			case llm.PartText:
				for _, piece := range wordChunks(p.Text) {
					emit(llm.Event{Type: llm.EventText, Choice: c.Index, Text: piece}, piece)
				}
			case llm.PartThinking:
				// Streamed as Anthropic does: the text in pieces, then the signature.
				signed := p.Signature != ""
				for _, piece := range wordChunks(p.Text) {
					emit(llm.Event{Type: llm.EventReasoning, Choice: c.Index, Text: piece, Signed: signed}, piece)
				}
				if signed {
					steps = append(steps, Step{At: at, Event: llm.Event{Type: llm.EventReasoning, Choice: c.Index, Signature: p.Signature, Signed: true}})
				}
			case llm.PartRedactedThinking:
				steps = append(steps, Step{At: at, Event: llm.Event{Type: llm.EventReasoning, Choice: c.Index, Redacted: p.Data, Signed: true}})
			}
		}
		for j, tc := range c.Message.ToolCalls {
			emit(llm.Event{Type: llm.EventToolCall, Choice: c.Index, ToolIndex: j,
				ToolCall: llm.ToolCall{ID: tc.ID, Name: tc.Name, Signature: tc.Signature}}, tc.Name)
			r := newRNG(hashString(tc.ID + tc.Arguments))
			for _, frag := range fragments(tc.Arguments, r) {
				emit(llm.Event{Type: llm.EventToolArgs, Choice: c.Index, ToolIndex: j,
					ToolCall: llm.ToolCall{Arguments: frag}}, frag)
			}
		}
		first = false // an empty answer (all reasoning, say) still takes TTFT
		steps = append(steps, Step{At: at, Event: llm.Event{Type: llm.EventFinish, Choice: c.Index, FinishReason: c.FinishReason}})
	}
	u := resp.Usage
	steps = append(steps, Step{At: at, Event: llm.Event{Type: llm.EventUsage, Usage: &u}})
	return steps
}

// Duration is when the whole answer is ready (the last step of its schedule): the
// time a non-streaming reply is sent.
func (l Latency) Duration(resp *llm.Response) time.Duration {
	if l.TTFT == 0 && l.PerToken == 0 {
		return 0
	}
	steps := l.Schedule(resp)
	return steps[len(steps)-1].At
}

// wordChunks splits text into pieces that each hold one word with its leading
// whitespace; words longer than 12 bytes are split further.
func wordChunks(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\n') {
			i++
		}
		for i < len(s) && s[i] != ' ' && s[i] != '\n' {
			i++
		}
		if i > 12 {
			i = 12
			for i < len(s) && !utf8.RuneStart(s[i]) {
				i++
			}
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// fragments splits tool-call arguments into pieces of 3-12 bytes on UTF-8 boundaries.
func fragments(s string, r *rng) []string {
	var out []string
	for len(s) > 0 {
		n := min(3+r.intn(10), len(s))
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}
