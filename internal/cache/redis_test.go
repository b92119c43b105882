package cache

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/servicetest"
)

// redisClient connects to the test Redis (internal/servicetest).
var redisClient = servicetest.Redis

func TestRedisStore(t *testing.T) {
	c := redisClient(t)
	testStoreContract(t, func(t *testing.T, clock *fakeClock) Store {
		return NewRedis(RedisOptions{Client: c, Prefix: servicetest.RedisPrefix(t, c), Now: clock.Now})
	})
}

func TestTieredStore(t *testing.T) {
	c := redisClient(t)
	testStoreContract(t, func(t *testing.T, clock *fakeClock) Store {
		back := NewRedis(RedisOptions{Client: c, Prefix: servicetest.RedisPrefix(t, c), Now: clock.Now})
		front := NewMemory(MemoryOptions{MaxBytes: 16 << 20, Now: clock.Now})
		return NewTiered(front, back, TieredOptions{FrontTTL: time.Hour, Now: clock.Now})
	})
}

func TestTwoReplicasSharingRedisServeEachOthersEntries(t *testing.T) {
	ctx := context.Background()
	c1 := redisClient(t)
	c2 := redisClient(t) // a second connection pool, as another replica would have
	prefix := servicetest.RedisPrefix(t, c1)
	replica := func(c *redis.Client) Store {
		return NewTiered(NewMemory(MemoryOptions{MaxBytes: 16 << 20}),
			NewRedis(RedisOptions{Client: c, Prefix: prefix}), TieredOptions{})
	}
	a, b := replica(c1), replica(c2)

	req := &llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "What is the capital of France?")}}
	k, _ := KeyFor("tenant-a", req)
	if _, ok, _ := b.Get(ctx, k); ok {
		t.Fatal("hit before anything was stored")
	}
	in := entryFor("Paris.")
	if err := a.Set(ctx, k, in, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.Get(ctx, k)
	if err != nil || !ok {
		t.Fatalf("replica B missed replica A's entry: %v", err)
	}
	if got.Response.Text() != "Paris." || got.Cost != in.Cost || got.Provider != "openai" {
		t.Fatalf("replica B got %+v", got)
	}
	// B now also has it in its front: a second read does not need Redis.
	if _, ok, _ := b.Get(ctx, k); !ok {
		t.Fatal("second read missed")
	}
	if st := b.Stats(); st.Tiers[0].Hits != 1 || st.Tiers[1].Hits != 1 || st.Hits != 2 {
		t.Fatalf("replica B stats %+v", st)
	}
	// Tenant B asking the same question on either replica gets nothing.
	kb, _ := KeyFor("tenant-b", req)
	for _, s := range []Store{a, b} {
		if _, ok, _ := s.Get(ctx, kb); ok {
			t.Fatal("tenant B served tenant A's entry")
		}
	}
}

