package embed

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the definition gemmAcc must agree with, in float64.
func naiveGemm(c, a, b []float32, m, k, n int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(c[i*n+j])
			for p := 0; p < k; p++ {
				s += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func TestGemmAccMatchesNaiveProductForEveryRowRemainder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randv := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	for _, sz := range []struct{ m, k, n int }{
		{1, 1, 32}, {5, 7, 64}, {6, 256, 512}, {7, 33, 96}, {13, 512, 1536}, {30, 1536, 512},
	} {
		a, b, c0 := randv(sz.m*sz.k), randv(sz.k*sz.n), randv(sz.m*sz.n)
		w, err := packMatrix(b, sz.k, sz.n)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveGemm(c0, a, b, sz.m, sz.k, sz.n)
		for _, kern := range gemmKernels() {
			c := append([]float32(nil), c0...)
			kern.fn(c, a, sz.m, w)
			for i, v := range c {
				if d := math.Abs(float64(v) - want[i]); d > 1e-4*math.Sqrt(float64(sz.k)) {
					t.Fatalf("%s %dx%dx%d: element %d = %v, want %v", kern.name, sz.m, sz.k, sz.n, i, v, want[i])
				}
			}
		}
	}
}

func TestPackMatrixRejectsWidthsThatAreNotWholePanels(t *testing.T) {
	if _, err := packMatrix(make([]float32, 2*20), 2, 20); err == nil {
		t.Fatal("packing 2×20 succeeded, want an error")
	}
}

func TestVectorKernelsMatchScalarOnes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 15, 16, 17, 64, 128, 131} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = rng.Float32()-0.5, rng.Float32()-0.5
		}
		if got, want := dotVec(a, b), dot(a, b); math.Abs(float64(got-want)) > 1e-5 {
			t.Errorf("n=%d: dotVec %v, dot %v", n, got, want)
		}
		got, want := append([]float32(nil), a...), append([]float32(nil), a...)
		axpyVec(got, 0.75, b)
		axpy(want, 0.75, b)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("n=%d: axpyVec[%d] %v, axpy %v", n, i, got[i], want[i])
			}
		}
		q := make([]byte, n)
		for i := range q {
			q[i] = byte(int8(rng.IntN(255) - 127))
		}
		got, want = append([]float32(nil), a...), append([]float32(nil), a...)
		axpyInt8(got, 0.01, q)
		axpyInt8Go(want, 0.01, q)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("n=%d: axpyInt8[%d] %v, axpyInt8Go %v", n, i, got[i], want[i])
			}
		}
		qs := make([]int8, n)
		for i := range qs {
			qs[i] = int8(rng.IntN(255) - 127) // the full range, both extremes included
		}
		qs[0] = -127
		if got, want := dotInt8Vec(a, qs), dotInt8Go(a, qs); math.Abs(float64(got-want)) > 1e-3 {
			t.Errorf("n=%d: dotInt8Vec %v, dotInt8Go %v", n, got, want)
		}
	}
}

// Sharing a product's column panels with helpers must not change a single bit
// of the result (each element is summed in the same order), whatever the
// number of helpers, and a team with none (nil) computes alone.
func TestTeamGemmIsBitIdenticalToGemmAcc(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randv := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	for _, helpers := range []int{0, 1, 3} {
		tm := startTeam(helpers)
		for _, sz := range []struct{ m, k, n int }{{30, 512, 1536}, {30, 1536, 512}, {7, 256, 768}, {1, 512, 512}, {2000, 16, 320}} {
			a, b, c0 := randv(sz.m*sz.k), randv(sz.k*sz.n), randv(sz.m*sz.n)
			w, err := packMatrix(b, sz.k, sz.n)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), c0...)
			gemmAcc(want, a, sz.m, w)
			got := append([]float32(nil), c0...)
			tm.gemm(got, a, sz.m, w)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%dx%dx%d, %d helpers: element %d = %v, gemmAcc gives %v", sz.m, sz.k, sz.n, helpers, i, got[i], want[i])
				}
			}
		}
		tm.stop()
	}
}
