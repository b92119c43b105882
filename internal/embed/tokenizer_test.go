package embed

import (
	"slices"
	"testing"
)

// toyTokenizer has the reserved pieces, then a few with chosen scores, and every
// letter used on its own (like the real vocabulary) so that every position can
// be reached. (Where one cannot, the reference lets an <unk> scoring 0 win, and
// so does Encode; the real vocabulary never triggers that.)
func toyTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	pieces := []Piece{{"<unk>", 0}, {"<s>", 0}, {"</s>", 0}, {"e1", 0}, {"e2", 0}, {"e3", 0},
		{"▁", -5},                       // 6
		{"▁a", -1},                      // 7
		{"b", -1},                       // 8
		{"▁ab", -2},                     // 9: ties with ▁a + b
		{"fi", -1},                      // 10
		{"▁fi", -1},                     // 11
		{"▁abc", -9},                    // 12: loses to ▁a + b + <unk>, since <unk> scores 0
		{"a", -9}, {"f", -9}, {"i", -9}, // 13, 14, 15
	}
	tok, err := NewTokenizer(pieces)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenizerSegmentation(t *testing.T) {
	tok := toyTokenizer(t)
	for _, c := range []struct {
		name, text string
		want       []int32
	}{
		{"empty text has no pieces", "", nil},
		{"a tie goes to the later split, as in the reference", "ab", []int32{7, 8}},
		{"an unknown scores 0 and can beat a covering piece, as in the reference", "abc", []int32{7, 8, 0}},
		{"each space is a word start", "a  a", []int32{7, 6, 7}},
		{"a run of unknown characters is one unknown", "a\t\tzz", []int32{7, 0}},
		{"NFKC folds ligatures", "ﬁ", []int32{11}},
		{"invalid UTF-8 is an unknown, not a panic", "a\xff", []int32{7, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := tok.Encode(nil, c.text); !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestTokenizerAppendsToDst(t *testing.T) {
	tok := toyTokenizer(t)
	got := tok.Encode([]int32{42}, "a")
	if !slices.Equal(got, []int32{42, 7}) {
		t.Fatalf("got %v, want [42 7]", got)
	}
}

func TestParseVocabJSONTreatsNullScoreAsZero(t *testing.T) {
	p, err := ParseVocabJSON([]byte(`[["a", -1.5], [":", null]]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Piece{{"a", -1.5}, {":", 0}}; !slices.Equal(p, want) {
		t.Fatalf("got %v, want %v", p, want)
	}
}
