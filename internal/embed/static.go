package embed

import (
	"context"
	_ "embed" // the distilled table ships inside the binary
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// staticTable is internal/embed/static.bin, written by
// `go run ./internal/embed/cmd/distill` (see that command for how it is made).
//
//go:embed static.bin
var staticTable []byte

// staticMagic starts a static table file; the last byte is the format version.
const staticMagic = "ARBSTAT\x01"

// StaticTable is the content of a static table file: the vocabulary, a weight
// per piece and a vector per piece.
type StaticTable struct {
	Pieces  []Piece
	Weights []float32   // per piece, used in the weighted mean
	Vectors [][]float32 // per piece, Dim floats; stored as int8 with a scale per row
	Note    string      // provenance, free text
}

// WriteStaticTable encodes t: little-endian, header, vocabulary (text, score,
// weight per piece), then each vector as a float32 scale and Dim int8 values.
func WriteStaticTable(w io.Writer, t StaticTable) error {
	if len(t.Weights) != len(t.Pieces) || len(t.Vectors) != len(t.Pieces) {
		return errors.New("embed: static table: pieces, weights and vectors differ in length")
	}
	var b []byte
	b = append(b, staticMagic...)
	b = binary.LittleEndian.AppendUint32(b, Dim)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Pieces)))
	b = binary.AppendUvarint(b, uint64(len(t.Note)))
	b = append(b, t.Note...)
	for i, p := range t.Pieces {
		b = binary.AppendUvarint(b, uint64(len(p.Text)))
		b = append(b, p.Text...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Score))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(t.Weights[i]))
	}
	for i, v := range t.Vectors {
		if len(v) != Dim {
			return fmt.Errorf("embed: static table: vector %d has %d dims, want %d", i, len(v), Dim)
		}
		// Symmetric per-row quantisation: the largest magnitude maps to 127.
		var mx float32
		for _, x := range v {
			mx = max(mx, float32(math.Abs(float64(x))))
		}
		scale := mx / 127
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scale))
		for _, x := range v {
			q := int8(0)
			if scale > 0 {
				q = int8(max(-127, min(127, math.Round(float64(x/scale)))))
			}
			b = append(b, byte(q))
		}
	}
	_, err := w.Write(b)
	return err
}

// StaticEmbedder embeds a text as the L2-normalised weighted mean of its
// pieces' vectors, from a table distilled from USE. It needs no model files;
// its vectors approximate USE's (see cmd/distill for the measured agreement)
// but are not interchangeable with them. Safe for concurrent use.
type StaticEmbedder struct {
	tok     *Tokenizer
	weights []float32
	rows    []byte // per piece: float32 scale, then Dim int8
	ids     sync.Pool
}

const staticRowBytes = 4 + Dim

// Static parses the table embedded in the binary. Parsing takes a few
// milliseconds (it builds the tokenizer); callers keep the result.
func Static() (*StaticEmbedder, error) {
	return ParseStatic(staticTable)
}

// ParseStatic parses a table written by WriteStaticTable. The vectors are used
// in place: data must not change afterwards.
func ParseStatic(data []byte) (*StaticEmbedder, error) {
	bad := func(what string) error { return fmt.Errorf("embed: static table: %s", what) }
	if len(data) < len(staticMagic)+8 || string(data[:len(staticMagic)]) != staticMagic {
		return nil, bad("not a static table (bad magic)")
	}
	at := len(staticMagic)
	dim := binary.LittleEndian.Uint32(data[at:])
	count := int(binary.LittleEndian.Uint32(data[at+4:]))
	at += 8
	if dim != Dim {
		return nil, bad(fmt.Sprintf("dimension %d, want %d", dim, Dim))
	}
	noteLen, n := binary.Uvarint(data[at:])
	if n <= 0 || uint64(len(data)-at-n) < noteLen {
		return nil, bad("truncated header")
	}
	at += n + int(noteLen)
	if count <= reservedPieces || count > 1<<20 {
		return nil, bad(fmt.Sprintf("implausible vocabulary size %d", count))
	}
	pieces := make([]Piece, count)
	weights := make([]float32, count)
	for i := range pieces {
		l, n := binary.Uvarint(data[at:])
		if n <= 0 || uint64(len(data)-at-n) < l+12 {
			return nil, bad("truncated vocabulary")
		}
		at += n
		pieces[i].Text = string(data[at : at+int(l)])
		at += int(l)
		pieces[i].Score = math.Float64frombits(binary.LittleEndian.Uint64(data[at:]))
		weights[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[at+8:]))
		at += 12
	}
	if len(data)-at != count*staticRowBytes {
		return nil, bad(fmt.Sprintf("%d bytes of vectors, want %d", len(data)-at, count*staticRowBytes))
	}
	tok, err := NewTokenizer(pieces)
	if err != nil {
		return nil, err
	}
	s := &StaticEmbedder{tok: tok, weights: weights, rows: data[at:]}
	s.ids.New = func() any { return new([]int32) }
	return s, nil
}

// Dim is the vector width, 512.
func (s *StaticEmbedder) Dim() int { return Dim }

// Tokenizer returns the tokenizer of the embedded vocabulary (the same pieces
// as the USE model's).
func (s *StaticEmbedder) Tokenizer() *Tokenizer { return s.tok }

// Embed returns one unit vector per text. Only the first MaxTokens pieces
// count; a text with no pieces (empty) embeds as the unknown piece.
func (s *StaticEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	out := make([][]float32, len(texts))
	flat := make([]float32, len(texts)*Dim)
	idsp := s.ids.Get().(*[]int32)
	defer s.ids.Put(idsp)
	for i, text := range texts {
		ids := s.tok.Encode((*idsp)[:0], text)
		*idsp = ids
		if len(ids) > MaxTokens {
			ids = ids[:MaxTokens]
		}
		v := flat[i*Dim : (i+1)*Dim : (i+1)*Dim]
		s.embedIDs(v, ids)
		out[i] = v
	}
	return out, nil
}

// EmbedTokens is Embed for texts already tokenized by s.Tokenizer().
func (s *StaticEmbedder) EmbedTokens(ids [][]int32) [][]float32 {
	out := make([][]float32, len(ids))
	flat := make([]float32, len(ids)*Dim)
	for i, t := range ids {
		if len(t) > MaxTokens {
			t = t[:MaxTokens]
		}
		out[i] = flat[i*Dim : (i+1)*Dim : (i+1)*Dim]
		s.embedIDs(out[i], t)
	}
	return out
}

// embedIDs writes the normalised weighted sum of the pieces' vectors into v
// (the mean's divisor does not change the direction, so it is skipped).
func (s *StaticEmbedder) embedIDs(v []float32, ids []int32) {
	clear(v)
	unk := [1]int32{unknownID}
	if len(ids) == 0 {
		ids = unk[:]
	}
	for _, id := range ids {
		if int(id) >= len(s.weights) {
			continue
		}
		row := s.rows[int(id)*staticRowBytes : (int(id)+1)*staticRowBytes]
		a := s.weights[id] * math.Float32frombits(binary.LittleEndian.Uint32(row))
		axpyInt8(v, a, row[4:4+Dim])
	}
	var ss float32
	for _, x := range v {
		ss += x * x
	}
	if ss > 0 {
		inv := float32(1 / math.Sqrt(float64(ss)))
		for j := range v {
			v[j] *= inv
		}
	}
}
