// Command arbiter is an LLM cost-arbitrage gateway: one binary that serves the
// OpenAI and Anthropic APIs, answers from cache when it can, routes every other
// request to the cheapest model and provider that will answer it well, fails over
// when a provider is down, and accounts every cent spent and saved.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the command table; each entry's summary is its line in --help.
func commands() []command {
	return []command{
		{"serve", "run the gateway with a config file or the provider keys in the environment", cmdServe},
		{"demo", "run the gateway against the built-in provider emulator with a sample workload (no keys, no network)", cmdDemo},
		{"emulate", "run the provider emulator alone (OpenAI, Anthropic and Gemini wire formats, fault injection)", cmdEmulate},
		{"replay", "replay a trace's real arrival times and request sizes against the gateway (built-in or --target), open-loop", cmdReplay},
		{"bench", "measure Arbiter's added latency and CPU against a direct call and a bare reverse proxy", cmdBench},
		{"report", "print spend, what it would have cost and what was saved, from the ledger", cmdReport},
		{"export", "export ledger records as CSV or JSON lines", cmdExport},
		{"ledger-bench", "measure ledger write throughput and query times on generated records", cmdLedgerBench},
		{"route", "explain the routing decision for a prompt without sending it (route --explain \"…\")", cmdRoute},
		{"eval", "evaluate the semantic cache or the router on labelled data (eval cache|router)", cmdEval},
		{"train", "train the semantic cache verifier or the router from data (train cache|router)", cmdTrain},
		{"keys", "make a virtual key, list the configured ones, or print a key's public id (keys new|list|id)", cmdKeys},
		{"models", "print the model catalog (prices, context, capabilities, quality)", cmdModels},
		{"version", "print the version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			default:
				fmt.Fprintf(stderr, "arbiter %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "arbiter: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "arbiter — LLM cost-arbitrage gateway")
	fmt.Fprintln(w, "\nUsage: arbiter <command> [flags]   (arbiter <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	cs := commands()
	width := 0
	for _, c := range cs {
		width = max(width, len(c.name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nStart with `arbiter demo`: it needs no API keys and no network.")
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, "arbiter", version)
	return nil
}

// subcommand dispatches "arbiter eval cache …" style commands.
func subcommand(ctx context.Context, group string, args []string, stdout, stderr io.Writer, subs map[string]func(context.Context, []string, io.Writer, io.Writer) error) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || subs[args[0]] == nil {
		return fmt.Errorf("usage: arbiter %s <%s> [flags]", group, strings.Join(names, "|"))
	}
	return subs[args[0]](ctx, args[1:], stdout, stderr)
}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "eval", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"router": cmdEvalRouter,
		"cache":  cmdEvalCache,
	})
}

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "train", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"router": cmdTrainRouter,
		"cache":  cmdTrainCache,
	})
}
