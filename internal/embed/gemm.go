package embed

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// panel is the column width of a packed matrix: the AVX-512 kernel's tile width.
const panel = 32

// matrix is a weight matrix [k][n] stored as n/panel column panels, each k×panel
// floats contiguous, so a matrix product streams it front to back (the row-major
// form strides a page per row and defeats the prefetcher).
type matrix struct {
	k, n int
	p    []float32
}

// packMatrix packs a row-major [k][n] matrix; n must be a multiple of panel.
func packMatrix(rowMajor []float32, k, n int) (matrix, error) {
	if n%panel != 0 || len(rowMajor) != k*n {
		return matrix{}, fmt.Errorf("cannot pack a %d×%d matrix from %d floats", k, n, len(rowMajor))
	}
	p := make([]float32, k*n)
	for j := 0; j < n; j += panel {
		dst := p[j*k : (j+panel)*k]
		for r := 0; r < k; r++ {
			copy(dst[r*panel:(r+1)*panel], rowMajor[r*n+j:r*n+j+panel])
		}
	}
	return matrix{k: k, n: n, p: p}, nil
}

// gemmAccGo is the portable kernel: c [m][n] += a [m][k] · w, one panel and four
// rows of c at a time so each panel row is loaded once per four rows.
func gemmAccGo(c, a []float32, m int, w matrix) { gemmAccGoCols(c, a, m, w, 0, w.n) }

// gemmAccGoCols is gemmAccGo for the columns [j0, j1) of c only (whole panels).
func gemmAccGoCols(c, a []float32, m int, w matrix, j0, j1 int) {
	k, n := w.k, w.n
	for j := j0; j < j1; j += panel {
		pn := w.p[j*k : (j+panel)*k]
		i := 0
		for ; i+4 <= m; i += 4 {
			var acc [4][panel]float32
			a0, a1, a2, a3 := a[i*k:i*k+k], a[(i+1)*k:(i+1)*k+k], a[(i+2)*k:(i+2)*k+k], a[(i+3)*k:(i+3)*k+k]
			for p := 0; p < k; p++ {
				br := (*[panel]float32)(pn[p*panel:])
				x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
				for q, bv := range br {
					acc[0][q] += x0 * bv
					acc[1][q] += x1 * bv
					acc[2][q] += x2 * bv
					acc[3][q] += x3 * bv
				}
			}
			for r := range acc {
				addTo(c[(i+r)*n+j:(i+r)*n+j+panel], acc[r][:])
			}
		}
		for ; i < m; i++ {
			var acc [panel]float32
			for p, x := range a[i*k : i*k+k] {
				axpy(acc[:], x, pn[p*panel:(p+1)*panel])
			}
			addTo(c[i*n+j:i*n+j+panel], acc[:])
		}
	}
}

// axpyInt8Go is dst[i] += alpha·int8(q[i]) over len(dst).
func axpyInt8Go(dst []float32, alpha float32, q []byte) {
	q = q[:len(dst)]
	for i := range dst {
		dst[i] += alpha * float32(int8(q[i]))
	}
}

// minSplitWork is the least multiply-adds of a product worth sharing: below
// it, handing out its panels costs more than it saves.
const minSplitWork = 1 << 20

// splitChunk is the column panels one claim takes: small enough that neither
// side waits long for the other at the end of a product.
const splitChunk = 4

// team shares the matrix products of one forward pass with helper goroutines.
// Waking a parked goroutine costs tens of microseconds, as much as a product
// takes, so the helpers are started once per pass and poll for work (yielding
// the processor while they wait) instead of being started per product. The
// caller never waits for a helper to arrive: it claims chunks of panels from
// the same counter and does all of them if no helper shows up, waiting only
// for chunks a helper has claimed and is computing. A nil *team computes alone.
type team struct {
	cur  atomic.Pointer[teamTask]
	quit atomic.Bool
}

// teamTask is one product c += a·w, its column panels handed out in chunks.
type teamTask struct {
	c, a   []float32
	m      int
	w      matrix
	chunks int64
	next   atomic.Int64 // the next chunk to claim
	done   atomic.Int64 // chunks finished
}

// startTeam starts helpers goroutines for one pass; stop them with stop.
func startTeam(helpers int) *team {
	if helpers <= 0 {
		return nil
	}
	t := new(team)
	for range helpers {
		go t.help()
	}
	return t
}

func (t *team) help() {
	var last *teamTask
	for !t.quit.Load() {
		if k := t.cur.Load(); k != nil && k != last {
			k.work()
			last = k
			continue
		}
		runtime.Gosched()
	}
}

// stop tells the helpers to leave. They touch nothing of the pass afterwards
// (every task's chunks are claimed), so the caller need not wait for them.
func (t *team) stop() {
	if t != nil {
		t.quit.Store(true)
	}
}

func (k *teamTask) work() {
	np := k.w.n / panel
	for {
		i := k.next.Add(1) - 1
		if i >= k.chunks {
			return
		}
		j0 := int(i) * splitChunk * panel
		j1 := min(int(i+1)*splitChunk, np) * panel
		gemmAccCols(k.c, k.a, k.m, k.w, j0, j1)
		k.done.Add(1)
	}
}

// gemm computes c [m][n] += a [m][k] · w, shared with the team's helpers when
// it is large enough. The result is bit-identical to gemmAcc's: each element
// is summed in the same order whoever computes it.
func (t *team) gemm(c, a []float32, m int, w matrix) {
	np := w.n / panel
	if t == nil || np < 2*splitChunk || m*w.k*w.n < minSplitWork {
		gemmAcc(c, a, m, w)
		return
	}
	k := &teamTask{c: c, a: a, m: m, w: w, chunks: int64((np + splitChunk - 1) / splitChunk)}
	t.cur.Store(k)
	k.work()
	for k.done.Load() < k.chunks {
		// A helper is finishing a chunk it claimed (microseconds); yield in
		// case it was descheduled in favour of another goroutine.
		runtime.Gosched()
	}
}

// dotInt8Go is Σ a[i]·q[i] over len(q), the portable kernel.
func dotInt8Go(a []float32, q []int8) float32 {
	a = a[:len(q)]
	var s float32
	for i, v := range q {
		s += a[i] * float32(v)
	}
	return s
}
