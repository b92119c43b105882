package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/arbiterhq/arbiter/internal/catalog"
)

// cmdModels prints the model catalog: arbiter models [--provider P]
// [--capability tools,vision,json_schema,reasoning,streaming] [--json].
func cmdModels(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	provider := fs.String("provider", "", "show only this provider's deployments (openai, anthropic, gemini, groq, together, ...)")
	capsFlag := fs.String("capability", "", "show only models with these capabilities, comma-separated: tools, vision, json_schema, reasoning, streaming")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: arbiter models [--provider P] [--capability C[,C...]] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	q := catalog.Query{Provider: strings.ToLower(strings.TrimSpace(*provider))}
	for _, s := range strings.Split(*capsFlag, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		c, err := catalog.ParseCapability(s)
		if err != nil {
			return err
		}
		q.Capabilities = append(q.Capabilities, c)
	}
	c, err := catalog.Load()
	if err != nil {
		return err
	}
	if *asJSON {
		return c.WriteJSON(stdout, q)
	}
	return c.WriteTable(stdout, q)
}
