package embed

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// goldenCase is one sentence of testdata/use_golden.json: the ids and vector
// TF.js computed (see testdata/tfjs/gen.sh).
type goldenCase struct {
	Text   string    `json:"text"`
	IDs    []int32   `json:"ids"`
	Vector []float32 `json:"-"`
	Raw    string    `json:"vector_f32le"`
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "use_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []goldenCase }
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for i := range g.Cases {
		b, err := base64.StdEncoding.DecodeString(g.Cases[i].Raw)
		if err != nil || len(b) != 4*Dim {
			t.Fatalf("case %d: bad vector (%d bytes, %v)", i, len(b), err)
		}
		v := make([]float32, Dim)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		g.Cases[i].Vector = v
	}
	return g.Cases
}

// modelDir returns the fetched model directory, skipping only when the model is
// absent and ARBITER_TEST_NO_MODEL=1 says that is expected.
func modelDir(t testing.TB) string {
	t.Helper()
	dir := DefaultModelDir()
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil {
		if os.Getenv("ARBITER_TEST_NO_MODEL") == "1" {
			t.Skipf("USE model absent from %s and ARBITER_TEST_NO_MODEL=1", dir)
		}
		t.Fatalf("USE model absent from %s: run scripts/fetch-model.sh (or set ARBITER_TEST_NO_MODEL=1 to skip): %v", dir, err)
	}
	return dir
}

