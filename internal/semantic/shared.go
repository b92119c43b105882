package semantic

import (
	"context"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
)

// Record is one semantic-cache entry as replicas share it: the vector travels
// with the entry, so a replica that receives it need not run the model.
type Record struct {
	ID       string    // the exact-cache key of the request that stored it (Key.String())
	Scope    cache.Key // see cache.PrefixKey
	Text     string    // the last user turn
	Vector   []float32 // the text's embedding by Embedder
	Embedder string    // the embed kind of Vector; replicas ignore other kinds
	Key      cache.Key
	Entry    *cache.Entry
	Expires  time.Time
	// Deleted marks a deletion notice (only ID is set).
	Deleted bool
}

// SharedStore keeps entries for every replica and tells each about the others'.
// Implementations are safe for concurrent use.
type SharedStore interface {
	// Put stores r (replacing an entry with the same ID) and notifies replicas.
	Put(ctx context.Context, r Record) error
	// Delete removes an entry and notifies replicas.
	Delete(ctx context.Context, id string) error
	// Follow calls fn with every unexpired entry, then loaded, then with every
	// entry put or deleted by any replica (this one included) until ctx ends.
	// fn is called from one goroutine at a time.
	Follow(ctx context.Context, fn func(Record), loaded func()) error
}

// Run keeps this replica's index in step with the shared store until ctx ends:
// it loads the unexpired entries, then adds every entry another replica stores.
// Without a shared store it returns at once. Loaded is closed after the load.
func (c *Cache) Run(ctx context.Context) error {
	if c.o.Shared == nil {
		c.markLoaded()
		return nil
	}
	return c.o.Shared.Follow(ctx, func(r Record) {
		if r.Deleted {
			c.mu.Lock()
			if it := c.items[r.ID]; it != nil {
				c.removeLocked(it)
			}
			c.mu.Unlock()
			return
		}
		if r.Embedder != c.o.Kind || len(r.Vector) != c.o.Embedder.Dim() {
			return // another model's vectors: not comparable with ours
		}
		c.mu.RLock()
		old := c.items[r.ID]
		c.mu.RUnlock()
		// PostgreSQL keeps microseconds: compare at that precision.
		if old != nil && old.expires.Truncate(time.Microsecond).Equal(r.Expires.Truncate(time.Microsecond)) {
			return // our own Put coming back, or a repeat
		}
		if err := c.add(ctx, r); err != nil {
			c.log.Warn("semantic: adding a shared entry", "id", r.ID, "err", err)
			return
		}
		c.remote.Add(1)
	}, c.markLoaded)
}

// Loaded is closed once Run has loaded the shared store's entries (at once
// when there is no shared store and Run has been called).
func (c *Cache) Loaded() <-chan struct{} { return c.loaded }

func (c *Cache) markLoaded() {
	c.loadOnce.Do(func() { close(c.loaded) })
}
