//go:build unix

package embed

import (
	"syscall"
	"testing"
	"time"
)

// reportCPUPerOp adds "cpu-ns/op" (process CPU time, user + system, over b.N)
// next to wall-clock ns/op: on a shared machine wall time includes waiting for a core.
func reportCPUPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
