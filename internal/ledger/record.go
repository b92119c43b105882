// Package ledger records one usage record per request and answers questions about
// them: what was spent, what it would have cost, what was saved and why.
//
// Records reach a Store through a Writer, which batches them in the background so
// that nothing on a request's path waits for disk. Stores (SQLite by default,
// PostgreSQL at scale, in subpackages) keep raw records for the request log and
// hourly and daily rollups, maintained at insert time, for range aggregates; the
// rollups carry latency histograms so that percentiles never need the raw rows.
//
// Money is integer nanodollars (money.USD) everywhere, including in the database.
package ledger

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/money"
)

// CacheStatus says how the cache took part in a request.
type CacheStatus string

const (
	CacheMiss        CacheStatus = "miss"         // looked up, not found, served upstream
	CacheHit         CacheStatus = "hit"          // exact hit
	CacheSemanticHit CacheStatus = "semantic-hit" // answered from a similar earlier request
	CacheBypass      CacheStatus = "bypass"       // cache not consulted (disabled, no-store, tools…)
	CacheCoalesced   CacheStatus = "coalesced"    // shared an identical request already in flight
)

// CacheStatuses lists every cache status, in display order.
func CacheStatuses() []CacheStatus {
	return []CacheStatus{CacheMiss, CacheHit, CacheSemanticHit, CacheBypass, CacheCoalesced}
}

// Served reports whether the cache answered the request (no upstream call was made).
func (c CacheStatus) Served() bool {
	return c == CacheHit || c == CacheSemanticHit || c == CacheCoalesced
}

// SavingCause names the lever that produced a request's saving.
type SavingCause string

const (
	CauseNone     SavingCause = "none"
	CauseCache    SavingCause = "cache"    // answered from the cache (exact, semantic or coalesced)
	CauseRouting  SavingCause = "routing"  // a cheaper model than the baseline was chosen
	CauseProvider SavingCause = "provider" // the same model, bought from a cheaper deployment
)

// Attempt is one upstream try of a request, in the order they were made.
type Attempt struct {
	Deployment string        `json:"deployment"`
	Model      string        `json:"model,omitempty"`
	ErrorKind  llm.ErrorKind `json:"error_kind,omitempty"` // "" when the attempt succeeded
	Status     int           `json:"status,omitempty"`     // upstream HTTP status, if any
	Latency    time.Duration `json:"-"`
}

// Record is what the ledger keeps about one request. It never holds a secret: KeyID
// identifies a virtual key, it is not the key.
type Record struct {
	// Time is when the request arrived, in UTC. Rollups bucket by it.
	Time      time.Time
	RequestID string
	Tenant    string
	KeyID     string

	ClientFormat   llm.Format
	RequestedModel string // the model the client named ("gpt-4o", "auto")
	Route          string // the routing policy applied, "" when the model was used as asked
	RouteReason    string // why the served model was chosen ("requested", "cheapest-qualified", "failover"…)
	ServedModel    string // catalog name of the model that answered
	Provider       string // deployment that answered ("openai", "groq"); "cache" for cache hits

	Cache CacheStatus
	// Similarity and MatchedEntryID describe a semantic hit; MatchedEntryID "" means
	// none (both are stored as NULL).
	Similarity     float64
	MatchedEntryID string

	Usage llm.Usage

	Cost          money.USD
	BaselineModel string
	BaselineCost  money.USD
	Saved         money.USD // BaselineCost − Cost; negative when the choice cost more
	SavingCause   SavingCause

	Latency  time.Duration // arrival to last byte sent
	TTFT     time.Duration // arrival to first streamed byte; 0 when not streamed
	Overhead time.Duration // time spent in Arbiter itself, excluding upstream waits

	Status    int           // HTTP status sent to the client
	ErrorKind llm.ErrorKind // "" on success

	Attempts []Attempt
	Stream   bool
	Partial  bool // the stream ended before the upstream finished (client left, upstream cut)
}