func loadUSE(t testing.TB) *USE {
	t.Helper()
	m, err := LoadUSE(modelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func TestUSEMatchesTFJSOnGoldenSentences(t *testing.T) {
	m := loadUSE(t)
	cases := loadGolden(t)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	// One text per call, and all in one batch: both paths must agree with TF.js.
	batch, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	worst := 1.0
	for i, c := range cases {
		one, err := m.Embed(context.Background(), []string{c.Text})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range [][]float32{one[0], batch[i]} {
			cos := cosine(got, c.Vector)
			worst = min(worst, cos)
			if cos < 0.9999 {
				t.Errorf("%.40q: cosine to TF.js %.6f, want ≥ 0.9999", c.Text, cos)
			}
		}
	}
	t.Logf("worst cosine to TF.js over %d sentences: %.9f (1-cos = %.1e)", len(cases), worst, 1-worst)
}

func TestTokenizerMatchesReferenceIDs(t *testing.T) {
	m := loadUSE(t)
	for _, c := range loadGolden(t) {
		if got := m.Tokenizer().Encode(nil, c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("%.40q:\n got %v\nwant %v", c.Text, got, c.IDs)
		}
	}
}

func TestUSEVectorsAreUnitLength(t *testing.T) {
	m := loadUSE(t)
	vs, err := m.Embed(context.Background(), []string{"hello", "", strings.Repeat("long text ", 300)})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if len(v) != m.Dim() {
			t.Fatalf("vector %d has %d dims, want %d", i, len(v), m.Dim())
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

func TestUSEIgnoresTokensBeyondMaxTokens(t *testing.T) {
	m := loadUSE(t)
	base := strings.Repeat("word ", MaxTokens)
	vs, err := m.Embed(context.Background(), []string{base, base + "completely different tail about quantum chemistry"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vs[0], vs[1]) {
		t.Error("text past MaxTokens pieces changed the vector")
	}
}

func TestUSEBatchesLargerThanOneChunk(t *testing.T) {
	m := loadUSE(t)
	// Enough texts to span several chunks; each must equal its single-text vector.
	var texts []string
	for i := 0; i < 40; i++ {
		texts = append(texts, strings.Repeat("the cache must not lie ", 1+i%7)+string(rune('a'+i%26)))
	}
	batch, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := m.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if cos := cosine(one[0], batch[i]); cos < 0.999999 {
			t.Errorf("text %d: batch vs single cosine %.7f", i, cos)
		}
	}
}

func TestUSEIsSafeForConcurrentUse(t *testing.T) {
	m := loadUSE(t)
	texts := []string{"What is the capital of France?", "How do I turn off dark mode?", "x", ""}
	want, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 5; r++ {
				got, err := m.Embed(context.Background(), texts[(g+r)%len(texts):])
				if err != nil {
					errs <- err
					return
				}
				for i, v := range got {
					if !slices.Equal(v, want[(g+r)%len(texts)+i]) {
						errs <- errors.New("concurrent result differs from sequential")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestUSEEmbedHonoursCancelledContext(t *testing.T) {
	m := loadUSE(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Embed(ctx, []string{"hello"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestLoadUSEReportsMissingModel(t *testing.T) {
	_, err := LoadUSE(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "fetch-model.sh") {
		t.Fatalf("got %v, want an error naming scripts/fetch-model.sh", err)
	}
}

// sentence30 tokenizes to 30 pieces.
const sentence30 = "Natalia sold clips to 48 of her friends in April, then she sold half as many in May; how many altogether?"

func BenchmarkEmbed30Tokens(b *testing.B) {
	m := loadUSE(b)
	if n := len(m.Tokenizer().Encode(nil, sentence30)); n != 30 {
		b.Fatalf("benchmark sentence has %d tokens, want 30", n)
	}
	ctx := context.Background()
	texts := []string{sentence30}
	b.ReportAllocs()
	defer reportCPUPerOp(b)()
	for b.Loop() {
		if _, err := m.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbed30TokensUnderLoad embeds single texts from as many goroutines as
// there are processors, with the products shared among cores (as shipped) and
// computed alone: sharing is for latency when cores are free, and this shows
// what it costs in throughput when none are.
func BenchmarkEmbed30TokensUnderLoad(b *testing.B) {
	m := loadUSE(b)
	for _, c := range []struct {
		name    string
		intraOp int
	}{{"shared", m.intraOp}, {"alone", 1}} {
		b.Run(c.name, func(b *testing.B) {
			saved := m.intraOp
			m.intraOp = c.intraOp
			defer func() { m.intraOp = saved }()
			if p := os.Getenv("ARBITER_BENCH_PARALLELISM"); p != "" {
				n, _ := strconv.Atoi(p)
				b.SetParallelism(max(n, 1))
			}
			b.RunParallel(func(pb *testing.PB) {
				texts := []string{sentence30}
				for pb.Next() {
					if _, err := m.Embed(context.Background(), texts); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkLoadUSE is the start-up cost: reading and packing 28 MB of weights.
func BenchmarkLoadUSE(b *testing.B) {
	dir := modelDir(b)
	defer reportCPUPerOp(b)()
	for b.Loop() {
		if _, err := LoadUSE(dir); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStaticParse(b *testing.B) {
	defer reportCPUPerOp(b)()
	for b.Loop() {
		if _, err := Static(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedBatch64 is throughput: 64 short questions per call, so each
// weight panel is reused across many rows (ns/op is per call of 64 texts).
func BenchmarkEmbedBatch64(b *testing.B) {
	m := loadUSE(b)
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = fmt.Sprintf("How do I reset the password of account number %d on my phone?", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPUPerOp(b)()
	for b.Loop() {
		if _, err := m.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
}

// EmbedStates must return the same sentence vectors as Embed, and per text one
// row per piece (capped at MaxTokens) of the rows the vector was pooled from.
func TestUSEEmbedStatesMatchEmbed(t *testing.T) {
	m := loadUSE(t)
	texts := []string{"How do I turn off dark mode?", strings.Repeat("long prompt ", 200), ""}
	want, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	vecs, states, err := m.EmbedStates(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		if !slices.Equal(vecs[i], want[i]) {
			t.Errorf("text %d: EmbedStates vector differs from Embed's", i)
		}
		pieces := min(len(m.Tokenizer().Encode(nil, text)), MaxTokens)
		if len(states[i]) != pieces*Dim {
			t.Errorf("text %d: %d state floats, want %d pieces × %d", i, len(states[i]), pieces, Dim)
		}
	}
	if len(states[0]) > 0 && slices.Equal(states[0][:Dim], states[0][len(states[0])-Dim:]) {
		t.Error("first and last piece have identical states: rows are not per piece")
	}
}
