package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// Key identifies a cached answer: the namespace (tenant, or a namespace explicitly
// shared in config) and a SHA-256 over the namespace and the canonical request. The
// namespace is kept in clear beside the hash so that a store can delete all of a
// tenant's entries; it is also inside the hash, so two keys of different namespaces
// never share a hash either.
type Key struct {
	Namespace string
	Sum       [sha256.Size]byte
}

// String is the key's printable form, "<namespace>:<hex>", with the namespace escaped
// so that it never contains ':' or glob characters; ParseKey reverses it.
func (k Key) String() string {
	return escapeNamespace(k.Namespace) + ":" + hex.EncodeToString(k.Sum[:])
}

// Hex is the hash alone in hex.
func (k Key) Hex() string { return hex.EncodeToString(k.Sum[:]) }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k == Key{} }

// ParseKey parses the form printed by Key.String (admin deletion by key).
func ParseKey(s string) (Key, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Key{}, fmt.Errorf("parse cache key %q: want <namespace>:<64 hex digits>", s)
	}
	ns, err := unescapeNamespace(s[:i])
	if err != nil {
		return Key{}, fmt.Errorf("parse cache key %q: %w", s, err)
	}
	var k Key
	if n, err := hex.Decode(k.Sum[:], []byte(s[i+1:])); err != nil || n != sha256.Size || len(s)-i-1 != 2*sha256.Size {
		return Key{}, fmt.Errorf("parse cache key %q: want 64 hex digits after the namespace", s)
	}
	k.Namespace = ns
	return k, nil
}

// escapeNamespace keeps [A-Za-z0-9_.-] and percent-encodes every other byte, so that
// the result is safe inside Redis keys and SCAN MATCH patterns.
func escapeNamespace(ns string) string {
	safe := true
	for i := 0; i < len(ns); i++ {
		if !nsSafe(ns[i]) {
			safe = false
			break
		}
	}
	if safe {
		return ns
	}
	var b strings.Builder
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if nsSafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&0xF])
	}
	return b.String()
}

func nsSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func unescapeNamespace(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated escape in namespace")
		}
		v, err := hex.DecodeString(s[i+1 : i+3])
		if err != nil {
			return "", fmt.Errorf("bad escape in namespace: %w", err)
		}
		b = append(b, v[0])
		i += 2
	}
	return string(b), nil
}

// Field tags of the canonical encoding. Every field is written as a tag followed by
// its value, strings and byte strings length-prefixed, lists count-prefixed, so the
// encoding is injective: two requests hash alike only if every field agrees.
const (
	tagModel byte = iota + 1
	tagMessage
	tagRole
	tagName
	tagPart
	tagPartText
	tagPartImageURL
	tagPartMediaType
	tagPartBase64
	tagPartDetail
	tagToolCall
	tagToolCallArgsJSON
	tagToolCallArgsRaw
	tagToolCallID
	tagToolName
	tagIsError
	tagTool
	tagToolDesc
	tagToolParams
	tagToolStrict
	tagToolChoice
	tagParallelToolCalls
	tagRespFormat
	tagRespSchema
	tagRespStrict
	tagTemperature
	tagTopP
	tagMaxTokens
	tagStop
	tagSeed
	tagPresencePenalty
	tagFrequencyPenalty
	tagN
	tagReasoningEffort
	tagExtra
	tagLastUserOmitted
	tagPartType
	tagPartSignature
	tagPartData
)

// Domain separators: an exact key and a prefix key never share a hash.
const (
	domainKey    = "arbiter/cache/key/v1\x00"
	domainPrefix = "arbiter/cache/prefix/v1\x00"
)

// KeyFor computes the exact-cache key of req in namespace.
//
// What is hashed: the model or route asked for (call KeyFor before routing rewrites
// req.Model); every message's role, name, content parts (text, images and their
// detail), tool calls (id, name, arguments as canonical JSON when they parse), tool
// call id, tool name and error flag; the tools (name, description, canonical
// parameter schema, strict) in order; tool choice; parallel tool calls; the response
// format with its canonical schema; temperature, top_p, max tokens, stop sequences,
// seed, presence and frequency penalties, n, reasoning effort; and the Extra fields
// (canonical JSON, sorted by name, with the format they came in).
//
// What is not: stream and include_usage (a cached answer is replayed either way),
// user and metadata (labels, not inputs), Anthropic cache_control (changes the price,
// not the answer) and the developer spelling of the system role.
//
// Defaults: a value is normalised to "absent" only where every provider Arbiter routes
// to documents the same default and the value cannot change sampling: n = 1,
// presence and frequency penalty 0, top_p 1, an empty stop list, response format
// "text", tool choice "auto" when tools are given and "none" when none are. A nil
// temperature is NOT the same as any explicit value: the default differs between
// providers and models, so "unset" is its own value. Likewise max tokens and
// reasoning effort.
func KeyFor(namespace string, req *llm.Request) (Key, error) {
	return hashRequest(domainKey, namespace, req, false)
}

