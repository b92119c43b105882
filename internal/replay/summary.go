package replay

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is what a replay's outcomes add up to.
type Summary struct {
	Scheduled, Sent, OK, Failed, Streams int
	// Failures counts failed requests by status ("status 502", "no response").
	Failures map[string]int
	// FirstErrors are the first few distinct failure messages, in trace order.
	FirstErrors []string
	// ScheduledRate is the trace's arrival rate at the replay's speed; SentRate is the
	// rate at which requests actually went out (both over the span from first to last
	// send); Throughput is answers per second over the whole run.
	ScheduledRate, SentRate, Throughput float64
	Elapsed                             time.Duration
	Waited                              int
	Lag, Latency, TTFB                  Percentiles // TTFB: streams only
	InTokens, OutTokens                 int64
	Cache                               map[string]int // by x-arbiter-cache
}

// Percentiles of a set of durations.
type Percentiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func percentiles(d []time.Duration) Percentiles {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := Percentiles{N: len(d), P50: percentile(d, 0.5), P90: percentile(d, 0.9), P99: percentile(d, 0.99)}
	if len(d) > 0 {
		p.Max = d[len(d)-1]
	}
	return p
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Summarize adds up a replay of n scheduled rows.
func Summarize(res *Result, scheduled int) Summary {
	s := Summary{Scheduled: scheduled, Sent: res.Sent, Failures: map[string]int{}, Cache: map[string]int{}, Elapsed: res.Elapsed, Waited: res.Waited}
	var lags, lat, ttfb []time.Duration
	var firstSend, lastSend time.Duration
	seen := map[string]bool{}
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		sentAt := o.Scheduled + o.Lag
		if i == 0 || sentAt < firstSend {
			firstSend = sentAt
		}
		lastSend = max(lastSend, sentAt)
		lags = append(lags, o.Lag)
		if o.Stream {
			s.Streams++
		}
		if !o.OK() {
			s.Failed++
			key := "no response"
			if o.Status != 0 {
				key = fmt.Sprintf("status %d", o.Status)
			}
			s.Failures[key]++
			if len(s.FirstErrors) < 3 && !seen[o.Err] {
				seen[o.Err] = true
				s.FirstErrors = append(s.FirstErrors, fmt.Sprintf("trace line %d: %s", o.Row.Line, o.Err))
			}
			continue
		}
		s.OK++
		lat = append(lat, o.Latency)
		if o.Stream {
			ttfb = append(ttfb, o.TTFB)
		}
		s.InTokens += int64(o.InTokens)
		s.OutTokens += int64(o.OutTokens)
		if o.Cache != "" {
			s.Cache[o.Cache]++
		}
	}
	if n := len(res.Outcomes); n > 1 {
		last := res.Outcomes[n-1].Scheduled
		if last > 0 {
			s.ScheduledRate = float64(n-1) / last.Seconds()
		}
		if span := lastSend - firstSend; span > 0 {
			s.SentRate = float64(n-1) / span.Seconds()
		}
	}
	if res.Elapsed > 0 {
		s.Throughput = float64(s.OK) / res.Elapsed.Seconds()
	}
	s.Lag, s.Latency, s.TTFB = percentiles(lags), percentiles(lat), percentiles(ttfb)
	return s
}

// Print writes the summary for people.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\nReplayed %d of %d requests in %s: %d ok, %d failed", s.Sent, s.Scheduled, round(s.Elapsed), s.OK, s.Failed)
	if s.Failed > 0 {
		fmt.Fprintf(w, " (%s)", countsText(s.Failures, ": "))
	}
	fmt.Fprintf(w, "; %d streamed.\n", s.Streams)
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "Rate: scheduled %.1f req/s, sent %.1f req/s, answered %.1f req/s.\n", s.ScheduledRate, s.SentRate, s.Throughput)
	fmt.Fprintf(w, "Schedule lag (how late requests were sent): p50 %s, p99 %s, max %s; %d waited for the in-flight cap.\n",
		round(s.Lag.P50), round(s.Lag.P99), round(s.Lag.Max), s.Waited)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  \trequests\tp50\tp90\tp99\tmax\t\n")
	fmt.Fprintf(tw, "  latency (ok)\t%d\t%s\t%s\t%s\t%s\t\n", s.Latency.N, round(s.Latency.P50), round(s.Latency.P90), round(s.Latency.P99), round(s.Latency.Max))
	if s.TTFB.N > 0 {
		fmt.Fprintf(tw, "  first byte (streams)\t%d\t%s\t%s\t%s\t%s\t\n", s.TTFB.N, round(s.TTFB.P50), round(s.TTFB.P90), round(s.TTFB.P99), round(s.TTFB.Max))
	}
	tw.Flush()
	fmt.Fprintf(w, "Tokens (usage reported to the client): %d in, %d out.\n", s.InTokens, s.OutTokens)
	if len(s.Cache) > 0 {
		fmt.Fprintf(w, "Cache (x-arbiter-cache): %s.\n", countsText(s.Cache, " "))
	}
}

// countsText lists counts by key in key order: "a<sep>1, b<sep>2".
func countsText(m map[string]int, sep string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s%s%d", k, sep, m[k])
	}
	return strings.Join(parts, ", ")
}

// round keeps durations readable: milliseconds with one decimal above 1 ms.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
