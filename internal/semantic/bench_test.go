package semantic

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/embed"
)

// The benchmarks. Figures in docs/semantic-cache.md come from:
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/semantic/
//
// Lookup benchmarks with the full model need scripts/fetch-model.sh to have run.

// prompt30 is a prompt of about 30 pieces.
const prompt30 = "Can you explain how the garbage collector in Go decides when to run, and what settings I can change to reduce pause times in a busy web server?"

var useModel = sync.OnceValues(func() (*embed.USE, error) {
	dir := embed.DefaultModelDir()
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil {
		return nil, err
	}
	return embed.LoadUSE(dir)
})

// Templates of generated prompts: questions on everyday topics, and
// summarisation requests (another task, so "nothing near" a technical question).
const (
	questionTemplate  = "What is the best way to get started with %s if I only have %d minutes a day?"
	summariseTemplate = "Summarize this customer review of our %s in one sentence: it arrived %d days late and the box was damaged, but support replaced it."
)

// fillScope stores n generated prompts in one scope of c.
func fillScope(b *testing.B, c *Cache, tenant, template string, n int) cache.Key {
	b.Helper()
	topics := []string{"cooking pasta", "training a puppy", "learning the violin", "fixing a bicycle", "growing tomatoes",
		"saving for retirement", "writing a novel", "running a marathon", "painting a room", "brewing beer"}
	var sc cache.Key
	ctx := context.Background()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf(template, topics[i%len(topics)], i)
	}
	for i, text := range texts {
		s, k := request(b, tenant, "gpt-x", "", text)
		sc = s
		if err := c.Store(ctx, s, text, k, answer(fmt.Sprint("answer ", i)), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	return sc
}

func benchCache(b *testing.B, o Options) *Cache {
	b.Helper()
	m, err := useModel()
	if err != nil {
		b.Skipf("no USE model (run scripts/fetch-model.sh): %v", err)
	}
	o.Embedder, o.Kind = m, embed.KindUSE
	c, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkLookupHitUSE is a lookup of a ~30-token paraphrase of a cached
// prompt, full model embedding included, in a scope of 1000 entries.
func BenchmarkLookupHitUSE(b *testing.B) {
	c := benchCache(b, Options{})
	sc := fillScope(b, c, "acme", questionTemplate, 999)
	_, k := request(b, "acme", "gpt-x", "", prompt30)
	ctx := context.Background()
	if err := c.Store(ctx, sc, prompt30, k, answer("gc"), time.Hour); err != nil {
		b.Fatal(err)
	}
	q := "Could you explain how the Go garbage collector decides when to run, and which settings I can change to reduce pause times in a busy web server?"
	var p percentiles
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Lookup(ctx, sc, q, 0); err != nil {
			b.Fatal(err)
		}
		p.add(time.Since(t0))
	}
	p.report(b)
}

// BenchmarkLookupMissFarUSE is a lookup of a ~30-token question in a scope of
// 1000 summarisation requests: the static first stage answers without the
// full model.
func BenchmarkLookupMissFarUSE(b *testing.B) {
	c := benchCache(b, Options{})
	sc := fillScope(b, c, "acme", summariseTemplate, 1000)
	ctx := context.Background()
	var p percentiles
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		d, err := c.Explain(ctx, sc, prompt30, 0)
		if err != nil || d.Hit != nil {
			b.Fatal(err, d)
		}
		p.add(time.Since(t0))
	}
	b.StopTimer()
	p.report(b)
	if d, _ := c.Explain(ctx, sc, prompt30, 0); d.Stage != StageStatic {
		b.Fatalf("miss decided at stage %s, not by the first stage", d.Stage)
	}
}

// BenchmarkLookupMissNearUSE is a miss among 1000 questions on other topics:
// same genre, so the static first stage lets it through and it pays the model.
func BenchmarkLookupMissNearUSE(b *testing.B) {
	c := benchCache(b, Options{})
	sc := fillScope(b, c, "acme", questionTemplate, 1000)
	ctx := context.Background()
	var p percentiles
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Lookup(ctx, sc, prompt30, 0); err != nil {
			b.Fatal(err)
		}
		p.add(time.Since(t0))
	}
	p.report(b)
}

// percentiles collects per-lookup durations: the targets are medians, and ns/op is
// a mean that one descheduled lookup on a shared machine can drag up.
type percentiles []time.Duration

func (p *percentiles) add(d time.Duration) { *p = append(*p, d) }

