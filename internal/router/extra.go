package router

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// ReadArenaBench converts Arena-Bench v1 (300 hard prompts, GPT-4 judge scores 1–10
// for 14 models) into outcomes: one per question, every model's score divided by 10.
// dir holds arena_bench_v1_questions.jsonl and arena_bench_v1_gpt4_scores_long.csv.
// These open-ended prompts teach the predictor about chat traffic (the held-out data
// includes MT-Bench), which MMLU and GSM8K do not contain.
func ReadArenaBench(dir string) ([]Outcome, error) {
	qf, err := os.Open(filepath.Join(dir, "arena_bench_v1_questions.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("read arena-bench: %w", err)
	}
	defer qf.Close()
	type question struct {
		ID    string   `json:"question_id"`
		Turns []string `json:"turns"`
	}
	dec := json.NewDecoder(qf)
	var order []string
	byID := map[string]*Outcome{}
	for {
		var q question
		if err := dec.Decode(&q); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read arena-bench questions: %w", err)
		}
		if len(q.Turns) == 0 {
			continue
		}
		byID[q.ID] = &Outcome{ID: "arena-" + q.ID, Source: "arena-bench", Prompt: q.Turns[0], Scores: map[string]float64{}}
		order = append(order, q.ID)
	}
	sf, err := os.Open(filepath.Join(dir, "arena_bench_v1_gpt4_scores_long.csv"))
	if err != nil {
		return nil, fmt.Errorf("read arena-bench: %w", err)
	}
	defer sf.Close()
	rows, err := csv.NewReader(sf).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read arena-bench scores: %w", err)
	}
	for i, r := range rows {
		if i == 0 || len(r) < 4 {
			continue
		}
		o := byID[r[0]]
		if o == nil {
			continue
		}
		if r[3] == "" {
			continue // a few published judgements have no score
		}
		s, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			return nil, fmt.Errorf("read arena-bench scores: line %d: %w", i+1, err)
		}
		o.Scores[canonicalModel(r[1])] = s / 10
	}
	out := make([]Outcome, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, nil
}

// ReadAlpacaEval converts AlpacaEval preferences into outcomes: for each instruction,
// every generator's probability of being preferred over the reference
// (gpt4_1106_preview), and the reference itself at 0.5.
func ReadAlpacaEval(dir string) ([]Outcome, error) {
	inf, err := os.Open(filepath.Join(dir, "alpaca_eval_instructions.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("read alpaca-eval: %w", err)
	}
	defer inf.Close()
	type instr struct {
		Idx  int    `json:"instruction_idx"`
		Text string `json:"instruction"`
	}
	dec := json.NewDecoder(inf)
	byIdx := map[int]*Outcome{}
	var order []int
	for {
		var in instr
		if err := dec.Decode(&in); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read alpaca-eval instructions: %w", err)
		}
		byIdx[in.Idx] = &Outcome{ID: "alpaca-" + strconv.Itoa(in.Idx), Source: "alpaca-eval", Prompt: in.Text,
			Scores: map[string]float64{"gpt-4-1106-preview": 0.5}}
		order = append(order, in.Idx)
	}
	pf, err := os.Open(filepath.Join(dir, "alpaca_eval_preferences_long.csv"))
	if err != nil {
		return nil, fmt.Errorf("read alpaca-eval: %w", err)
	}
	defer pf.Close()
	rows, err := csv.NewReader(pf).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read alpaca-eval preferences: %w", err)
	}
	for i, r := range rows {
		if i == 0 || len(r) < 4 || r[2] != "gpt4_1106_preview" {
			continue
		}
		idx, err1 := strconv.Atoi(r[0])
		p, err2 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil {
			continue // a few published rows have no preference
		}
		if o := byIdx[idx]; o != nil {
			// AlpacaEval's preference is 1 (reference preferred) … 2 (generator preferred).
			o.Scores[canonicalModel(r[1])] = p - 1
		}
	}
	out := make([]Outcome, 0, len(order))
	for _, idx := range order {
		out = append(out, *byIdx[idx])
	}
	return out, nil
}

// canonicalModel maps the spellings of the extra data sets onto the outcomes file's
// names for the two models the evaluation uses.
func canonicalModel(name string) string {
	switch name {
	case "mistralai/Mixtral-8x7B-Instruct-v0.1", "Mixtral-8x7B-Instruct-v0.1", "Mixtral-8x7B-Instruct-v0.1_concise":
		return "mixtral-8x7b-instruct"
	case "gpt4_1106_preview":
		return "gpt-4-1106-preview"
	}
	return name
}
