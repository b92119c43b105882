package semantic

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// netToyData makes pairs of noisy unit vectors where a non-duplicate has the
// first 8 dimensions of its partner negated: the network has to find which
// dimensions carry the label.
func netToyData(n int, seed uint64) (u, v [][]float32, y []bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	unit := func(x []float32) []float32 {
		var ss float64
		for _, a := range x {
			ss += float64(a * a)
		}
		for i := range x {
			x[i] /= float32(math.Sqrt(ss))
		}
		return x
	}
	for i := range n {
		a := make([]float32, 32)
		b := make([]float32, 32)
		for k := range a {
			a[k] = float32(rng.NormFloat64())
			b[k] = a[k] + float32(rng.NormFloat64())
		}
		dup := i%2 == 0
		if !dup {
			for k := 0; k < 8; k++ {
				b[k] = -a[k]
			}
		}
		u, v, y = append(u, unit(a)), append(v, unit(b)), append(y, dup)
	}
	return u, v, y
}

func netInputs(u, v [][]float32) [][]float32 {
	x := make([][]float32, len(u))
	for i := range u {
		x[i] = make([]float32, 2*len(u[i]))
		pairInput(x[i], u[i], v[i])
	}
	return x
}

func TestPairNetLearnsWhichDimensionsMatter(t *testing.T) {
	u, v, y := netToyData(2000, 1)
	p := netParams{Hidden: 16, Epochs: 30, Batch: 64, LR: 3e-3, L2: 1e-4, Seed: 7}
	m := trainPairNet(netInputs(u, v), y, p)
	tu, tv, ty := netToyData(400, 2)
	right := 0
	for i := range tu {
		if (m.score(tu[i], tv[i]) > 0) == ty[i] {
			right++
		}
	}
	if acc := float64(right) / float64(len(tu)); acc < 0.95 {
		t.Errorf("accuracy on fresh pairs %.3f, want ≥ 0.95", acc)
	}
	// The pair's order does not matter: the inputs are symmetric.
	if a, b := m.score(tu[0], tv[0]), m.score(tv[0], tu[0]); a != b {
		t.Errorf("score(u, v) = %v, score(v, u) = %v", a, b)
	}
}

func TestPairNetIsDeterministicAndRoundTrips(t *testing.T) {
	u, v, y := netToyData(300, 3)
	p := netParams{Hidden: 8, Epochs: 3, Batch: 32, LR: 1e-3, L2: 1e-4, Seed: 11}
	a := trainPairNet(netInputs(u, v), y, p)
	b := trainPairNet(netInputs(u, v), y, p)
	if !slices.Equal(a.W1, b.W1) || !slices.Equal(a.W2, b.W2) || a.B2 != b.B2 {
		t.Fatal("two trainings on the same data and seed differ")
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var c pairNet
	if err := json.Unmarshal(js, &c); err != nil {
		t.Fatal(err)
	}
	if got, want := c.score(u[0], v[0]), a.score(u[0], v[0]); got != want {
		t.Errorf("after a JSON round trip the score is %v, want %v", got, want)
	}
	// Vectors of another width (another embedder) get no score rather than a panic.
	if got := c.score(make([]float32, 8), make([]float32, 8)); got != 0 {
		t.Errorf("score of mismatched vectors = %v, want 0", got)
	}
}

// The shipped full-model verifier carries its pair network, and the network
// moves the verdict: the same texts score differently with vectors that agree
// and with vectors that do not.
func TestShippedVerifierUsesThePairNetwork(t *testing.T) {
	v, err := DefaultVerifier("use-lite")
	if err != nil {
		t.Fatal(err)
	}
	if v.Model().Net.Hidden == 0 {
		t.Fatal("the use-lite verifier has no pair network")
	}
	vs, _ := hashEmbedder{}.Embed(t.Context(), []string{"x", "y"})
	a, b := analyze("How can I learn to cook at home?"), analyze("What is the best way to learn cooking at home?")
	same := v.judge(a, b, vs[0], vs[0], 0.8, 0.8, 0)
	other := v.judge(a, b, vs[0], vs[1], 0.8, 0.8, 0)
	if same.Probability == other.Probability {
		t.Errorf("probability %v with agreeing and with unrelated vectors: the network is not used", same.Probability)
	}
}
