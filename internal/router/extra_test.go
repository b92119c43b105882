package router

import (
	"strings"
	"testing"
)

func TestReadArenaBenchScalesScoresAndMapsNames(t *testing.T) {
	outs, err := ReadArenaBench("testdata/extra")
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[1].ID != "arena-q2" || outs[1].Source != "arena-bench" {
		t.Fatalf("outcomes %+v", outs)
	}
	s := outs[1].Scores
	if s["gpt-4-1106-preview"] != 1 || s["mixtral-8x7b-instruct"] != 0.6 || s["palm-2-chat-bison-001"] != 0.3 {
		t.Errorf("scores %v: want /10 and Mixtral under the outcomes file's name", s)
	}
	if _, ok := outs[0].Scores["palm-2-chat-bison-001"]; ok {
		t.Error("a judgement without a score was kept")
	}
}

func TestReadAlpacaEvalTurnsPreferenceIntoScores(t *testing.T) {
	outs, err := ReadAlpacaEval("testdata/extra")
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1", len(outs))
	}
	if s := outs[0].Scores; s["mixtral-8x7b-instruct"] != 0.25 || s["gpt-4-1106-preview"] != 0.5 {
		t.Errorf("scores %v: want preference − 1 and the reference at 0.5", s)
	}
}

func TestReadOutcomesReportsTheBadLine(t *testing.T) {
	_, err := ReadOutcomes(strings.NewReader("{\"id\":\"a\",\"scores\":{}}\n\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want one naming line 3", err)
	}
}

func TestOutcomesAcceptTurnListsNumericIDsAndNullScores(t *testing.T) {
	in := `{"id": 81, "source": "mt-bench/writing", "prompt": ["Write a travel blog post.", "Rewrite it in rhymes."], "scores": {"a": 0.9, "b": null}}`
	outs, err := ReadOutcomes(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	if o.ID != "81" || o.Turns != 2 || !strings.Contains(o.Prompt, "travel") || !strings.Contains(o.Prompt, "rhymes") || o.Group() != "mt-bench" {
		t.Errorf("outcome %+v", o)
	}
	if _, ok := o.Scores["b"]; ok || o.Scores["a"] != 0.9 {
		t.Errorf("scores %v: want a null score dropped", o.Scores)
	}
}
