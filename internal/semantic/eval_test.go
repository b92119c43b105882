package semantic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/embed"
)

func TestEvaluateWritesOneDecisionPerPairInOrder(t *testing.T) {
	pairs, err := ReadPairsFile("testdata/pairs-sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	st, err := staticEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	var out, summary bytes.Buffer
	res, err := Evaluate(context.Background(), pairs, EvalOptions{Embedder: st, Kind: embed.KindStatic, Decisions: &out})
	if err != nil {
		t.Fatal(err)
	}
	var got []decisionLine
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var d decisionLine
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if !strings.Contains(sc.Text(), `"similarity"`) || !strings.Contains(sc.Text(), `"hit"`) {
			t.Errorf("line %q lacks a field", sc.Text())
		}
		got = append(got, d)
	}
	if len(got) != len(pairs) {
		t.Fatalf("%d decisions for %d pairs", len(got), len(pairs))
	}
	wantHit := []bool{true, false, false, false, false, true}
	for i, d := range got {
		if d.I != i {
			t.Errorf("line %d has i = %d", i, d.I)
		}
		if d.Hit != wantHit[i] {
			t.Errorf("pair %d (%q / %q): hit = %v, want %v", i, pairs[i].A, pairs[i].B, d.Hit, wantHit[i])
		}
	}
	if got[5].Similarity < 0.999 {
		t.Errorf("identical texts have similarity %v", got[5].Similarity)
	}
	WriteEvalSummary(&summary, res)
	for _, want := range []string{"adversarial", "handmade", "precision", "per text"} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary.String())
		}
	}
}
