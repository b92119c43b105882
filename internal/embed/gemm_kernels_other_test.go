//go:build !amd64 || purego

package embed

type gemmKernel struct {
	name string
	fn   func(c, a []float32, m int, w matrix)
}

func gemmKernels() []gemmKernel { return []gemmKernel{{"go", gemmAccGo}} }
