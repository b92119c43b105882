package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// DecodeCountTokensRequest parses a POST /v1/messages/count_tokens body: a Messages
// request without max_tokens (and without stream). Validation is DecodeRequest's.
func DecodeCountTokensRequest(body []byte) (*llm.Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) || len(bytes.TrimSpace(body)) == 0 {
			return nil, invalid("", "request body is not valid JSON: %v", err)
		}
		return nil, invalid("", "request body must be a JSON object")
	}
	if _, ok := fields["max_tokens"]; ok {
		return DecodeRequest(body)
	}
	// Borrow DecodeRequest's validation with a placeholder max_tokens, then drop it.
	fields["max_tokens"] = json.RawMessage("1")
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, invalid("", "request body: %v", err)
	}
	req, err := DecodeRequest(b)
	if err != nil {
		return nil, err
	}
	req.MaxTokens = nil
	return req, nil
}

// EncodeCountTokensResponse writes {"input_tokens": n}.
func EncodeCountTokensResponse(inputTokens int) []byte {
	b, _ := json.Marshal(struct {
		InputTokens int `json:"input_tokens"`
	}{inputTokens})
	return b
}
