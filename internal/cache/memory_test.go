package cache

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestMemoryStore(t *testing.T) {
	testStoreContract(t, func(t *testing.T, clock *fakeClock) Store {
		return NewMemory(MemoryOptions{MaxBytes: 64 << 20, Now: clock.Now})
	})
}

func TestMemoryEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	ctx := context.Background()
	one := EntrySize(keyN("t", 0), entryFor(longAnswer(0)))
	// Room for exactly three entries of this size, in one shard so LRU order is global.
	m := NewMemory(MemoryOptions{MaxBytes: 3*one + one/2, Shards: 1})
	for i := 0; i < 3; i++ {
		_ = m.Set(ctx, keyN("t", i), entryFor(longAnswer(i)), time.Hour)
	}
	if _, ok, _ := m.Get(ctx, keyN("t", 0)); !ok { // 0 becomes most recent
		t.Fatal("entry 0 missing before any eviction")
	}
	_ = m.Set(ctx, keyN("t", 3), entryFor(longAnswer(3)), time.Hour)
	if _, ok, _ := m.Get(ctx, keyN("t", 1)); ok {
		t.Fatal("the least recently used entry survived")
	}
	for _, i := range []int{0, 2, 3} {
		if _, ok, _ := m.Get(ctx, keyN("t", i)); !ok {
			t.Fatalf("entry %d evicted", i)
		}
	}
	st := m.Stats()
	if st.Entries != 3 || st.Evictions != 1 || st.Bytes > st.MaxBytes {
		t.Fatalf("stats %+v", st)
	}
	// One large entry displaces several small ones: the bound is bytes, not entries.
	big := entryFor(longAnswer(9) + longAnswer(10) + longAnswer(11))
	if err := m.Set(ctx, keyN("t", 9), big, time.Hour); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Entries >= 3 || st.Evictions < 3 || st.Bytes > st.MaxBytes {
		t.Fatalf("after a large entry: %+v", st)
	}
	// An entry larger than the whole budget is refused, not stored by emptying the cache.
	huge := entryFor(string(make([]byte, 8*one)))
	_ = m.Set(ctx, keyN("t", 10), huge, time.Hour)
	if _, ok, _ := m.Get(ctx, keyN("t", 10)); ok {
		t.Fatal("an entry larger than the budget was stored")
	}
	if st := m.Stats(); st.Rejected != 1 || st.Entries == 0 {
		t.Fatalf("after a huge entry: %+v", st)
	}
}

func TestMemoryDropsExpiredEntriesBeforeEvictingLiveOnes(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	one := EntrySize(keyN("t", 0), entryFor(longAnswer(0)))
	m := NewMemory(MemoryOptions{MaxBytes: 2*one + one/2, Shards: 1, Now: clock.Now})
	_ = m.Set(ctx, keyN("t", 0), entryFor(longAnswer(0)), time.Second)
	_ = m.Set(ctx, keyN("t", 1), entryFor(longAnswer(1)), time.Hour)
	_, _, _ = m.Get(ctx, keyN("t", 0)) // 0 is now most recent, but short-lived
	clock.Advance(2 * time.Second)
	_ = m.Set(ctx, keyN("t", 2), entryFor(longAnswer(2)), time.Hour)
	if _, ok, _ := m.Get(ctx, keyN("t", 1)); !ok {
		t.Fatal("a live entry was evicted while an expired one took space")
	}
}

func TestMemoryIsSafeUnderConcurrentUse(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{MaxBytes: 200 * EntrySize(keyN("t", 0), entryFor(longAnswer(0)))})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := keyN(fmt.Sprintf("ns%d", w%3), i%300)
				switch i % 5 {
				case 0:
					_ = m.Set(ctx, k, entryFor(longAnswer(i)), time.Hour)
				case 1:
					_, _ = m.Delete(ctx, k)
				case 2:
					if i%100 == 2 {
						_, _ = m.DeleteNamespace(ctx, "ns1")
					}
					_ = m.Stats()
				default:
					if e, ok, _ := m.Get(ctx, k); ok && e.Response == nil {
						t.Error("entry without a response")
					}
				}
			}
		}(w)
	}
	wg.Wait()
	st := m.Stats()
	if st.Bytes > st.MaxBytes || st.Bytes < 0 {
		t.Fatalf("bytes %d outside [0, %d]", st.Bytes, st.MaxBytes)
	}
}

// TestEntrySizeIsNotAnUnderestimate checks the byte budget against the heap: the
// estimate must cover what the Go runtime actually holds per entry.
func TestEntrySizeIsNotAnUnderestimate(t *testing.T) {
	perEntry, estimate := measureBytesPerEntry(2000)
	if estimate < perEntry*9/10 {
		t.Fatalf("estimate %d B/entry, heap %d B/entry: the budget would be exceeded", estimate, perEntry)
	}
}

// measureBytesPerEntry fills a memory store with n typical 500-token answers and
// returns the heap growth per entry and the store's own estimate.
func measureBytesPerEntry(n int) (heap, estimate int64) {
	ctx := context.Background()
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = keyN("tenant-a", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMemory(MemoryOptions{MaxBytes: 1 << 40})
	for i := 0; i < n; i++ {
		_ = m.Set(ctx, keys[i], entryFor(longAnswer(i)), time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := m.Stats()
	runtime.KeepAlive(m)
	runtime.KeepAlive(keys)
	return int64(after.HeapAlloc-before.HeapAlloc) / int64(n), st.Bytes / st.Entries
}

func BenchmarkMemoryBytesPerEntry(b *testing.B) {
	var heap, est int64
	for b.Loop() {
		heap, est = measureBytesPerEntry(10000)
	}
	b.ReportMetric(float64(heap), "heap-B/entry")
	b.ReportMetric(float64(est), "est-B/entry")
	b.ReportMetric(float64(len(longAnswer(0))), "text-B/entry")
}

func BenchmarkMemoryGetHit(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{})
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = keyN("tenant-a", i)
		_ = m.Set(ctx, keys[i], entryFor(longAnswer(i)), time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, _ := m.Get(ctx, keys[i&1023]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
