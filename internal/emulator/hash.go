package emulator

import (
	"encoding/binary"
	"math"
)

// hasher is FNV-1a over 64 bits with length-prefixed fields, so that ("ab","c") and
// ("a","bc") hash differently. It is the seed of everything the brain says.
type hasher struct{ h uint64 }

func newHasher() hasher { return hasher{h: 14695981039346656037} }

func (h *hasher) bytes(b []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	for _, c := range n {
		h.h ^= uint64(c)
		h.h *= 1099511628211
	}
	for _, c := range b {
		h.h ^= uint64(c)
		h.h *= 1099511628211
	}
}

func (h *hasher) str(s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	for _, c := range n {
		h.h ^= uint64(c)
		h.h *= 1099511628211
	}
	for i := 0; i < len(s); i++ {
		h.h ^= uint64(s[i])
		h.h *= 1099511628211
	}
}

func (h *hasher) sum() uint64 { return mix64(h.h) }

func hashString(s string) uint64 {
	h := newHasher()
	h.str(s)
	return h.sum()
}

// mix64 is the splitmix64 finaliser: it spreads FNV's weak low bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// rng is splitmix64: tiny, fast and fixed forever, so answers stay the same across Go
// releases (math/rand makes no such promise for every generator).
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a value in [0, n); n must be > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// norm returns a standard normal value (Box-Muller).
func (r *rng) norm() float64 {
	u := r.float()
	if u < 1e-300 {
		u = 1e-300
	}
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }
