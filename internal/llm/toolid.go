package llm

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
)

// A provider's signature on a tool call (Gemini's thoughtSignature) has no field in
// the OpenAI or Anthropic formats, yet the provider requires it back with the call in
// the next request. Arbiter keeps no state between requests, so the signature travels
// inside the id the client sees:
//
//	<id> + ToolIDMarker + base64url(signature ‖ crc32(id, signature)), unpadded
//
// Every character is in [A-Za-z0-9_-], so the result is also a valid Anthropic
// tool_use id. The checksum tells Arbiter's ids from client-made ids that merely
// contain the marker: those are left whole, so a call and its result still match.
// Only the short id is ever sent to a provider.

// ToolIDMarker separates a tool call's own id from the signature folded into it.
const ToolIDMarker = "__tsig_"

const toolIDCheckLen = 4

var toolIDEncoding = base64.RawURLEncoding.Strict()

// JoinToolID returns the id a client sees for a call with this id and signature: id
// itself when there is no signature.
func JoinToolID(id, signature string) string {
	if signature == "" {
		return id
	}
	payload := make([]byte, 0, len(signature)+toolIDCheckLen)
	payload = append(payload, signature...)
	payload = binary.BigEndian.AppendUint32(payload, toolIDCheck(id, signature))
	return id + ToolIDMarker + toolIDEncoding.EncodeToString(payload)
}

// SplitToolID undoes JoinToolID: the call's own id and its signature. An id that
// JoinToolID did not make (no marker, or what follows it is not a payload whose
// checksum matches) comes back whole, with no signature.
func SplitToolID(s string) (id, signature string) {
	// Try each occurrence of the marker: a client-made id may contain it before ours,
	// and the payload may contain it by chance after.
	for from := 0; ; {
		k := strings.Index(s[from:], ToolIDMarker)
		if k < 0 {
			return s, ""
		}
		k += from
		base, enc := s[:k], s[k+len(ToolIDMarker):]
		if payload, err := toolIDEncoding.DecodeString(enc); err == nil && len(payload) > toolIDCheckLen {
			sig := payload[:len(payload)-toolIDCheckLen]
			sum := binary.BigEndian.Uint32(payload[len(sig):])
			if sum == toolIDCheck(base, string(sig)) {
				return base, string(sig)
			}
		}
		from = k + 1
	}
}

// ShortToolID is the id without any folded signature: what providers receive.
func ShortToolID(s string) string {
	id, _ := SplitToolID(s)
	return id
}

func toolIDCheck(id, signature string) uint32 {
	h := crc32.NewIEEE()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(signature))
	return h.Sum32()
}
