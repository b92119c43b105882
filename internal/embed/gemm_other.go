//go:build !amd64 || purego

package embed

// gemmAcc computes c [m][n] += a [m][k] · w (row-major c and a).
func gemmAcc(c, a []float32, m int, w matrix) {
	gemmAccGo(c, a, m, w)
}

// gemmAccCols is gemmAcc for the columns [j0, j1) of c only (whole panels).
func gemmAccCols(c, a []float32, m int, w matrix, j0, j1 int) {
	gemmAccGoCols(c, a, m, w, j0, j1)
}

func dotVec(a, b []float32) float32 { return dot(a, b) }

func axpyVec(dst []float32, alpha float32, x []float32) { axpy(dst, alpha, x) }

func axpyInt8(dst []float32, alpha float32, q []byte) { axpyInt8Go(dst, alpha, q) }

func dotInt8Vec(a []float32, q []int8) float32 { return dotInt8Go(a, q) }
