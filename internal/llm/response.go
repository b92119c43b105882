package llm

// FinishReason says why a choice stopped.
type FinishReason string

const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
)

// Usage counts tokens as the provider reported them, in OpenAI's conventions:
// InputTokens includes CachedInputTokens and CacheWriteTokens; OutputTokens includes
// ReasoningTokens. Adapters for providers that count otherwise (Anthropic's
// input_tokens excludes cache reads and writes) convert on the way in and out.
type Usage struct {
	InputTokens       int `json:"input_tokens"`
	CachedInputTokens int `json:"cached_input_tokens,omitempty"` // read from the prompt cache
	CacheWriteTokens  int `json:"cache_write_tokens,omitempty"`  // written to it (Anthropic)
	OutputTokens      int `json:"output_tokens"`
	ReasoningTokens   int `json:"reasoning_tokens,omitempty"`
	// Estimated is set when the provider reported nothing and Arbiter counted tokens.
	Estimated bool `json:"estimated,omitempty"`
}

// Total is input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Add sums two usages (for multi-attempt and multi-choice accounting).
func (u Usage) Add(o Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens + o.InputTokens,
		CachedInputTokens: u.CachedInputTokens + o.CachedInputTokens,
		CacheWriteTokens:  u.CacheWriteTokens + o.CacheWriteTokens,
		OutputTokens:      u.OutputTokens + o.OutputTokens,
		ReasoningTokens:   u.ReasoningTokens + o.ReasoningTokens,
		Estimated:         u.Estimated || o.Estimated,
	}
}

// Choice is one candidate answer.
type Choice struct {
	Index        int          `json:"index"`
	Message      Message      `json:"message"`
	FinishReason FinishReason `json:"finish_reason"`
}

// Response is a complete chat response.
type Response struct {
	ID                string   `json:"id"`
	Model             string   `json:"model"`
	Created           int64    `json:"created"` // Unix seconds
	Choices           []Choice `json:"choices"`
	Usage             Usage    `json:"usage"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
}

// Text returns the text of the first choice, or "".
func (r *Response) Text() string {
	if len(r.Choices) == 0 {
		return ""
	}
	return r.Choices[0].Message.Text()
}
