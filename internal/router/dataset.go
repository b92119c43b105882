package router

import (
	"fmt"
	"hash/fnv"
	"sort"
)

// example is one training prompt: its features and the two models' scores.
type example struct {
	o      *Outcome
	x      vec
	weak   float64
	strong float64
}

// splitUnit is the unit that must never be split between training and evaluation:
// the subject for MMLU (the held-out data has other subjects), the question otherwise.
func splitUnit(o *Outcome) string {
	if o.Group() == "mmlu" {
		return o.Source
	}
	return o.Source + "#" + o.ID
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// assignFolds gives each outcome a fold in [0,k): MMLU subjects are dealt to folds
// largest first to balance sizes; other prompts by a hash of their id. Deterministic.
func assignFolds(os []Outcome, k int) []int {
	sizes := map[string]int{}
	for i := range os {
		if os[i].Group() == "mmlu" {
			sizes[os[i].Source]++
		}
	}
	subjects := make([]string, 0, len(sizes))
	for s := range sizes {
		subjects = append(subjects, s)
	}
	sort.Slice(subjects, func(a, b int) bool {
		if sizes[subjects[a]] != sizes[subjects[b]] {
			return sizes[subjects[a]] > sizes[subjects[b]]
		}
		return subjects[a] < subjects[b]
	})
	load := make([]int, k)
	fold := map[string]int{}
	for _, s := range subjects {
		best := 0
		for f := 1; f < k; f++ {
			if load[f] < load[best] {
				best = f
			}
		}
		fold[s] = best
		load[best] += sizes[s]
	}
	out := make([]int, len(os))
	for i := range os {
		if f, ok := fold[os[i].Source]; ok && os[i].Group() == "mmlu" {
			out[i] = f
		} else {
			out[i] = int(hash32(splitUnit(&os[i])) % uint32(k))
		}
	}
	return out
}

// HalfSplit is the split the shipped weights are trained with: MMLU subjects sorted by
// name alternate between the training half (even positions) and the held-out half (odd),
// and other prompts go by the parity of the FNV-1a hash of their id. It returns, per
// outcome, whether it is in the training half.
func HalfSplit(os []Outcome) []bool {
	set := map[string]bool{}
	for i := range os {
		if os[i].Group() == "mmlu" {
			set[os[i].Source] = true
		}
	}
	subjects := make([]string, 0, len(set))
	for s := range set {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	train := map[string]bool{}
	for i, s := range subjects {
		train[s] = i%2 == 0
	}
	out := make([]bool, len(os))
	for i := range os {
		if os[i].Group() == "mmlu" {
			out[i] = train[os[i].Source]
		} else {
			out[i] = hash32(os[i].ID)%2 == 0
		}
	}
	return out
}

// pairScores returns the weak and strong model's scores of o.
func pairScores(o *Outcome, weak, strong string) (w, s float64, err error) {
	w, ok := o.Scores[weak]
	if !ok {
		return 0, 0, fmt.Errorf("prompt %s: no score for weak model %q", o.ID, weak)
	}
	s, ok = o.Scores[strong]
	if !ok {
		return 0, 0, fmt.Errorf("prompt %s: no score for strong model %q", o.ID, strong)
	}
	return w, s, nil
}
