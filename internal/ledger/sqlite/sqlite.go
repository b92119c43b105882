// Package sqlite is the default ledger store: one SQLite file (pure Go,
// modernc.org/sqlite) in WAL mode in the gateway's data directory.
//
// Writes go through a single connection, one transaction per batch with prepared
// statements; readers use their own connections, which WAL lets run beside the
// writer. synchronous=NORMAL means a committed batch survives a process crash
// (kill -9) but may be lost on power failure or an OS crash before the next WAL
// checkpoint.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/internal/sqlq"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the ledger's file inside a data directory.
const FileName = "ledger.db"

// Store is a ledger.Store on SQLite.
type Store struct {
	sqlq.Reader
	w       *sql.DB // the one writer connection
	insert  *sql.Stmt
	upserts []*sql.Stmt // per sqlq.Rollups(), for late records
}

var _ ledger.Store = (*Store)(nil)

// Open opens (creating if needed) the ledger in dir/ledger.db and migrates it.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger data directory: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range append([]string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)",
		"temp_store(MEMORY)", "analysis_limit(1000)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	return "file:" + path + "?" + q.Encode()
}

// OpenFile opens the ledger in a given SQLite file.
func OpenFile(ctx context.Context, path string) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, "cache_size(-65536)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{w: w}
	if err := s.init(ctx, path); err != nil {
		w.Close()
		if s.DB != nil {
			s.DB.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, path string) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("open ledger %s: %w", path, err)
	}
	if err := sqlq.Migrate(ctx, s.w, sqlq.SQLite); err != nil {
		return fmt.Errorf("ledger %s: %w", path, err)
	}
	s.optimize(ctx)
	r, err := sql.Open("sqlite", dsn(path, "cache_size(-32768)", "query_only(1)"))
	if err != nil {
		return fmt.Errorf("open ledger reader %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.Reader = sqlq.Reader{DB: r, Dialect: sqlq.SQLite}
	if s.insert, err = s.w.PrepareContext(ctx, sqlq.InsertSQL(sqlq.SQLite)); err != nil {
		return fmt.Errorf("prepare ledger insert: %w", err)
	}
	for _, ru := range sqlq.Rollups() {
		st, err := s.w.PrepareContext(ctx, sqlq.UpsertSQL(sqlq.SQLite, ru))
		if err != nil {
			return fmt.Errorf("prepare %s upsert: %w", ru.Table(), err)
		}
		s.upserts = append(s.upserts, st)
	}
	return nil
}

// Insert writes records in one transaction (with their rollups when their hour is
// rolled up already), then rolls up the hours the batch completed.
func (s *Store) Insert(ctx context.Context, recs []ledger.Record) error {
	if len(recs) == 0 {
		return nil
	}
	norm := make([]ledger.Record, len(recs))
	copy(norm, recs)
	for i := range norm {
		norm[i].Normalize()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger insert: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var watermark int64
	if err := tx.QueryRowContext(ctx, sqlq.WatermarkSQL(sqlq.SQLite, false)).Scan(&watermark); err != nil {
		return fmt.Errorf("ledger insert: read watermark: %w", err)
	}
	ins := tx.StmtContext(ctx, s.insert)
	for i := range norm {
		if _, err := ins.ExecContext(ctx, sqlq.RawValues(&norm[i])...); err != nil {
			return fmt.Errorf("ledger insert %s: %w", norm[i].RequestID, err)
		}
	}
	if late := sqlq.Late(norm, watermark); len(late) > 0 {
		for i, rows := range sqlq.ComputeRollups(late, watermark) {
			up := tx.StmtContext(ctx, s.upserts[i])
			for _, args := range rows.Args {
				if _, err := up.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("ledger insert: update %s: %w", rows.Rollup.Table(), err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger insert: commit: %w", err)
	}
	if target := sqlq.Target(sqlq.Newest(norm), time.Now(), sqlq.DefaultGrace); target > watermark {
		// The records are stored: a failed advance must not fail the insert (the
		// writer would insert them twice). The next insert tries again; until then
		// queries read those hours from raw rows.
		if day, _ := sqlq.Advance(ctx, s.w, sqlq.SQLite, target); day {
			s.optimize(ctx) // a day's worth of new rows: refresh the planner's statistics
		}
	}
	return nil
}

// optimize refreshes the statistics the query planner uses to pick, among the
// request log's indexes, the most selective one for a combination of filters.
// analysis_limit keeps it to a few milliseconds on any size of table.
func (s *Store) optimize(ctx context.Context) {
	_, _ = s.w.ExecContext(ctx, "PRAGMA optimize=0x10002")
}

// Close closes the store after letting SQLite refresh its planner statistics.
func (s *Store) Close() error {
	_, _ = s.w.Exec("PRAGMA optimize")
	var errs []error
	for _, st := range append(s.upserts, s.insert) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.DB.Close(), s.w.Close())
	return errors.Join(errs...)
}
