package router

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
)

// TrainConfig says how to train the predictor. The zero value is not useful; start
// from DefaultTrainConfig.
type TrainConfig struct {
	Weak, Strong string
	Features     []string // dense features for free-form prompts
	MCFeatures   []string // dense features for multiple-choice prompts
	HashDim      int
	L2Dense      float64
	L2Hash       float64
	Iters        int
	LearnRate    float64
	// GroupWeight multiplies the weight of every prompt outside MMLU, so that GSM8K's
	// 641 questions are not drowned by MMLU's 6,704.
	GroupWeight float64
	Folds       int  // grouped cross-validation folds for calibration and the report
	AllData     bool // train on all of the data instead of the training half
}

// DefaultTrainConfig is the configuration the shipped weights were trained with,
// chosen by grouped 5-fold cross-validation on the training half (docs/router.md).
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Weak:        "mixtral-8x7b-instruct",
		Strong:      "gpt-4-1106-preview",
		Features:    []string{"log_words"},
		MCFeatures:  []string{"log_words", "log_stem_words", "log_sentences", "multi_step_cues"},
		HashDim:     0,
		L2Dense:     1e-3,
		L2Hash:      1e-3,
		Iters:       300,
		LearnRate:   0.05,
		GroupWeight: 5,
		Folds:       5,
	}
}

// TrainReport is what training measured.
type TrainReport struct {
	TrainN, HeldoutN int
	CV               []Metrics // out-of-fold, within the training data
	Heldout          []Metrics // the held-out half (empty with AllData)
	// CrossCalibration checks the calibration on prompts it was not fitted on:
	// fitted on the training half's out-of-fold scores and checked on the held-out
	// half, then the other way round (empty with AllData).
	CrossCalibration []Reliability
	// HeldoutArticle and HeldoutWords are the baselines on the same held-out prompts:
	// the seed article's rule and plain word count.
	HeldoutArticle, HeldoutWords []Metrics
}

type labelled struct {
	o      *Outcome
	x      vec
	y, w   float64
	weak   float64
	strong float64
}

// Train fits the predictor on outcomes (the format of outcomes-dev.jsonl) and returns
// weights ready to be written as weights.json. It is deterministic: full-batch
// optimisation, folds and the split fixed by subject names and prompt ids.
func Train(ctx context.Context, outs []Outcome, gap GapModel, cfg TrainConfig) (*Weights, *TrainReport, error) {
	free, err := featureMask(cfg.Features)
	if err != nil {
		return nil, nil, err
	}
	mc, err := featureMask(cfg.MCFeatures)
	if err != nil {
		return nil, nil, err
	}
	var all []labelled
	for i := range outs {
		o := &outs[i]
		w, s, err := pairScores(o, cfg.Weak, cfg.Strong)
		if err != nil {
			return nil, nil, fmt.Errorf("train router: %w", err)
		}
		buf := make([]float32, 2*NumDense+1)
		l := labelled{o: o, x: featurize(Prompt{Text: o.Prompt, Turns: max(o.Turns, 1)}, free, mc, cfg.HashDim, nil, buf),
			weak: w, strong: s, w: 1}
		if s > w {
			l.y = 1
		}
		if o.Group() != "mmlu" {
			l.w = cfg.GroupWeight
		}
		all = append(all, l)
	}
	var train, held []labelled
	half := HalfSplit(outs)
	for i, l := range all {
		if cfg.AllData || half[i] {
			train = append(train, l)
		} else {
			held = append(held, l)
		}
	}
	if len(train) == 0 {
		return nil, nil, fmt.Errorf("train router: no training prompts")
	}
	fc := fitConfig{HashDim: cfg.HashDim, L2Dense: cfg.L2Dense, L2Hash: cfg.L2Hash, Iters: cfg.Iters, LearnRate: cfg.LearnRate}
	rep := &TrainReport{TrainN: len(train), HeldoutN: len(held)}

	// Out-of-fold scores on the training data: for the calibration (a model's scores
	// on its own training prompts are over-confident) and for the honest CV report.
	trainOuts := make([]Outcome, len(train))
	for i, l := range train {
		trainOuts[i] = *l.o
	}
	folds := assignFolds(trainOuts, cfg.Folds)
	oof := make([]float64, len(train))
	for f := 0; f < cfg.Folds; f++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		var xs []vec
		var ys, ws []float64
		for i, l := range train {
			if folds[i] != f {
				xs, ys, ws = append(xs, l.x), append(ys, l.y), append(ws, l.w)
			}
		}
		m := fitLinear(xs, ys, ws, fc)
		for i, l := range train {
			if folds[i] == f {
				oof[i] = m.logit(l.x)
			}
		}
	}
	// Metrics per fold, then averaged: pooling out-of-fold scores of different models
	// would rank whole folds by their models' base rates, which says nothing about
	// how one model ranks unseen prompts.
	var perFold [][]Metrics
	for f := 0; f < cfg.Folds; f++ {
		var ls []labelled
		var sc []float64
		for i, l := range train {
			if folds[i] == f {
				ls, sc = append(ls, l), append(sc, oof[i])
			}
		}
		perFold = append(perFold, measureGroups(ls, sc))
	}
	rep.CV = averageMetrics(perFold)
	ys := make([]float64, len(train))
	ws := make([]float64, len(train))
	xs := make([]vec, len(train))
	for i, l := range train {
		xs[i], ys[i], ws[i] = l.x, l.y, l.w
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	model := fitLinear(xs, ys, ws, fc)

	// Calibrate on every prompt's out-of-sample score: out of fold on the training
	// half, the final model's on the held-out half. Which subjects a router meets
	// moves the base rate more than any feature does (docs/router.md), so the map
	// should see as many subjects as there are; the ranking, and so the judged
	// APGR, still never sees the held-out half. Unweighted: the probability should
	// hold for traffic, not for the re-weighted training mix.
	calScores, calYs := slices.Clone(oof), slices.Clone(ys)
	var hs []float64
	if len(held) > 0 {
		hs = make([]float64, len(held))
		for i, l := range held {
			hs[i] = model.logit(l.x)
			calScores, calYs = append(calScores, hs[i]), append(calYs, l.y)
		}
		// What that costs in honesty is measured by calibrating on one half and
		// checking on the other, both ways.
		heldYs := make([]float64, len(held))
		for i, l := range held {
			heldYs[i] = l.y
		}
		rep.CrossCalibration = []Reliability{
			checkCalibration(oof, ys, hs, heldYs),
			checkCalibration(hs, heldYs, oof, ys),
		}
	}
	calib := fitIsotonic(calScores, calYs, ones(len(calScores)), 50)

	if len(held) > 0 {
		rep.Heldout = measureGroups(held, hs)
		hs = make([]float64, len(held))
		for i, l := range held {
			hs[i] = ArticleRuleScore(l.o)
		}
		rep.HeldoutArticle = measureGroups(held, hs)
		for i, l := range held {
			hs[i] = WordCountScore(l.o)
		}
		rep.HeldoutWords = measureGroups(held, hs)
	}
	w := &Weights{
		Version:          1,
		Weak:             cfg.Weak,
		Strong:           cfg.Strong,
		Features:         cfg.Features,
		MCFeatures:       cfg.MCFeatures,
		Model:            *model,
		Calibration:      calib,
		CalibrationCheck: rep.CrossCalibration,
		Gap:              gap,
		Heldout:          rep.Heldout,
		CV:               rep.CV,
	}
	if _, err := newPredictor(*w); err != nil {
		return nil, nil, fmt.Errorf("train router: %w", err)
	}
	return w, rep, nil
}