func TestRedisEntriesExpireInRedis(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	s := NewRedis(RedisOptions{Client: c, Prefix: servicetest.RedisPrefix(t, c)})
	k := keyN("t", 1)
	if err := s.Set(ctx, k, entryFor("x"), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.PTTL(ctx, s.key(k)).Result()
	if err != nil || ttl <= 0 || ttl > 90*time.Second {
		t.Fatalf("Redis TTL %v (%v), want in (0, 90s]", ttl, err)
	}
	// And Redis really drops it: a 1 ms entry is gone once 1 ms has passed.
	if err := s.Set(ctx, k, entryFor("x"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if n, _ := c.Exists(ctx, s.key(k)).Result(); n != 0 {
		t.Fatal("key still in Redis after its TTL")
	}
}

func TestRedisDeleteNamespaceScansPastOtherKeys(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	prefix := servicetest.RedisPrefix(t, c)
	// A small SCAN COUNT forces many cursor steps; glob characters in the namespace
	// and prefix must not widen the match.
	s := NewRedis(RedisOptions{Client: c, Prefix: prefix, ScanCount: 7})
	for i := 0; i < 120; i++ {
		_ = s.Set(ctx, keyN("team*", i), entryFor("x"), time.Hour)
		_ = s.Set(ctx, keyN("team-b", i), entryFor("y"), time.Hour)
	}
	n, err := s.DeleteNamespace(ctx, "team*")
	if err != nil || n != 120 {
		t.Fatalf("deleted %d (%v), want 120", n, err)
	}
	for i := 0; i < 120; i++ {
		if _, ok, _ := s.Get(ctx, keyN("team-b", i)); !ok {
			t.Fatalf("team-b's entry %d deleted along with team*", i)
		}
	}
}

func TestRedisCorruptEntryIsAnErrorNotAHit(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	s := NewRedis(RedisOptions{Client: c, Prefix: servicetest.RedisPrefix(t, c)})
	k := keyN("t", 1)
	c.Set(ctx, s.key(k), "\x01garbage", time.Minute)
	if _, ok, err := s.Get(ctx, k); ok || err == nil {
		t.Fatalf("corrupt entry: ok=%v err=%v", ok, err)
	}
}

func TestEntryCodecRoundTrips(t *testing.T) {
	in := &Entry{
		Response: &llm.Response{
			ID: "msg_1", Model: "claude-haiku", Created: 1764406800, SystemFingerprint: "fp",
			Choices: []llm.Choice{
				{Index: 0, FinishReason: llm.FinishToolCalls, Message: llm.Message{
					Role:      llm.RoleAssistant,
					Content:   []llm.Part{{Type: llm.PartText, Text: "Let me check. é😀"}},
					ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "weather", Arguments: `{"city":"Paris"}`}},
				}},
				{Index: 1, FinishReason: llm.FinishStop, Message: llm.TextMessage(llm.RoleAssistant, "Second choice")},
			},
			Usage: llm.Usage{InputTokens: 100, CachedInputTokens: 40, CacheWriteTokens: 10, OutputTokens: 50, ReasoningTokens: 20, Estimated: true},
		},
		Model: "claude-haiku-4-5", Provider: "anthropic", Cost: 123456,
		Stored:  time.Unix(0, 1764406800123456789),
		Expires: time.Unix(0, 1764410400123456789),
	}
	b := MarshalEntry(in)
	out, err := UnmarshalEntry(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Stored.Equal(in.Stored) || !out.Expires.Equal(in.Expires) {
		t.Fatalf("times: %v %v", out.Stored, out.Expires)
	}
	out.Stored, out.Expires = in.Stored, in.Expires
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip differs:\n%+v\n%+v", out.Response, in.Response)
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalEntry(string(b[:i])); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", i)
		}
	}
}

func BenchmarkRedisGetHit(b *testing.B) {
	ctx := context.Background()
	c := redisClient(b)
	s := NewRedis(RedisOptions{Client: c, Prefix: servicetest.RedisPrefix(b, c)})
	k := keyN("tenant-a", 1)
	if err := s.Set(ctx, k, entryFor(longAnswer(1)), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get(ctx, k); !ok || err != nil {
			b.Fatal("miss", err)
		}
	}
}

func BenchmarkEntryCodec(b *testing.B) {
	e := entryFor(longAnswer(1))
	data := string(MarshalEntry(e))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalEntry(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "redis-B/entry")
}

func TestTieredFrontsDropWhatAnotherReplicaDeletes(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	prefix := servicetest.RedisPrefix(t, c)
	replica := func() *Tiered {
		return NewTiered(NewMemory(MemoryOptions{MaxBytes: 16 << 20}),
			NewRedis(RedisOptions{Client: c, Prefix: prefix}), TieredOptions{FrontTTL: time.Hour})
	}
	a, b := replica(), replica()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	for _, r := range []*Tiered{a, b} {
		go func() { done <- r.Run(runCtx) }()
	}
	defer func() {
		stop()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}()
	waitFor(t, "both replicas to subscribe", func() bool {
		n, _ := c.PubSubNumSub(ctx, prefix+"invalidate").Result()
		return n[prefix+"invalidate"] == 2
	})

	k1, k2 := keyN("tenant-a", 1), keyN("tenant-a", 2)
	for _, k := range []Key{k1, k2} {
		_ = b.Set(ctx, k, entryFor("answer"), time.Hour)
		if _, ok, _ := a.Get(ctx, k); !ok { // now in A's front too
			t.Fatal("replica A missed")
		}
	}
	if _, err := b.Delete(ctx, k1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's front to drop the deleted key", func() bool {
		_, ok, _ := a.front.Get(ctx, k1)
		return !ok
	})
	if _, ok, _ := a.front.Get(ctx, k2); !ok {
		t.Fatal("A's front dropped a key nobody deleted")
	}
	if _, err := b.DeleteNamespace(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's front to drop the deleted namespace", func() bool {
		_, ok, _ := a.front.Get(ctx, k2)
		return !ok
	})
}
