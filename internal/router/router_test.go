package router

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/money"
)

// constPredictor returns a predictor whose calibrated strong-need is q for every
// prompt, with the shipped gap model's form (slope 1.7 per 100 Elo).
func constPredictor(t *testing.T, q float64) *Predictor {
	t.Helper()
	d := 2*NumDense + 1
	ones := make([]float32, d)
	for i := range ones {
		ones[i] = 1
	}
	w := Weights{
		Version: 1, Weak: "w", Strong: "s",
		Model:       Linear{Mean: make([]float32, d), Std: ones, Dense: make([]float32, d)},
		Calibration: Isotonic{X: []float64{0}, Y: []float64{q}},
		Gap:         GapModel{RefGap: -136, Slope: 1.7},
	}
	p, err := newPredictor(w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// quality is the catalog's score for an Elo rating (1300 ↔ 0.5).
func quality(elo float64) float64 { return 1 / (1 + math.Pow(10, (1300-elo)/400)) }

func cands() []Candidate {
	all := Caps{Tools: true, Vision: true, JSONSchema: true}
	return []Candidate{
		{Model: "frontier", Provider: "p1", Quality: quality(1400), EstCost: 1000 * money.USD(1000), ContextWindow: 200000, Caps: all, Healthy: true},
		{Model: "mid", Provider: "p1", Quality: quality(1370), EstCost: 300 * money.USD(1000), ContextWindow: 128000, Caps: all, Healthy: true},
		{Model: "small", Provider: "p2", Quality: quality(1200), EstCost: 20 * money.USD(1000), ContextWindow: 8000, Caps: Caps{}, Healthy: true},
	}
}

func TestDecideChoosesCheapestCandidateMeetingTheTarget(t *testing.T) {
	tests := []struct {
		name   string
		need   float64 // P(strong beats weak) for the trained pair on this prompt
		target float64
		want   string
	}{
		{"easy prompt, cheap route: the small model", 0.02, 0.80, "small"},
		{"hard prompt, cheap route: small is too weak, mid will do", 0.60, 0.80, "mid"},
		{"best route always takes the reference", 0.02, 1, "frontier"},
		{"impossible target falls back to the best prediction", 0.99, 0.999, "frontier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(constPredictor(t, tt.need))
			d, err := r.Decide(Request{Prompt: Prompt{Text: "hi", Turns: 1}, InputTokens: 10}, Route{Name: "x", QualityTarget: tt.target}, cands())
			if err != nil {
				t.Fatal(err)
			}
			if d.Chosen.Model != tt.want {
				t.Fatalf("chose %s (%s), want %s; considered %+v", d.Chosen.Model, d.Reason, tt.want, d.Considered)
			}
			if d.Reference != "frontier" {
				t.Errorf("reference = %s, want the best candidate", d.Reference)
			}
			for _, f := range d.Fallbacks {
				if f.Model == d.Chosen.Model && f.Provider == d.Chosen.Provider {
					t.Errorf("fallbacks repeat the chosen deployment")
				}
			}
		})
	}
}

func TestDecidePredictionFallsWithTheQualityGap(t *testing.T) {
	r := New(constPredictor(t, 0.3))
	d, err := r.Decide(Request{Prompt: Prompt{Text: "x"}}, Route{QualityTarget: 0.5}, cands())
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]float64{}
	for _, c := range d.Considered {
		p[c.Model] = c.Predicted
	}
	if !(p["frontier"] == 1 && p["mid"] > p["small"] && p["small"] > 0) {
		t.Errorf("predicted %v: want the reference at 1 and less for larger gaps", p)
	}
}

func TestDecideNeverPicksACandidateThatCannotServe(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		rt   Route
		bad  string
	}{
		{"tools", Request{Needs: Needs{Tools: true}}, Route{QualityTarget: 0.5}, "small"},
		{"vision", Request{Needs: Needs{Vision: true}}, Route{QualityTarget: 0.5}, "small"},
		{"json schema", Request{Needs: Needs{JSONSchema: true}}, Route{QualityTarget: 0.5}, "small"},
		{"context window", Request{InputTokens: 7000, MaxOutputTokens: 2000}, Route{QualityTarget: 0.5}, "small"},
		{"route allow-list", Request{}, Route{QualityTarget: 0.5, Models: []string{"mid", "frontier"}}, "small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Prompt = Prompt{Text: "hello", Turns: 1}
			d, err := New(constPredictor(t, 0.01)).Decide(tt.req, tt.rt, cands())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range d.Plan() {
				if c.Model == tt.bad {
					t.Fatalf("plan %v includes %s", d.Plan(), tt.bad)
				}
			}
			if d.Chosen.Model != "mid" {
				t.Errorf("chose %s, want the next cheapest, mid", d.Chosen.Model)
			}
		})
	}
}

