package catalog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTableShowsOneRowPerDeploymentAndMarksTheDefault(t *testing.T) {
	c := mustLoad(t)
	var b bytes.Buffer
	if err := c.WriteTable(&b, Query{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if testing.Verbose() {
		t.Log("\n" + out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	deployments := 0
	for _, m := range c.Models() {
		deployments += len(m.Deployments)
	}
	// Header, one line per deployment, a blank line and the footer.
	if len(lines) != deployments+3 {
		t.Errorf("%d lines for %d deployments", len(lines), deployments)
	}
	for _, want := range []string{"MODEL", "gpt-4o-mini", "openai*", "$0.075", "claude-3-5-haiku", "$1.00", "together*"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Columns line up: every row's PROVIDER column starts where the header's does.
	col := strings.Index(lines[0], "PROVIDER")
	for _, l := range lines[1 : len(lines)-2] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Fatalf("misaligned row %q", l)
		}
	}
}

func TestTableFiltersByProviderAndCapability(t *testing.T) {
	c := mustLoad(t)
	var b bytes.Buffer
	if err := c.WriteTable(&b, Query{Provider: "groq", Capabilities: []Capability{Reasoning}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "gpt-oss-120b") || strings.Contains(out, "together") || strings.Contains(out, "llama-3.3-70b") {
		t.Errorf("groq+reasoning table:\n%s", out)
	}
	if err := c.WriteTable(&b, Query{Provider: "nope"}); err == nil || !strings.Contains(err.Error(), "want one of anthropic") {
		t.Errorf("unknown provider: err = %v", err)
	}
}

func TestJSONPricesAreExactDecimals(t *testing.T) {
	c := mustLoad(t)
	var b bytes.Buffer
	if err := c.WriteJSON(&b, Query{Provider: "openai"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsOf   string `json:"as_of"`
		Models []struct {
			ID          string `json:"id"`
			Deployments []struct {
				Provider    string      `json:"provider"`
				CachedInput json.Number `json:"cached_input"`
			} `json:"deployments"`
		} `json:"models"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsOf != "2026-08-01" || len(doc.Models) == 0 {
		t.Fatalf("doc %+v", doc)
	}
	for _, m := range doc.Models {
		if m.ID == "gpt-4o-mini" && m.Deployments[0].CachedInput != "0.075" {
			t.Errorf("gpt-4o-mini cached_input = %s, want 0.075", m.Deployments[0].CachedInput)
		}
		for _, d := range m.Deployments {
			if d.Provider != "openai" {
				t.Errorf("%s lists %s under --provider openai", m.ID, d.Provider)
			}
		}
	}
}
