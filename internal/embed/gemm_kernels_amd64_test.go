//go:build !purego

package embed

type gemmKernel struct {
	name string
	fn   func(c, a []float32, m int, w matrix)
}

// gemmKernels lists every kernel this CPU can run, so each is tested here.
func gemmKernels() []gemmKernel {
	ks := []gemmKernel{{"go", gemmAccGo}}
	if haveFMA {
		ks = append(ks, gemmKernel{"avx2", func(c, a []float32, m int, w matrix) { gemmAccWith(c, a, m, w, 0, w.n, false, true) }})
	}
	if haveAVX512 {
		ks = append(ks, gemmKernel{"avx512", func(c, a []float32, m int, w matrix) { gemmAccWith(c, a, m, w, 0, w.n, true, false) }})
	}
	return ks
}
