package replay

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/config"
)

// TestReplayAgainstTheBuiltInStack replays a hand-written 20-row trace at a very high
// speed through the emulator and a real gateway, and checks the replay's account
// against the gateway's ledger.
func TestReplayAgainstTheBuiltInStack(t *testing.T) {
	ctx := context.Background()
	rows, err := ReadTraceFile("testdata/tiny.csv", TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 20 {
		t.Fatalf("fixture has %d rows, want 20", len(rows))
	}
	modelDir := t.TempDir() // no model there: the embedded static embedder, fast to load
	st, err := StartStack(ctx, StackOptions{DataDir: t.TempDir(), Configure: func(c *config.Config) { c.Semantic.ModelDir = modelDir }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var progress bytes.Buffer
	res, err := Run(ctx, rows, Options{Target: st.URL + "/v1", Speed: 100_000, Stream: 0.5, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	sum := Summarize(res, len(rows))
	if sum.Sent != 20 || sum.OK != 20 || sum.Failed != 0 {
		t.Fatalf("sent %d, ok %d, failed %d (%v); want all 20 answered", sum.Sent, sum.OK, sum.Failed, sum.FirstErrors)
	}
	if sum.Streams != 10 {
		t.Errorf("%d streamed, want 10 (half)", sum.Streams)
	}
	var in, out int64
	for i, o := range res.Outcomes {
		if o.Row.Line != rows[i].Line {
			t.Fatalf("outcome %d is of line %d, want %d", i, o.Row.Line, rows[i].Line)
		}
		if o.InTokens <= 0 || o.OutTokens <= 0 || o.OutTokens > rows[i].Generated {
			t.Errorf("line %d: usage %d in, %d out; want both > 0 and out ≤ max_tokens %d", o.Row.Line, o.InTokens, o.OutTokens, rows[i].Generated)
		}
		if o.Stream && o.TTFB <= 0 {
			t.Errorf("line %d: stream without a first-byte time", o.Row.Line)
		}
		in += int64(o.InTokens)
		out += int64(o.OutTokens)
	}
	if sum.InTokens != in || sum.OutTokens != out {
		t.Errorf("summary says %d in, %d out; the answers' usages add up to %d, %d", sum.InTokens, sum.OutTokens, in, out)
	}

	if err := st.WaitLedger(ctx, 20); err != nil {
		t.Fatal(err)
	}
	tot, byModel, err := st.LedgerTotals(ctx, res.Start)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Requests != 20 || tot.Streams != 10 {
		t.Errorf("ledger counts %d requests and %d streams, want 20 and 10", tot.Requests, tot.Streams)
	}
	if tot.InputTokens != sum.InTokens || tot.OutputTokens != sum.OutTokens {
		t.Errorf("ledger has %d in, %d out; the replay counted %d, %d", tot.InputTokens, tot.OutputTokens, sum.InTokens, sum.OutTokens)
	}
	if len(byModel) == 0 {
		t.Error("ledger has no per-model groups")
	}

	var text bytes.Buffer
	sum.Print(&text)
	PrintLedger(&text, tot, byModel, "gpt-4o")
	for _, want := range []string{"Replayed 20 of 20 requests", "20 ok, 0 failed", "10 streamed", "first byte (streams)", "would have cost"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(progress.String(), "sent 20/20") {
		t.Errorf("final progress line lacks sent 20/20: %q", progress.String())
	}
}

func TestReplayReportsFailures(t *testing.T) {
	ctx := context.Background()
	rows, err := ReadTraceFile("testdata/tiny.csv", TraceOptions{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	modelDir := t.TempDir()
	st, err := StartStack(ctx, StackOptions{DataDir: t.TempDir(), Configure: func(c *config.Config) { c.Semantic.ModelDir = modelDir }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A model no provider serves: every request is the gateway's 4xx.
	res, err := Run(ctx, rows, Options{Target: st.URL, Model: "no-such-model-anywhere", Speed: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	sum := Summarize(res, len(rows))
	if sum.OK != 0 || sum.Failed != 4 || len(sum.FirstErrors) == 0 {
		t.Fatalf("ok %d, failed %d, errors %v; want 4 failures", sum.OK, sum.Failed, sum.FirstErrors)
	}
	for k := range sum.Failures {
		if !strings.HasPrefix(k, "status 4") {
			t.Errorf("failure kind %q, want a 4xx status", k)
		}
	}
}
