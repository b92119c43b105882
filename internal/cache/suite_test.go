package cache

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// answer is a typical answer of about 500 output tokens (~2,000 characters).
func answer(text string) *llm.Response {
	return &llm.Response{
		ID: "chatcmpl-9x8y7z", Model: "gpt-4o-mini-2024-07-18", Created: 1764406800,
		Choices: []llm.Choice{{
			Message:      llm.TextMessage(llm.RoleAssistant, text),
			FinishReason: llm.FinishStop,
		}},
		Usage:             llm.Usage{InputTokens: 812, CachedInputTokens: 512, OutputTokens: 497},
		SystemFingerprint: "fp_0aa8d3e20b",
	}
}

func longAnswer(seed int) string {
	var b strings.Builder
	for b.Len() < 2000 {
		fmt.Fprintf(&b, "Sentence %d of answer %d explains one more step of the plan in plain words. ", b.Len()/70, seed)
	}
	return b.String()
}

func entryFor(text string) *Entry {
	return &Entry{Response: answer(text), Model: "gpt-4o-mini", Provider: "openai", Cost: 3 * money.Dollar / 10000}
}

func keyN(ns string, i int) Key {
	r := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, fmt.Sprintf("question %d", i))}}
	k, err := KeyFor(ns, r)
	if err != nil {
		panic(err)
	}
	return k
}

// storeFactory makes a fresh, empty store on clock; stores made by one call of the
// factory's second return share their backing (two replicas of one deployment).
type storeFactory func(t *testing.T, clock *fakeClock) Store

// testStoreContract is the behaviour every Store must have.
func testStoreContract(t *testing.T, mk storeFactory) {
	ctx := context.Background()

	t.Run("MissThenHit", func(t *testing.T) {
		clock := newFakeClock()
		s := mk(t, clock)
		k := keyN("tenant-a", 1)
		if _, ok, err := s.Get(ctx, k); err != nil || ok {
			t.Fatalf("empty store: ok=%v err=%v", ok, err)
		}
		in := entryFor(longAnswer(1))
		in.Stored = clock.Now()
		if err := s.Set(ctx, k, in, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Get(ctx, k)
		if err != nil || !ok {
			t.Fatalf("after set: ok=%v err=%v", ok, err)
		}
		if got.Response.Text() != in.Response.Text() || got.Response.Usage != in.Response.Usage ||
			got.Response.ID != in.Response.ID || got.Model != "gpt-4o-mini" || got.Provider != "openai" || got.Cost != in.Cost {
			t.Fatalf("entry changed in the store: %+v", got)
		}
		if !got.Stored.Equal(clock.Now()) || !got.Expires.Equal(clock.Now().Add(time.Hour)) {
			t.Fatalf("stored %v expires %v", got.Stored, got.Expires)
		}
		st := s.Stats()
		if st.Hits < 1 || st.Misses < 1 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("CacheNeverServesAnotherTenant", func(t *testing.T) {
		s := mk(t, newFakeClock())
		r := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "the same question")}}
		ka, _ := KeyFor("tenant-a", r)
		kb, _ := KeyFor("tenant-b", r)
		if err := s.Set(ctx, kb, entryFor("B's private answer"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if e, ok, err := s.Get(ctx, ka); err != nil || ok {
			t.Fatalf("tenant A was served %v (err %v)", e, err)
		}
		// Same hash, other namespace: the namespace alone must still separate them.
		forged := Key{Namespace: "tenant-a", Sum: kb.Sum}
		if e, ok, _ := s.Get(ctx, forged); ok {
			t.Fatalf("a key with B's hash in A's namespace was served %v", e.Response.Text())
		}
	})

	t.Run("TTLExpiry", func(t *testing.T) {
		clock := newFakeClock()
		s := mk(t, clock)
		k := keyN("t", 2)
		if err := s.Set(ctx, k, entryFor("short-lived"), time.Minute); err != nil {
			t.Fatal(err)
		}
		clock.Advance(59 * time.Second)
		if _, ok, _ := s.Get(ctx, k); !ok {
			t.Fatal("entry gone before its TTL")
		}
		clock.Advance(time.Second)
		if _, ok, _ := s.Get(ctx, k); ok {
			t.Fatal("entry served after its TTL")
		}
	})

	t.Run("MaxAge", func(t *testing.T) {
		clock := newFakeClock()
		s := mk(t, clock)
		k := keyN("t", 3)
		if err := s.Set(ctx, k, entryFor("aging"), time.Hour); err != nil {
			t.Fatal(err)
		}
		clock.Advance(90 * time.Second)
		e, ok, _ := s.Get(ctx, k)
		if !ok {
			t.Fatal("miss")
		}
		if e.AgeSeconds(clock.Now()) != 90 {
			t.Fatalf("age %v", e.Age(clock.Now()))
		}
		if e.Fresh(clock.Now(), time.Minute) {
			t.Fatal("a 90 s old entry accepted under max-age=60")
		}
		if !e.Fresh(clock.Now(), 2*time.Minute) || !e.Fresh(clock.Now(), 0) {
			t.Fatal("a 90 s old entry refused under max-age=120 or none")
		}
	})

	t.Run("OverwriteAndDelete", func(t *testing.T) {
		s := mk(t, newFakeClock())
		k := keyN("t", 4)
		_ = s.Set(ctx, k, entryFor("old"), time.Hour)
		_ = s.Set(ctx, k, entryFor("new"), time.Hour)
		if e, _, _ := s.Get(ctx, k); e == nil || e.Response.Text() != "new" {
			t.Fatalf("overwrite: %v", e)
		}
		if ok, err := s.Delete(ctx, k); err != nil || !ok {
			t.Fatalf("delete: ok=%v err=%v", ok, err)
		}
		if _, ok, _ := s.Get(ctx, k); ok {
			t.Fatal("served after delete")
		}
		if ok, _ := s.Delete(ctx, k); ok {
			t.Fatal("deleted twice")
		}
	})

	t.Run("DeleteNamespace", func(t *testing.T) {
		s := mk(t, newFakeClock())
		for i := 0; i < 50; i++ {
			_ = s.Set(ctx, keyN("gone", i), entryFor("x"), time.Hour)
			_ = s.Set(ctx, keyN("kept", i), entryFor("y"), time.Hour)
		}
		n, err := s.DeleteNamespace(ctx, "gone")
		if err != nil || n != 50 {
			t.Fatalf("deleted %d, err %v; want 50", n, err)
		}
		for i := 0; i < 50; i++ {
			if _, ok, _ := s.Get(ctx, keyN("gone", i)); ok {
				t.Fatalf("entry %d of a deleted namespace served", i)
			}
			if _, ok, _ := s.Get(ctx, keyN("kept", i)); !ok {
				t.Fatalf("entry %d of another namespace deleted", i)
			}
		}
	})

	t.Run("NoTTLNoStore", func(t *testing.T) {
		s := mk(t, newFakeClock())
		k := keyN("t", 5)
		_ = s.Set(ctx, k, entryFor("x"), 0)
		if _, ok, _ := s.Get(ctx, k); ok {
			t.Fatal("stored with ttl 0")
		}
	})
}
