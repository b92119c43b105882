// Package replay sends a recorded trace of LLM requests (Azure's public inference
// traces: arrival time, context tokens, generated tokens) to a gateway at the trace's
// own pace, open-loop, and summarises what came back: the load a real service sees,
// rather than a closed loop of clients that slows down when the gateway does.
package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Row is one request of a trace.
type Row struct {
	Line      int       // line in the file, for messages
	Time      time.Time // arrival in the trace
	Context   int       // prompt tokens
	Generated int       // output tokens, sent as max_tokens
}

// TraceOptions select part of a trace.
type TraceOptions struct {
	// Start skips the rows that arrived less than Start after the trace's first row.
	Start time.Duration
	// Limit caps the rows kept after Start (0: all).
	Limit int
}

// timeLayout is the trace's timestamp; the fraction (seven digits in Azure's files)
// is accepted by time.Parse after the seconds without being in the layout.
const timeLayout = "2006-01-02 15:04:05"

// ReadTraceFile reads a trace file; errors name file:line.
func ReadTraceFile(path string, o TraceOptions) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	return ReadTrace(f, path, o)
}

// ReadTrace parses a CSV trace with the header TIMESTAMP,ContextTokens,GeneratedTokens
// (in any order; other columns are ignored). Rows must be in time order, as a trace
// is a schedule. name prefixes error messages.
func ReadTrace(r io.Reader, name string, o TraceOptions) ([]Row, error) {
	if o.Start < 0 {
		return nil, fmt.Errorf("%s: negative start %s", name, o.Start)
	}
	if o.Limit < 0 {
		return nil, fmt.Errorf("%s: negative limit %d", name, o.Limit)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	col := map[string]int{}
	var rows []Row
	var first, prev time.Time
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(col) == 0 {
			for i, f := range fields {
				col[strings.ToLower(strings.TrimSpace(f))] = i
			}
			for _, want := range []string{"timestamp", "contexttokens", "generatedtokens"} {
				if _, ok := col[want]; !ok {
					return nil, fmt.Errorf("%s:%d: header has no %s column (want TIMESTAMP,ContextTokens,GeneratedTokens)", name, line, want)
				}
			}
			continue
		}
		if o.Limit > 0 && len(rows) == o.Limit {
			break // rows past the limit are not read, so they cannot fail the run
		}
		row, err := parseRow(fields, col)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		row.Line = line
		if first.IsZero() {
			first = row.Time
		} else if row.Time.Before(prev) {
			return nil, fmt.Errorf("%s:%d: timestamp %s is before the previous row's %s (a trace must be in time order)",
				name, line, row.Time.Format(timeLayout+".0000000"), prev.Format(timeLayout+".0000000"))
		}
		prev = row.Time
		if row.Time.Sub(first) < o.Start {
			continue
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: read: %w", name, line+1, err)
	}
	if len(col) == 0 {
		return nil, fmt.Errorf("%s: empty trace (no header)", name)
	}
	if len(rows) == 0 {
		if o.Start > 0 && !first.IsZero() {
			return nil, fmt.Errorf("%s: no rows at or after --start %s (the trace spans %s)", name, o.Start, prev.Sub(first))
		}
		return nil, errors.New(name + ": no rows")
	}
	return rows, nil
}

func parseRow(fields []string, col map[string]int) (Row, error) {
	need := max(col["timestamp"], col["contexttokens"], col["generatedtokens"]) + 1
	if len(fields) < need {
		return Row{}, fmt.Errorf("%d fields, want at least %d", len(fields), need)
	}
	ts := strings.TrimSpace(fields[col["timestamp"]])
	t, err := time.Parse(timeLayout, ts)
	if err != nil {
		return Row{}, fmt.Errorf("bad TIMESTAMP %q (want like 2023-11-16 18:15:46.6805900)", ts)
	}
	ctx, err := count(fields[col["contexttokens"]], "ContextTokens")
	if err != nil {
		return Row{}, err
	}
	gen, err := count(fields[col["generatedtokens"]], "GeneratedTokens")
	if err != nil {
		return Row{}, err
	}
	return Row{Time: t, Context: ctx, Generated: gen}, nil
}

func count(s, what string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad %s %q (want a whole number ≥ 0)", what, s)
	}
	return n, nil
}
