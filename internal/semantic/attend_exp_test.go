//go:build exp

package semantic

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arbiterhq/arbiter/internal/embed"
)

// TestExpAttend trains the attention model alone on the training part of
// pairs-dev.jsonl and reports, on the held-out part, the best QQP recall at
// precision ≥ 0.90 (recall over every duplicate, the guards' refusals included).
// go test -tags exp -run ExpAttend -v -timeout 2h ./internal/semantic/
func TestExpAttend(t *testing.T) {
	pairs, err := ReadPairsFile("../../../shared/data/cache/pairs-dev.jsonl")
	if err != nil {
		t.Skip(err)
	}
	st, err := embed.Static()
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultTrainOptions()
	held, _ := splitPairs(pairs, o)
	an := make([]*analysis, 2*len(pairs))
	for i, p := range pairs {
		an[2*i], an[2*i+1] = analyze(p.A), analyze(p.B)
	}
	cand := make([]bool, len(pairs))
	for i := range pairs {
		a, b := an[2*i], an[2*i+1]
		exact := a.norm == b.norm && sameMultiset(a.numbers, b.numbers)
		cand[i] = !exact && guard(a, b) == GuardNone
	}
	d := envInt("ATTEND_D", 64)
	hp := attendParams{Hidden: envInt("ATTEND_H", 48), Epochs: envInt("ATTEND_EPOCHS", 6), Batch: 64, LR: float64(envInt("ATTEND_LR4", 10)) * 1e-4, L2: float64(envInt("ATTEND_L2E6", 10)) * 1e-6, Seed: 1}
	// Principal directions of the training part's words.
	seen := map[string]bool{}
	var words []string
	for i := range pairs {
		if held[i] {
			continue
		}
		for _, x := range [2]*analysis{an[2*i], an[2*i+1]} {
			for _, w := range x.words {
				if !seen[w] {
					seen[w] = true
					words = append(words, w)
				}
			}
		}
	}
	vs, err := st.Embed(context.Background(), words)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	proj := principalDirections(vs, d, 1)
	t.Logf("%d words, principal directions in %v", len(words), time.Since(t0))
	wv := &wordVectors{static: st, proj: proj, d: d}
	seqs := make([]wordSeq, len(an))
	if os.Getenv("ATTEND_SRC") == "use" {
		seqs = useStateSeqs(t, pairs, held, d)
	} else {
		for i, x := range an {
			seqs[i] = wv.seq(x)
		}
	}
	texts := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		texts = append(texts, p.A, p.B)
	}
	vs2, err := st.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var ta, tb []wordSeq
	var ty []bool
	for i, p := range pairs {
		if !held[i] && (cand[i] || os.Getenv("ATTEND_ALL") != "") {
			ta, tb, ty = append(ta, seqs[2*i]), append(tb, seqs[2*i+1]), append(ty, p.Duplicate)
		}
	}
	sc := make([]float64, len(pairs))
	for i := range pairs {
		sc[i] = float64(cosine32(vs2[2*i], vs2[2*i+1]))
	}
	t.Logf("static cosine: held-out qqp %s", bestRecallAt(pairs, held, cand, sc, "qqp", 0.90))
	t.Logf("training on %d candidate pairs, D=%d H=%d epochs=%d", len(ty), d, hp.Hidden, hp.Epochs)
	for ep := 1; ep <= hp.Epochs; ep++ {
		p := hp
		p.Epochs = ep
		if ep < hp.Epochs && ep%2 == 1 {
			continue
		}
		t0 = time.Now()
		m := trainAttend(ta, tb, ty, d, p)
		el := time.Since(t0)
		score := make([]float64, len(pairs))
		for i := range pairs {
			if cand[i] {
				score[i] = m.score(seqs[2*i], seqs[2*i+1])
			}
		}
		t.Logf("epochs %d (%v): held-out qqp %s", ep, el, bestRecallAt(pairs, held, cand, score, "qqp", 0.90))
		t.Logf("   train qqp %s", bestRecallAt(pairs, func() []bool {
			h := slices.Clone(held)
			for i := range h {
				h[i] = !h[i]
			}
			return h
		}(), cand, score, "qqp", 0.90))
	}
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil {
		return v
	}
	return def
}

