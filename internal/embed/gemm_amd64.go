//go:build !purego

package embed

import "golang.org/x/sys/cpu"

// The kernels in use are fixed by the CPU; these never change after start-up.
var (
	haveAVX512 = cpu.X86.HasAVX512F
	haveFMA    = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// gemm6x32 and gemm6x16 compute C[0:rows][0:32 or 16] += A[0:rows][0:k]·B[0:k][…]
// with leading dimensions in floats (see gemm_amd64.s).
//
//go:noescape
func gemm6x32(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, rows int)

//go:noescape
func gemm6x16(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, rows int)

// gemmAcc computes c [m][n] += a [m][k] · w (row-major c and a).
func gemmAcc(c, a []float32, m int, w matrix) {
	gemmAccWith(c, a, m, w, 0, w.n, haveAVX512, haveFMA)
}

// gemmAccCols is gemmAcc for the columns [j0, j1) of c only (whole panels).
func gemmAccCols(c, a []float32, m int, w matrix, j0, j1 int) {
	gemmAccWith(c, a, m, w, j0, j1, haveAVX512, haveFMA)
}

func gemmAccWith(c, a []float32, m int, w matrix, j0, j1 int, avx512, fma bool) {
	k, n := w.k, w.n
	if !(avx512 || fma) || m == 0 || k == 0 {
		gemmAccGoCols(c, a, m, w, j0, j1)
		return
	}
	_, _ = c[m*n-1], a[m*k-1] // the kernels trust these bounds
	// Panels outermost: one k×32 panel stays in cache while every 6-row block
	// of a passes over it.
	for j := j0; j < j1; j += panel {
		pn := w.p[j*k : (j+panel)*k]
		for i := 0; i < m; i += 6 {
			rows := min(6, m-i)
			if avx512 {
				gemm6x32(&c[i*n+j], n, &a[i*k], k, &pn[0], panel, k, rows)
			} else {
				gemm6x16(&c[i*n+j], n, &a[i*k], k, &pn[0], panel, k, rows)
				gemm6x16(&c[i*n+j+16], n, &a[i*k], k, &pn[16], panel, k, rows)
			}
		}
	}
}

//go:noescape
func dot16(a, b *float32, n int) float32

//go:noescape
func axpy16(dst *float32, alpha float32, x *float32, n int)

// dotVec is Σ a[i]·b[i] over len(a); b must be at least as long.
func dotVec(a, b []float32) float32 {
	n16 := len(a) &^ 15
	if !haveFMA || n16 == 0 {
		return dot(a, b)
	}
	b = b[:len(a)]
	s := dot16(&a[0], &b[0], n16)
	if n16 < len(a) {
		s += dot(a[n16:], b[n16:])
	}
	return s
}

// axpyVec is dst[i] += alpha·x[i] over len(dst); x must be at least as long.
func axpyVec(dst []float32, alpha float32, x []float32) {
	n16 := len(dst) &^ 15
	if !haveFMA || n16 == 0 {
		axpy(dst, alpha, x)
		return
	}
	x = x[:len(dst)]
	axpy16(&dst[0], alpha, &x[0], n16)
	if n16 < len(dst) {
		axpy(dst[n16:], alpha, x[n16:])
	}
}

//go:noescape
func axpyInt8x16(dst *float32, alpha float32, q *byte, n int)

// axpyInt8 is dst[i] += alpha·int8(q[i]) over len(dst); q must be at least as long.
func axpyInt8(dst []float32, alpha float32, q []byte) {
	n16 := len(dst) &^ 15
	if !haveFMA || n16 == 0 {
		axpyInt8Go(dst, alpha, q)
		return
	}
	q = q[:len(dst)]
	axpyInt8x16(&dst[0], alpha, &q[0], n16)
	if n16 < len(dst) {
		axpyInt8Go(dst[n16:], alpha, q[n16:])
	}
}

//go:noescape
func dotInt8x16(a *float32, q *int8, n int) float32

// dotInt8Vec is Σ a[i]·q[i] over len(q); a must be at least as long.
func dotInt8Vec(a []float32, q []int8) float32 {
	n16 := len(q) &^ 15
	if !haveFMA || n16 == 0 {
		return dotInt8Go(a, q)
	}
	a = a[:len(q)]
	s := dotInt8x16(&a[0], &q[0], n16)
	if n16 < len(q) {
		s += dotInt8Go(a[n16:], q[n16:])
	}
	return s
}
