package emulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Token accounting: a cheap approximation of real tokenizers, good enough for usage
// that looks right and prices that are in the right range.
const (
	bytesPerToken   = 4
	messageOverhead = 4   // role and separators, per message (OpenAI counts 3-4)
	replyPriming    = 3   // the assistant turn every reply is primed with
	imageTokens     = 765 // one 1024×1024 image at OpenAI's high detail
	toolOverhead    = 8   // per tool definition, beside its name, description and schema
)

// TextTokens approximates the token count of a text: about four bytes per token.
func TextTokens(s string) int {
	return (len(s) + bytesPerToken - 1) / bytesPerToken
}

// PromptTokens approximates the input tokens of a request: its messages, images, tool
// definitions and response schema.
func PromptTokens(req *llm.Request) int {
	n := replyPriming
	for i := range req.Messages {
		m := &req.Messages[i]
		n += messageOverhead + TextTokens(m.Name)
		for _, p := range m.Content {
			switch p.Type {
			case llm.PartImage:
				n += imageTokens
			default:
				n += TextTokens(p.Text)
			}
		}
		for _, tc := range m.ToolCalls {
			n += TextTokens(tc.Name) + TextTokens(tc.Arguments) + 3
		}
	}
	for _, t := range req.Tools {
		n += toolOverhead + TextTokens(t.Name) + TextTokens(t.Description) + TextTokens(string(t.Parameters))
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == llm.ResponseJSONSchema {
		n += TextTokens(rf.Name) + TextTokens(string(rf.Schema))
	}
	return n
}

// IsReasoningModel reports whether the brain reports reasoning tokens for a model by
// default: OpenAI's o-series and GPT-5, Gemini 2.5 and later "thinking" models, and
// any model named "...thinking...".
func IsReasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:] // "openai/o3-mini" on OpenRouter-style hosts
	}
	for _, p := range []string{"o1", "o3", "o4"} {
		if m == p || strings.HasPrefix(m, p+"-") {
			return true
		}
	}
	return strings.HasPrefix(m, "gpt-5") || strings.HasPrefix(m, "gemini-2.5") ||
		strings.HasPrefix(m, "gemini-3") || strings.Contains(m, "thinking")
}

// requestHash is the seed of the answer: everything that changes what a model would
// say (model, messages, tools, tool choice, response format), and nothing that only
// bounds it (max_tokens, stop), so a truncated answer is a prefix of the full one.
func requestHash(req *llm.Request, model string) uint64 {
	h := newHasher()
	h.str(model)
	for i := range req.Messages {
		m := &req.Messages[i]
		h.str(string(m.Role))
		h.str(m.Name)
		for _, p := range m.Content {
			h.str(string(p.Type))
			h.str(p.Text)
			h.str(p.ImageURL)
			h.str(p.Base64)
		}
		for _, tc := range m.ToolCalls {
			h.str(tc.Name)
			h.str(tc.Arguments)
		}
		h.str(m.ToolCallID)
	}
	for _, t := range req.Tools {
		h.str(t.Name)
		h.bytes(t.Parameters)
	}
	if tc := req.ToolChoice; tc != nil {
		h.str(string(tc.Mode))
		h.str(tc.Name)
	}
	if rf := req.ResponseFormat; rf != nil {
		h.str(string(rf.Type))
		h.bytes(rf.Schema)
	}
	if req.Seed != nil {
		h.str(strconv.FormatInt(*req.Seed, 10))
	}
	return h.sum()
}

