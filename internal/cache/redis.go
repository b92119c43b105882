package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a Redis store.
type RedisOptions struct {
	// Client is any go-redis client: a single node, a failover or a cluster client.
	Client redis.UniversalClient
	// Prefix starts every key the store writes (default "arbiter:cache:"), so that one
	// Redis can hold several deployments and other data.
	Prefix string
	// Now is the clock (default time.Now). Entries carry their own expiry, checked
	// against it, on top of Redis's own key expiry.
	Now func() time.Time
	// ScanCount is the COUNT hint for the SCAN that namespace deletion uses (default
	// 1000): each step is short, so Redis is never blocked for long.
	ScanCount int64
}

// Redis is a store shared by every replica of a deployment. An entry is one string
// key, "<prefix>e:<escaped namespace>:<hex hash>", holding the binary form of the
// entry (MarshalEntry) and expiring through Redis's own TTL (SET PX).
//
// Namespace deletion walks the keyspace with SCAN MATCH "<prefix>e:<namespace>:*" and
// UNLINKs what it finds in pipelined batches: incremental and non-blocking for Redis
// (UNLINK frees memory in the background), with no bookkeeping on the write path (a
// per-namespace set would cost a second command on every write and keep members whose
// keys have expired). On a cluster client every master is scanned.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
	count  int64

	hits, misses, sets, errs atomic.Uint64
}

// NewRedis makes a Redis store; it does not contact Redis.
func NewRedis(o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "arbiter:cache:"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ScanCount <= 0 {
		o.ScanCount = 1000
	}
	return &Redis{c: o.Client, prefix: o.Prefix, now: o.Now, count: o.ScanCount}
}

func (r *Redis) key(k Key) string {
	return r.prefix + "e:" + escapeNamespace(k.Namespace) + ":" + k.Hex()
}

// Get fetches and decodes the entry under k.
func (r *Redis) Get(ctx context.Context, k Key) (*Entry, bool, error) {
	v, err := r.c.Get(ctx, r.key(k)).Result()
	if errors.Is(err, redis.Nil) {
		r.misses.Add(1)
		return nil, false, nil
	}
	if err != nil {
		r.errs.Add(1)
		r.misses.Add(1)
		return nil, false, fmt.Errorf("cache: redis get: %w", err)
	}
	e, err := UnmarshalEntry(v)
	if err != nil {
		r.errs.Add(1)
		r.misses.Add(1)
		return nil, false, err
	}
	if !e.Expires.IsZero() && !r.now().Before(e.Expires) {
		r.misses.Add(1)
		return nil, false, nil
	}
	r.hits.Add(1)
	return e, true, nil
}

// Set writes e under k with Redis expiry ttl.
func (r *Redis) Set(ctx context.Context, k Key, e *Entry, ttl time.Duration) error {
	if ttl <= 0 || e == nil || e.Response == nil {
		return nil
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond // PX's resolution
	}
	c := *e
	now := r.now()
	if c.Stored.IsZero() {
		c.Stored = now
	}
	c.Expires = now.Add(ttl)
	if err := r.c.Set(ctx, r.key(k), MarshalEntry(&c), ttl).Err(); err != nil {
		r.errs.Add(1)
		return fmt.Errorf("cache: redis set: %w", err)
	}
	r.sets.Add(1)
	return nil
}

// Delete removes the entry under k.
func (r *Redis) Delete(ctx context.Context, k Key) (bool, error) {
	n, err := r.c.Unlink(ctx, r.key(k)).Result()
	if err != nil {
		r.errs.Add(1)
		return false, fmt.Errorf("cache: redis unlink: %w", err)
	}
	r.publish(ctx, invalidateKey+k.String())
	return n > 0, nil
}

// Invalidation messages, published on <prefix>invalidate when entries are deleted, so
// that replicas drop them from their in-memory fronts at once (Tiered.Run).
const (
	invalidateKey       = "k "
	invalidateNamespace = "n "
)

func (r *Redis) channel() string { return r.prefix + "invalidate" }

func (r *Redis) publish(ctx context.Context, msg string) {
	if err := r.c.Publish(ctx, r.channel(), msg).Err(); err != nil {
		r.errs.Add(1) // the fronts catch up within their FrontTTL
	}
}

// WatchInvalidations calls onKey or onNamespace for every deletion any replica makes,
// until ctx ends (then it returns nil). onLost is called whenever the subscription was
// interrupted, since deletions may have been missed meanwhile; it reconnects by itself.
func (r *Redis) WatchInvalidations(ctx context.Context, onKey func(Key), onNamespace func(string), onLost func()) error {
	sub := r.c.Subscribe(ctx, r.channel())
	defer sub.Close()
	// Receive does not watch ctx: closing the subscription is what unblocks it.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	// Wait for the subscription to be confirmed, so that callers (tests) know that
	// deletions from now on are seen.
	if _, err := sub.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("cache: redis subscribe: %w", err)
	}
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.errs.Add(1)
			onLost()
			t := time.NewTimer(time.Second) // then ReceiveMessage reconnects
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		switch {
		case strings.HasPrefix(msg.Payload, invalidateKey):
			if k, err := ParseKey(msg.Payload[len(invalidateKey):]); err == nil {
				onKey(k)
			}
		case strings.HasPrefix(msg.Payload, invalidateNamespace):
			if ns, err := unescapeNamespace(msg.Payload[len(invalidateNamespace):]); err == nil {
				onNamespace(ns)
			}
		}
	}
}

