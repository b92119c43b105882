package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// The binary form of an Entry, as shared stores (Redis) keep it: a version byte, then
// fields in a fixed order, integers as varints, strings length-prefixed. It is about
// the size of the answer's text plus a few dozen bytes, several times smaller and
// faster than JSON, and decoding from a string shares that string's memory.
//
// Version 2 adds each part's Signature and Data (reasoning blocks); version 3 adds
// each tool call's Signature (Gemini's thoughtSignature), after its arguments. An
// entry is written in the lowest version that holds it: none of its parts has a
// signature or data, version 1; no tool call is signed, version 2. So replicas that
// predate a version still read every entry that does not need it; all three versions
// decode here. An unknown version is an error, which stores count as a miss.
const (
	codecVersion1 byte = 1
	codecVersion2 byte = 2
	codecVersion  byte = 3
)

// MarshalEntry encodes e in the binary form.
func MarshalEntry(e *Entry) []byte {
	n := 64 + len(e.Model) + len(e.Provider)
	r := e.Response
	if r != nil {
		n += len(r.ID) + len(r.Model) + len(r.SystemFingerprint)
		for i := range r.Choices {
			m := &r.Choices[i].Message
			n += 32 + len(m.Name) + len(m.ToolCallID) + len(m.ToolName)
			for j := range m.Content {
				p := &m.Content[j]
				n += 16 + len(p.Text) + len(p.ImageURL) + len(p.MediaType) + len(p.Base64) + len(p.Detail) + len(p.CacheControl) + len(p.Signature) + len(p.Data)
			}
			for j := range m.ToolCalls {
				n += 8 + len(m.ToolCalls[j].ID) + len(m.ToolCalls[j].Name) + len(m.ToolCalls[j].Arguments) + len(m.ToolCalls[j].Signature)
			}
		}
	}
	w := codecWriter{b: make([]byte, 0, n)}
	version := codecVersion1
	switch {
	case r != nil && hasSignedCalls(r):
		version = codecVersion
	case r != nil && hasOpaqueParts(r):
		version = codecVersion2
	}
	w.b = append(w.b, version)
	w.varint(timeNS(e.Stored))
	w.varint(timeNS(e.Expires))
	w.str(e.Model)
	w.str(e.Provider)
	w.varint(int64(e.Cost))
	if r == nil {
		r = &llm.Response{}
	}
	w.str(r.ID)
	w.str(r.Model)
	w.varint(r.Created)
	w.str(r.SystemFingerprint)
	u := r.Usage
	w.uvarint(uint64(u.InputTokens))
	w.uvarint(uint64(u.CachedInputTokens))
	w.uvarint(uint64(u.CacheWriteTokens))
	w.uvarint(uint64(u.OutputTokens))
	w.uvarint(uint64(u.ReasoningTokens))
	w.flag(u.Estimated)
	w.uvarint(uint64(len(r.Choices)))
	for i := range r.Choices {
		c := &r.Choices[i]
		w.uvarint(uint64(c.Index))
		w.str(string(c.FinishReason))
		m := &c.Message
		w.str(string(m.Role))
		w.str(m.Name)
		w.str(m.ToolCallID)
		w.str(m.ToolName)
		w.flag(m.IsError)
		w.flag(m.Developer)
		w.uvarint(uint64(len(m.Content)))
		for j := range m.Content {
			p := &m.Content[j]
			w.str(string(p.Type))
			w.str(p.Text)
			w.str(p.ImageURL)
			w.str(p.MediaType)
			w.str(p.Base64)
			w.str(p.Detail)
			w.str(string(p.CacheControl))
			if version >= codecVersion2 {
				w.str(p.Signature)
				w.str(p.Data)
			}
		}
		w.uvarint(uint64(len(m.ToolCalls)))
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			w.str(tc.ID)
			w.str(tc.Name)
			w.str(tc.Arguments)
			if version >= codecVersion {
				w.str(tc.Signature)
			}
		}
	}
	return w.b
}

