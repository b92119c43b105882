// Package report renders ledger summaries for people (a table of what was spent,
// what it would have cost and what was saved, and why) and exports records as CSV or
// JSON lines.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/money"
)

// ParseSince reads a look-back such as "7d", "36h", "2w" or "90m".
func ParseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); unit == "d" || unit == "w" {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("invalid --since %q", s)
		}
		if unit == "w" {
			v *= 7
		}
		return time.Duration(v) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid --since %q (want e.g. 7d, 24h, 2w)", s)
	}
	return d, nil
}

// Dollars formats money for reading: two decimals from $100, four from a cent,
// else six; thousands separated. Exact figures are in the JSON output.
func Dollars(v money.USD) string {
	neg := v < 0
	if neg {
		v = -v
	}
	decimals := 6
	switch {
	case v >= 100*money.Dollar:
		decimals = 2
	case v >= money.Dollar/100:
		decimals = 4
	}
	unit := money.USD(1)
	for range 9 - decimals {
		unit *= 10
	}
	v = (v + unit/2) / unit * unit // round half up at the shown precision
	whole := int64(v / money.Dollar)
	frac := fmt.Sprintf("%09d", int64(v%money.Dollar))[:decimals]
	s := "$" + thousands(whole) + "." + frac
	if neg {
		s = "-" + s
	}
	return s
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func count(n int64) string { return thousands(n) }

func tokens(n int64) string {
	switch {
	case n >= 10_000_000_000:
		return fmt.Sprintf("%.0fG", float64(n)/1e9)
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 10_000_000:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	case n >= 1_000_000:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", f) }

// Table writes a summary for reading.
func Table(w io.Writer, s *ledger.Summary) error {
	t := s.Totals
	fmt.Fprintf(w, "Arbiter ledger  %s → %s UTC\n\n", s.From.Format("2006-01-02 15:04"), s.To.Format("2006-01-02 15:04"))
	if t.Requests == 0 {
		fmt.Fprintln(w, "No requests in this range.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\trequests\tspent\twould have cost\tsaved\tsaved %%\t\n")
	fmt.Fprintf(tw, "Total\t%s\t%s\t%s\t%s\t%s\t\n", count(t.Requests), Dollars(t.Cost), Dollars(t.BaselineCost),
		Dollars(t.Saved), pct(t.SavedPercent))
	tw.Flush()

	fmt.Fprintln(w, "\nSaved, by cause")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  cache\t%s\t%s answered from cache: %s exact, %s semantic, %s coalesced\t\n",
		Dollars(t.SavedCache), count(t.CacheServed), count(t.CacheHits), count(t.SemanticHits), count(t.Coalesced))
	fmt.Fprintf(tw, "  routing\t%s\ta cheaper model than the baseline\t\n", Dollars(t.SavedRouting))
	fmt.Fprintf(tw, "  provider choice\t%s\tthe same model from a cheaper deployment\t\n", Dollars(t.SavedProvider))
	if t.OtherSaved != 0 {
		fmt.Fprintf(tw, "  other\t%s\tnot attributed\t\n", Dollars(t.OtherSaved))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nTokens   input %s (cached %s, cache writes %s) · output %s (reasoning %s)",
		tokens(t.InputTokens), tokens(t.CachedTokens), tokens(t.CacheWriteTokens), tokens(t.OutputTokens), tokens(t.ReasoningTokens))
	if t.Estimated > 0 {
		fmt.Fprintf(w, " · %s requests estimated", count(t.Estimated))
	}
	fmt.Fprintf(w, "\nService  latency p50 %s p99 %s · first token p50 %s · errors %s · cache hit rate %s · overhead mean %s\n",
		dur(t.LatencyP50), dur(t.LatencyP99), dur(t.TTFTP50), pct(100*t.ErrorRate), pct(100*t.CacheHitRate), dur(t.OverheadMean))

	if len(s.Groups) > 0 {
		fmt.Fprintf(w, "\nBy %s\n", s.GroupBy)
		rows(w, string(s.GroupBy), s.Groups)
	}
	if len(s.Series) > 0 {
		layout := "2006-01-02"
		if s.Interval == ledger.Hourly {
			layout = "2006-01-02 15:00"
		}
		gs := make([]ledger.Group, len(s.Series))
		for i, p := range s.Series {
			gs[i] = ledger.Group{Key: p.Time.Format(layout), Totals: p.Totals}
		}
		fmt.Fprintf(w, "\nBy %s\n", s.Interval)
		rows(w, string(s.Interval), gs)
	}
	return nil
}

func rows(w io.Writer, title string, gs []ledger.Group) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %s\trequests\tspent\twould have cost\tsaved\tsaved %%\tcache hits\terrors\tp50\tp99\t\n", title)
	for _, g := range gs {
		t := g.Totals
		key := g.Key
		if key == "" {
			key = "(none)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", key, count(t.Requests), Dollars(t.Cost),
			Dollars(t.BaselineCost), Dollars(t.Saved), pct(t.SavedPercent), pct(100*t.CacheHitRate),
			pct(100*t.ErrorRate), dur(t.LatencyP50), dur(t.LatencyP99))
	}
	tw.Flush()
}

// JSON writes a summary as indented JSON (money in exact nanodollars and decimals).
func JSON(w io.Writer, s *ledger.Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Savings writes the short savings table the demo and the replay end with:
// spent, what the baseline would have cost and what was saved, then the saving
// by cause.
func Savings(w io.Writer, t ledger.Totals) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  \tspent\twould have cost\tsaved\t\n")
	fmt.Fprintf(tw, "  all requests\t%s\t%s\t%s (%.1f%%)\t\n", t.Cost, t.BaselineCost, t.Saved, share(t.Saved, t.BaselineCost))
	fmt.Fprintf(tw, "    by cache\t\t\t%s\t\n", t.SavedCache)
	fmt.Fprintf(tw, "    by routing\t\t\t%s\t\n", t.SavedRouting)
	fmt.Fprintf(tw, "    by provider choice\t\t\t%s\t\n", t.SavedProvider)
	tw.Flush()
}

// ByModel writes one row per served model, most requests first: requests,
// spent, what the baseline would have cost and what was saved.
func ByModel(w io.Writer, groups []ledger.Group) {
	gs := append([]ledger.Group(nil), groups...)
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].Totals.Requests > gs[j].Totals.Requests })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  model\trequests\tspent\twould have cost\tsaved\t\n")
	for _, g := range gs {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t\n", g.Key, g.Totals.Requests, g.Totals.Cost, g.Totals.BaselineCost, g.Totals.Saved)
	}
	tw.Flush()
}

// share is a as a percentage of b (0 when b is).
func share(a, b money.USD) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
