package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// DecodeEmbeddingRequest parses and validates a POST /v1/embeddings body. input is a
// string or an array of strings; token arrays are rejected (Arbiter embeds text, and
// token ids mean nothing to another model). Unknown fields go to Extra.
func DecodeEmbeddingRequest(body []byte) (*llm.EmbeddingRequest, error) {
	d := reqDecoder{s: scanner{data: body}}
	s := &d.s
	switch c := s.peek(); c {
	case 0:
		return nil, invalid("", "request body is empty; expected a JSON object")
	case '{':
	default:
		if kindName(c) == "invalid value" {
			return nil, jsonErr(s.unexpected(), "")
		}
		return nil, invalid("", "request body: expected a JSON object, got "+kindName(c))
	}
	r := &llm.EmbeddingRequest{}
	sawInput := false
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return nil, jsonErr(err, "")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "model":
			if r.Model, err = s.stringValue(); err != nil {
				return nil, fieldErr(err, "model", "a string")
			}
		case "input":
			sawInput = true
			if err := d.embeddingInput(r); err != nil {
				return nil, err
			}
		case "dimensions":
			if r.Dimensions, err = d.optInt("dimensions", 1); err != nil {
				return nil, err
			}
		case "encoding_format":
			if r.EncodingFormat, err = d.optString("encoding_format"); err != nil {
				return nil, err
			}
			if r.EncodingFormat != "" && r.EncodingFormat != "float" && r.EncodingFormat != "base64" {
				return nil, invalid("encoding_format", "unsupported value "+strconv.Quote(r.EncodingFormat)+"; expected float or base64")
			}
		case "user":
			if r.User, err = d.optString("user"); err != nil {
				return nil, err
			}
		default:
			raw, err := s.skip()
			if err != nil {
				return nil, jsonErr(err, string(key))
			}
			if r.Extra == nil {
				r.Extra = make(map[string]json.RawMessage, 2)
				r.ExtraFormat = llm.FormatOpenAI
			}
			r.Extra[string(key)] = append(json.RawMessage(nil), raw...)
		}
	}
	if err := s.end(); err != nil {
		return nil, jsonErr(err, "")
	}
	switch {
	case r.Model == "":
		return nil, invalid("model", "missing required parameter")
	case !sawInput:
		return nil, invalid("input", "missing required parameter")
	case len(r.Input) == 0:
		return nil, invalid("input", "must not be empty")
	}
	return r, nil
}

func (d *reqDecoder) embeddingInput(r *llm.EmbeddingRequest) error {
	s := &d.s
	switch s.peek() {
	case '"':
		v, err := s.str()
		if err != nil {
			return jsonErr(err, "input")
		}
		r.Input = []string{v}
		return nil
	case '[':
	default:
		return s.mismatch("input", "expected a string or an array of strings")
	}
	s.arrStart()
	for i, first := 0, true; ; i, first = i+1, false {
		ok, err := s.nextElem(first)
		if err != nil {
			return jsonErr(err, "input")
		}
		if !ok {
			return nil
		}
		switch s.peek() {
		case '"':
		case '[', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return invalid(idx("input", i, ""), "token arrays are not supported; send the text")
		default:
			return s.mismatch(idx("input", i, ""), "expected a string")
		}
		v, err := s.str()
		if err != nil {
			return jsonErr(err, "input")
		}
		r.Input = append(r.Input, v)
	}
}

