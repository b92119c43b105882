// Package llm holds the provider-neutral types that every other package shares: a chat
// request, its response, the events of a streamed response, token usage and errors.
//
// Wire codecs decode a client's format into these types and encode them into a
// provider's format; nothing here knows any wire format. Token counts follow OpenAI's
// conventions (input counts include cached and cache-written tokens; output counts
// include reasoning tokens), so costing never has to ask which provider answered.
package llm

import "encoding/json"

// Format names a wire format: the one a client speaks or a provider expects.
type Format string

const (
	FormatOpenAI    Format = "openai"
	FormatAnthropic Format = "anthropic"
	FormatGemini    Format = "gemini"
)

// Role is the author of a message.
type Role string

const (
	RoleSystem    Role = "system" // also OpenAI's "developer"; see Message.Developer
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool" // a tool result
)

// PartType is the kind of a content part.
type PartType string

const (
	PartText  PartType = "text"
	PartImage PartType = "image"
	// PartThinking is a model's reasoning: Text holds it, and Signature, when the
	// provider signs it (Anthropic), proves to that provider that it wrote it. Only an
	// assistant message carries it, ahead of its text; encoders for formats that cannot
	// take it back drop it.
	PartThinking PartType = "thinking"
	// PartRedactedThinking is reasoning the provider encrypted (Anthropic's
	// redacted_thinking): Data holds it, opaque, to be sent back exactly as received.
	PartRedactedThinking PartType = "redacted_thinking"
)

// Part is one piece of a message's content.
type Part struct {
	Type PartType `json:"type"`
	Text string   `json:"text,omitempty"`
	// An image is either a URL (http(s) or a data: URL) or base64 data with a media type.
	ImageURL  string `json:"image_url,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	Base64    string `json:"base64,omitempty"`
	Detail    string `json:"detail,omitempty"` // OpenAI image detail: auto, low, high
	// CacheControl is Anthropic's cache_control object, kept verbatim for Anthropic.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
	// Signature signs a PartThinking; Data is a PartRedactedThinking's content. Both are
	// opaque and meaningful only to the provider that issued them.
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// IsThinking reports whether the part is reasoning (signed, unsigned or redacted)
// rather than content: encoders that cannot send reasoning back skip these parts.
func (p *Part) IsThinking() bool {
	return p.Type == PartThinking || p.Type == PartRedactedThinking
}

// Signed reports whether the part is reasoning its provider can verify: a thinking
// part with a signature, or a redacted one. Only these can be handed to a client that
// may send them back.
func (p *Part) Signed() bool {
	return p.Type == PartThinking && p.Signature != "" || p.Type == PartRedactedThinking && p.Data != ""
}

// ToolCall is a model's request to call a tool. Arguments is a JSON object as text,
// exactly as the model produced it.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	// Signature is the provider's opaque signature on the call (Gemini's
	// thoughtSignature), to be sent back exactly, to that provider only, with the call
	// in later history. Clients whose format has no field for it get it inside the id
	// (see JoinToolID); ID itself is always the short id.
	Signature string `json:"signature,omitempty"`
}

// Message is one turn of a conversation.
type Message struct {
	Role    Role   `json:"role"`
	Content []Part `json:"content,omitempty"`
	Name    string `json:"name,omitempty"`
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID links a RoleTool message to the call it answers; ToolName is its name
	// where the client's format says it (Gemini needs it; OpenAI does not send it).
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	// IsError marks a tool result that reports a failure (Anthropic's is_error).
	IsError bool `json:"is_error,omitempty"`
	// Developer records that an OpenAI client sent the system turn as "developer".
	Developer bool `json:"developer,omitempty"`
}

// Text returns the concatenated text parts of the message.
func (m *Message) Text() string {
	if len(m.Content) == 1 && m.Content[0].Type == PartText {
		return m.Content[0].Text
	}
	n := 0
	for _, p := range m.Content {
		if p.Type == PartText {
			n += len(p.Text)
		}
	}
	b := make([]byte, 0, n)
	for _, p := range m.Content {
		if p.Type == PartText {
			b = append(b, p.Text...)
		}
	}
	return string(b)
}

// TextMessage builds a message with a single text part.
func TextMessage(role Role, text string) Message {
	return Message{Role: role, Content: []Part{{Type: PartText, Text: text}}}
}

// Tool is a function the model may call. Parameters is a JSON schema, verbatim.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// CacheControl is Anthropic's cache_control on a tool definition.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// ToolChoiceMode says whether and which tool the model must call.
type ToolChoiceMode string

const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required" // any tool (Anthropic "any")
	ToolChoiceTool     ToolChoiceMode = "tool"     // the tool named in Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode `json:"mode"`
	Name string         `json:"name,omitempty"`
}

// ResponseFormatType is the shape the client wants the answer in.
type ResponseFormatType string

const (
	ResponseText       ResponseFormatType = "text"
	ResponseJSONObject ResponseFormatType = "json_object"
	ResponseJSONSchema ResponseFormatType = "json_schema"
)

// ResponseFormat asks for plain text, any JSON object, or JSON matching a schema.
type ResponseFormat struct {
	Type        ResponseFormatType `json:"type"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description,omitempty"`
	Schema      json.RawMessage    `json:"schema,omitempty"`
	Strict      *bool              `json:"strict,omitempty"`
}

