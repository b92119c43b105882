//go:build exp

package semantic

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomSeq(rng *rand.Rand, n, d int) wordSeq {
	s := wordSeq{X: make([]float32, n*d), Rarity: make([]float32, n)}
	for i := range s.X {
		s.X[i] = float32(rng.NormFloat64())
	}
	for i := range s.Rarity {
		s.Rarity[i] = float32(rng.Float64())
	}
	return s
}

// The hand-written backward pass must agree with finite differences of the
// loss, parameter by parameter, or training silently learns the wrong thing.
func TestAttendGradientMatchesFiniteDifferences(t *testing.T) {
	const d, h = 6, 5
	rng := rand.New(rand.NewPCG(1, 2))
	m := trainAttend(nil, nil, nil, d, attendParams{Hidden: h, Epochs: 0, Batch: 1, Seed: 3})
	for _, s := range m.parts() {
		for i := range s {
			s[i] = float32(rng.NormFloat64() * 0.3)
		}
	}
	a, b := randomSeq(rng, 4, d), randomSeq(rng, 3, d)
	loss := func() float64 {
		p := new(attendPass)
		z := m.forward(p, a, b)
		pr := 1 / (1 + math.Exp(-z))
		return -math.Log(pr) // label true
	}
	g := newAttendGrad(d, h)
	p := new(attendPass)
	m.backward(p, a, b, m.forward(p, a, b), true, g)
	names := []string{"wf", "bf", "wg", "bg", "wh", "bh", "wo"}
	checked := 0
	for pi, w := range m.parts() {
		gs := g.parts()[pi]
		for j := range w {
			old := w[j]
			const eps = 2e-3
			w[j] = old + eps
			up := loss()
			w[j] = old - eps
			down := loss()
			w[j] = old
			num := (up - down) / (2 * eps)
			if math.Abs(num-float64(gs[j])) > 2e-2*max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: backward %.5f, finite difference %.5f", names[pi], j, gs[j], num)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d parameters", checked)
	}
	// The model reads the pair symmetrically: a cache lookup has no preferred side.
	p2 := new(attendPass)
	if x, y := m.forward(p2, a, b), m.forward(p2, b, a); math.Abs(x-y) > 1e-4 {
		t.Errorf("score(a,b) = %.6f, score(b,a) = %.6f", x, y)
	}
}
