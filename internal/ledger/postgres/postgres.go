// Package postgres is the ledger store for deployments with several replicas: all of
// them write to one PostgreSQL database (pgx), each batch in one transaction: the
// raw rows by COPY, the rollups by pipelined upserts in key order (so concurrent
// writers cannot deadlock).
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/internal/sqlq"
)

// Store is a ledger.Store on PostgreSQL.
type Store struct {
	sqlq.Reader
	pool    *pgxpool.Pool
	upserts []string
	cols    []string
}

var _ ledger.Store = (*Store)(nil)

// Open connects to dsn (a postgres:// URL or key=value string; search_path in it
// selects the schema) and migrates the schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included: do not pass it on.
		return nil, fmt.Errorf("ledger: invalid PostgreSQL DSN")
	}
	if cfg.MaxConns < 4 {
		cfg.MaxConns = 4
	}
	// Plan every query for its actual values: a generic plan for "served_model = $1
	// ORDER BY time_us DESC LIMIT 50" assumes an average model and walks the time
	// index, which for a rare or absent value reads the whole table.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ledger: connect to PostgreSQL %s: %w", cfg.ConnConfig.Host, err)
	}
	s := &Store{pool: pool, cols: sqlq.RawColumns()}
	s.Reader = sqlq.Reader{DB: stdlib.OpenDBFromPool(pool), Dialect: sqlq.Postgres}
	if err := pool.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("ledger: connect to PostgreSQL %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := sqlq.Migrate(ctx, s.DB, sqlq.Postgres); err != nil {
		s.Close()
		return nil, err
	}
	for _, r := range sqlq.Rollups() {
		s.upserts = append(s.upserts, sqlq.UpsertSQL(sqlq.Postgres, r))
	}
	return s, nil
}

// Insert writes records by COPY and their rollups by upsert, in one transaction.
func (s *Store) Insert(ctx context.Context, recs []ledger.Record) error {
	if len(recs) == 0 {
		return nil
	}
	norm := make([]ledger.Record, len(recs))
	copy(norm, recs)
	rows := make([][]any, len(norm))
	for i := range norm {
		norm[i].Normalize()
		rows[i] = sqlq.RawValues(&norm[i])
	}
	var watermark int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// FOR SHARE: an advance (FOR UPDATE) waits for this insert, and this insert
		// sees the watermark the advance leaves.
		if err := tx.QueryRow(ctx, sqlq.WatermarkSQL(sqlq.Postgres, true)).Scan(&watermark); err != nil {
			return fmt.Errorf("read watermark: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"requests"}, s.cols, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy requests: %w", err)
		}
		late := sqlq.Late(norm, watermark)
		if len(late) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		for i, rr := range sqlq.ComputeRollups(late, watermark) {
			for _, args := range rr.Args {
				b.Queue(s.upserts[i], args...)
			}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("update rollups: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger insert %d records: %w", len(recs), err)
	}
	if target := sqlq.Target(sqlq.Newest(norm), time.Now(), sqlq.DefaultGrace); target > watermark {
		// Stored already: a failed advance must not fail the insert (the writer would
		// insert the records twice). The next insert tries again.
		if day, _ := sqlq.Advance(ctx, s.DB, sqlq.Postgres, target); day {
			// A day's worth of new rows: refresh the statistics the planner uses to
			// pick the selective index for combined log filters (autovacuum may lag
			// far behind a bulk of inserts). ANALYZE samples, so its cost is bounded.
			_, _ = s.pool.Exec(ctx, "ANALYZE requests")
		}
	}
	return nil
}

// Close closes the connections.
func (s *Store) Close() error {
	err := s.DB.Close()
	s.pool.Close()
	return err
}
