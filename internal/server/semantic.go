package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/embed"
	"github.com/arbiterhq/arbiter/internal/gateway"
	"github.com/arbiterhq/arbiter/internal/semantic"
)

// semanticCache adapts the semantic cache to the gateway's interface.
type semanticCache struct{ c *semantic.Cache }

func (s semanticCache) Lookup(ctx context.Context, scope cache.Key, text string, threshold float64) (*gateway.SemanticHit, error) {
	h, err := s.c.Lookup(ctx, scope, text, threshold)
	if err != nil || h == nil {
		return nil, err
	}
	return &gateway.SemanticHit{Entry: h.Entry, Similarity: h.Similarity, EntryID: h.EntryID, EmbedCost: h.EmbedCost}, nil
}

func (s semanticCache) Store(ctx context.Context, scope cache.Key, text string, key cache.Key, e *cache.Entry, ttl time.Duration) error {
	return s.c.Store(ctx, scope, text, key, e, ttl)
}

// buildSemantic starts the semantic cache: the local sentence model when its files
// are present (scripts/fetch-model.sh), else the static table built into the binary;
// shared through PostgreSQL when configured.
func (s *Server) buildSemantic(ctx context.Context, cfg *config.Config) (gateway.SemanticCache, error) {
	dir := cfg.Semantic.ModelDir
	if dir == "" {
		dir = os.Getenv("ARBITER_MODEL_DIR")
	}
	if dir == "" {
		dir = embed.DefaultModelDir()
	}
	emb, kind, err := embed.Default(dir)
	if err != nil {
		return nil, fmt.Errorf("semantic cache embedder: %w", err)
	}
	o := semantic.Options{Embedder: emb, Kind: kind, MaxBytes: cfg.Cache.MaxBytes / 4, Logger: s.log}
	var pool *pgxpool.Pool
	if cfg.Semantic.Postgres != "" {
		if pool, err = pgxpool.New(ctx, cfg.Semantic.Postgres); err != nil {
			return nil, fmt.Errorf("semantic cache postgres: %w", err)
		}
		shared, err := semantic.NewPostgres(ctx, pool, semantic.PostgresOptions{Logger: s.log})
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("semantic cache postgres: %w", err)
		}
		o.Shared = shared
	}
	c, err := semantic.New(o)
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(rctx); err != nil && rctx.Err() == nil {
			s.log.Warn("semantic cache: replica sync stopped", "err", err)
		}
	}()
	s.closers = append(s.closers, func(context.Context) error {
		stop()
		<-done
		if pool != nil {
			pool.Close()
		}
		return nil
	})
	s.log.Info("semantic cache ready", "embedder", kind, "shared", pool != nil)
	return semanticCache{c}, nil
}
