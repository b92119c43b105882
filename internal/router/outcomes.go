package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Outcome is one prompt of an outcomes file (the format of RouteLLM's published
// evaluation responses): which models answered it how well (0..1).
type Outcome struct {
	ID     string             `json:"id"`
	Source string             `json:"source"`
	Prompt string             `json:"prompt"`
	Scores map[string]float64 `json:"scores"`
	// Turns is the number of user turns (1 unless the prompt came as a list of turns).
	Turns int `json:"-"`
}

// UnmarshalJSON accepts the prompt as a string or as a list of user turns (as
// MT-Bench publishes its two-turn questions; the turns are joined, since the first
// carries the task), and drops null scores rather than reading them as 0.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID     json.RawMessage     `json:"id"`
		Source string              `json:"source"`
		Prompt json.RawMessage     `json:"prompt"`
		Scores map[string]*float64 `json:"scores"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*o = Outcome{Source: raw.Source, Turns: 1, Scores: make(map[string]float64, len(raw.Scores))}
	var id any
	if len(raw.ID) > 0 {
		if err := json.Unmarshal(raw.ID, &id); err != nil {
			return fmt.Errorf("id: %w", err)
		}
	}
	switch v := id.(type) {
	case string:
		o.ID = v
	case float64:
		o.ID = strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
	default:
		return fmt.Errorf("id: want a string or a number")
	}
	if len(raw.Prompt) > 0 && raw.Prompt[0] == '[' {
		var turns []string
		if err := json.Unmarshal(raw.Prompt, &turns); err != nil {
			return fmt.Errorf("prompt: %w", err)
		}
		if len(turns) > 0 {
			o.Prompt, o.Turns = strings.Join(turns, "\n\n"), len(turns)
		}
	} else if len(raw.Prompt) > 0 {
		if err := json.Unmarshal(raw.Prompt, &o.Prompt); err != nil {
			return fmt.Errorf("prompt: %w", err)
		}
	}
	for m, v := range raw.Scores {
		if v != nil {
			o.Scores[m] = *v
		}
	}
	return nil
}

// Group is the source group used for reporting and for grouped cross-validation:
// the part of Source before the first '/' ("mmlu/anatomy" → "mmlu").
func (o Outcome) Group() string {
	g, _, _ := strings.Cut(o.Source, "/")
	return g
}

// ReadOutcomes reads a JSON-lines outcomes file.
func ReadOutcomes(r io.Reader) ([]Outcome, error) {
	var out []Outcome
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var o Outcome
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("read outcomes: line %d: %w", line, err)
		}
		out = append(out, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read outcomes: line %d: %w", line, err)
	}
	return out, nil
}

// ReadOutcomesFile reads a JSON-lines outcomes file from disk.
func ReadOutcomesFile(path string) ([]Outcome, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read outcomes: %w", err)
	}
	defer f.Close()
	out, err := ReadOutcomes(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
