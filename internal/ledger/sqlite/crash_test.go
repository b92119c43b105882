package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

// The crash tests run this test binary again as a child that writes records through
// a Writer into a SQLite ledger, then either is killed with SIGKILL or shuts down.
const childEnv = "ARBITER_LEDGER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

const (
	childBatch   = 100
	childRecords = 5050 // 50 whole batches and a partial one
)

// crashChild records childRecords records with a flush interval far longer than the
// test, so that only whole batches are written; then it reports and either waits to
// be killed ("kill") or closes the writer cleanly ("close").
func crashChild(spec string) int {
	mode, dir, _ := strings.Cut(spec, ":")
	ctx := context.Background()
	st, err := Open(ctx, dir)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	w := ledger.NewWriter(st, ledger.WriterOptions{FlushInterval: time.Hour, BatchSize: childBatch,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range childRecords {
		w.Record(ledger.Record{Time: t0.Add(time.Duration(i) * time.Millisecond), RequestID: fmt.Sprint(i)})
	}
	if mode == "close" {
		if err := w.Close(ctx); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		st.Close()
		fmt.Println("closed")
		return 0
	}
	for w.Stats().Written < childRecords/childBatch*childBatch {
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("written=%d\n", w.Stats().Written)
	select {} // wait for SIGKILL
}

func runChild(t *testing.T, mode, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode+":"+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		cmd.Process.Kill()
		t.Fatalf("child: %q %v", line, err)
	}
	if mode == "kill" {
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no flush
			t.Fatal(err)
		}
	}
	cmd.Wait()
}

func storedIDs(t *testing.T, dir string) int {
	t.Helper()
	st, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n, maxID int
	if err := st.DB.QueryRow("SELECT COUNT(*), COALESCE(MAX(CAST(request_id AS INTEGER)), -1) FROM requests").Scan(&n, &maxID); err != nil {
		t.Fatal(err)
	}
	if n > 0 && maxID != n-1 {
		t.Fatalf("stored %d records but the highest id is %d: a committed record went missing", n, maxID)
	}
	return n
}

func TestKill9LosesOnlyRecordsNotYetFlushed(t *testing.T) {
	dir := t.TempDir()
	runChild(t, "kill", dir)
	// Every flushed batch survived; the partial batch still waiting for its flush
	// interval was lost, and nothing else.
	if n := storedIDs(t, dir); n != childRecords/childBatch*childBatch {
		t.Fatalf("after kill -9: %d records stored, want %d", n, childRecords/childBatch*childBatch)
	}
}

func TestCleanShutdownLosesNothing(t *testing.T) {
	dir := t.TempDir()
	runChild(t, "close", dir)
	if n := storedIDs(t, dir); n != childRecords {
		t.Fatalf("after a clean shutdown: %d records stored, want %d", n, childRecords)
	}
}
