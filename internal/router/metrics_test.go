package router

import (
	"math"
	"testing"
)

// Four prompts: two only the strong model gets right, one both get right, one neither.
// Weak quality 0.25, strong 0.75.
func fourPrompts(scores [4]float64) []Scored {
	return []Scored{
		{Score: scores[0], Weak: 0, Strong: 1},
		{Score: scores[1], Weak: 0, Strong: 1},
		{Score: scores[2], Weak: 1, Strong: 1},
		{Score: scores[3], Weak: 0, Strong: 0},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMetricsOnHandCheckedRouters(t *testing.T) {
	tests := []struct {
		name                     string
		items                    []Scored
		apgr, cpt50, cpt80, save float64
	}{
		// Oracle: PGR 0, .5, 1, 1, 1 at k = 0..4 → area (.25+.75+1+1)/4.
		// 95% of .75 = .7125 needs k=2: cost .5 + .5/20 = .525.
		{"perfect router", fourPrompts([4]float64{1, 1, 0, 0}), 0.75, 0.25, 0.5, 0.475},
		// Worst order: the neutral pair first (a tie), then the gains: PGR 0,0,0,.5,1.
		{"reversed router", fourPrompts([4]float64{0, 0, 1, 1}), 0.25, 0.75, 1, 0.0},
		// A constant score is a random router: the expected curve is the diagonal, PGR
		// k/4, so reaching 80% (or 95% of strong quality) takes every call.
		{"constant router", fourPrompts([4]float64{3, 3, 3, 3}), 0.5, 0.5, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Measure("g", tt.items)
			if !near(m.WeakQuality, 0.25) || !near(m.StrongQuality, 0.75) {
				t.Fatalf("qualities = %v, %v; want .25, .75", m.WeakQuality, m.StrongQuality)
			}
			if !near(m.APGR, tt.apgr) {
				t.Errorf("APGR = %v, want %v", m.APGR, tt.apgr)
			}
			if !near(m.CPT50, tt.cpt50) {
				t.Errorf("CPT(50%%) = %v, want %v", m.CPT50, tt.cpt50)
			}
			if !near(m.CPT80, tt.cpt80) {
				t.Errorf("CPT(80%%) = %v, want %v", m.CPT80, tt.cpt80)
			}
			if !near(m.Saved95, tt.save) {
				t.Errorf("saved at 95%% = %v, want %v", m.Saved95, tt.save)
			}
		})
	}
}

func TestCurveTreatsTiesAsRandomOrder(t *testing.T) {
	// One gain and one neutral prompt share a score: after one strong call the expected
	// gain is half of it, whichever order the sort happened to leave them in.
	for _, items := range [][]Scored{
		{{Score: 1, Weak: 0, Strong: 1}, {Score: 1, Weak: 1, Strong: 1}},
		{{Score: 1, Weak: 1, Strong: 1}, {Score: 1, Weak: 0, Strong: 1}},
	} {
		c := NewCurve(items)
		if !near(c.Quality[1], 0.75) {
			t.Errorf("Quality[1] = %v, want 0.75", c.Quality[1])
		}
	}
}

func TestRoutingAwayFromWeakWinsCanExceedStrong(t *testing.T) {
	// The weak model beats the strong one on one prompt: the best router sends that one
	// to the weak model and beats the strong model's quality (PGR above 1).
	items := []Scored{{Score: 1, Weak: 0, Strong: 1}, {Score: 0, Weak: 1, Strong: 0}, {Score: 1, Weak: 0, Strong: 1}}
	c := NewCurve(items)
	if got := c.PGR(2); got <= 1 {
		t.Errorf("PGR(2) = %v, want > 1", got)
	}
}

func TestMetricsUndefinedWithoutAGap(t *testing.T) {
	m := Measure("same", []Scored{{Score: 1, Weak: 1, Strong: 1}, {Score: 0, Weak: 0, Strong: 0}})
	if !math.IsNaN(m.APGR) || !math.IsNaN(m.CPT50) {
		t.Errorf("APGR, CPT50 = %v, %v; want NaN when strong and weak score the same", m.APGR, m.CPT50)
	}
}
