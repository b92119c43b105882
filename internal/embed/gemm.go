package embed

import "fmt"

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
func gemmAccGo(c, a []float32, m int, w matrix) {
	k, n := w.k, w.n
	for j := 0; j < n; j += panel {
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
