package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/money"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

// cmdKeys manages virtual keys: keys new | list | id. Secrets are printed only by
// `new`, once; `list` and `id` show the public key id the ledger and logs use.
func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cmdKeysWith(ctx, args, os.Stdin, stdout, stderr)
}

func cmdKeysWith(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: arbiter keys new [--name N] [--tenant T] | keys list --config FILE | keys id < key")
	}
	switch args[0] {
	case "new":
		return keysNew(args[1:], stdout, stderr)
	case "list":
		return keysList(args[1:], stdout, stderr)
	case "id":
		return keysID(stdin, stdout)
	}
	return fmt.Errorf("unknown keys command %q (new, list, id)", args[0])
}

// keysNew makes a virtual key: 32 random bytes, so that guessing one is hopeless
// even though Arbiter compares digests, not secrets.
func keysNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "app", "the key's name, as it appears in reports and /admin/keys")
	ten := fs.String("tenant", "", "the tenant it belongs to (default: the name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ten == "" {
		*ten = *name
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("reading random bytes: %w", err)
	}
	key := "ak-" + base64.RawURLEncoding.EncodeToString(b)
	fmt.Fprintf(stdout, "key:    %s\nkey id: %s (what logs, the ledger and /admin/keys show)\n\n", key, tenant.KeyID(key))
	fmt.Fprintf(stdout, "Keep the key in a secret store and give it to the application; in arbiter.yaml:\n\n")
	envName := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(*name)) + "_KEY"
	fmt.Fprintf(stdout, "keys:\n  - name: %s\n    key: ${%s}\n    tenant: %s\n    # budget: {usd: 50, period: month}\n    # rate_limit: {requests_per_minute: 600, tokens_per_minute: 200000}\n", *name, envName, *ten)
	return nil
}

// keysList prints the configured keys without their secrets.
func keysList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("--config is required")
	}
	cfg, err := config.Load(*path, os.Getenv)
	if err != nil {
		return err
	}
	if len(cfg.Keys) == 0 {
		fmt.Fprintln(stdout, "no virtual keys: every request is the anonymous tenant")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "name\ttenant\tkey id\tmodels\tbudget\trate limit")
	for _, k := range cfg.Keys {
		models := "all"
		if len(k.AllowModels) > 0 {
			models = strings.Join(k.AllowModels, ",")
		}
		budget := "none"
		if k.Budget != nil {
			budget = money.USD(k.Budget.USD).String() + " per " + k.Budget.Period
			if k.Budget.Period == "total" {
				budget = money.USD(k.Budget.USD).String() + " in total"
			}
		}
		rate := "none"
		if r := k.RateLimit; r != nil {
			var parts []string
			if r.RequestsPerMinute > 0 {
				parts = append(parts, fmt.Sprintf("%d req/min", r.RequestsPerMinute))
			}
			if r.TokensPerMinute > 0 {
				parts = append(parts, fmt.Sprintf("%d tokens/min", r.TokensPerMinute))
			}
			if len(parts) > 0 {
				rate = strings.Join(parts, ", ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Tenant, tenant.KeyID(k.Key), models, budget, rate)
	}
	return tw.Flush()
}

// keysID reads a key from standard input (never the command line, which shells keep
// in their history) and prints its public id.
func keysID(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the key: %w", err)
	}
	key := strings.TrimSpace(line)
	if key == "" {
		return errors.New("no key on standard input")
	}
	fmt.Fprintln(stdout, tenant.KeyID(key))
	return nil
}
