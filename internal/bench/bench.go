// Package bench measures what Arbiter adds to a request, side by side in one run
// against the same zero-latency emulated upstream: a direct call, a bare
// net/http/httputil.ReverseProxy hop (the floor for any Go proxy), and Arbiter with
// everything on its request path enabled (auth, decoding, cache lookup and store,
// coalescing, executor, ledger, metrics).
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/server"
)

// Target is one way of reaching the upstream.
type Target struct {
	Name string
	URL  string // base URL ending in /v1
}

// Env is a running emulator, reverse proxy and Arbiter.
type Env struct {
	Targets []Target
	closers []func()
}

func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// Start brings up the three targets. dataDir holds Arbiter's ledger.
func Start(ctx context.Context, dataDir string) (*Env, error) {
	e := &Env{}
	emuURL, stop, err := listen(emulator.New(emulator.Config{}))
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, stop)
	u, _ := url.Parse(emuURL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = transport()
	rp.FlushInterval = -1 // flush at once, as a streaming proxy must
	proxyURL, stop, err := listen(rp)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.closers = append(e.closers, stop)

	yes := true
	cfg := &config.Config{
		Server:    config.Server{Addr: "127.0.0.1:0", MaxBodyBytes: config.DefaultMaxBodyBytes},
		Providers: []config.Provider{{Name: "openai", Kind: "openai", BaseURL: emuURL + "/v1", APIKey: "bench"}},
		Cache:     config.Cache{Enabled: &yes, MaxBytes: 64 << 20},
		Ledger:    config.Ledger{DataDir: dataDir, FlushInterval: config.Duration(500 * time.Millisecond), BufferRecords: 1_000_000},
		Router:    config.Router{Baseline: "gpt-4o"},
	}
	srv, err := server.New(ctx, cfg, server.Options{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		HTTPClient: &http.Client{Transport: transport()},
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	arbURL, stop, err := listen(srv.Handler())
	if err != nil {
		srv.Close(context.Background())
		e.Close()
		return nil, err
	}
	e.closers = append(e.closers, func() { stop(); srv.Close(context.Background()) })
	e.Targets = []Target{{"direct", emuURL + "/v1"}, {"reverseproxy", proxyURL + "/v1"}, {"arbiter", arbURL + "/v1"}}
	return e, nil
}

func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
	return t
}

// Close stops everything.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// Body returns the i-th request body: every one distinct, so that nothing is a cache
// hit and every target does the same upstream work.
func Body(i int, stream bool) []byte {
	s := `{"model":"gpt-4o-mini","max_tokens":64,"temperature":0,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Benchmark request number ` + strconv.Itoa(i) + `: name a colour."}]`
	if stream {
		s += `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return []byte(s + "}")
}

// Client is the load generator's HTTP client.
func Client() *http.Client { return &http.Client{Transport: transport()} }

// Do sends one request and reads the whole answer; it returns the time to the first
// body byte and the total.
func Do(ctx context.Context, c *http.Client, base string, body []byte) (ttfb, total time.Duration, err error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/completions", bytesReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer bench")
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var buf [4096]byte
	n, rerr := resp.Body.Read(buf[:])
	ttfb = time.Since(start)
	for rerr == nil && n >= 0 {
		n, rerr = resp.Body.Read(buf[:])
	}
	if rerr != io.EOF {
		return 0, 0, rerr
	}
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return ttfb, time.Since(start), nil
}

type bodyReader struct {
	b []byte
	i int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &bodyReader{b: b} }

// Result is one target at one concurrency.
type Result struct {
	Target      string
	Concurrency int
	Stream      bool
	Requests    int
	Errors      int
	P50, P99    time.Duration // latency (total)
	TTFB50      time.Duration
	Throughput  float64       // requests per second
	CPUPerReq   time.Duration // whole process (client + upstream + hop)
	PeakHeap    uint64
}

// Run sends n requests at the given concurrency to one target.
func Run(ctx context.Context, c *http.Client, t Target, n, conc int, stream bool, offset int) Result {
	lat := make([]time.Duration, n)
	ttfbs := make([]time.Duration, n)
	var next, errs atomic.Int64
	var peak atomic.Uint64
	stopSample := make(chan struct{})
	var sw sync.WaitGroup
	sw.Add(1)
	go func() {
		defer sw.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stopSample:
				return
			case <-tk.C:
			}
		}
	}()
	runtime.GC()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				tb, tot, err := Do(ctx, c, t.URL, Body(offset+i, stream))
				if err != nil {
					errs.Add(1)
				}
				lat[i], ttfbs[i] = tot, tb
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	close(stopSample)
	sw.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(ttfbs, func(i, j int) bool { return ttfbs[i] < ttfbs[j] })
	return Result{
		Target: t.Name, Concurrency: conc, Stream: stream, Requests: n, Errors: int(errs.Load()),
		P50: lat[n/2], P99: lat[n*99/100], TTFB50: ttfbs[n/2],
		Throughput: float64(n) / elapsed.Seconds(), CPUPerReq: cpu / time.Duration(n), PeakHeap: peak.Load(),
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report runs every target at every concurrency and prints the table with the added
// cost of each hop relative to the direct call, and Arbiter's ratio to the bare hop.
func Report(ctx context.Context, w io.Writer, n int, concs []int, stream bool) error {
	dir, err := os.MkdirTemp("", "arbiter-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := Start(ctx, dir)
	if err != nil {
		return err
	}
	defer env.Close()
	c := Client()
	mode := "non-streaming"
	if stream {
		mode = "streaming"
	}
	fmt.Fprintf(w, "%s, %d requests per cell, zero-latency emulated upstream, GOMAXPROCS=%d\n", mode, n, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%-13s %5s %10s %10s %10s %10s %12s %14s %14s %10s\n", "target", "conc", "p50", "p99", "ttfb p50", "req/s", "cpu/req", "added p50", "added cpu/req", "peak heap")
	offset := 0
	for _, conc := range concs {
		// Warm connections and caches of code paths, then measure each target in turn.
		for _, t := range env.Targets {
			Run(ctx, c, t, min(n, 200), conc, stream, 1_000_000_000+offset)
			offset += n
		}
		var direct Result
		var added = map[string][2]time.Duration{}
		for _, t := range env.Targets {
			r := Run(ctx, c, t, n, conc, stream, offset)
			offset += n
			if t.Name == "direct" {
				direct = r
			}
			ap, ac := r.P50-direct.P50, r.CPUPerReq-direct.CPUPerReq
			added[t.Name] = [2]time.Duration{ap, ac}
			fmt.Fprintf(w, "%-13s %5d %10s %10s %10s %10.0f %12s %14s %14s %9.1fM\n", r.Target, conc, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond),
				r.TTFB50.Round(time.Microsecond), r.Throughput, r.CPUPerReq.Round(time.Microsecond), ap.Round(time.Microsecond), ac.Round(time.Microsecond), float64(r.PeakHeap)/1e6)
			if r.Errors > 0 {
				fmt.Fprintf(w, "  %d errors\n", r.Errors)
			}
		}
		rp, ar := added["reverseproxy"], added["arbiter"]
		if rp[1] > 0 {
			fmt.Fprintf(w, "  conc %d: Arbiter's added CPU/request is %.2f× the bare hop's; added p50 latency %.2f×\n", conc, float64(ar[1])/float64(rp[1]), float64(ar[0])/float64(max(rp[0], 1)))
		}
	}
	return nil
}
