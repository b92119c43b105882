package semantic

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/arbiterhq/arbiter/internal/embed"
)

// hnswGraph is a Hierarchical Navigable Small World index (Malkov & Yashunin)
// over unit vectors with distance 1 − dot. It is written here rather than taken
// from github.com/coder/hnsw because that package's greedy search stops at the
// first step that does not improve its best result and keeps neighbours without
// the diversity heuristic: on clustered prompts (many near-identical
// questions) it lost outlying entries entirely in our tests.
//
// Not safe for concurrent mutation; search is read-only, so the Cache runs
// searches under a read lock and inserts under the write lock. Deleted nodes
// are tombstones (still traversed, never returned) until the owner rebuilds.
type hnswGraph struct {
	m, m0          int     // links per node above layer 0, and on layer 0
	efConstruction int     // beam width while inserting
	efSearch       int     // beam width while searching (at least k)
	ml             float64 // level multiplier, 1/ln(m)
	rng            *rand.Rand

	nodes    []hnswNode
	entry    int32 // -1 when empty
	maxLevel int
	dead     int // tombstones
}

type hnswNode struct {
	vec   []float32
	links [][]int32 // per level, 0..level
	dead  bool
}

func newHNSW() *hnswGraph {
	const m = 16
	return &hnswGraph{
		m: m, m0: 2 * m, efConstruction: 64, efSearch: 64,
		ml:    1 / math.Log(m),
		rng:   rand.New(rand.NewPCG(1, 2)), // deterministic levels: reproducible benchmarks
		entry: -1,
	}
}

func (g *hnswGraph) dist(q []float32, id int32) float32 { return 1 - embed.Dot(q, g.nodes[id].vec) }

// live is the count of nodes not deleted.
func (g *hnswGraph) live() int { return len(g.nodes) - g.dead }

// insert adds vec and returns its id.
func (g *hnswGraph) insert(vec []float32) int32 {
	level := int(-math.Log(1-g.rng.Float64()) * g.ml)
	id := int32(len(g.nodes))
	g.nodes = append(g.nodes, hnswNode{vec: vec, links: make([][]int32, level+1)})
	if g.entry < 0 {
		g.entry, g.maxLevel = id, level
		return id
	}
	ep := g.entry
	for l := g.maxLevel; l > level; l-- {
		ep = g.greedy(vec, ep, l)
	}
	for l := min(level, g.maxLevel); l >= 0; l-- {
		cands := g.searchLayer(vec, []int32{ep}, g.efConstruction, l, nil)
		maxLinks := g.m
		if l == 0 {
			maxLinks = g.m0
		}
		nb := g.selectNeighbours(vec, cands, maxLinks)
		g.nodes[id].links[l] = nb
		for _, n := range nb {
			g.link(n, id, l, maxLinks)
		}
		ep = cands[0].id
	}
	if level > g.maxLevel {
		g.entry, g.maxLevel = id, level
	}
	return id
}

// link adds the edge n → id on level l. A full list is re-selected with the
// heuristic (as hnswlib does), which costs about m² products; to amortise
// that, a list may grow half again past maxLinks before it is cut back, so the
// cut happens once per m/2 new links instead of on every insert.
func (g *hnswGraph) link(n, id int32, l, maxLinks int) {
	nd := &g.nodes[n]
	nd.links[l] = append(nd.links[l], id)
	if len(nd.links[l]) <= maxLinks+maxLinks/2 {
		return
	}
	cs := make([]scored, len(nd.links[l]))
	for i, x := range nd.links[l] {
		cs[i] = scored{x, 1 - embed.Dot(nd.vec, g.nodes[x].vec)}
	}
	slices.SortFunc(cs, byDist)
	nd.links[l] = g.selectNeighbours(nd.vec, cs, maxLinks)
}

// greedy walks to the closest node to q on level l from ep.
func (g *hnswGraph) greedy(q []float32, ep int32, l int) int32 {
	best, bd := ep, g.dist(q, ep)
	for changed := true; changed; {
		changed = false
		for _, n := range g.nodes[best].links[l] {
			if d := g.dist(q, n); d < bd {
				best, bd, changed = n, d, true
			}
		}
	}
	return best
}

