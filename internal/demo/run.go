package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/gateway"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/report"
	"github.com/arbiterhq/arbiter/internal/server"
)

// Options configure a demo run.
type Options struct {
	Addr        string
	Requests    int
	Concurrency int
	Seed        uint64
	// Exit stops after the summary instead of serving until ctx ends.
	Exit bool
	// DataDir holds the demo's ledger; it is emptied first so that the figures are
	// this run's.
	DataDir string
	// Latency is the emulator's modelled latency (zero: answer at once).
	Latency emulator.Latency
	// Mounts are extra handlers (the dashboard), built once the server exists.
	Mounts func(s *server.Server) []gateway.Mount
	// LogFile receives the gateway's logs (nil: discarded).
	LogFile io.Writer
	Stdout  io.Writer
	Stderr  io.Writer
}

// Providers the demo serves through the emulator: the three native formats and the
// main OpenAI-compatible hosts of open models.
var demoProviders = []struct{ name, kind string }{
	{"openai", "openai"}, {"anthropic", "anthropic"}, {"gemini", "gemini"},
	{"groq", "openai"}, {"together", "openai"}, {"fireworks", "openai"},
	{"deepinfra", "openai"}, {"deepseek", "openai"}, {"mistral", "openai"},
}

// Config is the demo's configuration with every provider reached at emuURL.
func Config(emuURL, dataDir, adminKey string) *config.Config {
	yes := true
	c := &config.Config{
		Server:   config.Server{Addr: config.DefaultAddr, MaxBodyBytes: config.DefaultMaxBodyBytes, AdminKey: adminKey, DrainTimeout: config.Duration(5 * time.Second)},
		Ledger:   config.Ledger{DataDir: dataDir, FlushInterval: config.Duration(200 * time.Millisecond), BufferRecords: 100_000},
		Cache:    config.Cache{Enabled: &yes, MaxBytes: 64 << 20},
		Router:   config.Router{Baseline: "gpt-4o"},
		Executor: config.Executor{FirstByteTimeout: config.Duration(20 * time.Second)},
		Semantic: config.Semantic{Enabled: &yes},
		Routes: map[string]config.Route{
			// Pinned models fail over to a peer from another vendor, as the article's
			// author survived an OpenAI outage on Claude.
			"gpt-4o-mini": {Fallbacks: []string{"claude-3-5-haiku-latest"}},
			"gpt-4o":      {Fallbacks: []string{"claude-sonnet-4-5"}},
		},
	}
	for _, p := range demoProviders {
		base := emuURL + "/v1"
		if p.kind != "openai" {
			base = emuURL
		}
		c.Providers = append(c.Providers, config.Provider{Name: p.name, Kind: p.kind, BaseURL: base, APIKey: "emulator-key-" + p.name})
	}
	return c
}

// Run starts the emulator and the gateway, sends the workload, prints the summary
// from the ledger and then serves until ctx ends (or returns, with Exit).
func Run(ctx context.Context, o Options) error {
	if o.Requests <= 0 {
		o.Requests = 300
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Seed == 0 {
		o.Seed = 7
	}
	stdout, stderr := o.Stdout, o.Stderr
	logw := o.LogFile
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The emulator plays every provider on a loopback port of its own.
	emu := emulator.New(emulator.Config{Latency: o.Latency, Seed: o.Seed})
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	esrv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go esrv.Serve(eln)
	defer esrv.Close()

	if err := os.RemoveAll(o.DataDir); err != nil {
		return fmt.Errorf("clear demo data dir: %w", err)
	}
	adminKey := newKey()
	cfg := Config("http://"+eln.Addr().String(), o.DataDir, adminKey)
	cfg.Server.Addr = o.Addr
	srv, err := server.New(ctx, cfg, server.Options{Logger: log, Mounts: o.Mounts})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		srv.Close(context.Background())
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", o.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(sctx, ln, 5*time.Second) }()
	shutdown := func() error {
		stop()
		return <-served
	}

	fmt.Fprintf(stdout, "Arbiter demo: gateway on %s, %d providers played by the built-in emulator (no keys, no network).\n", base, len(demoProviders))
	wl := workload(o.Requests, o.Seed)
	fmt.Fprintf(stdout, "Sending %d requests (%d at a time, plus bursts of identical ones): repeats, rephrasings, streams, OpenAI and Anthropic clients, auto-routed and pinned models.\n\n", total(wl), o.Concurrency)
	start := time.Now()
	res := send(ctx, base, wl, o.Concurrency, stderr)
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		shutdown()
		return ctx.Err()
	}
	// The ledger writes in the background; wait for this run's records.
	if err := waitLedger(ctx, srv.Ledger, res.sent); err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	if err := printSummary(ctx, stdout, srv.Store, start, res, elapsed); err != nil {
		shutdown()
		return err
	}
	if o.Exit {
		return shutdown()
	}
	fmt.Fprintf(stdout, "\nArbiter keeps serving on %s until Ctrl-C. Try:\n\n", base)
	fmt.Fprintf(stdout, "  curl -s %s/v1/chat/completions -H 'Content-Type: application/json' \\\n    -d '{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of Australia?\"}]}' -D - \n\n", base)
	fmt.Fprintf(stdout, "  Dashboard:  %s/dashboard/   (admin key: %s)\n", base, adminKey)
	fmt.Fprintf(stdout, "  Metrics:    %s/metrics\n", base)
	fmt.Fprintf(stdout, "  Report:     arbiter report --data-dir %s\n", o.DataDir)
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping…")
	return shutdown()
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "arb-admin-" + hex.EncodeToString(b)
}

type results struct {
	sent, ok, failed int
	byStatus         map[int]int
	firstErr         string
}

