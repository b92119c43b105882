package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/demo"
	"github.com/arbiterhq/arbiter/internal/emulator"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/report"
	"github.com/arbiterhq/arbiter/internal/server"
)

// StackOptions configure the built-in emulator and gateway.
type StackOptions struct {
	// DataDir holds the gateway's ledger.
	DataDir string
	// Latency is the emulator's: real providers' latencies, not divided by the speed.
	Latency emulator.Latency
	// Logger receives the gateway's logs (nil: discarded).
	Logger *slog.Logger
	// Configure, when set, adjusts the demo's configuration before the gateway starts.
	Configure func(*config.Config)
}

// Stack is the emulator and an Arbiter gateway in front of it, on loopback, wired
// exactly as `arbiter demo` wires them.
type Stack struct {
	URL    string // the gateway
	Server *server.Server
	close  []func()
}

// StartStack starts the emulator and the gateway.
func StartStack(ctx context.Context, o StackOptions) (*Stack, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st := &Stack{}
	emu := emulator.New(emulator.Config{Latency: o.Latency, Seed: 7})
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	esrv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go esrv.Serve(eln)
	st.close = append(st.close, func() { esrv.Close() })

	cfg := demo.Config("http://"+eln.Addr().String(), o.DataDir, adminKey())
	cfg.Server.Addr = "127.0.0.1:0"
	if o.Configure != nil {
		o.Configure(cfg)
	}
	// The gateway's upstream pool must hold a connection per request in flight too.
	srv, err := server.New(ctx, cfg, server.Options{Logger: log, HTTPClient: NewClient()})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close(context.Background())
		st.Close()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(sctx, ln, 5*time.Second) }()
	st.close = append(st.close, func() { stop(); <-served })
	st.Server, st.URL = srv, "http://"+ln.Addr().String()
	return st, nil
}

// Close stops the gateway (flushing its ledger) and the emulator.
func (s *Stack) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
	s.close = nil
}

func adminKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "arb-admin-" + hex.EncodeToString(b)
}

// WaitLedger waits until the gateway's ledger has written (or dropped) n records,
// since it writes in the background after each answer.
func (s *Stack) WaitLedger(ctx context.Context, n int) error {
	w := s.Server.Ledger
	if w == nil {
		return errors.New("the gateway has no ledger")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		st := w.Stats()
		if st.Queued == 0 && int(st.Written+st.Dropped()) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the ledger (%d of %d records written): %w", st.Written, n, ctx.Err())
		case <-tk.C:
		}
	}
}

// LedgerTotals reads the ledger's totals for records since from.
func (s *Stack) LedgerTotals(ctx context.Context, from time.Time) (ledger.Totals, []ledger.Group, error) {
	q := ledger.Query{From: from.Add(-time.Minute), To: time.Now().Add(time.Minute)}
	total, err := s.Server.Store.Summary(ctx, q)
	if err != nil {
		return ledger.Totals{}, nil, fmt.Errorf("read ledger: %w", err)
	}
	q.GroupBy = ledger.ByModel
	byModel, err := s.Server.Store.Summary(ctx, q)
	if err != nil {
		return ledger.Totals{}, nil, fmt.Errorf("read ledger: %w", err)
	}
	return total.Totals, byModel.Groups, nil
}

// PrintLedger writes spend, what the baseline would have cost and what was saved,
// in total and by served model, as the demo does.
func PrintLedger(w io.Writer, t ledger.Totals, byModel []ledger.Group, baseline string) {
	fmt.Fprintf(w, "\nFrom the gateway's ledger (%d requests):\n", t.Requests)
	report.Savings(w, t)
	fmt.Fprintf(w, "  tokens: %d in, %d out\n", t.InputTokens, t.OutputTokens)
	fmt.Fprintf(w, "\nBy served model (the baseline is %s):\n", baseline)
	report.ByModel(w, byModel)
}
