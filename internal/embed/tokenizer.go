package embed

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Piece is one SentencePiece vocabulary entry: its text ("▁" marks a word start)
// and its unigram log-probability.
type Piece struct {
	Text  string
	Score float64
}

// reservedPieces are the control pieces (<unk>, <s>, </s>, extra ids) at the
// start of the vocabulary; they never match text. Id 0 is <unk>.
const reservedPieces = 6

// unknownID is what text no piece covers maps to; runs of it are merged into one.
const unknownID = 0

const wordStart = "▁"

// Tokenizer is the SentencePiece unigram tokenizer of USE lite, matching the
// reference TF.js tokenizer id for id: NFKC, a leading "▁" and every ASCII space
// as "▁", then the Viterbi segmentation maximising the sum of piece scores over a
// trie of the pieces. Safe for concurrent use.
type Tokenizer struct {
	pieces  []Piece
	byteLen []int32 // len(pieces[id].Text), for backtracking

	// A byte trie: root children in a direct table, other nodes' children as
	// sorted ranges of edges.
	root  [256]int32 // child node of the root per byte, 0 = none
	nodes []trieNode
	edges []trieEdge

	scratch sync.Pool // *tokScratch
}

type trieNode struct {
	lo, hi int32 // edges[lo:hi], sorted by byte
	id     int32 // piece ending here, -1 if none
	score  float64
}

type trieEdge struct {
	b  byte
	to int32
}

type tokScratch struct {
	buf   []byte
	best  []float64
	words []int32
	rev   []int32
}

// NewTokenizer builds a tokenizer over the vocabulary, in id order.
func NewTokenizer(pieces []Piece) (*Tokenizer, error) {
	if len(pieces) <= reservedPieces {
		return nil, fmt.Errorf("embed: vocabulary has %d pieces, want more than %d", len(pieces), reservedPieces)
	}
	t := &Tokenizer{pieces: pieces, byteLen: make([]int32, len(pieces))}
	for i, p := range pieces {
		t.byteLen[i] = int32(len(p.Text))
	}
	t.byteLen[unknownID] = 0 // an unknown covers one rune, measured when backtracking

	// Insert the pieces in byte order, so every node's children arrive sorted and
	// a new child is always the last one; then flatten for the hot loop.
	order := make([]int, 0, len(pieces)-reservedPieces)
	for id := reservedPieces; id < len(pieces); id++ {
		if pieces[id].Text != "" {
			order = append(order, id)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := strings.Compare(pieces[a].Text, pieces[b].Text); c != 0 {
			return c
		}
		return a - b
	})
	type buildNode struct {
		kids  []trieEdge
		id    int32
		score float64
	}
	bn := []buildNode{{id: -1}}
	for _, id := range order {
		text := pieces[id].Text
		n := int32(0)
		for i := 0; i < len(text); i++ {
			k := bn[n].kids
			if len(k) > 0 && k[len(k)-1].b == text[i] {
				n = k[len(k)-1].to
				continue
			}
			bn = append(bn, buildNode{id: -1})
			c := int32(len(bn) - 1)
			bn[n].kids = append(bn[n].kids, trieEdge{b: text[i], to: c})
			n = c
		}
		// A duplicated piece keeps its last id (ties sort by id), as the
		// reference trie does.
		bn[n].id, bn[n].score = int32(id), pieces[id].Score
	}
	t.nodes = make([]trieNode, len(bn))
	for i, b := range bn {
		lo := int32(len(t.edges))
		t.edges = append(t.edges, b.kids...)
		t.nodes[i] = trieNode{lo: lo, hi: int32(len(t.edges)), id: b.id, score: b.score}
	}
	for _, e := range t.edges[t.nodes[0].lo:t.nodes[0].hi] {
		t.root[e.b] = e.to
	}
	t.scratch.New = func() any { return new(tokScratch) }
	return t, nil
}

// ParseVocabJSON reads vocab.json: [["piece", score], ...] in id order. A null
// score counts as 0, as it does in the reference JavaScript.
func ParseVocabJSON(data []byte) ([]Piece, error) {
	var raw [][2]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("embed: parsing vocab.json: %w", err)
	}
	out := make([]Piece, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r[0], &out[i].Text); err != nil {
			return nil, fmt.Errorf("embed: vocab.json entry %d: piece: %w", i, err)
		}
		var s *float64
		if err := json.Unmarshal(r[1], &s); err != nil {
			return nil, fmt.Errorf("embed: vocab.json entry %d: score: %w", i, err)
		}
		if s != nil {
			out[i].Score = *s
		}
	}
	return out, nil
}

// Len is the vocabulary size.
func (t *Tokenizer) Len() int { return len(t.pieces) }

// Piece returns the vocabulary entry of id.
func (t *Tokenizer) Piece(id int32) Piece { return t.pieces[id] }

// child follows byte c from node n; 0 means no edge (the root is never a child).
func (t *Tokenizer) child(n int32, c byte) int32 {
	if n == 0 {
		return t.root[c]
	}
	nd := &t.nodes[n]
	lo, hi := nd.lo, nd.hi
	for lo < hi { // binary search: most nodes have few edges, this is still cheap
		mid := (lo + hi) >> 1
		if t.edges[mid].b < c {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < nd.hi && t.edges[lo].b == c {
		return t.edges[lo].to
	}
	return 0
}

// Encode appends the piece ids of text to dst and returns it. It does not cap
// the count; embedders use the first MaxTokens.
func (t *Tokenizer) Encode(dst []int32, text string) []int32 {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	text = norm.NFKC.String(text)
	if text == "" {
		return dst
	}
	s := t.scratch.Get().(*tokScratch)
	defer t.scratch.Put(s)

	buf := append(s.buf[:0], wordStart...)
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' {
			buf = append(buf, wordStart...)
		} else {
			buf = append(buf, text[i])
		}
	}
	s.buf = buf
	n := len(buf)
	best, words := grow(s.best, n+1), grow(s.words, n+1)
	clear(best)
	clear(words)
	s.best, s.words = best, words

	// Forward Viterbi over rune starts in increasing order. For a given end the
	// candidates arrive in increasing start order, and ">=" lets the later one win
	// a tie; best == 0 means "not reached yet". Both mirror the reference exactly.
	for i := 0; i < n; {
		_, rl := utf8.DecodeRune(buf[i:])
		matched := false
		node := int32(0)
		for j := i; j < n; j++ {
			node = t.child(node, buf[j])
			if node == 0 {
				break
			}
			if nd := &t.nodes[node]; nd.id >= 0 {
				matched = true
				e := j + 1
				if sc := nd.score + best[i]; best[e] == 0 || sc >= best[e] {
					best[e], words[e] = sc, nd.id
				}
			}
		}
		if !matched {
			// No piece starts here: one rune of <unk> with score 0.
			e := i + rl
			if sc := best[i]; best[e] == 0 || sc >= best[e] {
				best[e], words[e] = sc, unknownID
			}
		}
		i += rl
	}

	rev := s.rev[:0]
	for at := n; at > 0; {
		id := words[at]
		rev = append(rev, id)
		if l := t.byteLen[id]; l > 0 {
			at -= int(l)
		} else {
			_, rl := utf8.DecodeLastRune(buf[:at])
			at -= rl
		}
	}
	s.rev = rev
	prevUnk := false
	for k := len(rev) - 1; k >= 0; k-- {
		id := rev[k]
		if !(prevUnk && id == unknownID) {
			dst = append(dst, id)
		}
		prevUnk = id == unknownID
	}
	return dst
}

// grow returns s resized to n, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/2)
}
