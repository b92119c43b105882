package semantic

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/arbiterhq/arbiter/internal/embed"
)

// TrainOptions control `arbiter train cache`. The zero value is not useful;
// start from DefaultTrainOptions.
type TrainOptions struct {
	Seed uint64 `json:"seed"`
	// HoldoutShare of the pairs (by connected group of texts) is set aside and
	// never trained on, to estimate performance on unseen questions.
	HoldoutShare float64    `json:"holdout_share"`
	CVFolds      int        `json:"cv_folds"` // folds of the rest for choosing the threshold
	Params       gbdtParams `json:"params"`
	// The operating point is the lowest threshold at which, in cross-validation,
	// every source with duplicates has precision ≥ TargetPrecision and every
	// source with none has a false-hit rate ≤ MaxFalseHit — margins above the
	// published targets (0.90, 1 %) so that they hold on unseen data.
	TargetPrecision float64 `json:"target_precision"`
	MaxFalseHit     float64 `json:"max_false_hit"`
	// FloorLoss and StaticFloorLoss are the shares of duplicates allowed below
	// the cosine floor and the first-stage static floor.
	FloorLoss       float64 `json:"floor_loss"`
	StaticFloorLoss float64 `json:"static_floor_loss"`
	// The word model: words in fewer than WordMinCount training pairs share one
	// weight; L2 and steps of its gradient descent.
	WordMinCount int     `json:"word_min_count"`
	WordL2       float64 `json:"word_l2"`
	WordSteps    int     `json:"word_steps"`
	// Net is the pair network over the two embedding vectors (Hidden 0: none).
	Net netParams `json:"net"`
	// Sweep, when set, is called with cross-validated and held-out metrics at a
	// range of thresholds.
	Sweep func(kind string, threshold float64, cv, holdout []Metrics) `json:"-"`
	// Inspect, when set, receives the out-of-fold probabilities (0 off the training part).
	Inspect func(oof []float64) `json:"-"`
}

// DefaultTrainOptions are the settings verifier.json was trained with.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Seed:            20261129,
		HoldoutShare:    0.2,
		CVFolds:         4,
		Params:          gbdtParams{Trees: 250, Depth: 4, LearningRate: 0.08, MinLeaf: 30, L2: 1, Bins: 64},
		TargetPrecision: 0.92,
		MaxFalseHit:     0.004,
		FloorLoss:       0.005,
		StaticFloorLoss: 0.002,
		WordMinCount:    3,
		WordL2:          1e-4,
		WordSteps:       300,
		Net:             netParams{Hidden: 64, Epochs: 12, Batch: 128, LR: 1e-3, L2: 1e-4, Seed: 20261129},
	}
}

// TrainReport records how a verifier was made and how it scored.
type TrainReport struct {
	Options      TrainOptions `json:"options"`
	Pairs        int          `json:"pairs"`
	TrainPairs   int          `json:"train_pairs"`
	HoldoutPairs int          `json:"holdout_pairs"`
	// CrossVal are out-of-fold results on the training part at the chosen
	// threshold; Holdout, on the part never trained on; Full, on every pair
	// (most of which were trained on: optimistic).
	CrossVal []Metrics `json:"cross_validation"`
	Holdout  []Metrics `json:"holdout"`
	Full     []Metrics `json:"full"`
}

// PairVectors are the embedding cosines of each pair, full and static, and
// the full vectors of each pair's texts (A[i], B[i]; shared between pairs).
type PairVectors struct {
	Cos, CosStatic []float64
	A, B           [][]float32
}

// EmbedPairs computes the cosines of every pair with e (and static, when not
// nil), embedding each distinct text once in batches on all cores.
func EmbedPairs(ctx context.Context, pairs []Pair, e, static embed.Embedder) (PairVectors, error) {
	texts, index := distinctTexts(pairs)
	full, err := embedAll(ctx, e, texts)
	if err != nil {
		return PairVectors{}, err
	}
	st := full
	if static != nil {
		if st, err = embedAll(ctx, static, texts); err != nil {
			return PairVectors{}, err
		}
	}
	pv := PairVectors{Cos: make([]float64, len(pairs)), CosStatic: make([]float64, len(pairs)),
		A: make([][]float32, len(pairs)), B: make([][]float32, len(pairs))}
	for i := range pairs {
		a, b := index[2*i], index[2*i+1]
		pv.Cos[i] = float64(dot(full[a], full[b]))
		pv.CosStatic[i] = float64(dot(st[a], st[b]))
		pv.A[i], pv.B[i] = full[a], full[b]
	}
	return pv, nil
}

