//go:build exp

package semantic

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/embed"
)

// TestExpMetric learns a linear metric on the USE vectors (score = cos(Mu, Mv),
// M k×512, siamese) and compares it alone, on the held-out QQP candidates, with
// the plain cosine and with the pair network trained the shipped way.
// go test -tags exp -run ExpMetric -v -timeout 1h ./internal/semantic/
func TestExpMetric(t *testing.T) {
	pairs, err := ReadPairsFile("../../../shared/data/cache/pairs-dev.jsonl")
	if err != nil {
		t.Skip(err)
	}
	o := DefaultTrainOptions()
	held, _ := splitPairs(pairs, o)
	cand := make([]bool, len(pairs))
	for i, p := range pairs {
		a, b := analyze(p.A), analyze(p.B)
		cand[i] = !(a.norm == b.norm && sameMultiset(a.numbers, b.numbers)) && guard(a, b) == GuardNone
	}
	A, B := cachedUSEPairs(t, pairs)
	cos := make([]float64, len(pairs))
	for i := range pairs {
		cos[i] = float64(dot(A[i], B[i]))
	}
	t.Logf("USE cosine: held-out qqp %s", bestRecallAt(pairs, held, cand, cos, "qqp", 0.90))
	var xa, xb [][]float32
	var y []bool
	var netIn [][]float32
	for i, p := range pairs {
		if !held[i] && cand[i] {
			xa, xb, y = append(xa, A[i]), append(xb, B[i]), append(y, p.Duplicate)
			in := make([]float32, 2*embed.Dim)
			pairInput(in, A[i], B[i])
			netIn = append(netIn, in)
		}
	}
	t0 := time.Now()
	net := trainPairNet(netIn, y, o.Net)
	ns := make([]float64, len(pairs))
	for i := range pairs {
		if cand[i] {
			ns[i] = net.score(A[i], B[i])
		}
	}
	t.Logf("pair network (%v): held-out qqp %s", time.Since(t0), bestRecallAt(pairs, held, cand, ns, "qqp", 0.90))
	for _, k := range []int{64, 256} {
		t0 = time.Now()
		M, a, b := trainMetric(xa, xb, y, k, envInt("METRIC_EPOCHS", 8))
		ms := make([]float64, len(pairs))
		mu, mv := make([]float32, k), make([]float32, k)
		for i := range pairs {
			if cand[i] {
				ms[i] = a*float64(metricCos(M, k, A[i], B[i], mu, mv)) + b
			}
		}
		t.Logf("metric k=%d (%v): held-out qqp %s", k, time.Since(t0), bestRecallAt(pairs, held, cand, ms, "qqp", 0.90))
		both := make([]float64, len(pairs))
		for i := range both {
			both[i] = ms[i] + ns[i]
		}
		t.Logf("   metric + network logits: held-out qqp %s", bestRecallAt(pairs, held, cand, both, "qqp", 0.90))
	}
}

func metricCos(M []float32, k int, u, v, mu, mv []float32) float32 {
	for r := 0; r < k; r++ {
		mu[r] = dot(M[r*embed.Dim:(r+1)*embed.Dim], u)
		mv[r] = dot(M[r*embed.Dim:(r+1)*embed.Dim], v)
	}
	return cosine32(mu, mv)
}

// trainMetric fits M (k×512), a and b of logit = a·cos(Mu, Mv) + b by Adam.
func trainMetric(xa, xb [][]float32, y []bool, k, epochs int) ([]float32, float64, float64) {
	const d = embed.Dim
	rng := rand.New(rand.NewPCG(5, 6))
	M := make([]float32, k*d)
	for i := range M {
		M[i] = float32(rng.NormFloat64() / math.Sqrt(d))
	}
	a, b := 5.0, -3.0
	params := len(M) + 2
	mom, vel := make([]float64, params), make([]float64, params)
	g := make([]float64, params)
	order := rng.Perm(len(y))
	mu, mv := make([]float32, k), make([]float32, k)
	gu, gv := make([]float32, k), make([]float32, k)
	step := 0
	const batch, lr = 64, 1e-3
	for ep := 0; ep < epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for at := 0; at < len(order); at += batch {
			clear(g)
			bt := order[at:min(at+batch, len(order))]
			for _, i := range bt {
				u, v := xa[i], xb[i]
				c := metricCos(M, k, u, v, mu, mv)
				nu := float32(math.Sqrt(float64(dot(mu, mu))))
				nv := float32(math.Sqrt(float64(dot(mv, mv))))
				z := a*float64(c) + b
				t := 0.0
				if y[i] {
					t = 1
				}
				e := 1/(1+math.Exp(-z)) - t
				g[len(M)] += e * float64(c)
				g[len(M)+1] += e
				dc := float32(e * a)
				// d cos / d mu = mv/(nu nv) − c·mu/nu²
				for r := 0; r < k; r++ {
					gu[r] = dc * (mv[r]/(nu*nv) - c*mu[r]/(nu*nu))
					gv[r] = dc * (mu[r]/(nu*nv) - c*mv[r]/(nv*nv))
				}
				for r := 0; r < k; r++ {
					row := g[r*d : (r+1)*d]
					for j := 0; j < d; j++ {
						row[j] += float64(gu[r]*u[j] + gv[r]*v[j])
					}
				}
			}
			step++
			c1 := 1 - math.Pow(0.9, float64(step))
			c2 := 1 - math.Pow(0.999, float64(step))
			upd := func(j int, w float64) float64 {
				gj := g[j] / float64(len(bt))
				mom[j] = 0.9*mom[j] + 0.1*gj
				vel[j] = 0.999*vel[j] + 0.001*gj*gj
				return w - lr*(mom[j]/c1)/(math.Sqrt(vel[j]/c2)+1e-8)
			}
			for j := range M {
				M[j] = float32(upd(j, float64(M[j])))
			}
			a = upd(len(M), a)
			b = upd(len(M)+1, b)
		}
	}
	return M, a, b
}

// cachedUSEPairs returns the USE vectors of every pair's texts, from a cache
// file in the temporary directory when an earlier run wrote one.
func cachedUSEPairs(t *testing.T, pairs []Pair) (A, B [][]float32) {
	path := os.TempDir() + "/arbiter-exp-use-pairs.bin"
	const d = embed.Dim
	if data, err := os.ReadFile(path); err == nil && len(data) == len(pairs)*2*d*4 {
		vs := make([]float32, len(pairs)*2*d)
		for i := range vs {
			vs[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		for i := range pairs {
			A = append(A, vs[(2*i)*d:(2*i+1)*d])
			B = append(B, vs[(2*i+1)*d:(2*i+2)*d])
		}
		return A, B
	}
	m, err := embed.LoadUSE(embed.DefaultModelDir())
	if err != nil {
		t.Skip(err)
	}
	pv, err := EmbedPairs(context.Background(), pairs, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, len(pairs)*2*d*4)
	for i := range pairs {
		for _, v := range [2][]float32{pv.A[i], pv.B[i]} {
			for _, x := range v {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
		}
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		t.Log(err)
	}
	return pv.A, pv.B
}