// send runs the workload with a progress bar on w.
func send(ctx context.Context, base string, reqs []request, conc int, w io.Writer) results {
	client := &http.Client{Timeout: 60 * time.Second}
	total := total(reqs)
	var done, failed atomic.Int64
	var mu sync.Mutex
	res := results{byStatus: map[int]int{}}
	jobs := make(chan request)
	var wg sync.WaitGroup
	one := func(r request) {
		status, err := call(ctx, client, base, r)
		mu.Lock()
		res.sent++
		res.byStatus[status]++
		if err != nil {
			res.failed++
			failed.Add(1)
			if res.firstErr == "" {
				res.firstErr = err.Error()
			}
		} else {
			res.ok++
		}
		mu.Unlock()
		done.Add(1)
	}
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				if r.burst > 0 {
					var bw sync.WaitGroup
					for j := 0; j < r.burst; j++ {
						bw.Add(1)
						go func() { defer bw.Done(); one(r) }()
					}
					bw.Wait()
					continue
				}
				one(r)
			}
		}()
	}
	stopBar := make(chan struct{})
	barDone := make(chan struct{})
	go func() {
		defer close(barDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			progress(w, int(done.Load()), total, int(failed.Load()))
			select {
			case <-stopBar:
				progress(w, int(done.Load()), total, int(failed.Load()))
				fmt.Fprintln(w)
				return
			case <-t.C:
			}
		}
	}()
	for _, r := range reqs {
		select {
		case jobs <- r:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	close(stopBar)
	<-barDone
	return res
}

// total counts the HTTP requests of a workload, bursts included.
func total(reqs []request) int {
	n := 0
	for _, r := range reqs {
		n += max(r.burst, 1)
	}
	return n
}

func progress(w io.Writer, done, total, failed int) {
	const width = 40
	n := width * done / max(total, 1)
	fmt.Fprintf(w, "\r  [%s%s] %d/%d requests", strings.Repeat("█", n), strings.Repeat("░", width-n), done, total)
	if failed > 0 {
		fmt.Fprintf(w, " (%d failed)", failed)
	}
}

// call sends one request in the OpenAI or Anthropic format and reads the answer.
func call(ctx context.Context, client *http.Client, base string, r request) (int, error) {
	tp := topics[r.topic]
	var url string
	body := map[string]any{"model": r.model, "max_tokens": 512, "temperature": 0}
	if r.stream {
		body["stream"] = true
	}
	if r.anthropic {
		url = base + "/v1/messages"
		body["messages"] = []map[string]any{{"role": "user", "content": r.text}}
		if tp.system != "" {
			body["system"] = tp.system
		}
	} else {
		url = base + "/v1/chat/completions"
		var msgs []map[string]any
		if tp.system != "" {
			msgs = append(msgs, map[string]any{"role": "system", "content": tp.system})
		}
		body["messages"] = append(msgs, map[string]any{"role": "user", "content": r.text})
	}
	if tp.wantsTools {
		body["tools"] = demoTools(r.anthropic)
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.anthropic {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s %d: %s", url, resp.StatusCode, bytes.TrimSpace(data))
	}
	if r.stream && !(bytes.Contains(data, []byte("[DONE]")) || bytes.Contains(data, []byte("message_stop"))) {
		return resp.StatusCode, fmt.Errorf("stream ended without its end marker")
	}
	return resp.StatusCode, nil
}

func demoTools(anthropicFormat bool) []map[string]any {
	weather := map[string]any{
		"type": "object", "required": []string{"city"},
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}}},
	}
	order := map[string]any{
		"type": "object", "required": []string{"order_id"},
		"properties": map[string]any{"order_id": map[string]any{"type": "string"}},
	}
	if anthropicFormat {
		return []map[string]any{
			{"name": "get_weather", "description": "Current weather for a city", "input_schema": weather},
			{"name": "get_order_status", "description": "Status of an order", "input_schema": order},
		}
	}
	return []map[string]any{
		{"type": "function", "function": map[string]any{"name": "get_weather", "description": "Current weather for a city", "parameters": weather}},
		{"type": "function", "function": map[string]any{"name": "get_order_status", "description": "Status of an order", "parameters": order}},
	}
}

func waitLedger(ctx context.Context, w *ledger.Writer, want int) error {
	if w == nil {
		return errors.New("ledger disabled")
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st := w.Stats()
		if st.Queued == 0 && int(st.Written)+int(st.Dropped()) >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("ledger did not catch up within 15s; the summary may be incomplete")
}

func printSummary(ctx context.Context, w io.Writer, store ledger.Store, start time.Time, res results, elapsed time.Duration) error {
	q := ledger.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)}
	total, err := store.Summary(ctx, q)
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	q.GroupBy = ledger.ByModel
	byModel, err := store.Summary(ctx, q)
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	q.GroupBy = ledger.ByCache
	byCache, err := store.Summary(ctx, q)
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	t := total.Totals
	fmt.Fprintf(w, "\nDone in %s: %d requests, %d answered, %d failed.\n", elapsed.Round(time.Millisecond), res.sent, res.ok, res.failed)
	if res.firstErr != "" {
		fmt.Fprintf(w, "First failure: %s\n", res.firstErr)
	}
	fmt.Fprintln(w, "\nFrom the ledger:")
	report.Savings(w, t)

	fmt.Fprintln(w, "\nBy cache status:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  status\trequests\tshare\t\n")
	for _, g := range byCache.Groups {
		fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t\n", g.Key, g.Totals.Requests, 100*float64(g.Totals.Requests)/float64(max(t.Requests, 1)))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nBy served model (spend, and what the baseline gpt-4o would have cost):")
	report.ByModel(w, byModel.Groups)
	return nil
}

// DefaultDataDir is where the demo keeps its ledger.
func DefaultDataDir() string { return filepath.Join(server.DefaultDataDir(), "demo") }