// PrefixKey hashes everything KeyFor does except the text of the last user turn (its
// images and other parts stay in), in a separate domain: two requests with equal
// prefix keys differ at most in that text. The semantic cache compares only entries
// with the same prefix key.
func PrefixKey(namespace string, req *llm.Request) (Key, error) {
	return hashRequest(domainPrefix, namespace, req, true)
}

// ErrNoNamespace is returned for an empty namespace: every entry belongs to a tenant
// (or to a namespace that configuration shares on purpose), never to everyone.
var ErrNoNamespace = errors.New("cache key: empty namespace")

func hashRequest(domain, namespace string, req *llm.Request, omitLastUserText bool) (Key, error) {
	if namespace == "" {
		return Key{}, ErrNoNamespace
	}
	e := keyEncoder{buf: make([]byte, 0, sizeHint(namespace, req))}
	e.buf = append(e.buf, domain...)
	e.str(namespace)
	e.tagStr(tagModel, req.Model)

	lastUser := -1
	if omitLastUserText {
		for i := len(req.Messages) - 1; i >= 0; i-- {
			if req.Messages[i].Role == llm.RoleUser {
				lastUser = i
				break
			}
		}
	}
	e.uvarint(uint64(len(req.Messages)))
	for i := range req.Messages {
		if err := e.message(&req.Messages[i], i == lastUser); err != nil {
			return Key{}, fmt.Errorf("cache key: messages[%d]: %w", i, err)
		}
	}

	e.uvarint(uint64(len(req.Tools)))
	for i := range req.Tools {
		t := &req.Tools[i]
		e.tagStr(tagTool, t.Name)
		e.tagStr(tagToolDesc, t.Description)
		if len(t.Parameters) > 0 {
			if err := e.json(tagToolParams, t.Parameters); err != nil {
				return Key{}, fmt.Errorf("cache key: tools[%d].parameters: %w", i, err)
			}
		}
		if t.Strict != nil {
			e.tagBool(tagToolStrict, *t.Strict)
		}
	}
	if tc := req.ToolChoice; tc != nil && !defaultToolChoice(tc, len(req.Tools) > 0) {
		e.tagStr(tagToolChoice, string(tc.Mode))
		e.str(tc.Name)
	}
	if req.ParallelToolCalls != nil && len(req.Tools) > 0 {
		e.tagBool(tagParallelToolCalls, *req.ParallelToolCalls)
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != llm.ResponseText {
		e.tagStr(tagRespFormat, string(rf.Type))
		e.str(rf.Name)
		e.str(rf.Description)
		if len(rf.Schema) > 0 {
			if err := e.json(tagRespSchema, rf.Schema); err != nil {
				return Key{}, fmt.Errorf("cache key: response_format.schema: %w", err)
			}
		}
		if rf.Strict != nil {
			e.tagBool(tagRespStrict, *rf.Strict)
		}
	}

	if req.Temperature != nil {
		e.tagFloat(tagTemperature, *req.Temperature)
	}
	if req.TopP != nil && *req.TopP != 1 {
		e.tagFloat(tagTopP, *req.TopP)
	}
	if req.MaxTokens != nil {
		e.tagInt(tagMaxTokens, int64(*req.MaxTokens))
	}
	if len(req.Stop) > 0 {
		e.buf = append(e.buf, tagStop)
		e.uvarint(uint64(len(req.Stop)))
		for _, s := range req.Stop {
			e.str(s)
		}
	}
	if req.Seed != nil {
		e.tagInt(tagSeed, *req.Seed)
	}
	if req.PresencePenalty != nil && *req.PresencePenalty != 0 {
		e.tagFloat(tagPresencePenalty, *req.PresencePenalty)
	}
	if req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0 {
		e.tagFloat(tagFrequencyPenalty, *req.FrequencyPenalty)
	}
	if req.N != nil && *req.N != 1 {
		e.tagInt(tagN, int64(*req.N))
	}
	e.tagStr(tagReasoningEffort, req.ReasoningEffort)

	if len(req.Extra) > 0 {
		e.buf = append(e.buf, tagExtra)
		e.str(string(req.ExtraFormat))
		e.uvarint(uint64(len(req.Extra)))
		names := make([]string, 0, len(req.Extra))
		for k := range req.Extra {
			names = append(names, k)
		}
		sortStrings(names)
		for _, k := range names {
			e.str(k)
			if err := e.json(tagExtra, req.Extra[k]); err != nil {
				return Key{}, fmt.Errorf("cache key: extra field %q: %w", k, err)
			}
		}
	}
	return Key{Namespace: namespace, Sum: sha256.Sum256(e.buf)}, nil
}

// defaultToolChoice reports whether tc says what the providers do when it is absent.
func defaultToolChoice(tc *llm.ToolChoice, haveTools bool) bool {
	switch tc.Mode {
	case "":
		return true
	case llm.ToolChoiceAuto:
		return haveTools
	case llm.ToolChoiceNone:
		return !haveTools
	}
	return false
}

// sizeHint estimates the encoding's length so that it is built in one allocation.
func sizeHint(namespace string, req *llm.Request) int {
	n := 64 + len(namespace) + len(req.Model)
	for i := range req.Messages {
		m := &req.Messages[i]
		n += 16 + len(m.Name) + len(m.ToolCallID) + len(m.ToolName)
		for j := range m.Content {
			p := &m.Content[j]
			n += 16 + len(p.Text) + len(p.ImageURL) + len(p.Base64) + len(p.MediaType) + len(p.Detail) + len(p.Signature) + len(p.Data)
		}
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			n += 16 + len(tc.ID) + len(tc.Name) + len(tc.Arguments)
		}
	}
	for i := range req.Tools {
		n += 16 + len(req.Tools[i].Name) + len(req.Tools[i].Description) + len(req.Tools[i].Parameters)
	}
	if req.ResponseFormat != nil {
		n += 16 + len(req.ResponseFormat.Schema) + len(req.ResponseFormat.Name) + len(req.ResponseFormat.Description)
	}
	for _, s := range req.Stop {
		n += 8 + len(s)
	}
	for k, v := range req.Extra {
		n += 16 + len(k) + len(v)
	}
	return n + 128
}

