package bench

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkHop compares a direct call, a bare reverse-proxy hop and Arbiter against
// the same zero-latency emulator. Compare the sub-benchmarks with benchstat:
//
//	go test -run XXX -bench Hop -benchmem -count 6 ./internal/bench | tee hop.txt
//
// ns/op is wall time per request at GOMAXPROCS parallelism; the whole process (load
// generator, upstream and hop) shares the CPU, so the difference between targets is
// what the hop costs.
func BenchmarkHop(b *testing.B) {
	env, err := Start(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	c := Client()
	var seq atomic.Int64
	for _, stream := range []bool{false, true} {
		mode := "json"
		if stream {
			mode = "stream"
		}
		for _, t := range env.Targets {
			b.Run(mode+"/"+t.Name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, _, err := Do(context.Background(), c, t.URL, Body(int(seq.Add(1)), stream)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

func TestEveryTargetAnswersTheSameRequest(t *testing.T) {
	env, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	c := Client()
	for _, stream := range []bool{false, true} {
		for _, tg := range env.Targets {
			if _, _, err := Do(context.Background(), c, tg.URL, Body(1, stream)); err != nil {
				t.Errorf("%s (stream=%v): %v", tg.Name, stream, err)
			}
		}
	}
}

// BenchmarkCacheHit compares an exact cache hit in Arbiter (in memory) with a direct
// call to the zero-latency emulator: the same request body, repeated.
//
//	go test -run XXX -bench CacheHit -benchmem -count 6 ./internal/bench
func BenchmarkCacheHit(b *testing.B) {
	env, err := Start(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	c := Client()
	body := Body(-1, false)
	for _, t := range env.Targets {
		if t.Name == "reverseproxy" {
			continue
		}
		if _, _, err := Do(context.Background(), c, t.URL, body); err != nil { // warm the entry
			b.Fatal(err)
		}
		b.Run(t.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := Do(context.Background(), c, t.URL, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
