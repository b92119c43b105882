package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The embedded catalog must be exactly what the generator writes from the sources, so
// that every figure in it can be traced to them.
func TestEmbeddedCatalogIsUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "data", "catalog") // the shared/ folder beside the repository
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("source data not on this machine: %v", err)
	}
	s, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := render(s)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../models.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/catalog/models.yaml is stale: run go run ./internal/catalog/gen")
	}
}

func TestQualityScaleIsMonotoneAndCentredOnTheReference(t *testing.T) {
	if score(eloRef) != 0.5 {
		t.Errorf("score(reference) = %v, want 0.5", score(eloRef))
	}
	// 400 Elo above the reference wins ten times as often: 10/11.
	if got := score(eloRef + 400); got != 0.909 {
		t.Errorf("score(ref+400) = %v, want 0.909", got)
	}
	prev := 0.0
	for elo := 800.0; elo <= 1800; elo += 50 {
		if s := score(elo); s <= prev || s >= 1 {
			t.Fatalf("score not increasing in (0,1) at %v: %v", elo, s)
		} else {
			prev = s
		}
	}
}
