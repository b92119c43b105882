package cache

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// CanonicalJSON rewrites a JSON document into one canonical spelling, so that two
// documents that mean the same thing hash the same: insignificant whitespace removed,
// object members sorted by key, strings re-escaped minimally (only '"', '\' and control
// characters; "\u00e9" and "é" are the same string), integers kept verbatim (except
// "-0"), other numbers printed in Go's shortest form ("1.0" and "1", "1e2" and "100"
// are the same number). Array order is kept: it is significant. Duplicate keys are kept
// in input order after sorting (decoders disagree on which wins, so they stay distinct).
func CanonicalJSON(src []byte) ([]byte, error) {
	return appendCanonicalJSON(nil, src, nil)
}

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 512

// jsonMember is one object member's position in the output: key from start to keyEnd
// (quoted), value up to end.
type jsonMember struct{ start, keyEnd, end int }

type canonParser struct {
	src   []byte
	i     int
	spans []jsonMember // a stack shared by nested objects
	tmp   []byte       // scratch for reordering members
}

// appendCanonicalJSON appends the canonical form of src to dst. p, if non-nil, is a
// parser whose scratch buffers are reused.
func appendCanonicalJSON(dst, src []byte, p *canonParser) ([]byte, error) {
	if p == nil {
		p = &canonParser{}
	}
	p.src, p.i = src, 0
	dst, err := p.value(dst, 0)
	if err != nil {
		return dst, err
	}
	p.ws()
	if p.i != len(p.src) {
		return dst, p.errorf("unexpected data after the value")
	}
	return dst, nil
}

func (p *canonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("canonical json: offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *canonParser) ws() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *canonParser) value(dst []byte, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return dst, p.errorf("nested too deeply")
	}
	p.ws()
	if p.i >= len(p.src) {
		return dst, p.errorf("unexpected end of input")
	}
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object(dst, depth)
	case c == '[':
		return p.array(dst, depth)
	case c == '"':
		return p.str(dst)
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	default:
		return dst, p.errorf("unexpected character %q", c)
	}
}

func (p *canonParser) literal(dst []byte, lit string) ([]byte, error) {
	if !bytes.HasPrefix(p.src[p.i:], []byte(lit)) {
		return dst, p.errorf("invalid literal")
	}
	p.i += len(lit)
	return append(dst, lit...), nil
}

func (p *canonParser) object(dst []byte, depth int) ([]byte, error) {
	base := len(p.spans)
	dst, err := p.members(dst, depth, base)
	p.spans = p.spans[:base]
	return dst, err
}

func (p *canonParser) members(dst []byte, depth, base int) ([]byte, error) {
	p.i++ // '{'
	objStart := len(dst)
	dst = append(dst, '{')
	p.ws()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		return append(dst, '}'), nil
	}
	for {
		p.ws()
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			return dst, p.errorf("expected an object key")
		}
		if len(p.spans) > base {
			dst = append(dst, ',')
		}
		start := len(dst)
		var err error
		if dst, err = p.str(dst); err != nil {
			return dst, err
		}
		keyEnd := len(dst)
		p.ws()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return dst, p.errorf("expected ':'")
		}
		p.i++
		dst = append(dst, ':')
		if dst, err = p.value(dst, depth+1); err != nil {
			return dst, err
		}
		p.spans = append(p.spans, jsonMember{start, keyEnd, len(dst)})
		p.ws()
		if p.i >= len(p.src) {
			return dst, p.errorf("unterminated object")
		}
		if p.src[p.i] == ',' {
			p.i++
			continue
		}
		if p.src[p.i] != '}' {
			return dst, p.errorf("expected ',' or '}'")
		}
		p.i++
		break
	}
	ms := p.spans[base:]
	sorted := true
	for j := 1; j < len(ms); j++ {
		if bytes.Compare(dst[ms[j-1].start:ms[j-1].keyEnd], dst[ms[j].start:ms[j].keyEnd]) > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		// Reorder in place: copy the members out, sort their spans, write them back.
		p.tmp = append(p.tmp[:0], dst[objStart+1:]...)
		off := objStart + 1
		src := p.tmp
		key := func(m jsonMember) []byte { return src[m.start-off : m.keyEnd-off] }
		// Insertion sort: stable, allocation-free, and objects are small.
		for j := 1; j < len(ms); j++ {
			for k := j; k > 0 && bytes.Compare(key(ms[k-1]), key(ms[k])) > 0; k-- {
				ms[k-1], ms[k] = ms[k], ms[k-1]
			}
		}
		dst = dst[:objStart+1]
		for j, m := range ms {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, src[m.start-off:m.end-off]...)
		}
	}
	return append(dst, '}'), nil
}

