package semantic

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/embed"
	"github.com/arbiterhq/arbiter/internal/llm"
)

// staticEmbedder is shared by the tests: parsing the table takes milliseconds.
var staticEmbedder = sync.OnceValues(embed.Static)

// testCache is a cache on the static embedder (built into the binary, so the
// tests need no model files) with a settable clock.
type testCache struct {
	*Cache
	clockMu sync.Mutex
	now     time.Time
}

func (tc *testCache) advance(d time.Duration) {
	tc.clockMu.Lock()
	tc.now = tc.now.Add(d)
	tc.clockMu.Unlock()
}

func newTestCache(t testing.TB, o Options) *testCache {
	t.Helper()
	st, err := staticEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	// Real time as the start: a shared store compares expiry with its own clock.
	tc := &testCache{now: time.Now()}
	if o.Embedder == nil {
		o.Embedder, o.Kind = st, embed.KindStatic
	}
	o.Now = func() time.Time {
		tc.clockMu.Lock()
		defer tc.clockMu.Unlock()
		return tc.now
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	tc.Cache = c
	return tc
}

// request returns the scope and exact key of a one-turn request from tenant.
func request(t testing.TB, tenant, model, system, text string) (scope, key cache.Key) {
	t.Helper()
	req := &llm.Request{Model: model}
	if system != "" {
		req.Messages = append(req.Messages, llm.TextMessage(llm.RoleSystem, system))
	}
	req.Messages = append(req.Messages, llm.TextMessage(llm.RoleUser, text))
	sc, err := cache.PrefixKey(tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	k, err := cache.KeyFor(tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	return sc, k
}

func answer(text string) *cache.Entry {
	return &cache.Entry{
		Response: &llm.Response{Model: "m", Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text)}}},
		Model:    "m",
		Provider: "p",
	}
}

func store(t testing.TB, c *testCache, tenant, text, ans string, ttl time.Duration) cache.Key {
	t.Helper()
	sc, k := request(t, tenant, "gpt-x", "", text)
	if err := c.Store(context.Background(), sc, text, k, answer(ans), ttl); err != nil {
		t.Fatal(err)
	}
	return k
}

