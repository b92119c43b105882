package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

// CSVHeader names the export's CSV columns; money is exact decimal dollars,
// durations milliseconds.
func CSVHeader() []string {
	return []string{"time", "request_id", "tenant", "key_id", "client_format", "requested_model", "route",
		"route_reason", "served_model", "provider", "cache", "similarity", "matched_entry_id",
		"input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "tokens_estimated",
		"cost_usd", "baseline_model", "baseline_cost_usd", "saved_usd", "saving_cause",
		"latency_ms", "ttft_ms", "overhead_ms", "status", "error_kind", "attempt_count", "attempts", "stream", "partial"}
}

func csvRow(r *ledger.Record) []string {
	sim := ""
	if r.MatchedEntryID != "" {
		sim = strconv.FormatFloat(r.Similarity, 'f', -1, 64)
	}
	i := strconv.Itoa
	b := strconv.FormatBool
	msf := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', -1, 64) }
	return []string{r.Time.UTC().Format(time.RFC3339Nano), r.RequestID, r.Tenant, r.KeyID, string(r.ClientFormat),
		r.RequestedModel, r.Route, r.RouteReason, r.ServedModel, r.Provider, string(r.Cache), sim, r.MatchedEntryID,
		i(r.Usage.InputTokens), i(r.Usage.CachedInputTokens), i(r.Usage.CacheWriteTokens), i(r.Usage.OutputTokens),
		i(r.Usage.ReasoningTokens), b(r.Usage.Estimated),
		r.Cost.Decimal(), r.BaselineModel, r.BaselineCost.Decimal(), r.Saved.Decimal(), string(r.SavingCause),
		msf(r.Latency), msf(r.TTFT), msf(r.Overhead), i(r.Status), string(r.ErrorKind), i(len(r.Attempts)),
		ledger.EncodeAttempts(r.Attempts), b(r.Stream), b(r.Partial)}
}

// Export streams the records of f, oldest first, as "csv" or "jsonl", one page of
// the request log at a time; it returns how many it wrote.
func Export(ctx context.Context, s ledger.Store, w io.Writer, format string, f ledger.RequestFilter) (int, error) {
	f.OldestFirst = true
	var write func(r *ledger.Record) error
	var flush func() error
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader()); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		write = func(r *ledger.Record) error { return cw.Write(csvRow(r)) }
		flush = func() error { cw.Flush(); return cw.Error() }
	case "jsonl", "ndjson":
		enc := json.NewEncoder(w)
		write = func(r *ledger.Record) error { return enc.Encode(r) }
		flush = func() error { return nil }
	default:
		return 0, fmt.Errorf("export: unknown format %q (want csv or jsonl)", format)
	}
	n, cursor := 0, ""
	for {
		p, err := s.Requests(ctx, f, cursor, 1000)
		if err != nil {
			return n, fmt.Errorf("export after %d records: %w", n, err)
		}
		for i := range p.Records {
			if err := write(&p.Records[i]); err != nil {
				return n, fmt.Errorf("export: write: %w", err)
			}
			n++
		}
		if err := flush(); err != nil {
			return n, fmt.Errorf("export: write: %w", err)
		}
		if cursor = p.Next; cursor == "" {
			return n, nil
		}
	}
}
