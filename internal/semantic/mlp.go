package semantic

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
)

// pairNet scores a pair from its two embedding vectors u and v: a one-hidden-
// layer network over their element-wise product u⊙v and absolute difference
// |u−v| (symmetric in the pair, as a cache lookup has no preferred side). The
// cosine is only the sum of u⊙v; the network learns which dimensions matter
// for "asks the same thing" and which only for "is about the same topic".
// Its logit is one input of the trees (stacked out of fold, like wordModel).
type pairNet struct {
	In     int      `json:"in"`     // 2·dimension of the vectors
	Hidden int      `json:"hidden"` // hidden units (ReLU)
	W1     floats32 `json:"w1"`     // [Hidden][In]; the input standardisation is folded in
	B1     floats32 `json:"b1"`     // [Hidden]
	W2     floats32 `json:"w2"`     // [Hidden]
	B2     float64  `json:"b2"`
}

// netParams are pairNet's training settings (deterministic for a given seed).
type netParams struct {
	Hidden int     `json:"hidden"`
	Epochs int     `json:"epochs"`
	Batch  int     `json:"batch"`
	LR     float64 `json:"learning_rate"`
	L2     float64 `json:"l2"`
	Seed   uint64  `json:"seed"` // of the initial weights and the order of examples
}

// pairInput writes u⊙v then |u−v| into dst (len 2·len(u)).
func pairInput(dst, u, v []float32) {
	n := len(u)
	v = v[:n]
	dst = dst[:2*n]
	for i := range n {
		dst[i] = u[i] * v[i]
		d := u[i] - v[i]
		if d < 0 {
			d = -d
		}
		dst[n+i] = d
	}
}

// score is the network's logit for vectors u and v; 0 when there is no
// network or the vectors do not fit it.
func (m *pairNet) score(u, v []float32) float64 {
	if m == nil || m.Hidden == 0 || len(v) != len(u) || m.In != 2*len(u) {
		return 0
	}
	var buf [2 * 512]float32
	x := buf[:0]
	if m.In <= len(buf) {
		x = buf[:m.In]
	} else {
		x = make([]float32, m.In)
	}
	pairInput(x, u, v)
	z := m.B2
	for j := 0; j < m.Hidden; j++ {
		h := m.B1[j] + dot(m.W1[j*m.In:(j+1)*m.In], x)
		if h > 0 {
			z += float64(m.W2[j] * h)
		}
	}
	return z
}

// trainPairNet fits a pairNet to inputs x (rows of pairInput) with labels y by
// minibatch Adam on the logistic loss with L2, examples visited in an order
// drawn from p.Seed: the same data and seed give the same network.
func trainPairNet(x [][]float32, y []bool, p netParams) *pairNet {
	n := len(x)
	if n == 0 {
		return &pairNet{}
	}
	in, H := len(x[0]), p.Hidden
	// Standardise the inputs (folded into the first layer at the end).
	mean := make([]float64, in)
	sd := make([]float64, in)
	for _, r := range x {
		for k, v := range r {
			mean[k] += float64(v)
		}
	}
	for k := range mean {
		mean[k] /= float64(n)
	}
	for _, r := range x {
		for k, v := range r {
			d := float64(v) - mean[k]
			sd[k] += d * d
		}
	}
	for k := range sd {
		sd[k] = math.Sqrt(sd[k]/float64(n)) + 1e-6
	}
	xs := make([][]float32, n)
	flat := make([]float32, n*in)
	for i, r := range x {
		row := flat[i*in : (i+1)*in]
		for k, v := range r {
			row[k] = float32((float64(v) - mean[k]) / sd[k])
		}
		xs[i] = row
	}

	rng := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	w1 := make([]float32, H*in)
	b1 := make([]float32, H)
	w2 := make([]float32, H)
	var b2 float32
	s1 := math.Sqrt(2 / float64(in))
	for i := range w1 {
		w1[i] = float32(rng.NormFloat64() * s1)
	}
	s2 := math.Sqrt(1 / float64(H))
	for i := range w2 {
		w2[i] = float32(rng.NormFloat64() * s2)
	}
	nParam := H*in + 2*H + 1
	grad := make([]float32, nParam)
	am := make([]float32, nParam)
	av := make([]float32, nParam)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	h := make([]float32, H)
	const b1m, b2m, eps = 0.9, 0.999, 1e-8
	step := 0
	for ep := 0; ep < p.Epochs; ep++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < n; start += p.Batch {
			end := min(start+p.Batch, n)
			clear(grad)
			gw1, gb1, gw2 := grad[:H*in], grad[H*in:H*in+H], grad[H*in+H:H*in+2*H]
			var gb2 float32
			for _, i := range order[start:end] {
				r := xs[i]
				z := b2
				for j := range H {
					a := b1[j] + dot(w1[j*in:(j+1)*in], r)
					if a < 0 {
						a = 0
					}
					h[j] = a
					z += w2[j] * a
				}
				e := float32(sigmoid(float64(z)))
				if y[i] {
					e--
				}
				gb2 += e
				for j := range H {
					if h[j] <= 0 {
						continue
					}
					gw2[j] += e * h[j]
					d := e * w2[j]
					gb1[j] += d
					axpy32(gw1[j*in:(j+1)*in], d, r)
				}
			}
			grad[nParam-1] = gb2
			inv := 1 / float32(end-start)
			step++
			c1 := float32(1 - math.Pow(b1m, float64(step)))
			c2 := float32(1 - math.Pow(b2m, float64(step)))
			lr := float32(p.LR)
			l2 := float32(p.L2)
			upd := func(k int, w float32, decay bool) float32 {
				g := grad[k] * inv
				if decay {
					g += l2 * w
				}
				am[k] = b1m*am[k] + (1-b1m)*g
				av[k] = b2m*av[k] + (1-b2m)*g*g
				return w - lr*(am[k]/c1)/(float32(math.Sqrt(float64(av[k]/c2)))+eps)
			}
			for k := range w1 {
				w1[k] = upd(k, w1[k], true)
			}
			for j := range H {
				b1[j] = upd(H*in+j, b1[j], false)
				w2[j] = upd(H*in+H+j, w2[j], true)
			}
			b2 = upd(nParam-1, b2, false)
		}
	}
	// Fold the standardisation into the first layer: w·(x−μ)/σ = (w/σ)·x − Σ wμ/σ.
	for j := range H {
		row := w1[j*in : (j+1)*in]
		var shift float64
		for k := range row {
			wk := float64(row[k]) / sd[k]
			shift += wk * mean[k]
			row[k] = float32(wk)
		}
		b1[j] -= float32(shift)
	}
	return &pairNet{In: in, Hidden: H, W1: w1, B1: b1, W2: w2, B2: float64(b2)}
}

func axpy32(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		dst[i] += a * x[i]
		dst[i+1] += a * x[i+1]
		dst[i+2] += a * x[i+2]
		dst[i+3] += a * x[i+3]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}

// floats32 is a []float32 stored in JSON as base64 of little-endian float32s:
// exact and a third of the size of decimal text.
type floats32 []float32

func (f floats32) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 4*len(f))
	for _, x := range f {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

func (f *floats32) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("semantic: float32 array: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		return fmt.Errorf("semantic: float32 array: bad encoding")
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*f = out
	return nil
}