type scored struct {
	id int32
	d  float32
}

func byDist(a, b scored) int {
	switch {
	case a.d < b.d:
		return -1
	case a.d > b.d:
		return 1
	}
	return int(a.id - b.id)
}

// searchLayer is the beam search of level l from eps with width ef; it returns
// up to ef nodes sorted by distance. visited may be nil.
func (g *hnswGraph) searchLayer(q []float32, eps []int32, ef, l int, visited map[int32]struct{}) []scored {
	if visited == nil {
		visited = make(map[int32]struct{}, ef*4)
	}
	cand := scoredHeap{}         // to expand, nearest first
	res := scoredHeap{far: true} // best ef so far, farthest on top
	for _, ep := range eps {
		visited[ep] = struct{}{}
		s := scored{ep, g.dist(q, ep)}
		cand.push(s)
		res.push(s)
	}
	for len(cand.a) > 0 {
		c := cand.pop()
		if len(res.a) >= ef && c.d > res.a[0].d {
			break
		}
		for _, n := range g.nodes[c.id].links[l] {
			if _, ok := visited[n]; ok {
				continue
			}
			visited[n] = struct{}{}
			d := g.dist(q, n)
			if len(res.a) < ef || d < res.a[0].d {
				cand.push(scored{n, d})
				res.push(scored{n, d})
				if len(res.a) > ef {
					res.pop()
				}
			}
		}
	}
	out := res.a
	slices.SortFunc(out, byDist)
	return out
}

// selectNeighbours keeps up to m of the sorted candidates, preferring ones not
// closer to an already kept neighbour than to q (the HNSW heuristic, which
// keeps links towards outlying regions), then fills up with the nearest rest.
func (g *hnswGraph) selectNeighbours(q []float32, cands []scored, m int) []int32 {
	out := make([]int32, 0, m)
	var pruned []int32
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		good := true
		for _, r := range out {
			if 1-embed.Dot(g.nodes[c.id].vec, g.nodes[r].vec) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.id)
		} else {
			pruned = append(pruned, c.id)
		}
	}
	for _, p := range pruned {
		if len(out) >= m {
			break
		}
		out = append(out, p)
	}
	return out
}

// search returns up to k live nodes nearest to q, nearest first.
func (g *hnswGraph) search(q []float32, k int) []scored {
	if g.entry < 0 {
		return nil
	}
	ep := g.entry
	for l := g.maxLevel; l > 0; l-- {
		ep = g.greedy(q, ep, l)
	}
	// Widen the beam by the share of tombstones so that k live nodes remain.
	ef := max(g.efSearch, k)
	if g.dead > 0 && g.live() > 0 {
		ef = min(len(g.nodes), ef*len(g.nodes)/g.live())
	}
	res := g.searchLayer(q, []int32{ep}, ef, 0, nil)
	out := res[:0]
	for _, r := range res {
		if !g.nodes[r.id].dead {
			out = append(out, r)
			if len(out) == k {
				break
			}
		}
	}
	return out
}

// remove marks a node deleted; it keeps routing searches until a rebuild.
func (g *hnswGraph) remove(id int32) {
	if !g.nodes[id].dead {
		g.nodes[id].dead = true
		g.dead++
	}
}

// scoredHeap is a binary heap of scored nodes: the nearest on top, or with far
// the farthest (a search's frontier and its best-so-far are one of each).
type scoredHeap struct {
	a   []scored
	far bool
}

// above reports whether x belongs above y.
func (h *scoredHeap) above(x, y scored) bool {
	if h.far {
		return x.d > y.d
	}
	return x.d < y.d
}

func (h *scoredHeap) push(s scored) {
	h.a = append(h.a, s)
	a := h.a
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.above(a[i], a[p]) {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *scoredHeap) pop() scored {
	a := h.a
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, s := 2*i+1, 2*i+2, i
		if l < len(a) && h.above(a[l], a[s]) {
			s = l
		}
		if r < len(a) && h.above(a[r], a[s]) {
			s = r
		}
		if s == i {
			break
		}
		a[s], a[i] = a[i], a[s]
		i = s
	}
	h.a = a
	return top
}
