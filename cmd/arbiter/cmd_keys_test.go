package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/tenant"
)

func TestKeysNewMakesAKeyWhoseIDMatches(t *testing.T) {
	var out, errw bytes.Buffer
	if err := cmdKeysWith(context.Background(), []string{"new", "--name", "web-app"}, nil, &out, &errw); err != nil {
		t.Fatal(err, errw.String())
	}
	m := regexp.MustCompile(`(?m)^key:\s+(ak-[A-Za-z0-9_-]{43})$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no 32-byte key in:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "key id: "+tenant.KeyID(m[1])) || !strings.Contains(out.String(), "key: ${WEB_APP_KEY}") {
		t.Fatalf("output does not give the key's id and a config snippet reading it from the environment:\n%s", out.String())
	}
	var again bytes.Buffer
	if err := cmdKeysWith(context.Background(), []string{"new"}, nil, &again, &errw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(again.String(), m[1]) {
		t.Fatal("two keys came out the same")
	}
}

func TestKeysListAndIDNeverPrintTheSecret(t *testing.T) {
	const secret = "sk-virtual-web-0123456789abcdef"
	cfg := filepath.Join(t.TempDir(), "arbiter.yaml")
	yaml := "providers:\n  - name: openai\n    api_key: sk-upstream\nkeys:\n" +
		"  - name: web\n    key: " + secret + "\n    tenant: acme\n    budget: {usd: 12.5, period: day}\n    rate_limit: {requests_per_minute: 60}\n" +
		"  - name: batch\n    key: sk-virtual-batch-0123456789abcdef\n    tenant: acme\n    allow_models: [auto]\n    budget: {usd: 100, period: total}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	if err := cmdKeysWith(context.Background(), []string{"list", "--config", cfg}, nil, &out, &errw); err != nil {
		t.Fatal(err, errw.String())
	}
	got := out.String()
	for _, want := range []string{tenant.KeyID(secret), "$12.50 per day", "60 req/min", "$100.00 in total", "auto"} {
		if !strings.Contains(got, want) {
			t.Errorf("list lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "tokens/min") {
		t.Errorf("an unset tokens limit is shown as a limit:\n%s", got)
	}
	if strings.Contains(got, "sk-virtual") {
		t.Fatalf("list printed a secret:\n%s", got)
	}
	out.Reset()
	if err := cmdKeysWith(context.Background(), []string{"id"}, strings.NewReader(secret+"\n"), &out, &errw); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != tenant.KeyID(secret) {
		t.Fatalf("id = %q, want %q", out.String(), tenant.KeyID(secret))
	}
	if err := cmdKeysWith(context.Background(), []string{"id"}, strings.NewReader(""), &out, &errw); err == nil {
		t.Fatal("an empty key got an id")
	}
}
