package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Extended thinking, as the Anthropic route plays it. When a request enables thinking
// ("thinking": {"type": "enabled", …}), the answer opens with a thinking block whose
// signature is an HMAC of its text under a fixed emulator key, so the emulator can
// tell a block it wrote, sent back unchanged, from a forged, edited or missing one.
// History is checked as the Messages API checks it.

// thinkingKey signs the emulator's thinking blocks. It is fixed and public: the
// signature proves a block came back unchanged, not who wrote it.
var thinkingKey = []byte("arbiter-emulator-thinking-v1")

// SignThinking returns the signature the emulator gives a thinking block's text.
func SignThinking(text string) string {
	m := hmac.New(sha256.New, thinkingKey)
	m.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyThinking reports whether sig is the emulator's signature of text.
func VerifyThinking(text, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(SignThinking(text)))
}

// RedactedThinking returns redacted_thinking data that the emulator accepts back: the
// hidden text and its signature, as opaque as the real thing needs to be in tests.
func RedactedThinking(text string) string {
	return base64.StdEncoding.EncodeToString([]byte(text)) + "." + SignThinking("redacted:"+text)
}

func verifyRedacted(data string) bool {
	enc, sig, ok := strings.Cut(data, ".")
	text, err := base64.StdEncoding.DecodeString(enc)
	return ok && err == nil && VerifyThinking("redacted:"+string(text), sig)
}

// thinkingEnabled reports whether an Anthropic request asks for extended thinking.
func thinkingEnabled(req *llm.Request) bool {
	raw, ok := req.Extra["thinking"]
	if !ok || req.ExtraFormat != llm.FormatAnthropic {
		return false
	}
	var cfg struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(raw, &cfg) == nil && (cfg.Type == "enabled" || cfg.Type == "adaptive")
}

// thinkingDocs is where Anthropic's error messages about thinking send the reader.
const thinkingDocs = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"

// checkThinkingHistory validates a Messages API body as Anthropic does: every
// thinking block in assistant turns must carry the emulator's signature of its text
// (redacted_thinking: data the emulator issued), and, with thinking enabled, the last
// assistant turn, when it made tool calls, must start with a thinking or
// redacted_thinking block. It reads the body itself: the messages' indexes and
// block types in the error are the client's, not the neutral form's.
func checkThinkingHistory(body []byte, req *llm.Request) *llm.Error {
	var w struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &w) != nil {
		return nil // the codec accepted it; nothing more to check here
	}
	type block struct {
		Type      string  `json:"type"`
		Thinking  string  `json:"thinking"`
		Signature *string `json:"signature"`
		Data      string  `json:"data"`
	}
	lastAssistant := -1
	var lastBlocks []block
	for i, m := range w.Messages {
		if m.Role != "assistant" {
			continue
		}
		var blocks []block
		if json.Unmarshal(m.Content, &blocks) != nil {
			blocks = []block{{Type: "text"}} // a plain string
		}
		for j, b := range blocks {
			switch {
			case b.Type == "thinking" && (b.Signature == nil || !VerifyThinking(b.Thinking, *b.Signature)):
				return invalidf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, j)
			case b.Type == "redacted_thinking" && !verifyRedacted(b.Data):
				// Modelled on the thinking message; the emulator only issues data itself.
				return invalidf("messages.%d.content.%d: Invalid `data` in `redacted_thinking` block", i, j)
			}
		}
		lastAssistant, lastBlocks = i, blocks
	}
	if !thinkingEnabled(req) || lastAssistant < 0 {
		return nil
	}
	usesTools := false
	for _, b := range lastBlocks {
		usesTools = usesTools || b.Type == "tool_use"
	}
	if !usesTools || len(lastBlocks) > 0 && (lastBlocks[0].Type == "thinking" || lastBlocks[0].Type == "redacted_thinking") {
		return nil
	}
	return invalidf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. "+
		"When `thinking` is enabled, a final `assistant` message must start with a thinking block "+
		"(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "+
		"thinking blocks from previous turns. To avoid this requirement, disable `thinking`. "+
		"Please consult our documentation at %s", lastAssistant, lastBlocks[0].Type, thinkingDocs)
}

func invalidf(format string, args ...any) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// addThinking puts a signed thinking block ahead of each choice's answer, when the
// request enables thinking, and counts it in the output tokens as Anthropic does.
func addThinking(req *llm.Request, resp *llm.Response) {
	if !thinkingEnabled(req) {
		return
	}
	for i := range resp.Choices {
		m := &resp.Choices[i].Message
		text := thinkingText(req, m)
		m.Content = append([]llm.Part{{Type: llm.PartThinking, Text: text, Signature: SignThinking(text)}}, m.Content...)
		resp.Usage.OutputTokens += TextTokens(text)
	}
}

// thinkingText is the emulator's deterministic reasoning about its own answer.
func thinkingText(req *llm.Request, m *llm.Message) string {
	var b strings.Builder
	q := req.LastUserText()
	if len(q) > 80 {
		n := 80
		for n > 0 && !utf8.RuneStart(q[n]) {
			n--
		}
		q = q[:n] + "…"
	}
	n := len(req.Messages)
	if n > 0 && req.Messages[n-1].Role == llm.RoleTool {
		b.WriteString("The tool returned its result.")
	} else {
		fmt.Fprintf(&b, "The user asks: %q.", q)
	}
	if len(m.ToolCalls) > 0 {
		names := make([]string, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			names[i] = tc.Name
		}
		fmt.Fprintf(&b, " I need to call %s first.", strings.Join(names, ", "))
	} else {
		b.WriteString(" I will answer directly.")
	}
	return b.String()
}