// Normalize fills defaults a store relies on (the miss cache status, the none saving
// cause, status 200) and truncates times and durations to the microseconds stores
// keep. Stores call it on insert, so a record read back equals its normalized form.
func (r *Record) Normalize() {
	if r.Time.IsZero() {
		r.Time = time.Now() // a record without a time is stamped when stored
	}
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	r.Latency = r.Latency.Truncate(time.Microsecond)
	r.TTFT = r.TTFT.Truncate(time.Microsecond)
	r.Overhead = r.Overhead.Truncate(time.Microsecond)
	if len(r.Attempts) > 0 {
		as := make([]Attempt, len(r.Attempts)) // the caller's slice is not ours to change
		for i, a := range r.Attempts {
			a.Latency = a.Latency.Truncate(time.Microsecond)
			as[i] = a
		}
		r.Attempts = as
	}
	if r.Cache == "" {
		r.Cache = CacheMiss
	}
	if r.SavingCause == "" {
		r.SavingCause = CauseNone
	}
	if r.Status == 0 {
		r.Status = 200
	}
}

// IsError reports whether the client got an error status.
func (r *Record) IsError() bool { return r.Status >= 400 }

// recordJSON is the wire shape of a Record in exports and the analytics API: money as
// exact decimal dollar strings and as nanodollars, durations in milliseconds.
type recordJSON struct {
	Time             time.Time   `json:"time"`
	RequestID        string      `json:"request_id"`
	Tenant           string      `json:"tenant,omitempty"`
	KeyID            string      `json:"key_id,omitempty"`
	ClientFormat     llm.Format  `json:"client_format,omitempty"`
	RequestedModel   string      `json:"requested_model,omitempty"`
	Route            string      `json:"route,omitempty"`
	RouteReason      string      `json:"route_reason,omitempty"`
	ServedModel      string      `json:"served_model,omitempty"`
	Provider         string      `json:"provider,omitempty"`
	Cache            CacheStatus `json:"cache"`
	Similarity       *float64    `json:"similarity,omitempty"`
	MatchedEntryID   string      `json:"matched_entry_id,omitempty"`
	InputTokens      int         `json:"input_tokens"`
	CachedTokens     int         `json:"cached_tokens"`
	CacheWriteTokens int         `json:"cache_write_tokens"`
	OutputTokens     int         `json:"output_tokens"`
	ReasoningTokens  int         `json:"reasoning_tokens"`
	TokensEstimated  bool        `json:"tokens_estimated,omitempty"`
	CostUSD          string      `json:"cost_usd"`
	CostNano         money.USD   `json:"cost_nanousd"`
	BaselineModel    string      `json:"baseline_model,omitempty"`
	BaselineCostUSD  string      `json:"baseline_cost_usd"`
	BaselineCostNano money.USD   `json:"baseline_cost_nanousd"`
	SavedUSD         string      `json:"saved_usd"`
	SavedNano        money.USD   `json:"saved_nanousd"`
	SavingCause      SavingCause `json:"saving_cause"`
	LatencyMS        float64     `json:"latency_ms"`
	TTFTMS           float64     `json:"ttft_ms,omitempty"`
	OverheadMS       float64     `json:"overhead_ms"`
	Status           int         `json:"status"`
	ErrorKind        string      `json:"error_kind,omitempty"`
	Attempts         []attemptJS `json:"attempts,omitempty"`
	Stream           bool        `json:"stream"`
	Partial          bool        `json:"partial,omitempty"`
}

