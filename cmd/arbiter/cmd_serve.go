package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/server"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML configuration file (default: build one from provider keys in the environment)")
	addr := fs.String("addr", "", "listen address (default server.addr, else "+config.DefaultAddr+"; listening beyond loopback is an explicit choice)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg *config.Config
	var err error
	if *cfgPath != "" {
		cfg, err = config.Load(*cfgPath, os.Getenv)
	} else {
		cfg, err = config.FromEnv(os.Getenv)
	}
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	log := newLogger(stderr, *logFormat, cfg.Server.LogLevel)
	srv, err := server.New(ctx, cfg, server.Options{Logger: log, Mounts: dashboardMounts})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		srv.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	providers := make([]string, len(cfg.Providers))
	for i, p := range cfg.Providers {
		providers[i] = p.Name
	}
	log.Info("arbiter serving", "addr", "http://"+ln.Addr().String(), "providers", strings.Join(providers, ","),
		"models", len(srv.Registry.Served()), "config", cfg.Source, "version", version)
	if err := srv.ListenAndServe(ctx, ln, cfg.Server.DrainTimeout.D()); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil || level == "" {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
