package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/ledger"
)

// TestChaosEveryRequestSucceedsWhileOneDeploymentIsHealthy runs a bounded load of
// mixed streaming and non-streaming requests against three providers serving the
// same model, each failing 30 % of its requests at random (429 with Retry-After, 500,
// 529, hangs, streams cut before the first byte). Every request must succeed, none
// may be answered twice upstream, and the ledger's attempts must match what the
// emulators saw.
func TestChaosEveryRequestSucceedsWhileOneDeploymentIsHealthy(t *testing.T) {
	const n, conc = 2000, 32
	if testing.Short() {
		t.Skip("chaos test is not short")
	}
	providers := []string{"groq", "together", "deepinfra"}
	emus := map[string]*emulator.Emulator{}
	cfg := &config.Config{
		Server: config.Server{Addr: "127.0.0.1:0", MaxBodyBytes: config.DefaultMaxBodyBytes},
		Ledger: config.Ledger{DataDir: t.TempDir(), FlushInterval: config.Duration(100 * time.Millisecond), BufferRecords: 100_000},
		Router: config.Router{Baseline: "gpt-4o"},
		Executor: config.Executor{
			MaxAttempts: 12, RetriesPerDeployment: 3,
			BackoffBase: config.Duration(5 * time.Millisecond), BackoffMax: config.Duration(50 * time.Millisecond),
			MaxRetryAfter: config.Duration(time.Second), FirstByteTimeout: config.Duration(time.Second),
			IdleTimeout: config.Duration(2 * time.Second),
			Breaker:     config.Breaker{ConsecutiveFailures: 6, ErrorRate: 0.9, MinRequests: 50, Window: config.Duration(10 * time.Second), CoolDown: config.Duration(500 * time.Millisecond)},
		},
	}
	off := false
	cfg.Cache.Enabled = &off // every request must reach a provider
	for i, p := range providers {
		spec := emulator.MustParseFaults(fmt.Sprintf("rate=0.3;kinds=429,500,529,hang,cut;retry_after=0.05;seed=%d", i+1))
		emu := emulator.New(emulator.Config{Faults: spec, Seed: uint64(100 + i)})
		srv := httptest.NewServer(emu)
		t.Cleanup(srv.Close)
		emus[p] = emu
		cfg.Providers = append(cfg.Providers, config.Provider{Name: p, Kind: "openai", BaseURL: srv.URL + "/v1", APIKey: "sk-" + p, Models: []string{"llama-3.3-70b"}})
	}
	arb, err := New(context.Background(), cfg, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(arb.Handler())
	t.Cleanup(func() { srv.Close(); arb.Close(context.Background()) })

	client := &http.Client{Timeout: 30 * time.Second}
	var failed, next atomic.Int64
	lat := make([]time.Duration, n)
	var firstErr sync.Once
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
				stream := i%2 == 0
				body := fmt.Sprintf(`{"model":"llama-3.3-70b","stream":%v,"messages":[{"role":"user","content":"chaos request %d: name a river"}]}`, stream, i)
				start := time.Now()
				resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
				var b []byte
				if err == nil {
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(start)
				ok := err == nil && resp.StatusCode == 200 &&
					((stream && bytes.HasSuffix(bytes.TrimSpace(b), []byte("data: [DONE]")) && !bytes.Contains(b, []byte(`"error"`))) ||
						(!stream && bytes.Contains(b, []byte(`"finish_reason":"stop"`))))
				if !ok {
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("request %d failed: %v %s", i, err, b) })
				}
			}
		}()
	}
	wg.Wait()

	// Wait for the ledger to hold every request, then compare with the emulators.
	deadline := time.Now().Add(10 * time.Second)
	for arb.Ledger.Stats().Written < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var recs []ledger.Record
	cursor := ""
	for {
		page, err := arb.Store.Requests(context.Background(), ledger.RequestFilter{}, cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, page.Records...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	var attempts, multi, timeouts int
	var single, failover []time.Duration
	for _, r := range recs {
		attempts += len(r.Attempts)
		for _, a := range r.Attempts {
			if a.ErrorKind == "timeout" {
				timeouts++
			}
		}
		if len(r.Attempts) > 1 {
			multi++
			failover = append(failover, r.Latency)
		} else {
			single = append(single, r.Latency)
		}
	}
	var upstreamReqs, upstreamOK, faults int64
	faultKinds := map[string]int64{}
	for _, e := range emus {
		st := e.Stats().Total
		upstreamReqs += st.Requests
		upstreamOK += st.Succeeded
		faults += st.FaultsTotal()
		for k, v := range st.Faults {
			faultKinds[k] += v
		}
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), n)
	}
	if len(recs) != n {
		t.Fatalf("ledger holds %d records for %d requests", len(recs), n)
	}
	// Each request is answered by exactly one attempt; an upstream may also finish an
	// answer Arbiter had already given up on (a first-byte timeout on a slow machine),
	// which must show in the ledger as a timed-out attempt.
	if upstreamOK < n || upstreamOK-n > int64(timeouts) {
		t.Fatalf("upstreams answered %d requests successfully for %d client requests with %d timed-out attempts", upstreamOK, n, timeouts)
	}
	// Every attempt reached an emulator, except attempts that timed out before the
	// request got there (a loaded machine can take longer than the first-byte
	// timeout to deliver it); nothing reached an emulator without being recorded.
	if int64(attempts) < upstreamReqs || int64(attempts)-upstreamReqs > int64(timeouts) {
		t.Fatalf("ledger counts %d attempts (%d timed out), emulators saw %d requests", attempts, timeouts, upstreamReqs)
	}
	p99 := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)*99/100]
	}
	t.Logf("chaos: %d requests (%d streamed), %d upstream attempts, %d injected faults %v, success %d/%d; %d requests failed over; %d upstream successes (%d timed-out attempts); p99 latency %s without failover, %s with",
		n, n/2, upstreamReqs, faults, faultKinds, n-int(failed.Load()), n, multi, upstreamOK, timeouts, p99(single), p99(failover))
}
