package server

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

// buildLimits makes the budget and rate-limit enforcer: in memory, or in the exact
// cache's Redis when it has one so that every replica sees the same spend and
// buckets. Each budgeted key's spend this period is seeded from the ledger, so a
// restart does not reset a budget (a value already in Redis wins).
func (s *Server) buildLimits(ctx context.Context, cfg *config.Config, keys *tenant.Keys, now func() time.Time) (*tenant.Limiter, error) {
	storeErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "arbiter_limits_store_errors_total",
		Help: "Failed calls to the budget and rate-limit store; requests were let through unlimited.",
	})
	if err := s.Metrics.Registry().Register(storeErrors); err != nil {
		return nil, fmt.Errorf("register limits metrics: %w", err)
	}
	o := tenant.LimiterOptions{Now: now, Logger: s.log, OnStoreError: storeErrors.Inc}
	if r := cfg.Cache.Redis; r != nil {
		client := s.redis
		if client == nil { // the cache is off but Redis is configured: limits still share it
			client = redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, DB: r.DB})
			s.closers = append(s.closers, func(context.Context) error { return client.Close() })
		}
		prefix := "arbiter:limits:"
		if r.Prefix != "" {
			prefix = r.Prefix + "limits:"
		}
		o.Store = tenant.NewRedisStore(client, prefix)
	}
	l := tenant.NewLimiter(o)
	if s.Store != nil {
		spentSince := func(ctx context.Context, since time.Time) (map[string]money.USD, error) {
			return spendByKey(ctx, s.Store, since, l.Now())
		}
		if err := l.Seed(ctx, keys.List(), spentSince); err != nil {
			return nil, fmt.Errorf("seed budgets: %w", err)
		}
	}
	return l, nil
}

// spendByKey sums the ledger's recorded cost by key id over [since, now].
func spendByKey(ctx context.Context, st ledger.Store, since, now time.Time) (map[string]money.USD, error) {
	sum, err := st.Summary(ctx, ledger.Query{From: since, To: now.Add(time.Second), GroupBy: ledger.ByKey})
	if err != nil {
		return nil, err
	}
	out := make(map[string]money.USD, len(sum.Groups))
	for _, g := range sum.Groups {
		out[g.Key] = g.Totals.Cost
	}
	return out, nil
}
