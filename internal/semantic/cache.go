// Package semantic is Arbiter's semantic cache: it answers a request with the
// cached answer to an earlier request that asked the same thing in other words.
//
// Only entries with the same scope are compared: the scope is the exact hash of
// everything but the last user turn's text (tenant, model or route, system
// prompt, earlier turns, tools, schema, sampling; see cache.PrefixKey). Within a
// scope the last user turns are embedded; the nearest neighbours by cosine are
// then judged by a Verifier — hard guards (numbers, negations, names, quoted
// strings, opposites must agree) and a small trained pair classifier — so that
// "what is 2+2" is never answered with the answer to "what is 2+3".
//
// A Cache keeps its index in memory; with a SharedStore (PostgreSQL) every
// replica's index follows the entries stored by the others.
package semantic

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/embed"
	"github.com/arbiterhq/arbiter/internal/money"
)

// Options configure a Cache.
type Options struct {
	// Embedder embeds the texts compared (required); Kind is its embed kind
	// (embed.KindUSE or embed.KindStatic, as embed.Default reports), which
	// selects the verifier trained for its vectors.
	Embedder embed.Embedder
	Kind     string
	// Static is the static embedder (nil: embed.Static()), unless Kind is
	// static itself. It feeds a verifier feature and the cheap first stage: a
	// query whose static vector is not near any entry's misses without running
	// Embedder (NoFirstStage turns that off).
	Static       embed.Embedder
	NoFirstStage bool
	// Verifier decides hits; nil means DefaultVerifier(Kind).
	Verifier *Verifier
	// MaxEntries and MaxBytes bound the index (0: no entry bound; 256 MiB).
	// Least recently used entries are evicted first.
	MaxEntries int
	MaxBytes   int64
	// TTL is used by Store when its ttl is 0 (0 here: one hour).
	TTL time.Duration
	// Shared makes the entries visible to every replica (nil: this one only).
	Shared SharedStore
	// HNSWAbove is the scope size from which a scope is searched with HNSW
	// rather than exactly (0: 2048).
	HNSWAbove int
	// Candidates is how many nearest neighbours are verified (0: 4).
	Candidates int
	Logger     *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// PricedEmbedder is an Embedder that reports what embedding cost (a provider's
// embeddings endpoint); the cost of a lookup's embedding is recorded in Hit.
type PricedEmbedder interface {
	embed.Embedder
	EmbedPriced(ctx context.Context, texts []string) ([][]float32, money.USD, error)
}

// Hit is a verified match.
type Hit struct {
	Entry      *cache.Entry
	Similarity float64 // cosine of the two texts' embeddings
	// Probability is the verifier's confidence that the cached answer is right.
	Probability float64
	// EntryID names the matched entry (the exact-cache key of the request that
	// stored it, in cache.Key.String form), for the ledger.
	EntryID   string
	Text      string    // the cached request's last user turn
	EmbedCost money.USD // what embedding the query cost (0 for the local model)
}

// Stage says where a lookup was decided.
type Stage string

// Stages of a lookup.
const (
	StageEmpty    Stage = "empty"    // no entries in the scope: nothing embedded
	StageStatic   Stage = "static"   // the first stage found nothing near
	StageFloor    Stage = "floor"    // no neighbour above the verifier's cosine floor
	StageGuard    Stage = "guard"    // the best neighbour was refused by a guard
	StageVerifier Stage = "verifier" // the classifier decided
)

// Decision is the full outcome of a lookup, hit or not.
type Decision struct {
	Hit   *Hit  // nil on a miss
	Stage Stage // where it was decided
	// Similarity is the cosine to the nearest entry (by the static embedder
	// when Stage is StageStatic); Probability and Guard are the verdict on the
	// best candidate.
	Similarity  float64
	Probability float64
	Guard       Guard
	EmbedCost   money.USD
}

// Stats are counters since the cache was made.
type Stats struct {
	Entries     int64  `json:"entries"`
	Bytes       int64  `json:"bytes"`
	MaxBytes    int64  `json:"max_bytes"`
	Scopes      int    `json:"scopes"`
	Lookups     uint64 `json:"lookups"`
	Hits        uint64 `json:"hits"`
	StaticMiss  uint64 `json:"static_misses"`
	GuardRefuse uint64 `json:"guard_refusals"`
	Stores      uint64 `json:"stores"`
	Evictions   uint64 `json:"evictions"`
	Expired     uint64 `json:"expired"`
	Remote      uint64 `json:"remote_adds"` // entries added from other replicas
}

// Cache is the semantic cache. Safe for concurrent use.
type Cache struct {
	o        Options
	verifier *Verifier
	static   embed.Embedder // nil when Kind is static
	// firstStage: a query far from every entry by static cosine misses early.
	firstStage bool
	log        *slog.Logger

	mu     sync.RWMutex
	scopes map[cache.Key]*scope
	items  map[string]*item // by ID
	bytes  int64
	lruMu  sync.Mutex
	lru    *list.List // of *item, most recent first; guarded by lruMu

	loaded   chan struct{} // closed when Run has loaded the shared entries
	loadOnce sync.Once

	lookups, hits, staticMiss, guardRefuse, stores, evictions, expired, remote atomic.Uint64
}

// item is one entry in the index.
type item struct {
	id      string
	scope   cache.Key
	text    string
	vec     []float32 // unit vector from Options.Embedder
	static  []int8    // first-stage vector, quantised (nil without a first stage)
	sscale  float32
	key     cache.Key
	entry   *cache.Entry
	expires time.Time
	bytes   int64
	node    int32 // id in the scope's HNSW graph
	slot    int   // position in scope.items
	lru     *list.Element
}

type scope struct {
	items  []*item
	graph  *hnswGraph // set once the scope outgrows exact search
	byNode []*item    // graph node → item (nil for deleted nodes)
}

// New makes a cache. It does not contact the shared store: call Run for that.
func New(o Options) (*Cache, error) {
	if o.Embedder == nil {
		return nil, errors.New("semantic: Options.Embedder is required")
	}
	if o.Kind == "" {
		o.Kind = embed.KindUSE
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.TTL <= 0 {
		o.TTL = time.Hour
	}
	if o.HNSWAbove <= 0 {
		o.HNSWAbove = 2048
	}
	if o.Candidates <= 0 {
		o.Candidates = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	v := o.Verifier
	if v == nil {
		var err error
		if v, err = DefaultVerifier(o.Kind); err != nil {
			return nil, err
		}
	}
	c := &Cache{
		o:        o,
		verifier: v,
		log:      o.Logger,
		scopes:   map[cache.Key]*scope{},
		items:    map[string]*item{},
		lru:      list.New(),
		loaded:   make(chan struct{}),
	}
	if o.Kind != embed.KindStatic {
		// The verifier's features include the static cosine, so the static
		// embedder is needed even when the first stage is off.
		c.static = o.Static
		if c.static == nil {
			st, err := embed.Static()
			if err != nil {
				return nil, fmt.Errorf("semantic: loading the static embedder: %w", err)
			}
			c.static = st
		}
		c.firstStage = v.m.StaticFloor > 0 && !o.NoFirstStage
	}
	return c, nil
}

// Verifier returns the verifier in use.
func (c *Cache) Verifier() *Verifier { return c.verifier }

// Lookup returns the verified match for text among the entries of scope, or nil.
// threshold is the least verifier probability for a hit (0: the default
// operating point, Verifier().Model().Threshold).
func (c *Cache) Lookup(ctx context.Context, sc cache.Key, text string, threshold float64) (*Hit, error) {
	d, err := c.Explain(ctx, sc, text, threshold)
	return d.Hit, err
}

// Explain is Lookup returning the whole decision, for logs and evaluation.
func (c *Cache) Explain(ctx context.Context, sc cache.Key, text string, threshold float64) (Decision, error) {
	c.lookups.Add(1)
	now := c.o.Now()
	c.mu.RLock()
	s := c.scopes[sc]
	n := 0
	if s != nil {
		n = len(s.items)
	}
	// The first stage scans a scope exactly, so it is for scopes still below
	// the HNSW size; larger ones go straight to the model and the graph.
	firstStage := c.firstStage && s != nil && s.graph == nil
	c.mu.RUnlock()
	if n == 0 {
		return Decision{Stage: StageEmpty}, nil
	}

	var sv []float32
	if c.static != nil {
		svs, err := c.static.Embed(ctx, []string{text})
		if err != nil {
			return Decision{}, fmt.Errorf("semantic: lookup: static embedding: %w", err)
		}
		sv = svs[0]
	}
	if firstStage {
		best, near := c.nearStatic(sc, sv, now)
		if best < c.verifier.m.StaticFloor {
			c.staticMiss.Add(1)
			return Decision{Stage: StageStatic, Similarity: best}, nil
		}
		// The guards need no embedding either: when every entry above the
		// static floor is refused by one ("2+2" cached, "2+3" asked), the miss
		// is certain without the full model.
		if near != nil {
			q := analyze(text)
			refused := true
			for _, it := range near {
				if guard(analyze(it.text), q) == GuardNone {
					refused = false
					break
				}
			}
			if refused {
				c.staticMiss.Add(1)
				return Decision{Stage: StageStatic, Similarity: best}, nil
			}
		}
	}

	vec, cost, err := c.embedOne(ctx, text)
	if err != nil {
		return Decision{}, fmt.Errorf("semantic: lookup: embedding: %w", err)
	}
	d := c.decide(sc, text, vec, sv, threshold, now)
	d.EmbedCost = cost
	if d.Hit != nil {
		d.Hit.EmbedCost = cost
		c.hits.Add(1)
	}
	return d, nil
}

type candidate struct {
	it  *item
	cos float64
}

// decide verifies the nearest neighbours of vec in scope sc; sv is the query's
// static vector (nil when the kind is static itself).
func (c *Cache) decide(sc cache.Key, text string, vec, sv []float32, threshold float64, now time.Time) Decision {
	cands := c.nearest(sc, vec, now)
	if len(cands) == 0 {
		return Decision{Stage: StageFloor}
	}
	d := Decision{Stage: StageFloor, Similarity: cands[0].cos}
	floor := c.verifier.m.Floor
	q := analyze(text)
	var best *candidate
	var bestP float64
	for i := range cands {
		cd := &cands[i]
		if i > 0 && cd.cos < floor {
			break
		}
		cosStatic := cd.cos
		if sv != nil && cd.it.static != nil {
			cosStatic = float64(dotInt8(sv, cd.it.static, cd.it.sscale))
		}
		v := c.verifier.judge(analyze(cd.it.text), q, cd.it.vec, vec, cd.cos, cosStatic, threshold)
		if i == 0 {
			d.Probability, d.Guard = v.Probability, v.Guard
			switch {
			case v.Guard != GuardNone:
				d.Stage = StageGuard
			case cd.cos >= floor || v.Hit:
				d.Stage = StageVerifier
			}
		}
		if v.Hit && (best == nil || v.Probability > bestP) {
			best, bestP = cd, v.Probability
		}
	}
	if best == nil {
		if d.Guard != GuardNone {
			c.guardRefuse.Add(1)
		}
		return d
	}
	c.touch(best.it)
	d.Similarity, d.Probability, d.Guard, d.Stage = best.cos, bestP, GuardNone, StageVerifier
	d.Hit = &Hit{
		Entry:       best.it.entry,
		Similarity:  best.cos,
		Probability: bestP,
		EntryID:     best.it.id,
		Text:        best.it.text,
	}
	return d
}

// nearest returns up to Candidates unexpired neighbours, most similar first.
func (c *Cache) nearest(sc cache.Key, vec []float32, now time.Time) []candidate {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.scopes[sc]
	if s == nil {
		return nil
	}
	k := c.o.Candidates
	var out []candidate
	if s.graph != nil {
		// Ask for a few more than k: expired entries may be among them.
		for _, nd := range s.graph.search(vec, k+4) {
			it := s.byNode[nd.id]
			if it == nil || !now.Before(it.expires) {
				continue
			}
			// The graph ranks with the vector kernel; the verifier gets the
			// plain dot product it was trained on.
			out = append(out, candidate{it, float64(dot(vec, it.vec))})
		}
	} else {
		for _, it := range s.items {
			if !now.Before(it.expires) {
				continue
			}
			// Ranked by the vector kernel; the kept few get the plain
			// dot product below, the exact value the verifier was trained on.
			cos := float64(embed.Dot(vec, it.vec))
			if len(out) < k {
				out = append(out, candidate{it, cos})
				continue
			}
			// Replace the worst of the k kept so far.
			w := 0
			for j := 1; j < len(out); j++ {
				if out[j].cos < out[w].cos {
					w = j
				}
			}
			if cos > out[w].cos {
				out[w] = candidate{it, cos}
			}
		}
		for i := range out {
			out[i].cos = float64(dot(vec, out[i].it.vec))
		}
	}
	slices.SortFunc(out, func(a, b candidate) int {
		switch {
		case a.cos > b.cos:
			return -1
		case a.cos < b.cos:
			return 1
		}
		return 0
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// firstStageGuarded is how many entries above the static floor the first
// stage checks with the guards; with more, the full model decides.
const firstStageGuarded = 16

// nearStatic is the highest static cosine in a (small) scope, and the entries
// at or above the static floor when there are at most firstStageGuarded (else nil).
func (c *Cache) nearStatic(sc cache.Key, sv []float32, now time.Time) (best float64, near []*item) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	best = -1
	s := c.scopes[sc]
	if s == nil {
		return best, nil
	}
	floor := float32(c.verifier.m.StaticFloor)
	many := false
	var top *item
	for _, it := range s.items {
		if it.static == nil || !now.Before(it.expires) {
			continue
		}
		// The vector kernel's sum can differ from the plain one's in the last
		// bits; near the floor, decide with the plain one, as trained.
		d := embed.DotInt8(sv, it.static) * it.sscale
		if abs32(d-floor) < 1e-4 {
			d = dotInt8(sv, it.static, it.sscale)
		}
		if float64(d) > best {
			best, top = float64(d), it
		}
		if d >= floor && !many {
			if len(near) == firstStageGuarded {
				many, near = true, nil
			} else {
				near = append(near, it)
			}
		}
	}
	if top != nil {
		best = float64(dotInt8(sv, top.static, top.sscale))
	}
	return best, near
}

func (c *Cache) embedOne(ctx context.Context, text string) ([]float32, money.USD, error) {
	if p, ok := c.o.Embedder.(PricedEmbedder); ok {
		vs, cost, err := p.EmbedPriced(ctx, []string{text})
		if err != nil {
			return nil, cost, err
		}
		return vs[0], cost, nil
	}
	vs, err := c.o.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, 0, err
	}
	if len(vs) != 1 || len(vs[0]) == 0 {
		return nil, 0, errors.New("embedder returned no vector")
	}
	return vs[0], 0, nil
}

// Store indexes e, the answer to a request in scope sc whose last user turn is
// text and whose exact-cache key is key, for ttl (0: Options.TTL). e is not
// changed (the index keeps a copy with Stored and Expires set) and, as with
// cache.Store, neither it nor its response may be changed afterwards. With a
// shared store the entry is also written there for the other replicas.
func (c *Cache) Store(ctx context.Context, sc cache.Key, text string, key cache.Key, e *cache.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("semantic: store: nil entry")
	}
	if ttl <= 0 {
		ttl = c.o.TTL
	}
	vec, _, err := c.embedOne(ctx, text)
	if err != nil {
		return fmt.Errorf("semantic: store: embedding: %w", err)
	}
	now := c.o.Now()
	// A copy: the caller's entry may also sit in the exact cache, which owns it.
	ec := *e
	if ec.Stored.IsZero() {
		ec.Stored = now
	}
	ec.Expires = now.Add(ttl)
	rec := Record{
		ID:       key.String(),
		Scope:    sc,
		Text:     text,
		Vector:   vec,
		Embedder: c.o.Kind,
		Key:      key,
		Entry:    &ec,
		Expires:  ec.Expires,
	}
	if err := c.add(ctx, rec); err != nil {
		return err
	}
	c.stores.Add(1)
	if c.o.Shared != nil {
		if err := c.o.Shared.Put(ctx, rec); err != nil {
			return fmt.Errorf("semantic: store: shared: %w", err)
		}
	}
	return nil
}

// add puts a record into the in-memory index, replacing an entry with the same ID.
func (c *Cache) add(ctx context.Context, r Record) error {
	now := c.o.Now()
	if !now.Before(r.Expires) {
		return nil
	}
	it := &item{id: r.ID, scope: r.Scope, text: r.Text, vec: r.Vector, key: r.Key, entry: r.Entry, expires: r.Expires}
	if c.static != nil {
		sv, err := c.static.Embed(ctx, []string{r.Text})
		if err != nil {
			return fmt.Errorf("semantic: static embedding: %w", err)
		}
		it.static, it.sscale = quantize(sv[0])
	}
	it.bytes = itemBytes(it)
	if it.bytes > c.o.MaxBytes {
		return nil // larger than the whole budget: never cached
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.items[r.ID]; old != nil {
		c.removeLocked(old)
	}
	s := c.scopes[r.Scope]
	if s == nil {
		s = &scope{}
		c.scopes[r.Scope] = s
	}
	it.slot = len(s.items)
	s.items = append(s.items, it)
	if s.graph != nil {
		it.node = s.graph.insert(it.vec)
		s.byNode = append(s.byNode, it)
	} else if len(s.items) > c.o.HNSWAbove {
		buildGraph(s)
	}
	c.items[r.ID] = it
	c.bytes += it.bytes
	c.lruMu.Lock()
	it.lru = c.lru.PushFront(it)
	c.lruMu.Unlock()
	c.evictLocked(now)
	return nil
}

// buildGraph (re)builds a scope's HNSW graph from its live items: when the
// scope outgrows exact search, and when deletions leave more tombstones than
// live nodes.
func buildGraph(s *scope) {
	s.graph = newHNSW()
	s.byNode = make([]*item, 0, len(s.items))
	for _, it := range s.items {
		it.node = s.graph.insert(it.vec)
		s.byNode = append(s.byNode, it)
	}
}

// evictLocked drops expired entries, then least recently used ones, until the
// index is within its budgets.
func (c *Cache) evictLocked(now time.Time) {
	c.lruMu.Lock()
	var victims []*item
	over := func(extra int) bool {
		return c.bytes > c.o.MaxBytes || c.o.MaxEntries > 0 && len(c.items)-extra > c.o.MaxEntries
	}
	if over(0) {
		// Expired entries go first, wherever they are in the LRU order.
		for el := c.lru.Back(); el != nil; el = el.Prev() {
			if it := el.Value.(*item); !now.Before(it.expires) {
				victims = append(victims, it)
			}
		}
	}
	c.lruMu.Unlock()
	for _, it := range victims {
		c.removeLocked(it)
		c.expired.Add(1)
	}
	for over(0) {
		c.lruMu.Lock()
		el := c.lru.Back()
		c.lruMu.Unlock()
		if el == nil {
			break
		}
		c.removeLocked(el.Value.(*item))
		c.evictions.Add(1)
	}
}

// removeLocked takes an item out of every structure.
func (c *Cache) removeLocked(it *item) {
	if c.items[it.id] != it {
		return
	}
	delete(c.items, it.id)
	c.bytes -= it.bytes
	c.lruMu.Lock()
	if it.lru != nil {
		c.lru.Remove(it.lru)
		it.lru = nil
	}
	c.lruMu.Unlock()
	s := c.scopes[it.scope]
	if s == nil {
		return
	}
	last := s.items[len(s.items)-1]
	s.items[it.slot] = last
	last.slot = it.slot
	s.items[len(s.items)-1] = nil
	s.items = s.items[:len(s.items)-1]
	if s.graph != nil {
		s.graph.remove(it.node)
		s.byNode[it.node] = nil
		switch {
		case len(s.items) <= c.o.HNSWAbove/2:
			s.graph, s.byNode = nil, nil // small again: exact search
		case s.graph.dead > s.graph.live():
			buildGraph(s)
		}
	}
	if len(s.items) == 0 {
		delete(c.scopes, it.scope)
	}
}

func (c *Cache) touch(it *item) {
	c.lruMu.Lock()
	if it.lru != nil {
		c.lru.MoveToFront(it.lru)
	}
	c.lruMu.Unlock()
}

// Remove deletes the entry stored under the exact-cache key (this replica's
// index; and the shared store's, when there is one).
func (c *Cache) Remove(ctx context.Context, key cache.Key) (bool, error) {
	id := key.String()
	c.mu.Lock()
	it := c.items[id]
	if it != nil {
		c.removeLocked(it)
	}
	c.mu.Unlock()
	if c.o.Shared != nil {
		if err := c.o.Shared.Delete(ctx, id); err != nil {
			return it != nil, fmt.Errorf("semantic: remove: shared: %w", err)
		}
	}
	return it != nil, nil
}

// Sweep drops expired entries now (they are also skipped by lookups and
// dropped when the budget is reached); call it periodically.
func (c *Cache) Sweep() int {
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var victims []*item
	for _, it := range c.items {
		if !now.Before(it.expires) {
			victims = append(victims, it)
		}
	}
	for _, it := range victims {
		c.removeLocked(it)
	}
	c.expired.Add(uint64(len(victims)))
	return len(victims)
}

// Stats reports the index and its counters.
func (c *Cache) Stats() Stats {
	c.mu.RLock()
	st := Stats{Entries: int64(len(c.items)), Bytes: c.bytes, MaxBytes: c.o.MaxBytes, Scopes: len(c.scopes)}
	c.mu.RUnlock()
	st.Lookups, st.Hits, st.StaticMiss = c.lookups.Load(), c.hits.Load(), c.staticMiss.Load()
	st.GuardRefuse, st.Stores, st.Evictions = c.guardRefuse.Load(), c.stores.Load(), c.evictions.Load()
	st.Expired, st.Remote = c.expired.Load(), c.remote.Load()
	return st
}

// itemOverhead approximates the bookkeeping of one item: the struct, its map
// and list entries, slice slots and, in large scopes, HNSW links (M=16 per
// layer, 8-byte keys).
const itemOverhead = 400

// itemBytes is what an item is charged against MaxBytes.
func itemBytes(it *item) int64 {
	return int64(itemOverhead+len(it.id)+len(it.text)+4*len(it.vec)+len(it.static)) + cache.EntrySize(it.key, it.entry)
}

// quantize maps a vector to int8 with one scale (the largest magnitude → 127).
func quantize(v []float32) ([]int8, float32) {
	var mx float32
	for _, x := range v {
		mx = max(mx, abs32(x))
	}
	if mx == 0 {
		return make([]int8, len(v)), 0
	}
	s := mx / 127
	q := make([]int8, len(v))
	for i, x := range v {
		q[i] = int8(math.Round(float64(x / s)))
	}
	return q, s
}

func dotInt8(a []float32, q []int8, scale float32) float32 {
	var s0, s1 float32
	n := len(q)
	a = a[:n]
	i := 0
	for ; i+2 <= n; i += 2 {
		s0 += a[i] * float32(q[i])
		s1 += a[i+1] * float32(q[i+1])
	}
	for ; i < n; i++ {
		s0 += a[i] * float32(q[i])
	}
	return (s0 + s1) * scale
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
