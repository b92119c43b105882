package embed

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustStatic(t testing.TB) *StaticEmbedder {
	t.Helper()
	s, err := Static()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStaticEmbedderNeedsNoModelFiles(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("ARBITER_MODEL_DIR", "")
	s := mustStatic(t)
	vs, err := s.Embed(context.Background(), []string{"What is the capital of France?", "", "東京"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if len(v) != s.Dim() {
			t.Fatalf("vector %d has %d dims", i, len(v))
		}
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Errorf("vector %d has squared norm %v, want 1", i, ss)
		}
	}
}

func TestEmbeddedVocabularyTokenizesLikeReference(t *testing.T) {
	tok := mustStatic(t).Tokenizer()
	for _, c := range loadGolden(t) {
		if got := tok.Encode(nil, c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("%.40q:\n got %v\nwant %v", c.Text, got, c.IDs)
		}
	}
}

func TestStaticRanksParaphraseAboveUnrelatedQuestion(t *testing.T) {
	s := mustStatic(t)
	cases := []struct{ query, paraphrase, unrelated string }{
		{"What is the capital of France?", "what's the capital city of france", "How do I turn on dark mode?"},
		{"How can I lose weight quickly?", "What is the fastest way to lose weight?", "Which programming language should I learn first?"},
		{"Summarize this article in three bullet points.", "Give me a three-bullet summary of this article.", "Translate this sentence into German."},
	}
	for _, c := range cases {
		vs, err := s.Embed(context.Background(), []string{c.query, c.paraphrase, c.unrelated})
		if err != nil {
			t.Fatal(err)
		}
		near, far := cosine(vs[0], vs[1]), cosine(vs[0], vs[2])
		if near <= far {
			t.Errorf("%q: paraphrase cosine %.3f not above unrelated %.3f", c.query, near, far)
		}
	}
}

func TestStaticAgreesWithUSEOnOrdinarySentences(t *testing.T) {
	m := loadUSE(t)
	s := mustStatic(t)
	texts := []string{
		"What is the capital of France?",
		"How do I turn off dark mode?",
		"Write a haiku about the sea in autumn.",
		"Explain the difference between a process and a thread.",
		"How many calories are in a banana?",
		"Translate 'good morning' into Spanish.",
		"Why is the sky blue during the day?",
		"Give me three ideas for a birthday party for a six year old.",
		"What are the side effects of ibuprofen?",
		"Recommend a good book about the history of Rome.",
		"A man is playing a guitar on stage.",
		"The quick brown fox jumps over the lazy dog.",
	}
	u, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var mean float64
	for i := range texts {
		mean += cosine(u[i], st[i])
	}
	mean /= float64(len(texts))
	// The distiller measured 0.83 on held-out sentences; a table that lost its
	// fit (prior alone: 0.27) or a format slip falls far below this floor.
	if mean < 0.7 {
		t.Errorf("mean cosine(static, USE) %.3f, want ≥ 0.7", mean)
	}
	t.Logf("mean cosine(static, USE) over %d sentences: %.4f", len(texts), mean)
}

func TestStaticTableRoundTripsThroughWriteAndParse(t *testing.T) {
	pieces := []Piece{{"<unk>", 0}, {"<s>", 0}, {"</s>", 0}, {"x1", 0}, {"x2", 0}, {"x3", 0}, {"▁a", -1}, {"▁b", -2}, {"a", -9}, {"b", -9}}
	vecs := make([][]float32, len(pieces))
	weights := make([]float32, len(pieces))
	for i := range vecs {
		vecs[i] = make([]float32, Dim)
		for j := range vecs[i] {
			vecs[i][j] = float32(math.Sin(float64(i*Dim + j)))
		}
		weights[i] = float32(i) / 10
	}
	var buf bytes.Buffer
	if err := WriteStaticTable(&buf, StaticTable{Pieces: pieces, Weights: weights, Vectors: vecs, Note: "test"}); err != nil {
		t.Fatal(err)
	}
	s, err := ParseStatic(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Tokenizer().Encode(nil, "a b"); !slices.Equal(got, []int32{6, 7}) {
		t.Fatalf("tokenized %v, want [6 7]", got)
	}
	// A one-piece text is that piece's vector, normalised, up to int8 rounding.
	got := s.EmbedTokens([][]int32{{7}})[0]
	if c := cosine(got, vecs[7]); c < 0.9999 {
		t.Errorf("round-tripped vector cosine %.6f, want ≥ 0.9999", c)
	}

	for name, data := range map[string][]byte{
		"bad magic": append([]byte("NOTSTAT!"), buf.Bytes()[8:]...),
		"truncated": buf.Bytes()[:buf.Len()-1],
		"empty":     nil,
	} {
		if _, err := ParseStatic(data); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestDefaultFallsBackToStaticWithoutModel(t *testing.T) {
	for _, dir := range []string{"", t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		e, kind, err := Default(dir)
		if err != nil {
			t.Fatalf("Default(%q): %v", dir, err)
		}
		if _, ok := e.(*StaticEmbedder); !ok || kind != KindStatic {
			t.Errorf("Default(%q) = %T, %q; want the static embedder", dir, e, kind)
		}
	}
}

func TestDefaultReturnsUSEWhenModelPresent(t *testing.T) {
	e, kind, err := Default(modelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*USE); !ok || kind != KindUSE {
		t.Errorf("got %T, %q; want the USE model", e, kind)
	}
}

func TestDefaultReportsBrokenModelRatherThanFallingBack(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Default(dir); err == nil || !strings.Contains(err.Error(), "model.json") {
		t.Fatalf("got %v, want an error about model.json", err)
	}
}

func BenchmarkStaticEmbed30Tokens(b *testing.B) {
	s := mustStatic(b)
	if n := len(s.Tokenizer().Encode(nil, sentence30)); n != 30 {
		b.Fatalf("benchmark sentence has %d tokens, want 30", n)
	}
	ctx := context.Background()
	texts := []string{sentence30}
	b.ReportAllocs()
	defer reportCPUPerOp(b)()
	for b.Loop() {
		if _, err := s.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenize30Tokens(b *testing.B) {
	tok := mustStatic(b).Tokenizer()
	var dst []int32
	b.ReportAllocs()
	defer reportCPUPerOp(b)()
	for b.Loop() {
		dst = tok.Encode(dst[:0], sentence30)
	}
}
