package openai

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a single-pass JSON reader over a byte slice. The codec decodes request
// and response bodies straight into neutral types with it instead of unmarshalling
// into intermediate structs or maps: one pass, no reflection, and type errors that can
// name the exact field. It validates everything it reads, including values it skips.
type scanner struct {
	data []byte
	pos  int
}

// syntaxError marks malformed JSON; the message carries the byte offset.
type syntaxError struct {
	msg string
	pos int
}

func (e *syntaxError) Error() string {
	return e.msg + " at byte " + strconv.Itoa(e.pos)
}

// kind names a JSON value's type as the client would say it.
func kindName(c byte) string {
	switch c {
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
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "number"
	}
	return "invalid value"
}

func (s *scanner) syntax(msg string) error { return &syntaxError{msg: msg, pos: s.pos} }

func (s *scanner) unexpected() error {
	if s.pos >= len(s.data) {
		return s.syntax("unexpected end of input")
	}
	return s.syntax("unexpected character " + strconv.QuoteRune(rune(s.data[s.pos])))
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// end checks that nothing but whitespace follows the value just read.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return s.syntax("unexpected data after the top-level value")
	}
	return nil
}

// object iteration: call objStart, then nextKey until it reports false.
//
//	if err := s.objStart(); err != nil { ... }
//	for first := true; ; first = false {
//		key, ok, err := s.nextKey(first)
//		if err != nil || !ok { ... }
//		... read the value ...
//	}
func (s *scanner) objStart() {
	s.pos++ // caller checked peek() == '{'
}

func (s *scanner) nextKey(first bool) ([]byte, bool, error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, s.unexpected()
		}
		s.pos++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, s.syntax("expected a string key")
	}
	key, err := s.rawStringBytes()
	if err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, s.unexpected()
	}
	s.pos++
	return key, true, nil
}

// arrStart / nextElem iterate an array the same way.
func (s *scanner) arrStart() { s.pos++ }

func (s *scanner) nextElem(first bool) (bool, error) {
	c := s.peek()
	if c == ']' {
		s.pos++
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, s.unexpected()
		}
		s.pos++
		if s.peek() == ']' {
			return false, s.syntax("trailing comma in array")
		}
	}
	return true, nil
}

// rawStringBytes reads a string and returns its unescaped bytes. Without escapes the
// result aliases the input; keys are compared, never kept.
func (s *scanner) rawStringBytes() ([]byte, error) {
	start := s.pos + 1
	i := start
	for i < len(s.data) {
		c := s.data[i]
		if c == '"' {
			s.pos = i + 1
			return s.data[start:i], nil
		}
		if c == '\\' {
			b, err := s.unescape(start, i)
			return b, err
		}
		if c < 0x20 {
			s.pos = i
			return nil, s.syntax("control character in string")
		}
		i++
	}
	s.pos = len(s.data)
	return nil, s.syntax("unterminated string")
}

// str reads a string value into a new Go string.
func (s *scanner) str() (string, error) {
	b, err := s.rawStringBytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// unescape decodes a string with escapes, starting at the first backslash at i.
func (s *scanner) unescape(start, i int) ([]byte, error) {
	out := make([]byte, 0, i-start+16)
	out = append(out, s.data[start:i]...)
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return out, nil
		case c < 0x20:
			s.pos = i
			return nil, s.syntax("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.data) {
			break
		}
		e := s.data[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.data, i)
			if !ok {
				s.pos = i
				return nil, s.syntax("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+6 <= len(s.data) && s.data[i] == '\\' && s.data[i+1] == 'u' {
					r2, ok2 = hex4(s.data, i+2)
				}
				if d := utf16.DecodeRune(r, r2); ok2 && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.pos = i - 1
			return nil, s.syntax("invalid escape character")
		}
	}
	s.pos = len(s.data)
	return nil, s.syntax("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	i := s.pos
	if i < len(s.data) && s.data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s.data) && s.data[i] >= '0' && s.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s.data) && s.data[i] == '0' {
		i++
	} else if digits() == 0 {
		s.pos = i
		return nil, s.unexpected()
	}
	if i < len(s.data) && s.data[i] == '.' {
		i++
		if digits() == 0 {
			s.pos = i
			return nil, s.syntax("invalid number")
		}
	}
	if i < len(s.data) && (s.data[i] == 'e' || s.data[i] == 'E') {
		i++
		if i < len(s.data) && (s.data[i] == '+' || s.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.pos = i
			return nil, s.syntax("invalid number")
		}
	}
	s.pos = i
	return s.data[start:i], nil
}

