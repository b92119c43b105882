package sqlq

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

// DefaultGrace is how long after an hour ends, in record time, it is rolled up.
// Records of a rolled-up hour that arrive later are still counted, by a slower path.
const DefaultGrace = 5 * time.Minute

// WatermarkSQL reads the watermark; on PostgreSQL an inserting transaction reads it
// FOR SHARE, so that an advance cannot slip between its check and its commit.
func WatermarkSQL(d Dialect, share bool) string {
	s := "SELECT watermark_us FROM rollup_state WHERE id = 1"
	if share && d == Postgres {
		s += " FOR SHARE"
	}
	return s
}

// Late returns the records older than the watermark: their hours are rolled up
// already, so they must be added to the rollups as they are inserted.
//
// Daily rollups hold whole days only: a day is rolled up, from the hourly rollups,
// once the watermark passes its end, so each daily row is written once.
func Late(recs []ledger.Record, watermarkUS int64) []ledger.Record {
	var late []ledger.Record
	for i := range recs {
		if recs[i].Time.UnixMicro() < watermarkUS {
			late = append(late, recs[i])
		}
	}
	return late
}

// Target is where the watermark should be after inserting records whose newest is
// newest: the start of the hour that holds newest − grace, but never past the wall
// clock's, so that one record stamped in the future cannot make every later record
// late.
func Target(newest, now time.Time, grace time.Duration) int64 {
	return floorTo(min(newest.UnixMicro(), now.UnixMicro())-grace.Microseconds(), hourUS)
}

// Newest returns the latest time of a batch.
func Newest(recs []ledger.Record) time.Time {
	var t time.Time
	for i := range recs {
		if recs[i].Time.After(t) {
			t = recs[i].Time
		}
	}
	return t
}

// Advance rolls the raw rows between the watermark and target into the rollups and
// moves the watermark, in one transaction. On PostgreSQL it waits for inserts in
// flight (they hold the watermark row FOR SHARE); SQLite's writer is single anyway.
// It reports whether it completed a day, after which the caller refreshes the
// planner's statistics.
func Advance(ctx context.Context, db *sql.DB, d Dialect, target int64) (dayDone bool, err error) {
	w, err := advance(ctx, db, d, target)
	return err == nil && w >= 0 && floorTo(target, dayUS) > floorTo(w, dayUS), err
}

func advance(ctx context.Context, db *sql.DB, d Dialect, target int64) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("advance rollups: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	q := "SELECT watermark_us FROM rollup_state WHERE id = 1"
	if d == Postgres {
		q += " FOR UPDATE"
	}
	var w int64
	if err := tx.QueryRowContext(ctx, q).Scan(&w); err != nil {
		return -1, fmt.Errorf("advance rollups: read watermark: %w", err)
	}
	if target <= w {
		return -1, nil // another writer got there first
	}
	for _, st := range AdvanceSQL(d) {
		from, to := w, target
		switch {
		case st.Daily:
			from, to = floorTo(w, dayUS)/usPerSec, floorTo(target, dayUS)/usPerSec
			if from >= to {
				continue // no day completed
			}
		case !st.FromRaw:
			from, to = w/usPerSec, target/usPerSec
		}
		if _, err := tx.ExecContext(ctx, st.SQL, from, to); err != nil {
			return -1, fmt.Errorf("advance rollups to %s: %.50s…: %w", time.UnixMicro(target).UTC().Format(time.RFC3339), st.SQL, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE rollup_state SET watermark_us = "+d.P(1)+" WHERE id = 1", target); err != nil {
		return -1, fmt.Errorf("advance rollups: move watermark: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return -1, fmt.Errorf("advance rollups: commit: %w", err)
	}
	return w, nil
}
