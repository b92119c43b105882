package router

import (
	"math"
	"testing"
)

func TestReliabilityOfHandCheckedPredictions(t *testing.T) {
	tests := []struct {
		name      string
		ps, ys    []float64
		bins      int
		wantBins  int
		wantECE   float64
		wantBrier float64
	}{
		{
			name: "perfectly calibrated two bins",
			ps:   []float64{0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75},
			ys:   []float64{1, 0, 0, 0, 1, 1, 1, 0},
			bins: 2, wantBins: 2, wantECE: 0,
			wantBrier: (1*0.5625 + 3*0.0625 + 3*0.0625 + 1*0.5625) / 8,
		},
		{
			name: "overconfident: predicts 0.9, happens half the time",
			ps:   []float64{0.9, 0.9, 0.9, 0.9},
			ys:   []float64{1, 0, 1, 0},
			bins: 4, wantBins: 1, wantECE: 0.4, // ties never straddle bins
			wantBrier: (2*0.01 + 2*0.81) / 4,
		},
		{
			name: "one bin per prediction",
			ps:   []float64{0.1, 0.2, 0.3},
			ys:   []float64{0, 0, 1},
			bins: 3, wantBins: 3, wantECE: (0.1 + 0.2 + 0.7) / 3,
			wantBrier: (0.01 + 0.04 + 0.49) / 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := MeasureReliability(tc.ps, tc.ys, tc.bins)
			if len(r.Bins) != tc.wantBins {
				t.Fatalf("bins = %d, want %d (%+v)", len(r.Bins), tc.wantBins, r.Bins)
			}
			if math.Abs(r.ECE-tc.wantECE) > 1e-12 || math.Abs(r.Brier-tc.wantBrier) > 1e-12 {
				t.Fatalf("ECE %v Brier %v, want %v %v", r.ECE, r.Brier, tc.wantECE, tc.wantBrier)
			}
			n := 0
			for _, b := range r.Bins {
				n += b.N
			}
			if n != len(tc.ps) {
				t.Fatalf("bins hold %d predictions, want %d", n, len(tc.ps))
			}
		})
	}
}