// DeleteNamespace removes all of a namespace's entries (see Redis).
func (r *Redis) DeleteNamespace(ctx context.Context, ns string) (int, error) {
	pattern := globEscape(r.prefix+"e:"+escapeNamespace(ns)+":") + "*"
	var total atomic.Int64
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, r.count).Result()
			if err != nil {
				return fmt.Errorf("cache: redis scan: %w", err)
			}
			if len(keys) > 0 {
				// One UNLINK per key, pipelined: keys of one batch may live in
				// different cluster slots, where a multi-key UNLINK is refused.
				cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, key := range keys {
						p.Unlink(ctx, key)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("cache: redis unlink: %w", err)
				}
				for _, cmd := range cmds {
					total.Add(cmd.(*redis.IntCmd).Val())
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	var err error
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return scan(ctx, node)
		})
	} else {
		err = scan(ctx, r.c)
	}
	if err != nil {
		r.errs.Add(1)
	}
	r.publish(ctx, invalidateNamespace+escapeNamespace(ns))
	return int(total.Load()), err
}

// Stats reports this replica's counters; entries and bytes are shared by all
// replicas and not counted (-1).
func (r *Redis) Stats() Stats {
	st := Stats{Store: "redis", Entries: -1, Bytes: -1,
		Hits: r.hits.Load(), Misses: r.misses.Load(), Sets: r.sets.Load(), Errors: r.errs.Load()}
	st.setRatio()
	return st
}

// globEscape quotes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TieredOptions configures a Tiered store.
type TieredOptions struct {
	// FrontTTL caps how long an entry stays in the front (default 1 minute). It
	// bounds how long a replica may serve an old answer after another replica
	// refreshed it (no-cache), and after a deletion while Run is not running;
	// deletions are otherwise propagated at once by Run.
	FrontTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Tiered puts a fast store (Memory) in front of a shared one (Redis): reads try the
// front first and fill it from the back; writes and deletions go to both. Run keeps
// the front in step with deletions made by other replicas.
type Tiered struct {
	front    *Memory
	back     Store
	frontTTL time.Duration
	now      func() time.Time

	hits, misses atomic.Uint64
}

// NewTiered makes a tiered store.
func NewTiered(front *Memory, back Store, o TieredOptions) *Tiered {
	if o.FrontTTL <= 0 {
		o.FrontTTL = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tiered{front: front, back: back, frontTTL: o.FrontTTL, now: o.Now}
}

// Get reads the front, then the back, filling the front on a back hit for the rest of
// the entry's life or FrontTTL, whichever is shorter.
func (t *Tiered) Get(ctx context.Context, k Key) (*Entry, bool, error) {
	if e, ok, _ := t.front.Get(ctx, k); ok {
		t.hits.Add(1)
		return e, true, nil
	}
	e, ok, err := t.back.Get(ctx, k)
	if err != nil || !ok {
		t.misses.Add(1)
		return nil, false, err
	}
	ttl := t.frontTTL
	if !e.Expires.IsZero() {
		if left := e.Expires.Sub(t.now()); left < ttl {
			ttl = left
		}
	}
	if ttl > 0 {
		// The front's own expiry is its copy's; the entry keeps the back's for Age.
		_ = t.front.Set(ctx, k, e, ttl)
	}
	t.hits.Add(1)
	return e, true, nil
}

// Set writes the back, then the front (the front only if the back accepted it, so
// that a replica never serves what the others cannot see).
func (t *Tiered) Set(ctx context.Context, k Key, e *Entry, ttl time.Duration) error {
	if e != nil && e.Stored.IsZero() {
		c := *e
		c.Stored = t.now()
		e = &c
	}
	if err := t.back.Set(ctx, k, e, ttl); err != nil {
		return err
	}
	if ttl > t.frontTTL {
		ttl = t.frontTTL
	}
	return t.front.Set(ctx, k, e, ttl)
}

// Delete removes the entry from both tiers.
func (t *Tiered) Delete(ctx context.Context, k Key) (bool, error) {
	a, _ := t.front.Delete(ctx, k)
	b, err := t.back.Delete(ctx, k)
	return a || b, err
}

// DeleteNamespace removes the namespace from both tiers and returns the larger count
// (the same entries are usually in both).
func (t *Tiered) DeleteNamespace(ctx context.Context, ns string) (int, error) {
	a, _ := t.front.DeleteNamespace(ctx, ns)
	b, err := t.back.DeleteNamespace(ctx, ns)
	return max(a, b), err
}

// Stats counts hits of either tier as hits, and lists each tier's own.
func (t *Tiered) Stats() Stats {
	f, b := t.front.Stats(), t.back.Stats()
	st := Stats{Store: "tiered", Entries: f.Entries, Bytes: f.Bytes, MaxBytes: f.MaxBytes,
		Hits: t.hits.Load(), Misses: t.misses.Load(), Sets: b.Sets, Errors: f.Errors + b.Errors,
		Tiers: []Stats{f, b}}
	if b.Entries >= 0 {
		st.Entries, st.Bytes = b.Entries, b.Bytes
	}
	st.setRatio()
	return st
}

// invalidationSource is a back store that reports deletions made elsewhere.
type invalidationSource interface {
	WatchInvalidations(ctx context.Context, onKey func(Key), onNamespace func(string), onLost func()) error
}

// Run drops entries from the front as soon as any replica deletes them from the back,
// until ctx ends; run it in a goroutine for the life of the server. If the
// subscription breaks, the whole front is dropped (deletions may have been missed).
// With a back that reports nothing, Run returns nil at once.
func (t *Tiered) Run(ctx context.Context) error {
	src, ok := t.back.(invalidationSource)
	if !ok {
		return nil
	}
	bg := context.WithoutCancel(ctx)
	return src.WatchInvalidations(ctx,
		func(k Key) { _, _ = t.front.Delete(bg, k) },
		func(ns string) { _, _ = t.front.DeleteNamespace(bg, ns) },
		t.front.Purge)
}
