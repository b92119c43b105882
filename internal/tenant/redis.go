package tenant

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arbiterhq/arbiter/internal/money"
)

// RedisStore keeps spend and buckets in Redis so that every replica sees the same:
//
//	<prefix>spend:{<key id>}:<window id>   integer nanodollars (INCRBY), expiring a day
//	                                       after the window ends (never for "total")
//	<prefix>rate:{<key id>}:req|tok        hash {l: level, t: unix ms of the level},
//	                                       expiring once the bucket would be full again
//
// Buckets are updated by one Lua script, so that concurrent replicas never admit
// the same request twice. The braces keep a key's entries in one Redis Cluster slot.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedisStore uses client with keys under prefix (default "arbiter:limits:").
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = "arbiter:limits:"
	}
	return &RedisStore{c: client, prefix: prefix}
}

func (r *RedisStore) spendKey(keyID string, w Window) string {
	return r.prefix + "spend:{" + keyID + "}:" + w.ID
}

// spendTTL is how long a window's counter is kept from now: until a day after the
// window ends, so that replicas whose clocks lag a little still find it; 0 (for
// ever) for a lifetime window. It is relative to the caller's clock, not Redis's.
func spendTTL(w Window, now time.Time) time.Duration {
	if w.End.IsZero() {
		return 0
	}
	return max(time.Second, w.End.Add(24*time.Hour).Sub(now))
}

// Spend implements Store.
func (r *RedisStore) Spend(ctx context.Context, keyID string, w Window) (money.USD, error) {
	v, err := r.c.Get(ctx, r.spendKey(keyID, w)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read spend of %s: %w", keyID, err)
	}
	return money.USD(v), nil
}

// AddSpend implements Store.
func (r *RedisStore) AddSpend(ctx context.Context, keyID string, w Window, amount money.USD, now time.Time) (money.USD, error) {
	k := r.spendKey(keyID, w)
	p := r.c.TxPipeline()
	incr := p.IncrBy(ctx, k, int64(amount))
	if ttl := spendTTL(w, now); ttl > 0 {
		p.Expire(ctx, k, ttl)
	}
	if _, err := p.Exec(ctx); err != nil {
		return 0, fmt.Errorf("add spend of %s: %w", keyID, err)
	}
	return money.USD(incr.Val()), nil
}

// SeedSpend implements Store: SET NX, so a value other replicas already counted wins.
func (r *RedisStore) SeedSpend(ctx context.Context, keyID string, w Window, amount money.USD, now time.Time) error {
	args := redis.SetArgs{Mode: "NX", TTL: spendTTL(w, now)}
	err := r.c.SetArgs(ctx, r.spendKey(keyID, w), int64(amount), args).Err()
	if err != nil && !errors.Is(err, redis.Nil) { // redis.Nil: the key was there
		return fmt.Errorf("seed spend of %s: %w", keyID, err)
	}
	return nil
}

// rateScript mirrors MemoryStore.Rate: refill both buckets to now, admit one request
// if the request bucket holds one and the token bucket is above zero, charge tokens.
// A bucket with capacity 0 is unlimited and not stored. Time never goes backwards
// for a bucket, so a replica with a slower clock cannot refill it twice.
var rateScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local caps = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local lv, last = {}, {}
for i = 1, 2 do
  lv[i], last[i] = caps[i], now
  if caps[i] > 0 then
    local v = redis.call('HMGET', KEYS[i], 'l', 't')
    local l, t = tonumber(v[1]), tonumber(v[2])
    if l and t then
      if now > t then
        l = math.min(caps[i], l + caps[i] * (now - t) / 60000)
      else
        last[i] = t
      end
      lv[i] = l
    end
  end
end
local ok = 1
if ARGV[4] == '1' then
  if caps[1] > 0 and lv[1] < 1 then ok = 0
  elseif caps[2] > 0 and lv[2] <= 0 then ok = 0
  elseif caps[1] > 0 then lv[1] = lv[1] - 1 end
end
local n = tonumber(ARGV[5])
if n > 0 and caps[2] > 0 then lv[2] = lv[2] - n end
for i = 1, 2 do
  if caps[i] > 0 then
    redis.call('HSET', KEYS[i], 'l', tostring(lv[i]), 't', tostring(last[i]))
    redis.call('PEXPIRE', KEYS[i], math.ceil((caps[i] - lv[i]) * 60000 / caps[i]) + 1000)
  end
end
return {ok, tostring(lv[1]), tostring(lv[2])}
`)

// Rate implements Store.
func (r *RedisStore) Rate(ctx context.Context, keyID string, lim RateLimit, op RateOp, now time.Time) (RateState, bool, error) {
	base := r.prefix + "rate:{" + keyID + "}:"
	admit := "0"
	if op.Admit {
		admit = "1"
	}
	res, err := rateScript.Run(ctx, r.c, []string{base + "req", base + "tok"},
		now.UnixMilli(), lim.RequestsPerMinute, lim.TokensPerMinute, admit, op.Tokens).Slice()
	if err != nil {
		return RateState{}, false, fmt.Errorf("rate limit of %s: %w", keyID, err)
	}
	if len(res) != 3 {
		return RateState{}, false, fmt.Errorf("rate limit of %s: script returned %d values", keyID, len(res))
	}
	ok, _ := res[0].(int64)
	lr, err1 := strconv.ParseFloat(fmt.Sprint(res[1]), 64)
	lt, err2 := strconv.ParseFloat(fmt.Sprint(res[2]), 64)
	if err := errors.Join(err1, err2); err != nil {
		return RateState{}, false, fmt.Errorf("rate limit of %s: %w", keyID, err)
	}
	return RateState{
		Requests: Bucket{Limit: lim.RequestsPerMinute, Level: lr},
		Tokens:   Bucket{Limit: lim.TokensPerMinute, Level: lt},
	}, ok == 1, nil
}
