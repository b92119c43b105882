package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func invalid(param, format string, args ...any) *llm.Error {
	e := llm.Errorf(llm.KindInvalidRequest, format, args...)
	e.Param = param
	return e
}

func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isNull(raw json.RawMessage) bool { return jsonKind(raw) == "null" }

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}

// callID synthesises a stable tool call id: Gemini's functionCall usually has none,
// but every other format links results to calls by id. The same response always
// yields the same ids, and different responses almost surely different ones.
func callID(responseID string, candidate, k int, name string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s", responseID, candidate, k, name)
	return fmt.Sprintf("call_%016x", h.Sum64())
}
