package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/demo"
	"github.com/arbiterhq/arbiter/internal/emulator"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", config.DefaultAddr, "listen address of the gateway")
	exit := fs.Bool("exit", false, "stop after printing the summary instead of serving until Ctrl-C")
	n := fs.Int("requests", 300, "number of requests in the workload")
	conc := fs.Int("concurrency", 8, "requests in flight at once")
	dataDir := fs.String("data-dir", demo.DefaultDataDir(), "directory for the demo's ledger (emptied at start)")
	ttft := fs.Duration("ttft", 40*time.Millisecond, "emulated time to first token")
	perTok := fs.Duration("per-token", 300*time.Microsecond, "emulated time per output token")
	logPath := fs.String("log", "", "write the gateway's log to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := demo.Options{
		Addr: *addr, Exit: *exit, Requests: *n, Concurrency: *conc, DataDir: *dataDir,
		Latency: emulator.Latency{TTFT: *ttft, PerToken: *perTok},
		Stdout:  stdout, Stderr: stderr, Mounts: dashboardMounts,
	}
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		o.LogFile = f
	}
	if err := demo.Run(ctx, o); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