func TestDecideSendsAModelToItsCheapestHealthyReliableProvider(t *testing.T) {
	llama := func(provider string, cost money.USD, healthy bool, errRate float64, p50 time.Duration) Candidate {
		return Candidate{Model: "llama", Provider: provider, Quality: quality(1300), EstCost: cost, Healthy: healthy, ErrorRate: errRate, LatencyP50: p50}
	}
	cs := []Candidate{
		{Model: "frontier", Provider: "p1", Quality: quality(1300), EstCost: 50000, Healthy: true},
		llama("groq", 800, false, 0, 0),                         // cheapest, breaker open
		llama("together", 900, true, 0.30, 0),                   // fails a third of the time
		llama("deepinfra", 1000, true, 0, 300*time.Millisecond), // reliable
		llama("fireworks", 990, true, 0, 10*time.Second),        // slow
	}
	d, err := New(constPredictor(t, 0.5)).Decide(Request{Prompt: Prompt{Text: "x"}}, Route{QualityTarget: 0.9, Baseline: "frontier"}, cs)
	if err != nil {
		t.Fatal(err)
	}
	if d.Chosen.Provider != "deepinfra" {
		t.Fatalf("chose %s/%s; want deepinfra (groq unhealthy, together unreliable, fireworks slow)", d.Chosen.Model, d.Chosen.Provider)
	}
	if len(d.Fallbacks) == 0 || d.Fallbacks[0].Model != "llama" {
		t.Errorf("fallbacks %v: want the model's other providers first", d.Fallbacks)
	}
	for _, f := range d.Fallbacks {
		if f.Provider == "groq" {
			t.Errorf("unhealthy provider in fallbacks")
		}
	}
}

func TestDecideErrors(t *testing.T) {
	r := New(constPredictor(t, 0.1))
	if _, err := r.Decide(Request{}, Route{Baseline: "gpt-9"}, cands()); err == nil {
		t.Error("unknown baseline: want an error")
	}
	if _, err := r.Decide(Request{InputTokens: 1 << 30}, Route{}, cands()); !errors.Is(err, ErrNoCandidate) {
		t.Errorf("no candidate fits: err = %v, want ErrNoCandidate", err)
	}
}

func TestDecideUsesTheBaselineQualityWhenTheBaselineIsNotACandidate(t *testing.T) {
	r := New(constPredictor(t, 0.3))
	rt := Route{Name: "app", QualityTarget: 0.8, Baseline: "gpt-9", BaselineQuality: quality(1370)}
	d, err := r.Decide(Request{Prompt: Prompt{Text: "x"}}, rt, cands())
	if err != nil {
		t.Fatal(err)
	}
	if d.Reference != "gpt-9" {
		t.Errorf("reference %s, want gpt-9", d.Reference)
	}
	for _, c := range d.Considered {
		if c.Model == "mid" && c.Predicted != 1 {
			t.Errorf("mid is as good as the baseline: predicted %v, want 1", c.Predicted)
		}
	}
	if !strings.Contains(d.Summary(), "route=app model=") {
		t.Errorf("summary %q", d.Summary())
	}
}

func TestDefaultRoutesAreOrderedByTarget(t *testing.T) {
	rs := DefaultRoutes()
	if !(rs[RouteCheap].QualityTarget < rs[RouteBalanced].QualityTarget && rs[RouteBalanced].QualityTarget < rs[RouteBest].QualityTarget) {
		t.Errorf("targets cheap %v, balanced %v, best %v: want increasing", rs[RouteCheap].QualityTarget, rs[RouteBalanced].QualityTarget, rs[RouteBest].QualityTarget)
	}
	if rs[RouteAuto].QualityTarget != rs[RouteBalanced].QualityTarget {
		t.Error("auto should be balanced")
	}
}

func TestEloFromQualityInvertsTheCatalogScale(t *testing.T) {
	for _, elo := range []float64{1000, 1250, 1300, 1450} {
		if got := EloFromQuality(quality(elo)); got < elo-0.5 || got > elo+0.5 {
			t.Errorf("EloFromQuality(quality(%v)) = %v", elo, got)
		}
	}
}

func TestDecideConsidersEveryCandidateOnceInPlanOrder(t *testing.T) {
	cs := append(cands(), Candidate{Model: "broken", Provider: "p9", Quality: quality(1390), EstCost: 1, Healthy: false})
	d, err := New(constPredictor(t, 0.3)).Decide(Request{Prompt: Prompt{Text: "x"}}, Route{QualityTarget: 0.7}, cs)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range d.Considered {
		seen[c.Model+"/"+c.Provider]++
	}
	for _, c := range cs {
		if seen[c.Model+"/"+c.Provider] != 1 {
			t.Errorf("%s/%s considered %d times", c.Model, c.Provider, seen[c.Model+"/"+c.Provider])
		}
	}
	if d.Considered[0].Candidate != d.Chosen || d.Considered[len(d.Considered)-1].Rejected != "unhealthy" {
		t.Errorf("considered order %+v: want the chosen first and the rejected last", d.Considered)
	}
}

func TestDecideUsesAModelOfUnknownQualityOnlyAsALastResort(t *testing.T) {
	cs := append(cands(), Candidate{Model: "mystery", Provider: "p3", EstCost: 1, Healthy: true})
	d, err := New(constPredictor(t, 0.01)).Decide(Request{Prompt: Prompt{Text: "x"}}, Route{QualityTarget: 0.5}, cs)
	if err != nil {
		t.Fatal(err)
	}
	if d.Chosen.Model == "mystery" {
		t.Error("chose a model of unknown quality because it was cheapest")
	}
}