func (p *canonParser) array(dst []byte, depth int) ([]byte, error) {
	p.i++ // '['
	dst = append(dst, '[')
	p.ws()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		return append(dst, ']'), nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = p.value(dst, depth+1); err != nil {
			return dst, err
		}
		p.ws()
		if p.i >= len(p.src) {
			return dst, p.errorf("unterminated array")
		}
		if p.src[p.i] == ',' {
			p.i++
			continue
		}
		if p.src[p.i] != ']' {
			return dst, p.errorf("expected ',' or ']'")
		}
		p.i++
		return append(dst, ']'), nil
	}
}

// str copies a string in canonical escaping: '"', '\\' and control characters are
// escaped (the short forms where JSON has one), everything else is raw UTF-8.
func (p *canonParser) str(dst []byte) ([]byte, error) {
	p.i++ // opening quote
	dst = append(dst, '"')
	for {
		// Copy the run of bytes that need no work in one go.
		j := p.i
		for j < len(p.src) {
			c := p.src[j]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			j++
		}
		dst = append(dst, p.src[p.i:j]...)
		p.i = j
		if p.i >= len(p.src) {
			return dst, p.errorf("unterminated string")
		}
		c := p.src[p.i]
		switch {
		case c == '"':
			p.i++
			return append(dst, '"'), nil
		case c < 0x20:
			return dst, p.errorf("control character in string")
		}
		// A backslash escape.
		if p.i+1 >= len(p.src) {
			return dst, p.errorf("unterminated escape")
		}
		e := p.src[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			dst = appendRune(dst, map1[e])
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return dst, p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.i+1 < len(p.src) && p.src[p.i] == '\\' && p.src[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					lo, ok := p.hex4()
					if ok {
						if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
							r2 = dec
						} else {
							p.i = save // not a pair: leave the next escape for the loop
						}
					} else {
						return dst, p.errorf("invalid \\u escape")
					}
				}
				r = r2
			}
			dst = appendRune(dst, r)
		default:
			return dst, p.errorf("invalid escape \\%c", e)
		}
	}
}

var map1 = [256]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func (p *canonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.src) {
		return 0, false
	}
	var r rune
	for _, c := range p.src[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

const hexDigits = "0123456789abcdef"

// appendRune writes r the canonical way inside a JSON string.
func appendRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}

func (p *canonParser) number(dst []byte) ([]byte, error) {
	start := p.i
	if p.src[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 || (n > 1 && p.src[intStart] == '0') {
		return dst, p.errorf("invalid number")
	}
	integer := true
	if p.i < len(p.src) && p.src[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return dst, p.errorf("invalid number")
		}
		integer = false
	}
	if p.i < len(p.src) && (p.src[p.i] == 'e' || p.src[p.i] == 'E') {
		p.i++
		if p.i < len(p.src) && (p.src[p.i] == '+' || p.src[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return dst, p.errorf("invalid number")
		}
		integer = false
	}
	lit := p.src[start:p.i]
	if integer {
		if string(lit) == "-0" {
			return append(dst, '0'), nil
		}
		return append(dst, lit...), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsInf(f, 0) {
		// Out of float64 range: keep the spelling rather than collapse distinct values.
		return append(dst, lit...), nil
	}
	if f == 0 {
		f = 0 // -0.0 and 0.0 are the same
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}
