package semantic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arbiterhq/arbiter/internal/cache"
)

// PostgresOptions configure a Postgres shared store.
type PostgresOptions struct {
	// Schema holds the table ("": public). The schema must exist.
	Schema string
	// Table is the table's name ("": semantic_cache).
	Table string
	// Channel is the LISTEN/NOTIFY channel ("": derived from schema and table,
	// so that stores on different tables never hear each other).
	Channel string
	// Retry is the pause before Follow reconnects after losing its connection
	// (0: one second).
	Retry  time.Duration
	Logger *slog.Logger
}

// Postgres is a SharedStore on PostgreSQL: entries (vector as bytea, the
// neutral response in the exact cache's binary form) in one table, and
// LISTEN/NOTIFY to tell replicas about new and deleted ones. Only the entry's id
// travels in a notification (NOTIFY payloads are limited to 8000 bytes); the
// listener reads the row. Vector search is not done in PostgreSQL (there is no
// pgvector here): every replica searches its own memory.
type Postgres struct {
	pool    *pgxpool.Pool
	table   string // quoted, schema-qualified
	channel string
	retry   time.Duration
	log     *slog.Logger
}

// NewPostgres creates the table if needed and returns the store. The pool is
// the caller's to close.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, o PostgresOptions) (*Postgres, error) {
	if o.Table == "" {
		o.Table = "semantic_cache"
	}
	ident := pgx.Identifier{o.Table}
	if o.Schema != "" {
		ident = pgx.Identifier{o.Schema, o.Table}
	}
	if o.Channel == "" {
		o.Channel = "arbiter_semantic"
		if o.Schema != "" {
			o.Channel += "_" + o.Schema
		}
		if o.Table != "semantic_cache" {
			o.Channel += "_" + o.Table
		}
		if len(o.Channel) > 63 {
			o.Channel = o.Channel[:63]
		}
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Postgres{pool: pool, table: ident.Sanitize(), channel: o.Channel, retry: o.Retry, log: o.Logger}
	ddl := `CREATE TABLE IF NOT EXISTS ` + p.table + ` (
		id         text PRIMARY KEY,
		scope_ns   text NOT NULL,
		scope      bytea NOT NULL,
		key_ns     text NOT NULL,
		key        bytea NOT NULL,
		embedder   text NOT NULL,
		text       text NOT NULL,
		vector     bytea NOT NULL,
		entry      bytea NOT NULL,
		expires    timestamptz NOT NULL,
		updated    timestamptz NOT NULL DEFAULT now()
	)`
	if _, err := pool.Exec(ctx, ddl); err != nil {
		return nil, fmt.Errorf("semantic: creating %s: %w", p.table, err)
	}
	idx := `CREATE INDEX IF NOT EXISTS ` + pgx.Identifier{o.Table + "_expires"}.Sanitize() + ` ON ` + p.table + ` (expires)`
	if _, err := pool.Exec(ctx, idx); err != nil {
		return nil, fmt.Errorf("semantic: indexing %s: %w", p.table, err)
	}
	return p, nil
}

