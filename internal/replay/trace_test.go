package replay

import (
	"strings"
	"testing"
	"time"
)

const header = "TIMESTAMP,ContextTokens,GeneratedTokens\n"

func TestReadTrace(t *testing.T) {
	five := header +
		"2023-11-16 18:15:46.6805900,374,44\n" +
		"2023-11-16 18:15:50.9951690,396,109\n" +
		"2023-11-16 18:25:51.2224670,879,55\n" +
		"2023-11-16 18:25:51.3910170,91,16\n" +
		"2023-11-16 18:30:00,10,0\n"
	tests := []struct {
		name    string
		in      string
		opt     TraceOptions
		lines   []int  // kept rows' lines
		wantErr string // substring; empty: no error
	}{
		{name: "all rows", in: five, lines: []int{2, 3, 4, 5, 6}},
		{name: "limit", in: five, opt: TraceOptions{Limit: 2}, lines: []int{2, 3}},
		{name: "start skips the first ten minutes", in: five, opt: TraceOptions{Start: 10 * time.Minute}, lines: []int{4, 5, 6}},
		{name: "start and limit", in: five, opt: TraceOptions{Start: 10 * time.Minute, Limit: 1}, lines: []int{4}},
		{name: "limit stops before a bad row", in: five + "garbage\n", opt: TraceOptions{Limit: 5}, lines: []int{2, 3, 4, 5, 6}},
		{name: "columns in another order, extra column, CRLF, blank line",
			in:    "GeneratedTokens,TIMESTAMP,ContextTokens,Extra\r\n\r\n7,2023-11-16 18:15:46.1,100,x\r\n",
			lines: []int{3}},
		{name: "start beyond the trace", in: five, opt: TraceOptions{Start: time.Hour}, wantErr: "no rows at or after --start"},
		{name: "bad timestamp", in: header + "2023-11-16 18:15:46.6,1,2\n16/11/2023 18:15,1,2\n", wantErr: "f.csv:3: bad TIMESTAMP"},
		{name: "negative tokens", in: header + "2023-11-16 18:15:46,-1,2\n", wantErr: "f.csv:2: bad ContextTokens"},
		{name: "non-numeric tokens", in: header + "2023-11-16 18:15:46,1,lots\n", wantErr: "f.csv:2: bad GeneratedTokens"},
		{name: "missing field", in: header + "2023-11-16 18:15:46,1\n", wantErr: "f.csv:2: 2 fields"},
		{name: "out of order", in: header + "2023-11-16 18:15:47,1,1\n2023-11-16 18:15:46,1,1\n", wantErr: "f.csv:3: timestamp"},
		{name: "missing column", in: "TIMESTAMP,ContextTokens\n", wantErr: "f.csv:1: header has no generatedtokens"},
		{name: "empty file", in: "", wantErr: "empty trace"},
		{name: "header only", in: header, wantErr: "no rows"},
		{name: "negative limit", in: five, opt: TraceOptions{Limit: -1}, wantErr: "negative limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ReadTrace(strings.NewReader(tt.in), "f.csv", tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			if !equalInts(lines, tt.lines) {
				t.Fatalf("kept lines %v, want %v", lines, tt.lines)
			}
		})
	}
}

func TestReadTraceFields(t *testing.T) {
	rows, err := ReadTrace(strings.NewReader(header+"2023-11-16 18:15:46.6805900,374,44\n"), "f.csv", TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2023, 11, 16, 18, 15, 46, 680590000, time.UTC)
	if r := rows[0]; !r.Time.Equal(want) || r.Context != 374 || r.Generated != 44 {
		t.Fatalf("row = %+v, want time %s, 374 and 44 tokens", r, want)
	}
}

func TestReadTraceFileNamesTheFile(t *testing.T) {
	_, err := ReadTraceFile("testdata/bad.csv", TraceOptions{})
	if err == nil || !strings.Contains(err.Error(), "testdata/bad.csv:4: bad ContextTokens") {
		t.Fatalf("err = %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