// distinctTexts lists the distinct texts of pairs; index[2i] and index[2i+1]
// are the positions of pair i's A and B.
func distinctTexts(pairs []Pair) (texts []string, index []int) {
	pos := map[string]int{}
	index = make([]int, 2*len(pairs))
	for i, p := range pairs {
		for j, t := range [2]string{p.A, p.B} {
			k, ok := pos[t]
			if !ok {
				k = len(texts)
				pos[t] = k
				texts = append(texts, t)
			}
			index[2*i+j] = k
		}
	}
	return texts, index
}

// embedBatch is the texts per Embed call in bulk work: large enough for the
// model's matrix products to pay off, small enough to spread over cores.
const embedBatch = 128

// embedAll embeds texts in batches on GOMAXPROCS goroutines.
func embedAll(ctx context.Context, e embed.Embedder, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := 0; i < len(texts); i += embedBatch {
		j := min(i+embedBatch, len(texts))
		g.Go(func() error {
			vs, err := e.Embed(ctx, texts[i:j])
			if err != nil {
				return fmt.Errorf("semantic: embedding texts %d-%d: %w", i, j, err)
			}
			copy(out[i:j], vs)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// splitPairs assigns pairs to the held-out part (by group of shared texts,
// HoldoutShare of the groups) and the rest to CVFolds cross-validation folds.
func splitPairs(pairs []Pair, o TrainOptions) (holdout []bool, cvFold []int) {
	groups := max(2, int(math.Round(1/o.HoldoutShare)))
	g := groupFolds(pairs, groups*o.CVFolds, o.Seed)
	holdout = make([]bool, len(pairs))
	cvFold = make([]int, len(pairs))
	for i := range pairs {
		holdout[i] = g[i]%groups == 0
		cvFold[i] = g[i] / groups
	}
	return holdout, cvFold
}

// HoldoutMask reports which pairs `arbiter train cache` with options o held out
// (never trained on), so an evaluation of the same file can be scored on them.
func HoldoutMask(pairs []Pair, o TrainOptions) []bool {
	h, _ := splitPairs(pairs, o)
	return h
}

// Train fits the verifier for embedder kind on pairs whose cosines are pv.
func Train(pairs []Pair, pv PairVectors, kind string, o TrainOptions) (*VerifierModel, error) {
	if len(pairs) == 0 || len(pv.Cos) != len(pairs) || len(pv.CosStatic) != len(pairs) {
		return nil, fmt.Errorf("semantic: train: %d pairs, %d cosines", len(pairs), len(pv.Cos))
	}
	held, cv := splitPairs(pairs, o)
	holdout := func(i int) bool { return held[i] }
	cvFold := func(i int) int { return cv[i] }

	an := make([]*analysis, 2*len(pairs))
	for i, p := range pairs {
		an[2*i], an[2*i+1] = analyze(p.A), analyze(p.B)
	}
	guardOK := make([]bool, len(pairs))
	exact := make([]bool, len(pairs))
	feats := make([][]float64, len(pairs))
	for i := range pairs {
		a, b := an[2*i], an[2*i+1]
		exact[i] = a.norm == b.norm && sameMultiset(a.numbers, b.numbers)
		guardOK[i] = guard(a, b) == GuardNone
		f := features(a, b, pv.Cos[i], pv.CosStatic[i])
		feats[i] = f[:]
	}

	m := &VerifierModel{Embedder: kind, Features: featureNames[:]}
	// Floors from the training part's duplicates that pass the guards.
	var dupCos, dupStatic []float64
	for i, p := range pairs {
		if !holdout(i) && p.Duplicate && guardOK[i] && !exact[i] {
			dupCos = append(dupCos, pv.Cos[i])
			dupStatic = append(dupStatic, pv.CosStatic[i])
		}
	}
	m.Floor = round4(quantile(dupCos, o.FloorLoss))
	if kind != embed.KindStatic {
		m.StaticFloor = round4(quantile(dupStatic, o.StaticFloorLoss))
	}

	candidate := func(i int) bool { return guardOK[i] && !exact[i] && pv.Cos[i] >= m.Floor }
	mism := make([][]string, len(pairs))
	for i := range pairs {
		if candidate(i) {
			mism[i] = mismatched(an[2*i], an[2*i+1])
		}
	}
	// The pair network's logit: out of fold (by the cross-validation folds) on
	// the training part, and from the network fitted on the whole training part
	// elsewhere. The trees learn from the out-of-fold logits.
	var net *pairNet
	if o.Net.Hidden > 0 && pv.A != nil {
		var netScore []float64
		net, netScore = stackNet(pairs, pv, candidate, holdout, cvFold, o)
		for i := range pairs {
			feats[i][fNet] = netScore[i]
		}
	}
	// fit trains the word model, then the trees. The trees learn from word scores
	// that are out-of-fold (by the cross-validation folds), since in-sample scores
	// of a model with a weight per word are far too confident.
	type fitted struct {
		words *wordModel
		tree  *gbdt
	}
	trainWords := func(use func(i int) bool) *wordModel {
		var docs [][]string
		var y []bool
		for i, p := range pairs {
			if use(i) && candidate(i) {
				docs = append(docs, mism[i])
				y = append(y, p.Duplicate)
			}
		}
		return trainWordModel(docs, y, o.WordMinCount, o.WordL2, o.WordSteps)
	}
	withWords := func(w *wordModel, i int) []float64 {
		f := slices.Clone(feats[i])
		f[fWords] = w.score(an[2*i], an[2*i+1])
		return f
	}
	fit := func(use func(i int) bool) fitted {
		inner := make([]*wordModel, o.CVFolds)
		for k := range inner {
			inner[k] = trainWords(func(i int) bool { return use(i) && cvFold(i) != k })
		}
		var x [][]float64
		var y []bool
		for i, p := range pairs {
			if use(i) && candidate(i) {
				x = append(x, withWords(inner[cvFold(i)], i))
				y = append(y, p.Duplicate)
			}
		}
		return fitted{trainWords(use), trainGBDT(x, y, nil, o.Params)}
	}
	prob := func(m fitted, i int) float64 { return m.tree.prob(withWords(m.words, i)) }

	// Out-of-fold probabilities on the training part.
	oof := make([]float64, len(pairs))
	for k := 0; k < o.CVFolds; k++ {
		mk := fit(func(i int) bool { return !holdout(i) && cvFold(i) != k })
		for i := range pairs {
			if !holdout(i) && cvFold(i) == k && candidate(i) {
				oof[i] = prob(mk, i)
			}
		}
	}
	decide := func(prob []float64, t float64) []bool {
		hits := make([]bool, len(pairs))
		for i := range pairs {
			hits[i] = exact[i] || candidate(i) && prob[i] >= t
		}
		return hits
	}
	ok := func(ms []Metrics) bool {
		for _, mt := range ms {
			if mt.Source == "all" {
				continue
			}
			if mt.Actual > 0 && mt.Precision() < o.TargetPrecision {
				return false
			}
			if mt.Actual == 0 && mt.FalseHitRate() > o.MaxFalseHit {
				return false
			}
		}
		return true
	}
	train := func(i int) bool { return !holdout(i) }
	// The lowest threshold that meets the targets there and at the next grid
	// points above, so that the choice does not sit on a lucky spike.
	m.Threshold = 0.99
	for t := 0.2; t < 0.99; t += 0.005 {
		if ok(Score(pairs, decide(oof, t), train)) && ok(Score(pairs, decide(oof, t+0.01), train)) &&
			ok(Score(pairs, decide(oof, t+0.02), train)) {
			m.Threshold = round4(t)
			break
		}
	}
	if o.Inspect != nil {
		o.Inspect(oof)
	}

	final := fit(train)
	m.Model = *final.tree
	m.Words = *final.words
	if net != nil {
		m.Net = *net
		// From here on, score as the shipped model does: every pair through the
		// final network (held-out pairs already are; training pairs had
		// out-of-fold logits for fitting the trees).
		for i := range pairs {
			if candidate(i) {
				feats[i][fNet] = net.score(pv.A[i], pv.B[i])
			}
		}
	}
	all := make([]float64, len(pairs))
	for i := range pairs {
		if candidate(i) {
			all[i] = prob(final, i)
		}
	}
	if o.Sweep != nil {
		for t := 0.3; t < 0.995; t += 0.01 {
			o.Sweep(kind, round4(t), Score(pairs, decide(oof, t), train), Score(pairs, decide(all, t), holdout))
		}
	}
	hits := decide(all, m.Threshold)
	nHold := 0
	for i := range pairs {
		if holdout(i) {
			nHold++
		}
	}
	m.Training = TrainReport{
		Options:      o,
		Pairs:        len(pairs),
		TrainPairs:   len(pairs) - nHold,
		HoldoutPairs: nHold,
		CrossVal:     Score(pairs, decide(oof, m.Threshold), train),
		Holdout:      Score(pairs, hits, holdout),
		Full:         Score(pairs, hits, nil),
	}
	return m, nil
}

// stackNet fits the pair network on the candidates of the training part: one
// network per cross-validation fold (scoring that fold) and one on all of it
// (scoring the rest). The fits are independent, so they run concurrently.
func stackNet(pairs []Pair, pv PairVectors, candidate, holdout func(int) bool, cvFold func(int) int, o TrainOptions) (*pairNet, []float64) {
	in := make([][]float32, len(pairs))
	for i := range pairs {
		if candidate(i) {
			in[i] = make([]float32, 2*len(pv.A[i]))
			pairInput(in[i], pv.A[i], pv.B[i])
		}
	}
	nets := make([]*pairNet, o.CVFolds+1) // the last: all of the training part
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var x [][]float32
			var y []bool
			for i, p := range pairs {
				if candidate(i) && !holdout(i) && cvFold(i) != k {
					x = append(x, in[i])
					y = append(y, p.Duplicate)
				}
			}
			np := o.Net
			np.Seed += uint64(k)
			nets[k] = trainPairNet(x, y, np)
		}()
	}
	wg.Wait()
	score := make([]float64, len(pairs))
	for i := range pairs {
		if !candidate(i) {
			continue
		}
		k := o.CVFolds
		if !holdout(i) {
			k = cvFold(i)
		}
		score[i] = nets[k].score(pv.A[i], pv.B[i])
	}
	return nets[o.CVFolds], score
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// TrainAll trains a verifier for each embedder it is given: for embed.KindUSE
// when full is not nil (with static as its second opinion and first stage), and
// always for embed.KindStatic. progress (nil: none) receives a line per step.
func TrainAll(ctx context.Context, pairs []Pair, full, static embed.Embedder, o TrainOptions, progress io.Writer) (*VerifierFile, error) {
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}
	f := &VerifierFile{Note: "Trained by `arbiter train cache` on pairs-dev.jsonl (public research data; only learned parameters are stored here). Features: see internal/semantic/features.go."}
	say("embedding %d pairs with the static embedder…", len(pairs))
	spv, err := EmbedPairs(ctx, pairs, static, nil)
	if err != nil {
		return nil, err
	}
	if full != nil {
		say("embedding %d pairs with the full model (minutes)…", len(pairs))
		fpv, err := EmbedPairs(ctx, pairs, full, nil)
		if err != nil {
			return nil, err
		}
		pv := PairVectors{Cos: fpv.Cos, CosStatic: spv.Cos, A: fpv.A, B: fpv.B}
		say("training the %s verifier…", embed.KindUSE)
		m, err := Train(pairs, pv, embed.KindUSE, o)
		if err != nil {
			return nil, err
		}
		f.Models = append(f.Models, *m)
	}
	say("training the %s verifier…", embed.KindStatic)
	m, err := Train(pairs, PairVectors{Cos: spv.Cos, CosStatic: spv.Cos}, embed.KindStatic, o)
	if err != nil {
		return nil, err
	}
	f.Models = append(f.Models, *m)
	return f, nil
}

// WriteTrainSummary prints a model's operating point and its scores.
func WriteTrainSummary(w io.Writer, m *VerifierModel) {
	fmt.Fprintf(w, "verifier for %s: threshold %.3f, cosine floor %.4f, static first-stage floor %.4f, %d trees, %d words, pair network of %d hidden units\n",
		m.Embedder, m.Threshold, m.Floor, m.StaticFloor, len(m.Model.Trees), len(m.Words.Weights), m.Net.Hidden)
	fmt.Fprintf(w, "held out (%d pairs, never trained on):\n", m.Training.HoldoutPairs)
	FormatMetrics(w, m.Training.Holdout)
	fmt.Fprintf(w, "cross-validation on the training part (%d pairs, out of fold):\n", m.Training.TrainPairs)
	FormatMetrics(w, m.Training.CrossVal)
	fmt.Fprintf(w, "whole file (%d pairs; mostly trained on, optimistic):\n", m.Training.Pairs)
	FormatMetrics(w, m.Training.Full)
}
