package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Inserter is what a Writer needs from a store.
type Inserter interface {
	// Insert stores records atomically: all of them or, with an error, none.
	Insert(ctx context.Context, recs []Record) error
}

// Store keeps records and answers the queries behind the report and the dashboard.
type Store interface {
	Inserter
	// Summary aggregates a time range from the rollups (raw rows only for the
	// partial hours at the range's edges).
	Summary(ctx context.Context, q Query) (*Summary, error)
	// Requests returns one page of the request log, newest first unless
	// f.OldestFirst, after the position cursor names ("" for the first page).
	Requests(ctx context.Context, f RequestFilter, cursor string, limit int) (*Page, error)
	// Get returns one request's record, or ErrNotFound.
	Get(ctx context.Context, requestID string) (*Record, error)
	Close() error
}

// ErrNotFound is returned by Get for an unknown request id.
var ErrNotFound = errors.New("ledger: request not found")

// Dimension is what a summary groups by.
type Dimension string

const (
	ByNone     Dimension = ""
	ByModel    Dimension = "model" // served model
	ByProvider Dimension = "provider"
	ByKey      Dimension = "key"
	ByTenant   Dimension = "tenant"
	ByCache    Dimension = "cache"
	ByRoute    Dimension = "route" // route reason
)

// Interval is the width of a time-series bucket, in UTC.
type Interval string

const (
	NoSeries Interval = ""
	Hourly   Interval = "hour"
	Daily    Interval = "day"
)

// Seconds returns the bucket width in seconds, or 0 for NoSeries.
func (i Interval) Seconds() int64 {
	switch i {
	case Hourly:
		return 3600
	case Daily:
		return 86400
	}
	return 0
}

// ParseGroupBy reads a --by value: a dimension, or "hour"/"day" for a time series.
func ParseGroupBy(s string) (Dimension, Interval, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "total":
		return ByNone, NoSeries, nil
	case "hour":
		return ByNone, Hourly, nil
	case "day":
		return ByNone, Daily, nil
	case "model":
		return ByModel, NoSeries, nil
	case "provider", "deployment":
		return ByProvider, NoSeries, nil
	case "key":
		return ByKey, NoSeries, nil
	case "tenant":
		return ByTenant, NoSeries, nil
	case "cache":
		return ByCache, NoSeries, nil
	case "route", "route_reason", "reason":
		return ByRoute, NoSeries, nil
	}
	return "", "", fmt.Errorf("unknown grouping %q (want model, provider, key, tenant, cache, route, hour or day)", s)
}

// Filter restricts records by their dimensions; an empty list matches everything,
// several values match any of them.
type Filter struct {
	Models    []string      `json:"models,omitempty"`
	Providers []string      `json:"providers,omitempty"`
	Keys      []string      `json:"keys,omitempty"`
	Tenants   []string      `json:"tenants,omitempty"`
	Routes    []string      `json:"routes,omitempty"` // route reasons
	Cache     []CacheStatus `json:"cache,omitempty"`
}

// NeedsKeys reports whether the filter names keys or tenants.
func (f *Filter) NeedsKeys() bool { return len(f.Keys) > 0 || len(f.Tenants) > 0 }

// Query asks for the aggregates of [From, To).
type Query struct {
	From, To time.Time
	GroupBy  Dimension
	Interval Interval
	Filter   Filter
}

// Validate checks the range and names.
func (q *Query) Validate() error {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		return fmt.Errorf("ledger query: need From before To (got %s .. %s)", q.From, q.To)
	}
	switch q.GroupBy {
	case ByNone, ByModel, ByProvider, ByKey, ByTenant, ByCache, ByRoute:
	default:
		return fmt.Errorf("ledger query: unknown dimension %q", q.GroupBy)
	}
	switch q.Interval {
	case NoSeries, Hourly, Daily:
	default:
		return fmt.Errorf("ledger query: unknown interval %q", q.Interval)
	}
	if n := q.To.Sub(q.From).Seconds(); q.Interval != NoSeries && n/float64(q.Interval.Seconds()) > 100_000 {
		return fmt.Errorf("ledger query: %s buckets over %s are too many", q.Interval, q.To.Sub(q.From))
	}
	return nil
}

// Group is the totals of one value of the grouping dimension.
type Group struct {
	Key    string `json:"key"`
	Totals Totals `json:"totals"`
}

// Point is one time-series bucket: its totals and, when the query groups, the
// totals of each group within it.
type Point struct {
	Time   time.Time `json:"time"`
	Totals Totals    `json:"totals"`
	Groups []Group   `json:"groups,omitempty"`
}

// Summary answers a Query. Groups are ordered by cost, highest first; Series has one
// point per bucket in the range, empty buckets included.
type Summary struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	GroupBy  Dimension `json:"group_by,omitempty"`
	Interval Interval  `json:"interval,omitempty"`
	Totals   Totals    `json:"totals"`
	Groups   []Group   `json:"groups,omitempty"`
	Series   []Point   `json:"series,omitempty"`
}

// RequestFilter selects request-log entries in [From, To) (zero bounds are open).
type RequestFilter struct {
	From, To    time.Time
	Filter      Filter
	Status      int  // exact HTTP status, 0 for any
	ErrorsOnly  bool // status ≥ 400
	OldestFirst bool
}

// Page is one page of the request log. Next is the cursor of the following page, ""
// at the end.
type Page struct {
	Records []Record `json:"records"`
	Next    string   `json:"next,omitempty"`
}

// Cursor is a position in the request log: the (time, row id) of the last record of
// a page. Its string form is opaque to clients.
type Cursor struct {
	TimeUS int64
	ID     int64
}

// String encodes the cursor.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.TimeUS, 36) + "." + strconv.FormatInt(c.ID, 36)))
}

// ParseCursor decodes a cursor string; "" is the zero cursor (start).
func ParseCursor(s string) (Cursor, bool, error) {
	if s == "" {
		return Cursor{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		t, id, ok := strings.Cut(string(b), ".")
		if ok {
			var c Cursor
			c.TimeUS, err = strconv.ParseInt(t, 36, 64)
			if err == nil {
				c.ID, err = strconv.ParseInt(id, 36, 64)
				if err == nil {
					return c, true, nil
				}
			}
		}
	}
	return Cursor{}, false, fmt.Errorf("ledger: invalid cursor %q", s)
}
