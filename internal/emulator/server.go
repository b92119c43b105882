package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// ListenAndServe serves the emulator on addr until ctx ends, then shuts down: open
// requests get a second to finish and are then cut (hanging faults never finish
// by themselves). ready, if not nil, is called with the bound address once listening
// (useful with port 0).
func (e *Emulator) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("emulator: serving: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close() // hung requests: closing their connections cancels them
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("emulator: serving: %w", err)
	}
	return nil
}

// SetModelOption sets one per-model option from text, for command-line flags of the
// form MODEL=VALUE: what is "faults" (ParseFaults syntax), "latency" (ParseLatency)
// or "usage" (ParseUsage). MODEL may be a "prefix*" pattern.
func (c *Config) SetModelOption(what, modelAndValue string) error {
	model, value, ok := strings.Cut(modelAndValue, "=")
	if !ok || model == "" {
		return fmt.Errorf("%s: want MODEL=VALUE, got %q", what, modelAndValue)
	}
	if c.Models == nil {
		c.Models = map[string]ModelConfig{}
	}
	mc := c.Models[model]
	switch what {
	case "faults":
		spec, err := ParseFaults(value)
		if err != nil {
			return err
		}
		mc.Faults = spec
	case "latency":
		l, err := ParseLatency(value)
		if err != nil {
			return err
		}
		mc.Latency = &l
	case "usage":
		u, err := ParseUsage(value)
		if err != nil {
			return err
		}
		mc.Usage = u
	default:
		return fmt.Errorf("unknown model option %q (want faults, latency, usage)", what)
	}
	c.Models[model] = mc
	return nil
}