// Request is a chat request in no particular wire format.
type Request struct {
	// Model is the model asked for: a catalog name or route ("gpt-4o-mini", "auto"),
	// or, once a plan is made, the provider's own model name for the attempt.
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`

	Tools             []Tool          `json:"tools,omitempty"`
	ToolChoice        *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat    *ResponseFormat `json:"response_format,omitempty"`

	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	MaxTokens        *int     `json:"max_tokens,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	N                *int     `json:"n,omitempty"`
	// ReasoningEffort is OpenAI's reasoning_effort (low, medium, high) for reasoning models.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`

	Stream bool `json:"stream,omitempty"`
	// IncludeUsage is the client's stream_options.include_usage: whether the client
	// wants the usage chunk. Adapters always ask upstream for usage regardless.
	IncludeUsage bool `json:"include_usage,omitempty"`

	User     string            `json:"user,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`

	// Extra holds request fields the decoder did not recognise, verbatim, keyed by
	// their JSON name. They are passed through to providers whose wire format is
	// ExtraFormat (the client's) and nowhere else.
	Extra       map[string]json.RawMessage `json:"extra,omitempty"`
	ExtraFormat Format                     `json:"extra_format,omitempty"`
}

// System returns the text of the leading system messages, joined by blank lines.
func (r *Request) System() string {
	var s string
	for i := range r.Messages {
		if r.Messages[i].Role != RoleSystem {
			break
		}
		if s != "" {
			s += "\n\n"
		}
		s += r.Messages[i].Text()
	}
	return s
}

// LastUserText returns the text of the last user message, or "".
func (r *Request) LastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == RoleUser {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// HasImages reports whether any message carries an image part.
func (r *Request) HasImages() bool {
	for i := range r.Messages {
		for _, p := range r.Messages[i].Content {
			if p.Type == PartImage {
				return true
			}
		}
	}
	return false
}

// Clone returns a copy that can be changed (model, max tokens, extra fields) without
// touching the original. Messages and tools are shared: treat them as read-only.
func (r *Request) Clone() *Request {
	c := *r
	if r.Extra != nil {
		c.Extra = make(map[string]json.RawMessage, len(r.Extra))
		for k, v := range r.Extra {
			c.Extra[k] = v
		}
	}
	return &c
}

// EmbeddingRequest asks for one vector per input text.
type EmbeddingRequest struct {
	Model          string                     `json:"model"`
	Input          []string                   `json:"input"`
	Dimensions     *int                       `json:"dimensions,omitempty"`
	EncodingFormat string                     `json:"encoding_format,omitempty"` // float or base64
	User           string                     `json:"user,omitempty"`
	Extra          map[string]json.RawMessage `json:"extra,omitempty"`
	ExtraFormat    Format                     `json:"extra_format,omitempty"`
}

// EmbeddingResponse holds the vectors in input order.
type EmbeddingResponse struct {
	Model   string      `json:"model"`
	Vectors [][]float32 `json:"vectors"`
	Usage   Usage       `json:"usage"`
}
