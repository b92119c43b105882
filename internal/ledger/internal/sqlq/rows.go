package sqlq

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// RawValues returns a normalized record's values in RawColumns order.
func RawValues(r *ledger.Record) []any {
	var sim, entry any // NULL unless a semantic match is recorded
	if r.MatchedEntryID != "" {
		sim, entry = r.Similarity, r.MatchedEntryID
	}
	return []any{
		r.Time.UnixMicro(), r.RequestID, r.Tenant, r.KeyID,
		string(r.ClientFormat), r.RequestedModel, r.Route,
		r.RouteReason, r.ServedModel, r.Provider,
		string(r.Cache), sim, entry,
		int64(r.Usage.InputTokens), int64(r.Usage.CachedInputTokens), int64(r.Usage.CacheWriteTokens),
		int64(r.Usage.OutputTokens), int64(r.Usage.ReasoningTokens), r.Usage.Estimated,
		int64(r.Cost), r.BaselineModel, int64(r.BaselineCost),
		int64(r.Saved), string(r.SavingCause),
		r.Latency.Microseconds(), r.TTFT.Microseconds(), r.Overhead.Microseconds(),
		int64(r.Status), string(r.ErrorKind), int64(len(r.Attempts)), ledger.EncodeAttempts(r.Attempts),
		r.Stream, r.Partial,
		int64(ledger.BucketOf(r.Latency)), ttftBucket(r.TTFT),
	}
}

func ttftBucket(d time.Duration) int64 {
	if d <= 0 {
		return -1
	}
	return int64(ledger.BucketOf(d))
}

// selectRecord is the column list scanRecord reads.
func selectRecord() string {
	cols := RawColumns()
	return "id, " + strings.Join(cols[:len(cols)-2], ", ") // not the histogram buckets
}

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads a row selected with selectRecord.
func scanRecord(s scanner) (ledger.Record, Cursor, error) {
	var (
		r                                    ledger.Record
		id, timeUS, in, cached, cw, out, rea int64
		cost, base, saved                    int64
		lat, ttft, over, status, nAttempts   int64
		format, cache, cause, errKind, att   string
		sim                                  sql.NullFloat64
		entry                                sql.NullString
	)
	err := s.Scan(&id, &timeUS, &r.RequestID, &r.Tenant, &r.KeyID,
		&format, &r.RequestedModel, &r.Route,
		&r.RouteReason, &r.ServedModel, &r.Provider,
		&cache, &sim, &entry,
		&in, &cached, &cw, &out, &rea, &r.Usage.Estimated,
		&cost, &r.BaselineModel, &base, &saved, &cause,
		&lat, &ttft, &over, &status, &errKind, &nAttempts, &att,
		&r.Stream, &r.Partial)
	if err != nil {
		return r, Cursor{}, fmt.Errorf("scan ledger record: %w", err)
	}
	r.Time = time.UnixMicro(timeUS).UTC()
	r.ClientFormat = llm.Format(format)
	r.Cache = ledger.CacheStatus(cache)
	if entry.Valid {
		r.MatchedEntryID, r.Similarity = entry.String, sim.Float64
	}
	r.Usage.InputTokens, r.Usage.CachedInputTokens, r.Usage.CacheWriteTokens = int(in), int(cached), int(cw)
	r.Usage.OutputTokens, r.Usage.ReasoningTokens = int(out), int(rea)
	r.Cost, r.BaselineCost, r.Saved = money.USD(cost), money.USD(base), money.USD(saved)
	r.SavingCause = ledger.SavingCause(cause)
	r.Latency = time.Duration(lat) * time.Microsecond
	r.TTFT = time.Duration(ttft) * time.Microsecond
	r.Overhead = time.Duration(over) * time.Microsecond
	r.Status = int(status)
	r.ErrorKind = llm.ErrorKind(errKind)
	if r.Attempts, err = ledger.DecodeAttempts(att); err != nil {
		return r, Cursor{}, fmt.Errorf("scan ledger record %s: %w", r.RequestID, err)
	}
	return r, Cursor{TimeUS: timeUS, ID: id}, nil
}

// Cursor is a position in the request log.
type Cursor = ledger.Cursor
