package cache

import (
	"context"
	"encoding/binary"
	"sync"
	"time"
	"unsafe"

	"github.com/arbiterhq/arbiter/internal/llm"
)

// MemoryOptions configures a Memory store.
type MemoryOptions struct {
	// MaxBytes bounds the estimated memory held by entries (default 256 MiB).
	MaxBytes int64
	// Shards is the number of independently locked parts (default: 32, fewer for
	// small budgets so that one entry still fits a shard's share).
	Shards int
	// Now is the clock (default time.Now); tests move it to expire entries.
	Now func() time.Time
}

// Memory is an in-process store bounded by bytes, with LRU eviction and TTL. Keys are
// spread over shards, each with its own lock and LRU list, so that concurrent
// requests on many cores rarely contend. Sizes are estimates of the heap an entry
// holds (strings, slices, structs, index overhead), checked by BenchmarkMemoryBytesPerEntry.
type Memory struct {
	shards []memShard
	now    func() time.Time
	max    int64
}

type memShard struct {
	mu    sync.Mutex
	items map[Key]*memNode
	// head is the most recently used node, tail the least; both nil when empty.
	head, tail *memNode
	// byExpiry is a min-heap on expiry time, so that expired entries are dropped
	// before any live one is evicted, wherever they sit in the LRU order.
	byExpiry   []*memNode
	bytes, max int64

	hits, misses, sets, evictions, expired, rejected uint64
	_                                                [64]byte // keep shards on separate cache lines
}

type memNode struct {
	key        Key
	e          *Entry
	size       int64
	expires    int64 // Unix nanoseconds
	prev, next *memNode
	heapIdx    int
}

// NewMemory makes a memory store.
func NewMemory(o MemoryOptions) *Memory {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := o.Shards
	if n <= 0 {
		n = 32
		for n > 1 && o.MaxBytes/int64(n) < 4<<20 {
			n /= 2
		}
	}
	m := &Memory{shards: make([]memShard, n), now: o.Now, max: o.MaxBytes}
	for i := range m.shards {
		m.shards[i].items = make(map[Key]*memNode)
		m.shards[i].max = o.MaxBytes / int64(n)
	}
	return m
}

func (m *Memory) shard(k Key) *memShard {
	// The hash is uniform: its first bytes pick the shard.
	return &m.shards[binary.LittleEndian.Uint64(k.Sum[:8])%uint64(len(m.shards))]
}

// Get returns the entry if present and not expired, and marks it recently used.
func (m *Memory) Get(_ context.Context, k Key) (*Entry, bool, error) {
	now := m.now().UnixNano()
	s := m.shard(k)
	s.mu.Lock()
	n, ok := s.items[k]
	if !ok {
		s.misses++
		s.mu.Unlock()
		return nil, false, nil
	}
	if now >= n.expires {
		s.remove(n)
		s.expired++
		s.misses++
		s.mu.Unlock()
		return nil, false, nil
	}
	s.toFront(n)
	s.hits++
	e := n.e
	s.mu.Unlock()
	return e, true, nil
}

// Set stores e for ttl, evicting least recently used entries to stay within bytes.
// An entry larger than a shard's share of MaxBytes is not stored (counted Rejected).
func (m *Memory) Set(_ context.Context, k Key, e *Entry, ttl time.Duration) error {
	if ttl <= 0 || e == nil || e.Response == nil {
		return nil
	}
	now := m.now()
	c := *e
	if c.Stored.IsZero() {
		c.Stored = now
	}
	c.Expires = now.Add(ttl)
	size := EntrySize(k, &c)
	s := m.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > s.max {
		s.rejected++
		return nil
	}
	if old, ok := s.items[k]; ok {
		s.remove(old)
	}
	n := &memNode{key: k, e: &c, size: size, expires: c.Expires.UnixNano()}
	s.items[k] = n
	s.pushFront(n)
	s.heapPush(n)
	s.bytes += size
	s.sets++
	nowNS := now.UnixNano()
	// Expired entries go first and are not counted as evictions.
	for len(s.byExpiry) > 0 && s.byExpiry[0] != n && nowNS >= s.byExpiry[0].expires {
		s.remove(s.byExpiry[0])
		s.expired++
	}
	for s.bytes > s.max && s.tail != nil && s.tail != n {
		s.remove(s.tail)
		s.evictions++
	}
	return nil
}

// Delete removes one entry.
func (m *Memory) Delete(_ context.Context, k Key) (bool, error) {
	s := m.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.items[k]
	if ok {
		s.remove(n)
	}
	return ok, nil
}

// DeleteNamespace removes every entry of a namespace, one shard at a time so that
// lookups in other shards are not held up.
func (m *Memory) DeleteNamespace(ctx context.Context, ns string) (int, error) {
	total := 0
	for i := range m.shards {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		s := &m.shards[i]
		s.mu.Lock()
		for k, n := range s.items {
			if k.Namespace == ns {
				s.remove(n)
				total++
			}
		}
		s.mu.Unlock()
	}
	return total, nil
}

