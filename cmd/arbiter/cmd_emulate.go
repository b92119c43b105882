package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/arbiterhq/arbiter/internal/emulator"
)

// cmdEmulate runs the provider emulator alone, for manual testing and for load tests
// that want the providers in another process.
func cmdEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	var cfg emulator.Config
	fs.DurationVar(&cfg.Latency.TTFT, "ttft", 0, "time to first token for every model (e.g. 300ms)")
	fs.DurationVar(&cfg.Latency.PerToken, "per-token", 0, "time per output token for every model (e.g. 10ms)")
	fs.Float64Var(&cfg.Latency.Jitter, "jitter", 0, "vary ttft and per-token per request by up to this fraction (0.3 = ±30%)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of probabilistic faults (same seed, same faults)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", 32<<20, "largest request body accepted, in bytes")
	fs.Func("faults", "faults for every model, e.g. 'rate=0.3;kinds=429,500,529,hang,cut' or 'status=429;retry_after=2'", func(s string) error {
		spec, err := emulator.ParseFaults(s)
		cfg.Faults = spec
		return err
	})
	for _, what := range []string{"faults", "latency", "usage"} {
		example := map[string]string{
			"faults":  "claude-*=status=529",
			"latency": "gpt-4o=ttft=400ms;per_token=15ms;jitter=0.2",
			"usage":   "gpt-4o=cached=1024;reasoning=200",
		}[what]
		fs.Func("model-"+what, "per-model "+what+", repeatable: MODEL=VALUE (MODEL may end in *), e.g. '"+example+"'", func(s string) error {
			return cfg.SetModelOption(what, s)
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	emu := emulator.New(cfg)
	started := time.Now()
	err := emu.ListenAndServe(ctx, *addr, func(a net.Addr) {
		base := "http://" + a.String()
		fmt.Fprintf(stdout, "emulator listening on %s\n", base)
		fmt.Fprintf(stdout, "  OpenAI     %s/v1  (chat/completions, embeddings, models)\n", base)
		fmt.Fprintf(stdout, "  Anthropic  %s     (v1/messages)\n", base)
		fmt.Fprintf(stdout, "  Gemini     %s     (v1beta/models/{model}:generateContent, :streamGenerateContent, :embedContent, :batchEmbedContents)\n", base)
		fmt.Fprintf(stdout, "per-request headers: %s, %s, %s\n", emulator.HeaderFault, emulator.HeaderLatency, emulator.HeaderUsage)
		fmt.Fprintf(stdout, "counters: GET %s/_emulator/stats   faults: PUT %s/_emulator/faults?model=NAME (body: spec)\n", base, base)
		fmt.Fprintf(stdout, "try: curl -s %s/v1/chat/completions -H 'Authorization: Bearer x' -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\n", base)
	})
	if err != nil {
		return err
	}
	t := emu.Stats().Total
	fmt.Fprintf(stdout, "emulator stopped after %s: %d requests, %d answered, %d faults injected\n",
		time.Since(started).Round(time.Second), t.Requests, t.Succeeded, t.FaultsTotal())
	return nil
}
