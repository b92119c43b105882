package semantic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
)

// Pair is one labelled pair of texts, as in pairs-dev.jsonl: Duplicate means a
// cached answer to A is a correct answer to B.
type Pair struct {
	A         string `json:"a"`
	B         string `json:"b"`
	Duplicate bool   `json:"duplicate"`
	Source    string `json:"source"`
}

// ReadPairs reads one JSON pair a line; blank lines are errors, so that line
// numbers stay the indices of the result.
func ReadPairs(r io.Reader) ([]Pair, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []Pair
	for line := 0; sc.Scan(); line++ {
		var p Pair
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("semantic: pairs line %d: %w", line+1, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("semantic: reading pairs: %w", err)
	}
	return out, nil
}

// ReadPairsFile is ReadPairs on a file.
func ReadPairsFile(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("semantic: opening pairs: %w", err)
	}
	defer f.Close()
	return ReadPairs(f)
}

// groupFolds assigns every pair to one of k folds so that all pairs sharing a
// text (transitively) land in the same fold: a held-out fold then holds no text
// seen in training, as the held-out split of the data is split by question.
// The assignment depends only on the texts and seed.
func groupFolds(pairs []Pair, k int, seed uint64) []int {
	ids := map[string]int{}
	id := func(s string) int {
		if v, ok := ids[s]; ok {
			return v
		}
		ids[s] = len(ids)
		return len(ids) - 1
	}
	type edge struct{ a, b int }
	edges := make([]edge, len(pairs))
	for i, p := range pairs {
		edges[i] = edge{id(p.A), id(p.B)}
	}
	parent := make([]int, len(ids))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range edges {
		ra, rb := find(e.a), find(e.b)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	// Name each component by its smallest text so the fold does not depend on order.
	names := make(map[int]string)
	texts := make([]string, len(ids))
	for s, v := range ids {
		texts[v] = s
	}
	for v, s := range texts {
		r := find(v)
		if cur, ok := names[r]; !ok || s < cur {
			names[r] = s
		}
	}
	folds := make([]int, len(pairs))
	for i, e := range edges {
		h := fnv.New64a()
		var sb [8]byte
		for j := range sb {
			sb[j] = byte(seed >> (8 * j))
		}
		h.Write(sb[:])
		h.Write([]byte(names[find(e.a)]))
		folds[i] = int(h.Sum64() % uint64(k))
	}
	return folds
}

// Metrics counts decisions against labels for one source.
type Metrics struct {
	Source  string `json:"source"`
	Pairs   int    `json:"pairs"`
	TP      int    `json:"tp"`
	FP      int    `json:"fp"`
	FN      int    `json:"fn"`
	TN      int    `json:"tn"`
	Hits    int    `json:"hits"`
	Actual  int    `json:"duplicates"`
	Refused int    `json:"refused_by_guards,omitempty"`
}

// Precision is TP / hits (1 when there are no hits: nothing wrong was served).
func (m Metrics) Precision() float64 {
	if m.TP+m.FP == 0 {
		return 1
	}
	return float64(m.TP) / float64(m.TP+m.FP)
}

// Recall is TP / duplicates (0 when there are none).
func (m Metrics) Recall() float64 {
	if m.TP+m.FN == 0 {
		return 0
	}
	return float64(m.TP) / float64(m.TP+m.FN)
}

// FalseHitRate is FP / non-duplicates: the share of pairs that must miss and hit.
func (m Metrics) FalseHitRate() float64 {
	if m.FP+m.TN == 0 {
		return 0
	}
	return float64(m.FP) / float64(m.FP+m.TN)
}

func (m *Metrics) add(dup, hit bool) {
	m.Pairs++
	if dup {
		m.Actual++
	}
	if hit {
		m.Hits++
	}
	switch {
	case dup && hit:
		m.TP++
	case dup:
		m.FN++
	case hit:
		m.FP++
	default:
		m.TN++
	}
}

// Score tallies decisions per source (sorted by source) plus an "all" row last.
// include (nil: all) selects the pairs counted.
func Score(pairs []Pair, hits []bool, include func(i int) bool) []Metrics {
	by := map[string]*Metrics{}
	all := &Metrics{Source: "all"}
	for i, p := range pairs {
		if include != nil && !include(i) {
			continue
		}
		m := by[p.Source]
		if m == nil {
			m = &Metrics{Source: p.Source}
			by[p.Source] = m
		}
		m.add(p.Duplicate, hits[i])
		all.add(p.Duplicate, hits[i])
	}
	var out []Metrics
	for _, m := range by {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Metrics) int {
		if a.Source < b.Source {
			return -1
		}
		if a.Source > b.Source {
			return 1
		}
		return 0
	})
	return append(out, *all)
}

// FormatMetrics renders metrics as an aligned table.
func FormatMetrics(w io.Writer, ms []Metrics) {
	fmt.Fprintf(w, "%-20s %7s %6s %6s %9s %7s %9s\n", "source", "pairs", "dups", "hits", "precision", "recall", "false-hit")
	for _, m := range ms {
		fmt.Fprintf(w, "%-20s %7d %6d %6d %9.4f %7.4f %9.4f\n", m.Source, m.Pairs, m.Actual, m.Hits, m.Precision(), m.Recall(), m.FalseHitRate())
	}
}