// Generate is the emulator's model: a deterministic answer to req as model would give
// it. The same request always gets the same answer; the answer names model.
//
//   - The last message is a tool result: text that quotes the result.
//   - Tools are offered and tool_choice is required or names a tool: a call whose
//     arguments satisfy the tool's schema. With tool_choice auto (or absent) the model
//     calls every tool whose name appears in the last user message (case-insensitive,
//     "_" and "-" may be spaces), in order of mention (only the first when
//     parallel_tool_calls is false); or the first tool when the message says "use a
//     tool", "use the tool", "call a tool" or "call the tool". Otherwise it answers in text.
//   - response_format json_schema: JSON satisfying the schema; json_object: an object.
//   - Otherwise prose that starts "[model] " and opens with the prompt's first words;
//     its length grows with the prompt (30–500 tokens).
//
// max_tokens cuts the text (finish_reason "length"); a stop sequence cuts before it.
// Reasoning models (IsReasoningModel) think for 64–512 tokens, scaled by
// reasoning_effort, which count as output and within max_tokens.
func Generate(req *llm.Request, model string) *llm.Response {
	seed := requestHash(req, model)
	n := 1
	if req.N != nil && *req.N > 1 {
		n = min(*req.N, 16)
	}
	resp := &llm.Response{
		ID:                fmt.Sprintf("chatcmpl-%016x", seed),
		Model:             model,
		SystemFingerprint: fmt.Sprintf("fp_%08x", uint32(hashString(model))),
	}
	resp.Usage.InputTokens = PromptTokens(req)
	for i := 0; i < n; i++ {
		r := newRNG(seed + uint64(i)*0x9e3779b97f4a7c15)
		c, out, reasoning := answer(req, model, r, seed+uint64(i))
		c.Index = i
		resp.Choices = append(resp.Choices, c)
		resp.Usage.OutputTokens += out
		resp.Usage.ReasoningTokens += reasoning
	}
	return resp
}

// answer writes one choice and returns it with its output and reasoning tokens.
func answer(req *llm.Request, model string, r *rng, seed uint64) (llm.Choice, int, int) {
	c := llm.Choice{Message: llm.Message{Role: llm.RoleAssistant}}
	reasoning := 0
	if IsReasoningModel(model) {
		reasoning = 64 + r.intn(449)
		switch req.ReasoningEffort {
		case "minimal", "none":
			reasoning = 0
		case "low":
			reasoning /= 2
		case "high":
			reasoning *= 2
		}
	}
	budget := -1 // output tokens allowed for visible text; -1 unbounded
	if req.MaxTokens != nil && *req.MaxTokens > 0 {
		if reasoning > *req.MaxTokens {
			reasoning = *req.MaxTokens
		}
		budget = *req.MaxTokens - reasoning
	}

	if last := lastMessage(req); last != nil && last.Role == llm.RoleTool {
		text := toolResultAnswer(req, model, r)
		text, c.FinishReason = bound(text, req.Stop, budget)
		c.Message.Content = textContent(text)
		return c, TextTokens(text) + reasoning, reasoning
	}
	if calls := chooseTools(req); len(calls) > 0 {
		hint := placeHint(req.LastUserText())
		out := 0
		for i, t := range calls {
			tr := newRNG(seed ^ hashString(t.Name) + uint64(i))
			args := generateJSON(t.Parameters, tr, hint, "")
			id := fmt.Sprintf("call_%016x", mix64(seed+uint64(i)+1))
			c.Message.ToolCalls = append(c.Message.ToolCalls, llm.ToolCall{ID: id, Name: t.Name, Arguments: args})
			out += TextTokens(t.Name) + TextTokens(args) + 3
		}
		c.FinishReason = llm.FinishToolCalls
		return c, out + reasoning, reasoning
	}

	tag := "[" + model + "] "
	var text string
	switch rf := req.ResponseFormat; {
	case rf != nil && rf.Type == llm.ResponseJSONSchema:
		text = generateJSON(rf.Schema, r, placeHint(req.LastUserText()), tag)
	case rf != nil && rf.Type == llm.ResponseJSONObject:
		b, _ := json.Marshal(struct {
			Model  string `json:"model"`
			Answer string `json:"answer"`
		}{model, sentence(r) + " " + sentence(r)})
		text = string(b)
	default:
		user := req.LastUserText()
		head := tag
		if t := topic(user, 8); t != "" {
			head += "On \u201c" + t + "\u201d: "
		}
		target := 30 + min(TextTokens(user)/2, 300) + r.intn(170)
		text = prose(r, head, target)
	}
	text, c.FinishReason = bound(text, req.Stop, budget)
	c.Message.Content = textContent(text)
	return c, TextTokens(text) + reasoning, reasoning
}