// bestRecallAt is the best recall at precision ≥ p over thresholds on score,
// among pairs in part from source, hits only among candidates, plus the AUC
// among candidates.
func bestRecallAt(pairs []Pair, part, cand []bool, score []float64, source string, p float64) string {
	type ex struct {
		s   float64
		dup bool
	}
	var xs []ex
	dups := 0
	for i, pr := range pairs {
		if !part[i] || pr.Source != source {
			continue
		}
		if pr.Duplicate {
			dups++
		}
		if cand[i] {
			xs = append(xs, ex{score[i], pr.Duplicate})
		}
	}
	slices.SortFunc(xs, func(a, b ex) int {
		if a.s > b.s {
			return -1
		}
		if a.s < b.s {
			return 1
		}
		return 0
	})
	tp, fp, best := 0, 0, 0.0
	r85, r40p := 0.0, 0.0
	for _, x := range xs {
		if x.dup {
			tp++
		} else {
			fp++
		}
		prec := float64(tp) / float64(tp+fp)
		rec := float64(tp) / float64(dups)
		if prec >= p && tp+fp >= 20 {
			best = max(best, rec)
		}
		if prec >= 0.85 && tp+fp >= 20 {
			r85 = max(r85, rec)
		}
		if rec <= 0.40 {
			r40p = prec
		}
	}
	// AUC among candidates.
	pos, neg, conc := 0, 0, 0.0
	for _, x := range xs {
		if x.dup {
			pos++
		} else {
			neg++
			conc += float64(pos)
		}
	}
	auc := conc / float64(max(1, pos*neg))
	return fmt.Sprintf("R@P≥%.2f %.3f, R@P≥0.85 %.3f, P@R0.40 %.3f, AUC(cand) %.3f, %d pairs %d dups", p, best, r85, r40p, auc, len(xs), dups)
}

// useStateSeqs embeds every text with USE lite and returns its per-piece
// outputs projected onto d principal directions (fitted on training texts).
func useStateSeqs(t *testing.T, pairs []Pair, held []bool, d int) []wordSeq {
	m, err := embed.LoadUSE(embed.DefaultModelDir())
	if err != nil {
		t.Skip(err)
	}
	tok := m.Tokenizer()
	texts, index := distinctTexts(pairs)
	train := map[int]bool{}
	for i := range pairs {
		if !held[i] {
			train[index[2*i]], train[index[2*i+1]] = true, true
		}
	}
	var first []string
	for k, tx := range texts {
		if train[k] && len(first) < 4096 {
			first = append(first, tx)
		}
	}
	_, sts, err := m.EmbedStates(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float32
	for _, s := range sts {
		for r := 0; r+embed.Dim <= len(s); r += embed.Dim {
			rows = append(rows, s[r:r+embed.Dim])
		}
	}
	t0 := time.Now()
	proj := principalDirections(rows, d, 1)
	// Scale so the projected coordinates have about unit spread.
	var ss float64
	for _, r := range rows[:min(len(rows), 20000)] {
		for k := 0; k < d; k++ {
			v := dot(proj[k*embed.Dim:(k+1)*embed.Dim], r)
			ss += float64(v * v)
		}
	}
	scale := float32(1 / math.Sqrt(ss/float64(min(len(rows), 20000)*d)))
	t.Logf("%d piece rows, principal directions in %v, scale %.3f", len(rows), time.Since(t0), scale)
	out := make([]wordSeq, len(texts))
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(runtime.GOMAXPROCS(0))
	t0 = time.Now()
	for at := 0; at < len(texts); at += 128 {
		end := min(at+128, len(texts))
		g.Go(func() error {
			_, sts, err := m.EmbedStates(ctx, texts[at:end])
			if err != nil {
				return err
			}
			for j, s := range sts {
				n := len(s) / embed.Dim
				ids := tok.Encode(nil, texts[at+j])
				ws := wordSeq{X: make([]float32, n*d), Rarity: make([]float32, n)}
				for r := 0; r < n; r++ {
					row := s[r*embed.Dim : (r+1)*embed.Dim]
					for k := 0; k < d; k++ {
						ws.X[r*d+k] = scale * dot(proj[k*embed.Dim:(k+1)*embed.Dim], row)
					}
					if r < len(ids) {
						ws.Rarity[r] = float32(min(1.5, -tok.Piece(ids[r]).Score/12))
					}
				}
				if n > maxAttendWords {
					ws.X, ws.Rarity = ws.X[:maxAttendWords*d], ws.Rarity[:maxAttendWords]
				}
				mu.Lock()
				out[at+j] = ws
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d texts' states in %v", len(texts), time.Since(t0))
	seqs := make([]wordSeq, 2*len(pairs))
	for i := range seqs {
		seqs[i] = out[index[i]]
	}
	return seqs
}