func ones(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// checkCalibration fits the calibration on (fitScores, fitYs) and measures it on
// (scores, ys) in ten equal-count bins.
func checkCalibration(fitScores, fitYs, scores, ys []float64) Reliability {
	c := fitIsotonic(fitScores, fitYs, ones(len(fitScores)), 50)
	ps := make([]float64, len(scores))
	for i, s := range scores {
		ps[i] = c.Apply(s)
	}
	return MeasureReliability(ps, ys, 10)
}

// averageMetrics averages each group's metrics over folds, weighted by prompts.
func averageMetrics(folds [][]Metrics) []Metrics {
	sum := map[string]*Metrics{}
	var names []string
	for _, ms := range folds {
		for _, m := range ms {
			a := sum[m.Group]
			if a == nil {
				a = &Metrics{Group: m.Group}
				sum[m.Group] = a
				names = append(names, m.Group)
			}
			w := float64(m.N)
			a.N += m.N
			a.WeakQuality += w * m.WeakQuality
			a.StrongQuality += w * m.StrongQuality
			a.APGR += w * m.APGR
			a.CPT50 += w * m.CPT50
			a.CPT80 += w * m.CPT80
			a.Saved95 += w * m.Saved95
			a.StrongAt95 += w * m.StrongAt95
		}
	}
	sort.Strings(names)
	out := make([]Metrics, 0, len(names))
	for _, g := range names {
		a := *sum[g]
		n := float64(a.N)
		a.WeakQuality /= n
		a.StrongQuality /= n
		a.APGR /= n
		a.CPT50 /= n
		a.CPT80 /= n
		a.Saved95 /= n
		a.StrongAt95 /= n
		out = append(out, a)
	}
	return out
}

func measureGroups(ls []labelled, scores []float64) []Metrics {
	groups := map[string][]Scored{}
	for i, l := range ls {
		g := l.o.Group()
		groups[g] = append(groups[g], Scored{Score: scores[i], Weak: l.weak, Strong: l.strong})
	}
	return measureAll(groups)
}

func measureAll(groups map[string][]Scored) []Metrics {
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	out := make([]Metrics, 0, len(names))
	for _, g := range names {
		m := Measure(g, groups[g])
		if !math.IsNaN(m.APGR) {
			out = append(out, m)
		}
	}
	return out
}
