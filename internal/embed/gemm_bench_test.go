package embed

import (
	"testing"
)

// BenchmarkGemm measures each kernel on the model's largest shape at 30 rows.
func BenchmarkGemm(b *testing.B) {
	const m, k, n = 30, 512, ffnWidth
	a, c := make([]float32, m*k), make([]float32, m*n)
	w, err := packMatrix(make([]float32, k*n), k, n)
	if err != nil {
		b.Fatal(err)
	}
	for _, kern := range gemmKernels() {
		b.Run(kern.name, func(b *testing.B) {
			for b.Loop() {
				kern.fn(c, a, m, w)
			}
			b.ReportMetric(float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
