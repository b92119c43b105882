package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
)

// The crash tests run the real binary: `arbiter emulate` and `arbiter serve` as child
// processes, a bounded load from several clients, then the gateway is stopped mid-load
// by SIGKILL (it may lose the records it had not yet flushed, no more) or by SIGTERM
// (it drains and flushes: it loses none). The ledger is then read straight from its
// SQLite files and compared with the 200 responses the clients received.

const (
	crashFlushInterval = 200 * time.Millisecond
	crashClients       = 8
	crashBudget        = 900 // requests at most, per run
	crashStopAfter     = 450 // stop the gateway once this many responses arrived
	// crashSlack covers what separates a client's clock from the writer's: the
	// response reaches the client just before the gateway hands the record to the
	// writer, and the writer's take follows its tick by a scheduling delay.
	crashSlack = 50 * time.Millisecond
)

// loadResult is what the clients saw.
type loadResult struct {
	received []time.Duration // arrival of each complete 200 answer, since the load began
	stopAt   time.Duration   // when the gateway was signalled
	early    []error         // failures before the signal (there must be none)
}

func TestCrashKill9LosesAtMostTheFlushWindowCleanShutdownLosesNone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "arbiter")
	build := exec.Command("go", "build", "-o", bin, "github.com/arbiterhq/arbiter/cmd/arbiter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	emuURL := startEmulator(t, bin)

	t.Run("kill -9", func(t *testing.T) {
		dir := t.TempDir()
		gw, base := startGateway(t, bin, emuURL, dir)
		res := drive(t, base, func() { gw.Process.Signal(syscall.SIGKILL) })
		gw.Wait()
		records, ok := countRecords(t, dir)

		// What a kill can lose: the records handed to the writer since its last take
		// (at most one interval) and the batch it took then and was still inserting
		// (one interval more). Count the responses that arrived in that window, and
		// after the kill, straight from the clients' clocks.
		window := 2*crashFlushInterval + crashSlack
		atRisk := 0
		for _, at := range res.received {
			if at >= res.stopAt-window {
				atRisk++
			}
		}
		received := len(res.received)
		lost := received - records
		elapsed := res.stopAt.Seconds()
		rate := float64(crashStopAfter) / elapsed
		rateBound := int(math.Ceil(rate*window.Seconds())) + crashClients
		t.Logf("kill -9 after %.2fs at %.0f responses/s: %d responses received, %d records in the ledger, %d lost; "+
			"flush interval %s, responses in the last %s: %d (rate bound %d)",
			elapsed, rate, received, records, lost, crashFlushInterval, window, atRisk, rateBound)
		if records != ok {
			t.Errorf("%d records, %d of them with status 200: the load has no errors", records, ok)
		}
		if lost > atRisk {
			t.Errorf("lost %d records, more than the %d responses of the last %s before the kill", lost, atRisk, window)
		}
		// A record can exist without its response (the kill closed the connection as
		// the answer left), one per client at most.
		if lost < -crashClients {
			t.Errorf("%d records more than responses, with %d clients", -lost, crashClients)
		}
		if records == 0 {
			t.Error("nothing was flushed before the kill")
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		gw, base := startGateway(t, bin, emuURL, dir)
		res := drive(t, base, func() { gw.Process.Signal(syscall.SIGTERM) })
		if err := gw.Wait(); err != nil {
			t.Errorf("gateway exit after SIGTERM: %v", err)
		}
		records, ok := countRecords(t, dir)
		t.Logf("SIGTERM after %.2fs: %d responses received, %d records in the ledger", res.stopAt.Seconds(), len(res.received), records)
		if records != len(res.received) || ok != records {
			t.Errorf("clean shutdown: %d responses received, %d records (%d with status 200); want all of them", len(res.received), records, ok)
		}
	})
}

// startEmulator runs `arbiter emulate` on a free loopback port and returns its URL.
func startEmulator(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "emulate", "--addr", "127.0.0.1:0", "--ttft", "5ms", "--per-token", "20us")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "emulator listening on "); ok {
			go io.Copy(io.Discard, out) // keep its stdout drained
			return strings.TrimSpace(u)
		}
	}
	t.Fatalf("the emulator did not start: %v", sc.Err())
	return ""
}

