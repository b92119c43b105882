package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The exit code gates a deploy: zero only when every request was answered.
func TestReplayExitCodeGatesOnFailures(t *testing.T) {
	t.Setenv("ARBITER_MODEL_DIR", t.TempDir()) // the embedded embedder: quick to start
	base := []string{"replay", "--trace", "../../internal/replay/testdata/tiny.csv", "--speed", "100000", "--ttft", "0", "--per-token", "0"}

	var out, errw bytes.Buffer
	if code := run(context.Background(), base, &out, &errw); code != 0 {
		t.Fatalf("exit %d for a clean replay:\n%s\n%s", code, out.String(), errw.String())
	}
	for _, want := range []string{"20 ok, 0 failed", "From the gateway's ledger (20 requests)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	errw.Reset()
	if code := run(context.Background(), append(base, "--limit", "3", "--model", "no-such-model-anywhere"), &out, &errw); code != 1 {
		t.Fatalf("exit %d when every request failed, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(errw.String(), "3 of 3 requests failed") {
		t.Errorf("stderr lacks the failure count:\n%s", errw.String())
	}
}

func TestReplayRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "--trace FILE.csv is required"},
		{[]string{"replay", "--trace", "../../internal/replay/testdata/bad.csv"}, "bad.csv:4: bad ContextTokens"},
		{[]string{"replay", "--trace", "x.csv", "--speed", "0"}, "--speed must be positive"},
		{[]string{"replay", "--trace", "x.csv", "--stream", "1.5"}, "--stream must be within 0..1"},
		{[]string{"replay", "--trace", "x.csv", "--key", "k"}, "--key goes with --target"},
	} {
		var out, errw bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errw); code != 1 || !strings.Contains(errw.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errw.String(), tc.want)
		}
	}
}