// Purge drops every entry.
func (m *Memory) Purge() {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		clear(s.items)
		clear(s.byExpiry)
		s.byExpiry = s.byExpiry[:0]
		s.head, s.tail, s.bytes = nil, nil, 0
		s.mu.Unlock()
	}
}

// Stats sums the shards' counters.
func (m *Memory) Stats() Stats {
	st := Stats{Store: "memory", MaxBytes: m.max}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		st.Entries += int64(len(s.items))
		st.Bytes += s.bytes
		st.Hits += s.hits
		st.Misses += s.misses
		st.Sets += s.sets
		st.Evictions += s.evictions
		st.Expired += s.expired
		st.Rejected += s.rejected
		s.mu.Unlock()
	}
	st.setRatio()
	return st
}

func (s *memShard) remove(n *memNode) {
	delete(s.items, n.key)
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		s.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		s.tail = n.prev
	}
	n.prev, n.next = nil, nil
	s.heapRemove(n)
	s.bytes -= n.size
}

func (s *memShard) heapPush(n *memNode) {
	n.heapIdx = len(s.byExpiry)
	s.byExpiry = append(s.byExpiry, n)
	s.heapUp(n.heapIdx)
}

func (s *memShard) heapRemove(n *memNode) {
	i, last := n.heapIdx, len(s.byExpiry)-1
	if i != last {
		s.heapSwap(i, last)
	}
	s.byExpiry[last] = nil
	s.byExpiry = s.byExpiry[:last]
	if i != last {
		s.heapDown(i)
		s.heapUp(i)
	}
}

func (s *memShard) heapSwap(i, j int) {
	h := s.byExpiry
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (s *memShard) heapUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.byExpiry[p].expires <= s.byExpiry[i].expires {
			return
		}
		s.heapSwap(i, p)
		i = p
	}
}

func (s *memShard) heapDown(i int) {
	h := s.byExpiry
	for {
		l, small := 2*i+1, i
		if l < len(h) && h[l].expires < h[small].expires {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].expires < h[small].expires {
			small = r
		}
		if small == i {
			return
		}
		s.heapSwap(i, small)
		i = small
	}
}

func (s *memShard) pushFront(n *memNode) {
	n.prev, n.next = nil, s.head
	if s.head != nil {
		s.head.prev = n
	}
	s.head = n
	if s.tail == nil {
		s.tail = n
	}
}

func (s *memShard) toFront(n *memNode) {
	if s.head == n {
		return
	}
	// Unlink (n is not head, so n.prev != nil).
	n.prev.next = n.next
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		s.tail = n.prev
	}
	s.pushFront(n)
}

// Sizes of the structures an entry holds, for the byte estimate.
const (
	sizeNode     = int64(unsafe.Sizeof(memNode{}))
	sizeEntry    = int64(unsafe.Sizeof(Entry{}))
	sizeResponse = int64(unsafe.Sizeof(llm.Response{}))
	sizeChoice   = int64(unsafe.Sizeof(llm.Choice{}))
	sizePart     = int64(unsafe.Sizeof(llm.Part{}))
	sizeToolCall = int64(unsafe.Sizeof(llm.ToolCall{}))
	// A map slot holds the key and a pointer; Go maps run at most 7/8 full, plus
	// control bytes and growth slack. The expiry heap holds a pointer, with slack.
	sizeMapSlot = int64(unsafe.Sizeof(Key{})+8)*3/2 + 16
)

// EntrySize estimates the bytes of heap that k and e take in a Memory store, with an
// allowance for the allocator's size classes (each allocation is rounded up).
func EntrySize(k Key, e *Entry) int64 {
	return entryBytes(k, e)*9/8 + 64
}

func entryBytes(k Key, e *Entry) int64 {
	n := sizeNode + sizeMapSlot + sizeEntry + int64(len(k.Namespace)+len(e.Model)+len(e.Provider))
	r := e.Response
	if r == nil {
		return n
	}
	n += sizeResponse + int64(len(r.ID)+len(r.Model)+len(r.SystemFingerprint))
	for i := range r.Choices {
		c := &r.Choices[i]
		n += sizeChoice + int64(len(c.FinishReason)+len(c.Message.Name)+len(c.Message.ToolCallID)+len(c.Message.ToolName))
		for j := range c.Message.Content {
			p := &c.Message.Content[j]
			n += sizePart + int64(len(p.Text)+len(p.ImageURL)+len(p.MediaType)+len(p.Base64)+len(p.Detail)+len(p.CacheControl)+len(p.Signature)+len(p.Data))
		}
		for j := range c.Message.ToolCalls {
			tc := &c.Message.ToolCalls[j]
			n += sizeToolCall + int64(len(tc.ID)+len(tc.Name)+len(tc.Arguments)+len(tc.Signature))
		}
	}
	return n
}