// UnmarshalEntry decodes the binary form. Strings in the result share data's memory.
func UnmarshalEntry(data string) (*Entry, error) {
	rd := codecReader{s: data}
	version := rd.byte()
	if version < codecVersion1 || version > codecVersion {
		return nil, fmt.Errorf("cache: decode entry: unknown version %d", version)
	}
	e := &Entry{Response: &llm.Response{}}
	e.Stored = nsTime(rd.varint())
	e.Expires = nsTime(rd.varint())
	e.Model = rd.str()
	e.Provider = rd.str()
	e.Cost = money.USD(rd.varint())
	r := e.Response
	r.ID = rd.str()
	r.Model = rd.str()
	r.Created = rd.varint()
	r.SystemFingerprint = rd.str()
	r.Usage.InputTokens = rd.count()
	r.Usage.CachedInputTokens = rd.count()
	r.Usage.CacheWriteTokens = rd.count()
	r.Usage.OutputTokens = rd.count()
	r.Usage.ReasoningTokens = rd.count()
	r.Usage.Estimated = rd.flag()
	if n := rd.length(); n > 0 {
		r.Choices = make([]llm.Choice, n)
	}
	for i := range r.Choices {
		c := &r.Choices[i]
		c.Index = rd.count()
		c.FinishReason = llm.FinishReason(rd.str())
		m := &c.Message
		m.Role = llm.Role(rd.str())
		m.Name = rd.str()
		m.ToolCallID = rd.str()
		m.ToolName = rd.str()
		m.IsError = rd.flag()
		m.Developer = rd.flag()
		if n := rd.length(); n > 0 {
			m.Content = make([]llm.Part, n)
		}
		for j := range m.Content {
			p := &m.Content[j]
			p.Type = llm.PartType(rd.str())
			p.Text = rd.str()
			p.ImageURL = rd.str()
			p.MediaType = rd.str()
			p.Base64 = rd.str()
			p.Detail = rd.str()
			if cc := rd.str(); cc != "" {
				p.CacheControl = []byte(cc)
			}
			if version >= codecVersion2 {
				p.Signature = rd.str()
				p.Data = rd.str()
			}
		}
		if n := rd.length(); n > 0 {
			m.ToolCalls = make([]llm.ToolCall, n)
		}
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			tc.ID = rd.str()
			tc.Name = rd.str()
			tc.Arguments = rd.str()
			if version >= codecVersion {
				tc.Signature = rd.str()
			}
		}
	}
	if rd.err != nil {
		return nil, fmt.Errorf("cache: decode entry: %w", rd.err)
	}
	if rd.i != len(rd.s) {
		return nil, errors.New("cache: decode entry: trailing bytes")
	}
	return e, nil
}

// hasOpaqueParts reports whether any part of r needs version 2 (a signature or data).
func hasOpaqueParts(r *llm.Response) bool {
	for i := range r.Choices {
		for j := range r.Choices[i].Message.Content {
			if p := &r.Choices[i].Message.Content[j]; p.Signature != "" || p.Data != "" {
				return true
			}
		}
	}
	return false
}

// hasSignedCalls reports whether any tool call of r has a signature (version 3).
func hasSignedCalls(r *llm.Response) bool {
	for i := range r.Choices {
		for j := range r.Choices[i].Message.ToolCalls {
			if r.Choices[i].Message.ToolCalls[j].Signature != "" {
				return true
			}
		}
	}
	return false
}

func timeNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

type codecWriter struct{ b []byte }

func (w *codecWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *codecWriter) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *codecWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *codecWriter) flag(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// codecReader reads the binary form; the first error sticks and later reads return
// zero values, so decoding checks once at the end.
type codecReader struct {
	s   string
	i   int
	err error
}

var errTruncated = errors.New("truncated data")

func (r *codecReader) byte() byte {
	if r.err != nil || r.i >= len(r.s) {
		r.err = errTruncated
		return 0
	}
	r.i++
	return r.s[r.i-1]
}

func (r *codecReader) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7F) << shift
		if c < 0x80 {
			return v
		}
	}
	r.err = errors.New("varint overflow")
	return 0
}

func (r *codecReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a non-negative int that fits in an int.
func (r *codecReader) count() int {
	u := r.uvarint()
	if u > 1<<31 {
		r.err = errors.New("count out of range")
		return 0
	}
	return int(u)
}

// length reads a list length, bounded by the bytes left (each element takes at least
// one byte), so corrupt data cannot make a huge allocation.
func (r *codecReader) length() int {
	n := r.count()
	if r.err == nil && n > len(r.s)-r.i {
		r.err = errTruncated
		return 0
	}
	return n
}

func (r *codecReader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	if n > len(r.s)-r.i {
		r.err = errTruncated
		return ""
	}
	s := r.s[r.i : r.i+n]
	r.i += n
	return s
}

func (r *codecReader) flag() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	if r.err == nil {
		r.err = errors.New("bad flag")
	}
	return false
}