// Put upserts r and notifies in the same transaction (a NOTIFY is delivered on
// commit, so a listener always finds the row).
func (p *Postgres) Put(ctx context.Context, r Record) error {
	if r.Entry == nil {
		return errors.New("semantic: put: nil entry")
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("semantic: put: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	_, err = tx.Exec(ctx, `INSERT INTO `+p.table+` (id, scope_ns, scope, key_ns, key, embedder, text, vector, entry, expires, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
		ON CONFLICT (id) DO UPDATE SET scope_ns = EXCLUDED.scope_ns, scope = EXCLUDED.scope, key_ns = EXCLUDED.key_ns,
			key = EXCLUDED.key, embedder = EXCLUDED.embedder, text = EXCLUDED.text, vector = EXCLUDED.vector,
			entry = EXCLUDED.entry, expires = EXCLUDED.expires, updated = now()`,
		r.ID, r.Scope.Namespace, r.Scope.Sum[:], r.Key.Namespace, r.Key.Sum[:], r.Embedder, r.Text,
		encodeVector(r.Vector), cache.MarshalEntry(r.Entry), r.Expires)
	if err != nil {
		return fmt.Errorf("semantic: put %s: %w", p.table, err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, p.channel, "p:"+r.ID); err != nil {
		return fmt.Errorf("semantic: put: notify: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("semantic: put: commit: %w", err)
	}
	return nil
}

// Delete removes an entry and notifies.
func (p *Postgres) Delete(ctx context.Context, id string) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("semantic: delete: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.Exec(ctx, `DELETE FROM `+p.table+` WHERE id = $1`, id); err != nil {
		return fmt.Errorf("semantic: delete: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, p.channel, "d:"+id); err != nil {
		return fmt.Errorf("semantic: delete: notify: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("semantic: delete: commit: %w", err)
	}
	return nil
}

// DeleteExpired removes rows past their expiry (replicas already ignore them);
// run it now and then from one place.
func (p *Postgres) DeleteExpired(ctx context.Context) (int64, error) {
	tag, err := p.pool.Exec(ctx, `DELETE FROM `+p.table+` WHERE expires <= now()`)
	if err != nil {
		return 0, fmt.Errorf("semantic: deleting expired entries: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Follow listens on the channel, loads every unexpired row, calls loaded, then
// delivers each notified row until ctx ends. A lost connection is re-opened
// after a pause and everything reloaded (adding a known entry again is
// harmless), so a replica never misses an entry for longer than the outage.
func (p *Postgres) Follow(ctx context.Context, fn func(Record), loaded func()) error {
	for {
		err := p.follow(ctx, fn, loaded)
		if ctx.Err() != nil {
			return nil
		}
		p.log.Warn("semantic: following the shared store; reconnecting", "err", err, "retry", p.retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.retry):
		}
	}
}

func (p *Postgres) follow(ctx context.Context, fn func(Record), loaded func()) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("semantic: follow: %w", err)
	}
	// A connection that has LISTENed must not go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background()) //nolint:errcheck // closing a dead connection
	if _, err := pc.Exec(ctx, `LISTEN `+pgx.Identifier{p.channel}.Sanitize()); err != nil {
		return fmt.Errorf("semantic: follow: listen: %w", err)
	}
	rows, err := pc.Query(ctx, `SELECT `+recordColumns+` FROM `+p.table+` WHERE expires > now()`)
	if err != nil {
		return fmt.Errorf("semantic: follow: loading: %w", err)
	}
	var recs []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return err
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("semantic: follow: loading: %w", err)
	}
	for _, r := range recs {
		fn(r)
	}
	loaded()
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("semantic: follow: waiting: %w", err)
		}
		kind, id, ok := strings.Cut(n.Payload, ":")
		if !ok {
			continue
		}
		if kind == "d" {
			fn(Record{ID: id, Deleted: true})
			continue
		}
		row := pc.QueryRow(ctx, `SELECT `+recordColumns+` FROM `+p.table+` WHERE id = $1 AND expires > now()`, id)
		r, err := scanRecord(row)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // replaced or deleted since
		}
		if err != nil {
			return err
		}
		fn(r)
	}
}

const recordColumns = `id, scope_ns, scope, key_ns, key, embedder, text, vector, entry, expires`

func scanRecord(row pgx.Row) (Record, error) {
	var r Record
	var scope, key, vec, entry []byte
	if err := row.Scan(&r.ID, &r.Scope.Namespace, &scope, &r.Key.Namespace, &key, &r.Embedder, &r.Text, &vec, &entry, &r.Expires); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return r, err
		}
		return r, fmt.Errorf("semantic: reading an entry: %w", err)
	}
	if len(scope) != len(r.Scope.Sum) || len(key) != len(r.Key.Sum) {
		return r, fmt.Errorf("semantic: entry %s: malformed scope or key", r.ID)
	}
	copy(r.Scope.Sum[:], scope)
	copy(r.Key.Sum[:], key)
	r.Vector = decodeVector(vec)
	e, err := cache.UnmarshalEntry(string(entry))
	if err != nil {
		return r, fmt.Errorf("semantic: entry %s: %w", r.ID, err)
	}
	r.Entry = e
	return r, nil
}

// encodeVector is little-endian float32s.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
