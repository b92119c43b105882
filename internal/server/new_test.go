package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/config"
)

// A start-up step that fails after others have opened stores must return its error
// and release what was opened — not panic in the clean-up.
func TestNewReturnsALateStartupErrorAndReleasesWhatItOpened(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "model.json"), []byte("{not a model"), 0o600); err != nil {
		t.Fatal(err)
	}
	yes := true
	data := t.TempDir()
	cfg := &config.Config{
		Server:    config.Server{Addr: "127.0.0.1:0", MaxBodyBytes: config.DefaultMaxBodyBytes},
		Ledger:    config.Ledger{DataDir: data, FlushInterval: config.Duration(50 * time.Millisecond)},
		Cache:     config.Cache{Enabled: &yes, MaxBytes: 1 << 20},
		Semantic:  config.Semantic{Enabled: &yes, ModelDir: broken},
		Providers: []config.Provider{{Name: "openai", Kind: "openai", BaseURL: "http://127.0.0.1:1/v1", APIKey: "sk-never-used"}},
	}
	s, err := New(context.Background(), cfg, Options{Logger: quietLogger()})
	if err == nil {
		s.Close(context.Background())
		t.Fatal("New with a broken model directory succeeded")
	}
	if s != nil {
		t.Errorf("New returned a server with its error")
	}
	if !strings.Contains(err.Error(), "semantic cache embedder") {
		t.Errorf("error %q does not say which step failed", err)
	}
	// The ledger opened before the failure was closed: a second server can open the
	// same data directory.
	cfg.Semantic.Enabled = nil
	s, err = New(context.Background(), cfg, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatalf("reopening the data directory after a failed start: %v", err)
	}
	s.Close(context.Background())
}
