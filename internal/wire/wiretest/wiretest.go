// Package wiretest holds what the wire codecs' golden-file tests share: comparing
// with (or rewriting, under -update) files in the package's testdata/, JSON helpers,
// and a stable text rendering of stream events. It is imported by tests only.
package wiretest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Golden compares got with testdata/name, or rewrites the file under -update.
func Golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

// ReadTestdata returns testdata/name (for tests, benchmarks and fuzz seeds alike).
func ReadTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Indent renders v (or a JSON document given as []byte) as indented JSON.
func Indent(t *testing.T, v any) []byte {
	t.Helper()
	var b []byte
	var err error
	if raw, ok := v.([]byte); ok {
		var buf bytes.Buffer
		err = json.Indent(&buf, raw, "", "  ")
		b = buf.Bytes()
	} else {
		b, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// SameJSON reports whether two JSON documents are equal as values.
func SameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// Trace renders events one per line, naming only the fields each type uses, so that
// golden files do not change when llm.Event gains a field.
func Trace(evs []llm.Event) []byte {
	var b strings.Builder
	for _, e := range evs {
		switch e.Type {
		case llm.EventStart:
			fmt.Fprintf(&b, "start id=%q model=%q\n", e.ID, e.Model)
		case llm.EventText:
			fmt.Fprintf(&b, "text choice=%d %q\n", e.Choice, e.Text)
		case llm.EventReasoning:
			fmt.Fprintf(&b, "reasoning choice=%d %q\n", e.Choice, e.Text)
		case llm.EventToolCall:
			fmt.Fprintf(&b, "tool_call choice=%d index=%d id=%q name=%q args=%q\n", e.Choice, e.ToolIndex, e.ToolCall.ID, e.ToolCall.Name, e.ToolCall.Arguments)
		case llm.EventToolArgs:
			fmt.Fprintf(&b, "tool_args choice=%d index=%d %q\n", e.Choice, e.ToolIndex, e.ToolCall.Arguments)
		case llm.EventFinish:
			fmt.Fprintf(&b, "finish choice=%d %s\n", e.Choice, e.FinishReason)
		case llm.EventUsage:
			u := e.Usage
			fmt.Fprintf(&b, "usage input=%d cached=%d cache_write=%d output=%d reasoning=%d\n",
				u.InputTokens, u.CachedInputTokens, u.CacheWriteTokens, u.OutputTokens, u.ReasoningTokens)
		default:
			fmt.Fprintf(&b, "event type=%d\n", e.Type)
		}
	}
	return []byte(b.String())
}
