package embed

// gemmAcc computes c += a·b for row-major a [m][k], b [k][n], c [m][n].
func gemmAcc(c, a, b []float32, m, k, n int) {
	gemmAccGo(c, a, b, m, k, n)
}

// gemmAccGo is the portable kernel: four rows of c at a time, so each row of b
// is loaded once per four rows and the inner loop is a straight axpy.
func gemmAccGo(c, a, b []float32, m, k, n int) {
	i := 0
	for ; i+4 <= m; i += 4 {
		c0 := c[i*n : i*n+n]
		c1 := c[(i+1)*n : (i+1)*n+n]
		c2 := c[(i+2)*n : (i+2)*n+n]
		c3 := c[(i+3)*n : (i+3)*n+n]
		a0, a1, a2, a3 := a[i*k:i*k+k], a[(i+1)*k:(i+1)*k+k], a[(i+2)*k:(i+2)*k+k], a[(i+3)*k:(i+3)*k+k]
		for p := 0; p < k; p++ {
			br := b[p*n : p*n+n]
			x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
			c0, c1, c2, c3 := c0[:len(br)], c1[:len(br)], c2[:len(br)], c3[:len(br)]
			for j, bv := range br {
				c0[j] += x0 * bv
				c1[j] += x1 * bv
				c2[j] += x2 * bv
				c3[j] += x3 * bv
			}
		}
	}
	for ; i < m; i++ {
		ci := c[i*n : i*n+n]
		for p, x := range a[i*k : i*k+k] {
			axpy(ci, x, b[p*n:p*n+n])
		}
	}
}