// EncodeEmbeddingResponse encodes vectors as OpenAI's embedding list. encodingFormat
// is the client's encoding_format: "base64" sends each vector as base64 of
// little-endian float32s (what the Python and Node SDKs ask for by default);
// anything else sends arrays of numbers.
func EncodeEmbeddingResponse(r *llm.EmbeddingResponse, encodingFormat string) ([]byte, error) {
	size := 128
	for _, v := range r.Vectors {
		size += 64 + len(v)*12
	}
	b := make([]byte, 0, size)
	b = append(b, `{"object":"list","data":[`...)
	var raw []byte
	for i, v := range r.Vectors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = appendInt(b, int64(i))
		b = append(b, `,"embedding":`...)
		if encodingFormat == "base64" {
			raw = raw[:0]
			for _, f := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range v {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendFloat(b, float64(f), 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = appendInt(b, int64(r.Usage.InputTokens))
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, int64(r.Usage.InputTokens))
	return append(b, "}}"...), nil
}

// EncodeEmbeddingRequest encodes a request for an OpenAI-compatible embeddings
// endpoint. Vectors are asked for as floats (the default every host supports);
// extra fields go only when they came from an OpenAI client.
func EncodeEmbeddingRequest(r *llm.EmbeddingRequest) ([]byte, error) {
	size := 64
	for _, in := range r.Input {
		size += 3 + len(in) + len(in)/8
	}
	b := make([]byte, 0, size)
	b = append(b, `{"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"input":[`...)
	for i, in := range r.Input {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, in)
	}
	b = append(b, ']')
	if r.Dimensions != nil {
		b = append(b, `,"dimensions":`...)
		b = appendInt(b, int64(*r.Dimensions))
	}
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = appendString(b, r.User)
	}
	if r.ExtraFormat == llm.FormatOpenAI && len(r.Extra) > 0 {
		keys := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			switch k {
			case "model", "input", "dimensions", "user", "encoding_format":
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b = append(b, ',')
			b = appendString(b, k)
			b = append(b, ':')
			b = append(b, r.Extra[k]...)
		}
	}
	return append(b, '}'), nil
}

// DecodeEmbeddingResponse parses an embedding list (float arrays or base64), putting
// vectors in input order by their index.
func DecodeEmbeddingResponse(body []byte) (*llm.EmbeddingResponse, error) {
	s := &scanner{data: body}
	if s.peek() != '{' {
		return nil, malformed(errors.New("expected a JSON object"), "")
	}
	r := &llm.EmbeddingResponse{}
	type item struct {
		index int
		vec   []float32
	}
	var items []item
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return nil, malformed(err, "")
		}
		if !ok {
			break
		}
		switch string(key) {
		case "model":
			r.Model, err = s.optStr()
		case "usage":
			var u *llm.Usage
			if u, err = decodeUsage(s); u != nil {
				r.Usage = llm.Usage{InputTokens: u.InputTokens}
			}
		case "data":
			if s.peek() != '[' {
				return nil, malformed(s.wrong(), "data")
			}
			s.arrStart()
			for i, first := 0, true; ; i, first = i+1, false {
				ok, err := s.nextElem(first)
				if err != nil {
					return nil, malformed(err, "data")
				}
				if !ok {
					break
				}
				it := item{index: i}
				if it.index, it.vec, err = embeddingItem(s, i); err != nil {
					return nil, malformed(err, idx("data", i, ""))
				}
				items = append(items, it)
			}
		case "error":
			raw, err := s.skip()
			if err != nil {
				return nil, malformed(err, "error")
			}
			if string(raw) != "null" {
				return nil, errorEvent(raw)
			}
		default:
			_, err = s.skip()
		}
		if err != nil {
			return nil, malformed(err, string(key))
		}
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].index < items[b].index })
	r.Vectors = make([][]float32, len(items))
	for i, it := range items {
		r.Vectors[i] = it.vec
	}
	return r, nil
}

func embeddingItem(s *scanner, pos int) (int, []float32, error) {
	if s.peek() != '{' {
		return 0, nil, s.wrong()
	}
	index := pos
	var vec []float32
	s.objStart()
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return 0, nil, err
		}
		if !ok {
			return index, vec, nil
		}
		switch string(key) {
		case "index":
			var n int64
			n, err = s.intValue()
			index = int(n)
		case "embedding":
			vec, err = embeddingVector(s)
		default:
			_, err = s.skip()
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

func embeddingVector(s *scanner) ([]float32, error) {
	switch s.peek() {
	case '"':
		v, err := s.rawStringBytes()
		if err != nil {
			return nil, err
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
		n, err := base64.StdEncoding.Decode(raw, v)
		if err != nil || n%4 != 0 {
			return nil, errors.New("embedding: invalid base64 vector")
		}
		vec := make([]float32, n/4)
		for i := range vec {
			vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[i*4:]))
		}
		return vec, nil
	case '[':
	default:
		return nil, s.wrong()
	}
	vec := make([]float32, 0, 256)
	s.arrStart()
	for first := true; ; first = false {
		ok, err := s.nextElem(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			return vec, nil
		}
		if c := s.peek(); c != '-' && (c < '0' || c > '9') {
			return nil, s.wrong()
		}
		num, err := s.number()
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(num), 32)
		if err != nil {
			return nil, errors.New("embedding: number out of range")
		}
		vec = append(vec, float32(f))
	}
}
