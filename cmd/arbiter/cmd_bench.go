package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/arbiterhq/arbiter/internal/bench"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("requests", 2000, "requests per target and concurrency level")
	concs := fs.String("concurrency", "1,8,32", "comma-separated concurrency levels")
	stream := fs.Bool("stream", false, "benchmark streaming requests")
	both := fs.Bool("both", false, "benchmark non-streaming then streaming")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var levels []int
	for _, s := range strings.Split(*concs, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		levels = append(levels, v)
	}
	modes := []bool{*stream}
	if *both {
		modes = []bool{false, true}
	}
	for i, m := range modes {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := bench.Report(ctx, stdout, *n, levels, m); err != nil {
			return err
		}
	}
	return nil
}