type keyEncoder struct {
	buf []byte
	p   canonParser // scratch reused by every JSON field
}

func (e *keyEncoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

func (e *keyEncoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *keyEncoder) tagStr(tag byte, s string) {
	if s == "" {
		return
	}
	e.buf = append(e.buf, tag)
	e.str(s)
}

func (e *keyEncoder) tagBool(tag byte, v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	e.buf = append(e.buf, tag, b)
}

func (e *keyEncoder) tagInt(tag byte, v int64) {
	e.buf = append(e.buf, tag)
	e.buf = binary.AppendVarint(e.buf, v)
}

func (e *keyEncoder) tagFloat(tag byte, v float64) {
	if v == 0 {
		v = 0 // -0 is 0
	}
	e.buf = append(e.buf, tag)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(v))
}

// json writes tag, then the canonical form of raw behind a fixed-width length that is
// patched once the form is known.
func (e *keyEncoder) json(tag byte, raw []byte) error {
	if e.p.spans == nil {
		e.p.spans = make([]jsonMember, 0, 32) // one allocation instead of growth steps
	}
	e.buf = append(e.buf, tag, 0, 0, 0, 0)
	at := len(e.buf)
	var err error
	e.buf, err = appendCanonicalJSON(e.buf, raw, &e.p)
	if err != nil {
		e.buf = e.buf[:at-5]
		return err
	}
	binary.BigEndian.PutUint32(e.buf[at-4:at], uint32(len(e.buf)-at))
	return nil
}

func (e *keyEncoder) message(m *llm.Message, omitText bool) error {
	e.buf = append(e.buf, tagMessage)
	e.tagStr(tagRole, string(m.Role))
	e.tagStr(tagName, m.Name)
	if omitText {
		e.buf = append(e.buf, tagLastUserOmitted)
	}
	// Empty text parts are dropped (SDKs send an assistant's absent content as null,
	// "" or []), and so is the omitted text, before counting.
	skip := func(p *llm.Part) bool {
		return p.Type == llm.PartText && (omitText || p.Text == "")
	}
	n := 0
	for i := range m.Content {
		if !skip(&m.Content[i]) {
			n++
		}
	}
	e.uvarint(uint64(n))
	for i := range m.Content {
		p := &m.Content[i]
		if skip(p) {
			continue
		}
		e.buf = append(e.buf, tagPart)
		e.tagStr(tagPartType, string(p.Type))
		if p.Text != "" {
			e.buf = append(e.buf, tagPartText)
			e.str(p.Text)
		}
		e.tagStr(tagPartImageURL, p.ImageURL)
		e.tagStr(tagPartMediaType, p.MediaType)
		e.tagStr(tagPartBase64, p.Base64)
		if p.Detail != "" && p.Detail != "auto" {
			e.tagStr(tagPartDetail, p.Detail)
		}
		// A reasoning block's signature or redacted data is what the provider checks.
		e.tagStr(tagPartSignature, p.Signature)
		e.tagStr(tagPartData, p.Data)
	}
	e.uvarint(uint64(len(m.ToolCalls)))
	for i := range m.ToolCalls {
		tc := &m.ToolCalls[i]
		e.buf = append(e.buf, tagToolCall)
		e.str(tc.ID)
		e.str(tc.Name)
		// Arguments are model output: canonical when they parse, verbatim when not.
		if err := e.json(tagToolCallArgsJSON, []byte(tc.Arguments)); err != nil {
			e.buf = append(e.buf, tagToolCallArgsRaw)
			e.str(tc.Arguments)
		}
	}
	e.tagStr(tagToolCallID, m.ToolCallID)
	e.tagStr(tagToolName, m.ToolName)
	if m.IsError {
		e.tagBool(tagIsError, true)
	}
	return nil
}

// sortStrings is an insertion sort: Extra maps hold a handful of names, and this
// avoids the sort package's interface allocation on the hot path.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