func (p percentiles) report(b *testing.B) {
	if len(p) == 0 {
		return
	}
	slices.Sort(p)
	b.ReportMetric(float64(p[len(p)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(p[len(p)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkEmbedUSE30 is the full model alone on the ~30-token prompt.
func BenchmarkEmbedUSE30(b *testing.B) {
	m, err := useModel()
	if err != nil {
		b.Skipf("no USE model: %v", err)
	}
	ctx := context.Background()
	b.Logf("%d pieces", len(m.Tokenizer().Encode(nil, prompt30)))
	for b.Loop() {
		if _, err := m.Embed(ctx, []string{prompt30}); err != nil {
			b.Fatal(err)
		}
	}
}

// hashEmbedder maps a text to a pseudo-random unit vector (for memory and
// index benchmarks that must not pay for a model).
type hashEmbedder struct{}

func (hashEmbedder) Dim() int { return embed.Dim }
func (hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		h := fnv.New64a()
		h.Write([]byte(t))
		r := rand.New(rand.NewPCG(h.Sum64(), 1))
		v := make([]float32, embed.Dim)
		var ss float64
		for j := range v {
			x := r.NormFloat64()
			v[j] = float32(x)
			ss += x * x
		}
		inv := float32(1 / math.Sqrt(ss))
		for j := range v {
			v[j] *= inv
		}
		out[i] = v
	}
	return out, nil
}

// BenchmarkIndexBytesPerEntry measures the heap one entry costs in the index
// as configured with the full model (float32 vector, int8 static vector), with
// a short answer, in small scopes (exact search) and in one large scope (HNSW).
func BenchmarkIndexBytesPerEntry(b *testing.B) {
	for _, tc := range []struct {
		name   string
		scopes int
	}{{"small-scopes", 5000}, {"one-hnsw-scope", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 20000
			var perEntry, charged float64
			for b.Loop() {
				c, err := New(Options{Embedder: hashEmbedder{}, Kind: embed.KindUSE, Static: hashEmbedder{}, MaxBytes: 1 << 40, HNSWAbove: 2048})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := 0; i < n; i++ {
					text := fmt.Sprintf("How do I configure feature %d of the product for a team of %d people?", i, i%50)
					sc, k := request(b, fmt.Sprint("tenant-", i%tc.scopes), "gpt-x", "", text)
					if err := c.Store(ctx, sc, text, k, answer("Open settings, then choose the feature and set it."), time.Hour); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
				charged = float64(c.Stats().Bytes) / n
				runtime.KeepAlive(c)
			}
			b.ReportMetric(perEntry, "heap-bytes/entry")
			b.ReportMetric(charged, "charged-bytes/entry")
		})
	}
}

// BenchmarkNearestHNSW is the vector search alone in one scope of 50k entries.
func BenchmarkNearestHNSW(b *testing.B) {
	c, err := New(Options{Embedder: hashEmbedder{}, Kind: embed.KindStatic, MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var sc cache.Key
	for i := 0; i < 50000; i++ {
		text := fmt.Sprint("entry ", i)
		s, k := request(b, "acme", "gpt-x", "", text)
		sc = s
		if err := c.Store(ctx, s, text, k, answer("a"), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	q, _ := hashEmbedder{}.Embed(ctx, []string{"query"})
	now := time.Now()
	b.ResetTimer()
	for b.Loop() {
		c.nearest(sc, q[0], now)
	}
}

// BenchmarkVerifierJudge is the verifier on one candidate as a lookup runs it
// (analysis of the cached text, guards, features, word model, pair network,
// trees), without embedding; a lookup runs it on up to 4 candidates.
func BenchmarkVerifierJudge(b *testing.B) {
	v, err := DefaultVerifier(embed.KindUSE)
	if err != nil {
		b.Fatal(err)
	}
	vs, _ := hashEmbedder{}.Embed(context.Background(), []string{"a", "b"})
	cached := "Can you explain how the Go garbage collector decides when to run, and which settings reduce pause times in a busy web server?"
	q := analyze(prompt30)
	for b.Loop() {
		v.judge(analyze(cached), q, vs[0], vs[1], 0.9, 0.9, 0)
	}
}

// BenchmarkPairNet is the pair network alone on one candidate.
func BenchmarkPairNet(b *testing.B) {
	v, err := DefaultVerifier(embed.KindUSE)
	if err != nil {
		b.Fatal(err)
	}
	vs, _ := hashEmbedder{}.Embed(context.Background(), []string{"a", "b"})
	for b.Loop() {
		v.m.Net.score(vs[0], vs[1])
	}
}
