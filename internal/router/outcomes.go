package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Outcome is one prompt of an outcomes file (the format of RouteLLM's published
// evaluation responses): which models answered it how well (0..1).
type Outcome struct {
	ID     string             `json:"id"`
	Source string             `json:"source"`
	Prompt string             `json:"prompt"`
	Scores map[string]float64 `json:"scores"`
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
