// Package servicetest connects tests to the real services CI starts (Redis here).
// Tests fail loudly when a service is unreachable, and skip only when
// ARBITER_TEST_NO_SERVICES=1 says there are none. Imported by tests only.
package servicetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis connects to the test Redis (ARBITER_TEST_REDIS_ADDR, default
// 127.0.0.1:6379); the client closes when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	if os.Getenv("ARBITER_TEST_NO_SERVICES") == "1" {
		t.Skip("ARBITER_TEST_NO_SERVICES=1: no Redis")
	}
	addr := os.Getenv("ARBITER_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis at %s unreachable (set ARBITER_TEST_NO_SERVICES=1 to skip): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// RedisPrefix is a key prefix no other test uses (the test's name, made safe for
// a SCAN pattern, and random bytes); every key under it is deleted when the test
// ends, after anything the test registered with t.Cleanup later.
func RedisPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '.'
	}, t.Name())
	p := "arbiter-test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Unlink(ctx, keys...)
		}
	})
	return p
}