func textContent(text string) []llm.Part {
	if text == "" {
		return nil
	}
	return []llm.Part{{Type: llm.PartText, Text: text}}
}

// bound applies stop sequences and the token budget, in that order of precedence:
// whichever cuts earlier decides the finish reason.
func bound(text string, stop []string, budget int) (string, llm.FinishReason) {
	cut := len(text)
	for _, s := range stop {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && i < cut {
			cut = i
		}
	}
	reason := llm.FinishStop
	if budget >= 0 && TextTokens(text[:cut]) > budget {
		cut = len(truncateUTF8(text, budget*bytesPerToken))
		reason = llm.FinishLength
	}
	return text[:cut], reason
}

func lastMessage(req *llm.Request) *llm.Message {
	if len(req.Messages) == 0 {
		return nil
	}
	return &req.Messages[len(req.Messages)-1]
}

// toolResultAnswer quotes the trailing tool results, naming each tool.
func toolResultAnswer(req *llm.Request, model string, r *rng) string {
	first := len(req.Messages)
	for first > 0 && req.Messages[first-1].Role == llm.RoleTool {
		first--
	}
	var b strings.Builder
	b.WriteString("[" + model + "] ")
	for _, m := range req.Messages[first:] {
		name := m.ToolName
		if name == "" {
			name = toolNameForCall(req, m.ToolCallID)
		}
		if name == "" {
			name = "tool"
		}
		result := m.Text()
		if len(result) > 300 {
			result = truncateUTF8(result, 300) + "…"
		}
		verb := "returned"
		if m.IsError {
			verb = "failed with"
		}
		fmt.Fprintf(&b, "The %s tool %s: %s. ", name, verb, result)
	}
	b.WriteString(sentence(r))
	b.WriteByte(' ')
	b.WriteString(sentence(r))
	return b.String()
}

func toolNameForCall(req *llm.Request, id string) string {
	if id == "" {
		return ""
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		for _, tc := range req.Messages[i].ToolCalls {
			if tc.ID == id {
				return tc.Name
			}
		}
	}
	return ""
}

// chooseTools returns the tools the model calls, or none for a text answer.
func chooseTools(req *llm.Request) []llm.Tool {
	if len(req.Tools) == 0 {
		return nil
	}
	mode := llm.ToolChoiceAuto
	if req.ToolChoice != nil && req.ToolChoice.Mode != "" {
		mode = req.ToolChoice.Mode
	}
	switch mode {
	case llm.ToolChoiceNone:
		return nil
	case llm.ToolChoiceTool:
		for _, t := range req.Tools {
			if t.Name == req.ToolChoice.Name {
				return []llm.Tool{t}
			}
		}
		return nil
	}
	user := strings.ToLower(req.LastUserText())
	mentioned := mentionedTools(req.Tools, user)
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(mentioned) > 1 {
		mentioned = mentioned[:1]
	}
	if len(mentioned) > 0 {
		return mentioned
	}
	if mode == llm.ToolChoiceRequired {
		return []llm.Tool{req.Tools[requestHash(req, "")%uint64(len(req.Tools))]}
	}
	for _, p := range []string{"use a tool", "use the tool", "call a tool", "call the tool"} {
		if strings.Contains(user, p) {
			return req.Tools[:1]
		}
	}
	return nil
}

func mentionedTools(tools []llm.Tool, user string) []llm.Tool {
	type hit struct {
		pos  int
		tool llm.Tool
	}
	var hits []hit
	for _, t := range tools {
		name := strings.ToLower(t.Name)
		pos := strings.Index(user, name)
		if alt := strings.NewReplacer("_", " ", "-", " ").Replace(name); pos < 0 && alt != name {
			pos = strings.Index(user, alt)
		}
		if pos >= 0 {
			hits = append(hits, hit{pos, t})
		}
	}
	// Insertion sort by position of mention: a handful of tools at most.
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].pos < hits[j-1].pos; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	out := make([]llm.Tool, len(hits))
	for i, h := range hits {
		out[i] = h.tool
	}
	return out
}