var servingAddr = regexp.MustCompile(`msg="arbiter serving".* addr=(http://\S+)`)

// startGateway runs `arbiter serve` with its ledger in dir and a 200ms flush
// interval, and returns the process and its base URL.
func startGateway(t *testing.T, bin, emuURL, dir string) (*exec.Cmd, string) {
	t.Helper()
	cfgPath := filepath.Join(dir, "arbiter.yaml")
	cfg := fmt.Sprintf(`server:
  addr: 127.0.0.1:0
  drain_timeout: 20s
providers:
  - name: openai
    base_url: %s/v1
    api_key: sk-crash-test
cache:
  enabled: false
ledger:
  data_dir: %s
  flush_interval: %s
`, emuURL, filepath.Join(dir, "data"), crashFlushInterval)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// One log line per request: read them all, or the gateway blocks on a full pipe.
	addr := make(chan string, 1)
	var tail bytes.Buffer
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			if m := servingAddr.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				tailMu.Lock()
				tail.WriteString(line + "\n")
				tailMu.Unlock()
			}
		}
		close(addr)
	}()
	t.Cleanup(func() {
		tailMu.Lock()
		defer tailMu.Unlock()
		if t.Failed() && tail.Len() > 0 {
			t.Logf("gateway warnings:\n%s", tail.String())
		}
	})
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("the gateway exited before serving")
		}
		return cmd, a
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not start within 30s")
	}
	return nil, ""
}

// drive runs crashClients clients sending up to crashBudget requests (one in three a
// stream), calls stop once crashStopAfter answers have arrived, and returns when
// every client has stopped: at the budget, or at its first failure after stop.
func drive(t *testing.T, base string, stop func()) loadResult {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: crashClients}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		mu       sync.Mutex
		res      loadResult
		issued   atomic.Int64
		stopped  atomic.Bool
		stopOnce sync.Once
		wg       sync.WaitGroup
	)
	start := time.Now()
	for c := range crashClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := issued.Add(1)
				if n > crashBudget {
					return
				}
				err := oneRequest(client, base, fmt.Sprintf("client %d request %d: summarise the quarterly ledger.", c, n), n%3 == 0)
				at := time.Since(start)
				mu.Lock()
				if err == nil {
					res.received = append(res.received, at)
				} else if !stopped.Load() {
					res.early = append(res.early, err)
				}
				got := len(res.received)
				mu.Unlock()
				if err != nil {
					return
				}
				if got >= crashStopAfter {
					stopOnce.Do(func() {
						mu.Lock()
						res.stopAt = time.Since(start)
						mu.Unlock()
						stopped.Store(true)
						stop()
					})
				}
			}
		}()
	}
	wg.Wait()
	if !stopped.Load() {
		t.Fatalf("the load ended (%d answers) before the gateway was stopped", len(res.received))
	}
	if len(res.early) > 0 {
		t.Fatalf("%d requests failed before the gateway was stopped, first: %v", len(res.early), res.early[0])
	}
	sort.Slice(res.received, func(i, j int) bool { return res.received[i] < res.received[j] })
	return res
}

// oneRequest sends a chat request and reads the whole answer; it succeeds only for
// a 200 whose body (or stream, to its end marker) arrived in full.
func oneRequest(client *http.Client, base, prompt string, stream bool) error {
	body := fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":40,"stream":%v,"messages":[{"role":"user","content":%q}]}`, stream, prompt)
	req, err := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-client")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if stream && !bytes.Contains(b, []byte("data: [DONE]")) {
		return fmt.Errorf("stream without its end marker")
	}
	return nil
}

// countRecords opens the SQLite ledger the gateway left behind and counts its records,
// and those with status 200.
func countRecords(t *testing.T, dir string) (all, ok int) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatalf("open the ledger after the gateway stopped: %v", err)
	}
	defer st.Close()
	cursor := ""
	for {
		page, err := st.Requests(ctx, ledger.RequestFilter{}, cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			all++
			if r.Status == http.StatusOK {
				ok++
			}
		}
		if page.Next == "" {
			return all, ok
		}
		cursor = page.Next
	}
}
