package sqlq

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrationLock is the PostgreSQL advisory lock that serialises replicas migrating
// the same database at start-up.
const migrationLock = 7_312_004_211

// Migrate applies the migrations not yet recorded in schema_migrations, each in its
// own transaction. Running it again is a no-op.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	create := "CREATE TABLE IF NOT EXISTS schema_migrations (version " + d.typ("int") +
		" PRIMARY KEY, name " + d.typ("text") + ", applied_us " + d.typ("int") + ")"
	if err := inTx(ctx, db, d, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, create)
		return err
	}); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range Migrations(d) {
		if err := apply(ctx, db, d, m); err != nil {
			return fmt.Errorf("ledger migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// inTx runs fn in a transaction that, on PostgreSQL, holds the migration lock.
func inTx(ctx context.Context, db *sql.DB, d Dialect, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func apply(ctx context.Context, db *sql.DB, d Dialect, m Migration) error {
	return inTx(ctx, db, d, func(tx *sql.Tx) error { return applyTx(ctx, tx, d, m) })
}

func applyTx(ctx context.Context, tx *sql.Tx, d Dialect, m Migration) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = "+d.P(1),
		m.Version).Scan(&n); err != nil {
		return fmt.Errorf("read version: %w", err)
	}
	if n > 0 {
		return nil
	}
	for _, s := range m.Stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_us) VALUES ("+
		d.P(1)+", "+d.P(2)+", "+d.P(3)+")", m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	return nil
}

// Version returns the highest applied migration.
func Version(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
