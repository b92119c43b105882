package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/replay"
)

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trace := fs.String("trace", "", "trace CSV with TIMESTAMP,ContextTokens,GeneratedTokens (Azure's LLM inference trace format)")
	speed := fs.Float64("speed", 1, "divide the trace's inter-arrival times by this")
	limit := fs.Int("limit", 0, "replay at most this many rows (0: all)")
	start := fs.Duration("start", 0, "skip the rows that arrived less than this after the trace's first (e.g. 10m)")
	model := fs.String("model", "auto", "model of every request")
	stream := fs.Float64("stream", 0.5, "share of requests sent as streams (0..1)")
	prompts := fs.String("prompts", "", "ShareGPT-style JSON whose first user turns are repeated or cut to each row's size (default: generated prose)")
	target := fs.String("target", "", "replay against this running gateway (default: start the emulator and a gateway on loopback)")
	key := fs.String("key", "", "virtual key sent as a bearer token with --target")
	dataDir := fs.String("data-dir", "", "ledger directory of the built-in gateway (default: a temporary one, removed at the end)")
	maxInFlight := fs.Int("max-in-flight", 4096, "requests outstanding at once; more wait, and the lag shows it")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on one request")
	ttft := fs.Duration("ttft", 300*time.Millisecond, "built-in emulator's time to first token (real time: not divided by --speed)")
	perTok := fs.Duration("per-token", 20*time.Millisecond, "built-in emulator's time per output token (real time)")
	jitter := fs.Float64("jitter", 0.3, "built-in emulator's latency spread per request (0.3: ±30%)")
	logPath := fs.String("log", "", "write the built-in gateway's log to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *trace == "" {
		return errors.New("--trace FILE.csv is required")
	}
	if *speed <= 0 {
		return fmt.Errorf("--speed must be positive, not %g", *speed)
	}
	if *stream < 0 || *stream > 1 {
		return fmt.Errorf("--stream must be within 0..1, not %g", *stream)
	}
	if *key != "" && *target == "" {
		return errors.New("--key goes with --target (the built-in gateway has no keys)")
	}
	rows, err := replay.ReadTraceFile(*trace, replay.TraceOptions{Start: *start, Limit: *limit})
	if err != nil {
		return err
	}
	o := replay.Options{
		Target: *target, Key: *key, Model: *model, Speed: *speed, Stream: *stream,
		MaxInFlight: *maxInFlight, Timeout: *timeout, Progress: stderr,
	}
	if *prompts != "" {
		if o.Prompts, err = replay.LoadPrompts(*prompts); err != nil {
			return err
		}
	}

	var st *replay.Stack
	if *target == "" {
		dir := *dataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "arbiter-replay-"); err != nil {
				return fmt.Errorf("make a temporary data dir: %w", err)
			}
			defer os.RemoveAll(dir)
		}
		so := replay.StackOptions{DataDir: dir, Latency: emulator.Latency{TTFT: *ttft, PerToken: *perTok, Jitter: *jitter}}
		if *logPath != "" {
			f, err := os.Create(*logPath)
			if err != nil {
				return err
			}
			defer f.Close()
			so.Logger = slog.New(slog.NewTextHandler(f, nil))
		}
		if st, err = replay.StartStack(ctx, so); err != nil {
			return err
		}
		defer st.Close()
		o.Target = st.URL
		fmt.Fprintf(stdout, "Built-in stack: gateway on %s in front of the provider emulator (TTFT %s, %s per token, jitter %.0f%%: real latencies, not divided by --speed).\n",
			st.URL, *ttft, *perTok, 100**jitter)
	}
	span := rows[len(rows)-1].Time.Sub(rows[0].Time)
	fmt.Fprintf(stdout, "Replaying %d rows of %s (lines %d–%d, %s of trace) at %g× to %s: model %s, %.0f%% streamed.\n",
		len(rows), *trace, rows[0].Line, rows[len(rows)-1].Line, span.Round(time.Millisecond), *speed, o.Target, *model, 100**stream)

	res, err := replay.Run(ctx, rows, o)
	if err != nil {
		return err
	}
	sum := replay.Summarize(res, len(rows))
	sum.Print(stdout)
	if st != nil {
		// The ledger is read on a fresh context: an interrupted replay still reports.
		lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.WaitLedger(lctx, res.Sent); err != nil {
			fmt.Fprintln(stderr, "warning:", err)
		}
		tot, byModel, err := st.LedgerTotals(lctx, res.Start)
		if err != nil {
			return err
		}
		replay.PrintLedger(stdout, tot, byModel, st.Server.Config.Router.Baseline)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted after %d of %d requests", res.Sent, len(rows))
	case sum.Failed > 0:
		return fmt.Errorf("%d of %d requests failed", sum.Failed, sum.Sent)
	}
	return nil
}