type attemptJS struct {
	Attempt
	LatencyMS float64 `json:"latency_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fromMS(v float64) time.Duration { return time.Duration(v*1000+0.5) * time.Microsecond }

// MarshalJSON writes the record's wire shape.
func (r Record) MarshalJSON() ([]byte, error) {
	j := recordJSON{
		Time: r.Time.UTC(), RequestID: r.RequestID, Tenant: r.Tenant, KeyID: r.KeyID,
		ClientFormat: r.ClientFormat, RequestedModel: r.RequestedModel, Route: r.Route,
		RouteReason: r.RouteReason, ServedModel: r.ServedModel, Provider: r.Provider,
		Cache: r.Cache, MatchedEntryID: r.MatchedEntryID,
		InputTokens: r.Usage.InputTokens, CachedTokens: r.Usage.CachedInputTokens,
		CacheWriteTokens: r.Usage.CacheWriteTokens, OutputTokens: r.Usage.OutputTokens,
		ReasoningTokens: r.Usage.ReasoningTokens, TokensEstimated: r.Usage.Estimated,
		CostUSD: r.Cost.Decimal(), CostNano: r.Cost, BaselineModel: r.BaselineModel,
		BaselineCostUSD: r.BaselineCost.Decimal(), BaselineCostNano: r.BaselineCost,
		SavedUSD: r.Saved.Decimal(), SavedNano: r.Saved, SavingCause: r.SavingCause,
		LatencyMS: ms(r.Latency), TTFTMS: ms(r.TTFT), OverheadMS: ms(r.Overhead),
		Status: r.Status, ErrorKind: string(r.ErrorKind), Stream: r.Stream, Partial: r.Partial,
	}
	if r.MatchedEntryID != "" {
		s := r.Similarity
		j.Similarity = &s
	}
	for _, a := range r.Attempts {
		j.Attempts = append(j.Attempts, attemptJS{Attempt: a, LatencyMS: ms(a.Latency)})
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the wire shape written by MarshalJSON; nanodollar fields win
// over the decimal strings.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode ledger record: %w", err)
	}
	*r = Record{
		Time: j.Time, RequestID: j.RequestID, Tenant: j.Tenant, KeyID: j.KeyID,
		ClientFormat: j.ClientFormat, RequestedModel: j.RequestedModel, Route: j.Route,
		RouteReason: j.RouteReason, ServedModel: j.ServedModel, Provider: j.Provider,
		Cache: j.Cache, MatchedEntryID: j.MatchedEntryID,
		Usage: llm.Usage{InputTokens: j.InputTokens, CachedInputTokens: j.CachedTokens,
			CacheWriteTokens: j.CacheWriteTokens, OutputTokens: j.OutputTokens,
			ReasoningTokens: j.ReasoningTokens, Estimated: j.TokensEstimated},
		Cost: j.CostNano, BaselineModel: j.BaselineModel, BaselineCost: j.BaselineCostNano,
		Saved: j.SavedNano, SavingCause: j.SavingCause,
		Latency: fromMS(j.LatencyMS), TTFT: fromMS(j.TTFTMS), Overhead: fromMS(j.OverheadMS),
		Status: j.Status, ErrorKind: llm.ErrorKind(j.ErrorKind), Stream: j.Stream, Partial: j.Partial,
	}
	for _, m := range []struct {
		dst *money.USD
		dec string
	}{{&r.Cost, j.CostUSD}, {&r.BaselineCost, j.BaselineCostUSD}, {&r.Saved, j.SavedUSD}} {
		if *m.dst == 0 && m.dec != "" {
			v, err := money.ParseDecimal(m.dec)
			if err != nil {
				return fmt.Errorf("decode ledger record %s: %w", j.RequestID, err)
			}
			*m.dst = v
		}
	}
	if j.Similarity != nil {
		r.Similarity = *j.Similarity
	}
	for _, a := range j.Attempts {
		at := a.Attempt
		at.Latency = fromMS(a.LatencyMS)
		r.Attempts = append(r.Attempts, at)
	}
	return nil
}

// EncodeAttempts renders attempts in the compact JSON form stores keep.
func EncodeAttempts(as []Attempt) string {
	if len(as) == 0 {
		return ""
	}
	js := make([]attemptJS, len(as))
	for i, a := range as {
		js[i] = attemptJS{Attempt: a, LatencyMS: ms(a.Latency)}
	}
	b, _ := json.Marshal(js) // plain strings and numbers: cannot fail
	return string(b)
}

// DecodeAttempts parses what EncodeAttempts wrote.
func DecodeAttempts(s string) ([]Attempt, error) {
	if s == "" {
		return nil, nil
	}
	var js []attemptJS
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("decode attempts: %w", err)
	}
	as := make([]Attempt, len(js))
	for i, a := range js {
		as[i] = a.Attempt
		as[i].Latency = fromMS(a.LatencyMS)
	}
	return as, nil
}