func lookup(t testing.TB, c *testCache, tenant, text string) *Hit {
	t.Helper()
	sc, _ := request(t, tenant, "gpt-x", "", text)
	h, err := c.Lookup(context.Background(), sc, text, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func answerOf(h *Hit) string {
	if h == nil {
		return ""
	}
	return h.Entry.Response.Choices[0].Message.Text()
}

func TestCacheServesAParaphraseInTheSameScope(t *testing.T) {
	c := newTestCache(t, Options{})
	k := store(t, c, "acme", "How do I reset my password?", "Click 'forgot password'.", time.Hour)
	h := lookup(t, c, "acme", "how do I reset my password")
	if h == nil {
		t.Fatal("no hit for the same question up to case and punctuation")
	}
	if answerOf(h) != "Click 'forgot password'." || h.EntryID != k.String() || h.Similarity <= 0.9 {
		t.Errorf("hit = %+v", h)
	}
}

func TestCacheNeverServesAnotherScope(t *testing.T) {
	c := newTestCache(t, Options{})
	store(t, c, "tenant-a", "How do I reset my password?", "A's answer", time.Hour)
	if h := lookup(t, c, "tenant-b", "How do I reset my password?"); h != nil {
		t.Fatalf("tenant B was served tenant A's entry: %+v", h)
	}
	// Same tenant, other system prompt: another scope too.
	sc, _ := request(t, "tenant-a", "gpt-x", "You are a pirate.", "How do I reset my password?")
	if h, _ := c.Lookup(context.Background(), sc, "How do I reset my password?", 0); h != nil {
		t.Fatalf("a request with another system prompt was served: %+v", h)
	}
}

func TestCacheMissesWhenTheNumbersDiffer(t *testing.T) {
	c := newTestCache(t, Options{})
	store(t, c, "acme", "What is 2+2?", "4", time.Hour)
	if h := lookup(t, c, "acme", "What is 2+3?"); h != nil {
		t.Fatalf("'what is 2+3' was answered with %q", answerOf(h))
	}
	d, err := c.Explain(context.Background(), mustScope(t, "acme", "What is 2+3?"), "What is 2+3?", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Guard != GuardNumbers {
		t.Errorf("decision = %+v, want the numbers guard", d)
	}
}

func mustScope(t testing.TB, tenant, text string) cache.Key {
	sc, _ := request(t, tenant, "gpt-x", "", text)
	return sc
}

func TestCacheEntriesExpireWithTheirTTL(t *testing.T) {
	c := newTestCache(t, Options{})
	store(t, c, "acme", "How do I reset my password?", "answer", time.Minute)
	c.advance(59 * time.Second)
	if lookup(t, c, "acme", "How do I reset my password?") == nil {
		t.Fatal("entry gone before its TTL")
	}
	c.advance(2 * time.Second)
	if h := lookup(t, c, "acme", "How do I reset my password?"); h != nil {
		t.Fatalf("expired entry served: %+v", h)
	}
	if n := c.Sweep(); n != 1 {
		t.Errorf("Sweep removed %d entries, want 1", n)
	}
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 || st.Scopes != 0 {
		t.Errorf("after sweep: %+v", st)
	}
}

func TestCacheEvictsLeastRecentlyUsedToStayWithinItsByteBudget(t *testing.T) {
	probe := newTestCache(t, Options{})
	store(t, probe, "acme", "question number zero about cooking", "answer", time.Hour)
	per := probe.Stats().Bytes
	c := newTestCache(t, Options{MaxBytes: 3*per + per/2})
	texts := []string{"How do I bake bread?", "How do I brew coffee?", "How do I boil an egg?", "How do I grill fish?"}
	for i, q := range texts[:3] {
		store(t, c, "acme", q, fmt.Sprint("answer ", i), time.Hour)
	}
	// Use the oldest entry, so the second one is now the least recently used.
	if lookup(t, c, "acme", texts[0]) == nil {
		t.Fatal("no hit on a stored entry")
	}
	store(t, c, "acme", texts[3], "answer 3", time.Hour)
	if st := c.Stats(); st.Bytes > st.MaxBytes || st.Entries != 3 || st.Evictions != 1 {
		t.Fatalf("stats after overflow = %+v", st)
	}
	if lookup(t, c, "acme", texts[1]) != nil {
		t.Error("the least recently used entry survived")
	}
	for _, q := range []string{texts[0], texts[2], texts[3]} {
		if lookup(t, c, "acme", q) == nil {
			t.Errorf("%q was evicted", q)
		}
	}
}

func TestCacheRemoveDeletesByExactKey(t *testing.T) {
	c := newTestCache(t, Options{})
	k := store(t, c, "acme", "How do I reset my password?", "answer", time.Hour)
	if ok, err := c.Remove(context.Background(), k); !ok || err != nil {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	if h := lookup(t, c, "acme", "How do I reset my password?"); h != nil {
		t.Fatal("removed entry served")
	}
}

func TestCacheStoringTheSameRequestAgainReplacesItsEntry(t *testing.T) {
	c := newTestCache(t, Options{})
	store(t, c, "acme", "How do I reset my password?", "old", time.Hour)
	store(t, c, "acme", "How do I reset my password?", "new", time.Hour)
	if st := c.Stats(); st.Entries != 1 {
		t.Fatalf("entries = %d, want 1", st.Entries)
	}
	if got := answerOf(lookup(t, c, "acme", "How do I reset my password?")); got != "new" {
		t.Errorf("answer = %q, want the newer one", got)
	}
}

func TestCacheLargeScopeSearchedWithHNSWFindsTheSameEntries(t *testing.T) {
	c := newTestCache(t, Options{HNSWAbove: 64})
	for i := 0; i < 300; i++ {
		store(t, c, "acme", fmt.Sprintf("What is the population of city number %d?", i), fmt.Sprint(i), time.Hour)
	}
	store(t, c, "acme", "How do I make sourdough bread at home?", "bread", time.Hour)
	c.Cache.mu.RLock()
	graph := c.scopes[mustScope(t, "acme", "x")].graph
	c.Cache.mu.RUnlock()
	if graph == nil {
		t.Fatal("a scope above HNSWAbove is still searched exactly")
	}
	if got := answerOf(lookup(t, c, "acme", "how do I make sourdough bread at home")); got != "bread" {
		t.Errorf("HNSW lookup answered %q", got)
	}
	if got := answerOf(lookup(t, c, "acme", "What is the population of city number 117?")); got != "117" {
		t.Errorf("HNSW lookup answered %q, want 117", got)
	}
}

func TestCacheEmptyScopeMissesWithoutEmbedding(t *testing.T) {
	c := newTestCache(t, Options{Embedder: failingEmbedder{}, Kind: embed.KindStatic})
	h, err := c.Lookup(context.Background(), mustScope(t, "acme", "x"), "anything", 0)
	if h != nil || err != nil {
		t.Fatalf("Lookup on an empty scope = %v, %v; want a miss without calling the embedder", h, err)
	}
}

type failingEmbedder struct{}

func (failingEmbedder) Dim() int { return embed.Dim }
func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, fmt.Errorf("embedder must not be called")
}

func TestCacheIsSafeForConcurrentStoresAndLookups(t *testing.T) {
	c := newTestCache(t, Options{HNSWAbove: 32, MaxBytes: 64 << 10})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				q := fmt.Sprintf("question %d from worker %d about gardening", i, g)
				store(t, c, "acme", q, "a", time.Hour)
				lookup(t, c, "acme", q)
			}
		}()
	}
	wg.Wait()
	if st := c.Stats(); st.Bytes > st.MaxBytes {
		t.Errorf("bytes %d over budget %d", st.Bytes, st.MaxBytes)
	}
}
