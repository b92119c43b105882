package semantic

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// clustered returns unit vectors around a few centres, as prompts cluster by topic.
func clustered(seed string, n, centres int) [][]float32 {
	cs, _ := hashEmbedder{}.Embed(context.Background(), func() []string {
		var s []string
		for i := 0; i < centres; i++ {
			s = append(s, fmt.Sprint("centre ", i))
		}
		return s
	}())
	out := make([][]float32, n)
	for i := range out {
		noise, _ := hashEmbedder{}.Embed(context.Background(), []string{fmt.Sprint(seed, i)})
		v := make([]float32, len(noise[0]))
		var ss float32
		for j := range v {
			v[j] = cs[i%centres][j] + 0.8*noise[0][j]
			ss += v[j] * v[j]
		}
		inv := 1 / float32(math.Sqrt(float64(ss)))
		for j := range v {
			v[j] *= inv
		}
		out[i] = v
	}
	return out
}

// A cache needs the graph to find an entry when the query is a near copy of it
// (a paraphrase), among many entries on the same topics.
func TestHNSWFindsTheEntryAQueryParaphrases(t *testing.T) {
	g := newHNSW()
	vecs := clustered("doc ", 1500, 20)
	for _, v := range vecs {
		g.insert(v)
	}
	found := 0
	const queries = 150
	for q := 0; q < queries; q++ {
		target := (q * 10) % len(vecs)
		noise, _ := hashEmbedder{}.Embed(context.Background(), []string{fmt.Sprint("noise ", q)})
		qv := make([]float32, len(noise[0]))
		var ss float32
		for j := range qv {
			qv[j] = vecs[target][j] + 0.5*noise[0][j]
			ss += qv[j] * qv[j]
		}
		for j := range qv {
			qv[j] /= float32(math.Sqrt(float64(ss)))
		}
		best, bd := -1, float32(-2)
		for i, v := range vecs {
			if d := dot(qv, v); d > bd {
				best, bd = i, d
			}
		}
		if best != target {
			continue // the noise made another entry nearer: not this test's case
		}
		if res := g.search(qv, 1); len(res) == 1 && int(res[0].id) == best {
			found++
		} else {
			t.Logf("query %d (cos %.3f to its entry): got %v", q, bd, res)
		}
	}
	if recall := float64(found) / queries; recall < 0.98 {
		t.Errorf("found %d of %d paraphrased entries (%.3f), want ≥ 0.98", found, queries, recall)
	}
}

func TestHNSWFindsAnOutlierAmongNearDuplicates(t *testing.T) {
	st, err := staticEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	g := newHNSW()
	var texts []string
	for i := 0; i < 600; i++ {
		texts = append(texts, fmt.Sprintf("What is the population of city number %d?", i))
	}
	texts = append(texts, "How do I make sourdough bread at home?")
	vs, _ := st.Embed(context.Background(), texts)
	for _, v := range vs {
		g.insert(v)
	}
	q, _ := st.Embed(context.Background(), []string{"how do I make sourdough bread at home"})
	if res := g.search(q[0], 1); len(res) != 1 || int(res[0].id) != len(texts)-1 {
		t.Fatalf("search returned %v, want the sourdough entry %d", res, len(texts)-1)
	}
}

func TestHNSWNeverReturnsDeletedNodes(t *testing.T) {
	g := newHNSW()
	var vecs [][]float32
	for i := 0; i < 500; i++ {
		v, _ := hashEmbedder{}.Embed(context.Background(), []string{fmt.Sprint("doc ", i)})
		vecs = append(vecs, v[0])
		g.insert(v[0])
	}
	for i := 0; i < 500; i += 2 {
		g.remove(int32(i))
	}
	for i := 0; i < 500; i += 50 {
		for _, r := range g.search(vecs[i], 5) {
			if r.id%2 == 0 {
				t.Fatalf("search for %d returned deleted node %d", i, r.id)
			}
		}
	}
}
