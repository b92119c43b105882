package replay

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/tokens"
)

// within says whether got is within frac of want (or 3 tokens, for tiny sizes).
func within(got, want int, frac float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= 3 || d <= frac*float64(want)
}

func TestProseIsAboutTheAskedSize(t *testing.T) {
	c := tokens.New()
	p := NewPrompts(nil)
	for _, n := range []int{10, 20, 374, 1020, 6000} {
		text := p.Text(5, n)
		if got := c.Text(text) + chatFraming; !within(got, n, 0.02) {
			t.Errorf("prose for %d context tokens counts %d in o200k_base", n, got)
		}
		if got := emulator.TextTokens(text) + chatFraming; !within(got, n, 0.05) {
			t.Errorf("prose for %d context tokens counts %d by the emulator's four bytes a token", n, got)
		}
		if text != p.Text(5, n) {
			t.Errorf("prose for row 5 is not deterministic")
		}
	}
	if p.Text(1, 200) == p.Text(2, 200) {
		t.Error("two rows got the same prose: they would be cache hits of each other")
	}
}

func TestShareGPTPromptsAreRepeatedOrCutToSize(t *testing.T) {
	p, err := LoadPrompts("testdata/prompts.json")
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 3 {
		t.Fatalf("%d prompts, want 3 (the blank first turn skipped, the human turn after a gpt one kept)", p.Len())
	}
	c := tokens.New()
	for i := 0; i < 3; i++ {
		for _, n := range []int{12, 300, 3000} {
			text := p.Text(i, n)
			if !utf8.ValidString(text) {
				t.Fatalf("row %d, %d tokens: cut inside a UTF-8 sequence", i, n)
			}
			if got := c.Text(text) + chatFraming; !within(got, n, 0.15) {
				t.Errorf("row %d asked for %d tokens, got %d", i, n, got)
			}
		}
	}
	if !strings.HasPrefix(p.Text(1, 3000), "Écris un court poème") {
		t.Error("row 1 should start with the second conversation's human turn")
	}
}

func TestLoadPromptsAcceptsStrings(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/p.json"
	if err := writeFile(path, `["one prompt", "another"]`); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPrompts(path)
	if err != nil || p.Len() != 2 {
		t.Fatalf("LoadPrompts = %v, %v", p, err)
	}
	if err := writeFile(path, `{"not": "an array"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrompts(path); err == nil || !strings.Contains(err.Error(), "p.json") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