// literal consumes true, false or null.
func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return nil
	}
	return s.unexpected()
}

// skip consumes any value, validating it, and returns its raw bytes.
func (s *scanner) skip() ([]byte, error) {
	c := s.peek()
	start := s.pos
	if err := s.skipValue(c, 0); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

const maxDepth = 1000

func (s *scanner) skipValue(c byte, depth int) error {
	if depth > maxDepth {
		return s.syntax("nesting too deep")
	}
	switch c {
	case '"':
		// Validate without building the unescaped string.
		i := s.pos + 1
		for i < len(s.data) {
			switch b := s.data[i]; {
			case b == '"':
				s.pos = i + 1
				return nil
			case b == '\\':
				if i+1 >= len(s.data) {
					s.pos = len(s.data)
					return s.syntax("unterminated string")
				}
				switch s.data[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					if _, ok := hex4(s.data, i+2); !ok {
						s.pos = i
						return s.syntax("invalid \\u escape")
					}
					i += 6
				default:
					s.pos = i
					return s.syntax("invalid escape character")
				}
			case b < 0x20:
				s.pos = i
				return s.syntax("control character in string")
			default:
				i++
			}
		}
		s.pos = len(s.data)
		return s.syntax("unterminated string")
	case '{':
		s.objStart()
		for first := true; ; first = false {
			_, ok, err := s.nextKey(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skipValue(s.peek(), depth+1); err != nil {
				return err
			}
		}
	case '[':
		s.arrStart()
		for first := true; ; first = false {
			ok, err := s.nextElem(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skipValue(s.peek(), depth+1); err != nil {
				return err
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, err := s.number()
		return err
	}
}

// Typed readers. Each checks the next value's type and returns errWrongType (with the
// JSON type found) when it does not match; callers turn that into a message that
// names the field.
type wrongType struct{ got string }

func (e *wrongType) Error() string { return "got " + e.got }

// mismatch reports a value of the wrong type at param ("<expected>, got number"), or
// malformed JSON when what follows is not a JSON value at all (a truncated body).
func (s *scanner) mismatch(param, expected string) error {
	c := s.peek()
	if kindName(c) == "invalid value" {
		return jsonErr(s.unexpected(), param)
	}
	return invalid(param, expected+", got "+kindName(c))
}

func (s *scanner) wrong() error {
	if c := s.peek(); kindName(c) != "invalid value" {
		return &wrongType{got: kindName(c)}
	}
	return s.unexpected() // not a type mismatch: the body ends or is not JSON here
}

func isWrongType(err error) (string, bool) {
	var w *wrongType
	if errors.As(err, &w) {
		return w.got, true
	}
	return "", false
}

// null consumes a null if one is next and reports whether it did.
func (s *scanner) null() (bool, error) {
	if s.peek() == 'n' {
		return true, s.literal("null")
	}
	return false, nil
}

// bytesValue reads a string value without copying it (unless it has escapes): for
// enumerations that are compared and dropped (role, type).
func (s *scanner) bytesValue() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.wrong()
	}
	return s.rawStringBytes()
}

func (s *scanner) stringValue() (string, error) {
	if s.peek() != '"' {
		return "", s.wrong()
	}
	return s.str()
}

func (s *scanner) boolValue() (bool, error) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	return false, s.wrong()
}

func (s *scanner) floatValue() (float64, error) {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, s.wrong()
	}
	b, err := s.number()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, s.syntax("number out of range")
	}
	return f, nil
}

// errNotInteger is returned for a number with a fraction or exponent where an integer
// is required.
var errNotInteger = errors.New("not an integer")

func (s *scanner) intValue() (int64, error) {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, s.wrong()
	}
	b, err := s.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// 1.0 and 1e3 are integers in JSON's eyes; accept them when exact.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, errNotInteger
		}
		return int64(f), nil
	}
	return n, nil
}
