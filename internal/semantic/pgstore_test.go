package semantic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// testPostgres returns a pool on the local PostgreSQL and a fresh schema that
// is dropped when the test ends.
func testPostgres(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	if os.Getenv("ARBITER_TEST_NO_SERVICES") == "1" {
		t.Skip("ARBITER_TEST_NO_SERVICES=1: no PostgreSQL")
	}
	dsn := os.Getenv("ARBITER_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", dsn, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		t.Fatalf("PostgreSQL at %s is unreachable (CI starts it; set ARBITER_TEST_NO_SERVICES=1 to skip): %v", dsn, err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "semantic_test_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
	})
	return pool, schema
}

// replica is a Cache following a shared store, as one gateway replica runs it.
func replica(t *testing.T, pool *pgxpool.Pool, schema string) *testCache {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	shared, err := NewPostgres(ctx, pool, PostgresOptions{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCache(t, Options{Shared: shared})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	select {
	case <-c.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("replica did not load the shared entries")
	}
	return c
}

func TestReplicasShareEntriesThroughPostgres(t *testing.T) {
	pool, schema := testPostgres(t)
	r1 := replica(t, pool, schema)
	r2 := replica(t, pool, schema)

	const stored, asked = "How do I reset my password?", "how do I reset my password"
	k := store(t, r1, "acme", stored, "Click 'forgot password'.", time.Hour)

	// The requirement is a hit on another replica within a second; the delay is
	// logged rather than asserted (tests make no timing claims on a shared machine),
	// with a generous bound so that a lost notification still fails.
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	var h *Hit
	for h == nil && time.Now().Before(deadline) {
		if h = lookup(t, r2, "acme", asked); h == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if h == nil {
		t.Fatal("the entry stored on replica 1 never became a hit on replica 2")
	}
	t.Logf("replica 2 served replica 1's entry after %s", time.Since(start).Round(time.Millisecond))
	if answerOf(h) != "Click 'forgot password'." || h.EntryID != k.String() {
		t.Errorf("replica 2 hit = %+v", h)
	}
	if got := r2.Stats().Remote; got != 1 {
		t.Errorf("replica 2 added %d remote entries, want 1", got)
	}
	if got := r1.Stats().Remote; got != 0 {
		t.Errorf("replica 1 re-added its own entry from the notification %d times", got)
	}

	// A replica that starts later loads the entry at start.
	r3 := replica(t, pool, schema)
	if lookup(t, r3, "acme", asked) == nil {
		t.Error("a replica started after the store did not load the entry")
	}

	// Other tenants never see it, on any replica.
	if lookup(t, r2, "other", asked) != nil {
		t.Error("another tenant was served the shared entry")
	}

	// A removal on one replica reaches the others.
	if _, err := r1.Remove(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for lookup(t, r2, "acme", asked) != nil {
		if time.Now().After(deadline) {
			t.Fatal("a removed entry is still served by replica 2")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPostgresStoreSkipsExpiredEntriesOnLoad(t *testing.T) {
	pool, schema := testPostgres(t)
	ctx := context.Background()
	shared, err := NewPostgres(ctx, pool, PostgresOptions{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := staticEmbedder()
	vec, _ := st.Embed(ctx, []string{"old question"})
	sc, k := request(t, "acme", "gpt-x", "", "old question")
	err = shared.Put(ctx, Record{ID: k.String(), Scope: sc, Text: "old question", Vector: vec[0], Embedder: "static",
		Key: k, Entry: answer("old"), Expires: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	r := replica(t, pool, schema)
	if n := r.Stats().Entries; n != 0 {
		t.Errorf("replica loaded %d expired entries", n)
	}
	if n, err := shared.DeleteExpired(ctx); err != nil || n != 1 {
		t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
	}
}
