// Package server wires Arbiter together from a configuration: catalog, provider
// adapters, executor, caches, router, ledger, metrics and the gateway. It is the one
// place where components meet; serve, demo and the end-to-end tests all build through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/arbiterhq/arbiter/internal/cache"
	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/deployment"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/gateway"
	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/postgres"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/metrics"
	"github.com/arbiterhq/arbiter/internal/provider"
	anthropicp "github.com/arbiterhq/arbiter/internal/provider/anthropic"
	geminip "github.com/arbiterhq/arbiter/internal/provider/gemini"
	openaip "github.com/arbiterhq/arbiter/internal/provider/openai"
	"github.com/arbiterhq/arbiter/internal/tenant"
	"github.com/redis/go-redis/v9"
)

// Options are what a caller adds to the configuration.
type Options struct {
	Logger *slog.Logger
	// HTTPClient, when set, is used for every upstream call (tests, the demo).
	HTTPClient *http.Client
	// Mounts builds extra handlers (the dashboard) once the stores are open.
	Mounts func(s *Server) []gateway.Mount
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
	// Now is the clock of budgets and rate limits (nil: time.Now), for tests.
	Now func() time.Time
}

// Server is a wired gateway and everything it owns.
type Server struct {
	Config   *config.Config
	Catalog  *catalog.Catalog
	Registry *deployment.Registry
	Executor *executor.Executor
	Gateway  *gateway.Gateway
	Cache    cache.Store
	Ledger   *ledger.Writer
	Store    ledger.Store
	Metrics  *metrics.Metrics
	// Limits enforces keys' budgets and rate limits (nil when no key has any).
	Limits  *tenant.Limiter
	log     *slog.Logger
	redis   *redis.Client // the exact cache's, shared with the limits
	closers []func(context.Context) error
}

// New builds a server. Close releases what it opened.
func New(ctx context.Context, cfg *config.Config, o Options) (s *Server, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	s = &Server{Config: cfg, log: log}
	// Every error return sets s to nil; release what was opened through this copy.
	opened := s
	defer func() {
		if err != nil {
			opened.Close(context.Background())
		}
	}()

	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	if cfg.Models.Kind != 0 {
		ov, err := catalog.DecodeOverrides(&cfg.Models)
		if err != nil {
			return nil, fmt.Errorf("%s: models: %w", cfg.Source, err)
		}
		if cat, err = cat.Merge(ov...); err != nil {
			return nil, fmt.Errorf("%s: models: %w", cfg.Source, err)
		}
	}
	s.Catalog = cat

	client := o.HTTPClient
	if client == nil {
		client = provider.DefaultClient()
		if t, ok := client.Transport.(*http.Transport); ok && cfg.Executor.ConnectTimeout > 0 {
			t.DialContext = (&net.Dialer{Timeout: cfg.Executor.ConnectTimeout.D(), KeepAlive: 30 * time.Second}).DialContext
		}
	}
	var accounts []*deployment.Account
	for _, p := range cfg.Providers {
		pc := provider.Config{Name: p.Name, BaseURL: p.BaseURL, APIKey: p.APIKey, Headers: p.Headers, Client: client}
		a := &deployment.Account{Name: p.Name, Models: p.Models}
		switch p.Kind {
		case "anthropic":
			a.Kind, a.Client = llm.FormatAnthropic, anthropicp.New(pc)
		case "gemini":
			g := geminip.New(pc)
			a.Kind, a.Client, a.Embedder = llm.FormatGemini, g, g
		default:
			op := openaip.New(pc)
			a.Kind, a.Client, a.Embedder = llm.FormatOpenAI, op, op
		}
		accounts = append(accounts, a)
	}
	s.Registry = deployment.New(cat, accounts)
	if len(s.Registry.Served()) == 0 {
		return nil, errors.New("no catalog model is served by the configured providers (check providers[].name against `arbiter models`)")
	}

	ec := cfg.Executor
	s.Executor = executor.New(executor.Config{
		MaxAttempts: ec.MaxAttempts, RetriesPerDeployment: ec.RetriesPerDeployment,
		BackoffBase: ec.BackoffBase.D(), BackoffMax: ec.BackoffMax.D(), MaxRetryAfter: ec.MaxRetryAfter.D(),
		FirstByte: ec.FirstByteTimeout.D(), Idle: ec.IdleTimeout.D(), Total: ec.TotalTimeout.D(),
		FailoverOnContentFilter: ec.FailoverOnFilter,
		Breaker: executor.BreakerConfig{
			ConsecutiveFailures: ec.Breaker.ConsecutiveFailures, ErrorRate: ec.Breaker.ErrorRate,
			MinRequests: ec.Breaker.MinRequests, Window: ec.Breaker.Window.D(), CoolDown: ec.Breaker.CoolDown.D(),
		},
	})

	keys := make([]tenant.Key, len(cfg.Keys))
	for i, k := range cfg.Keys {
		keys[i] = tenant.Key{Name: k.Name, Secret: k.Key, Tenant: k.Tenant, AllowModels: k.AllowModels, CacheNamespace: k.CacheNamespace}
		if b := k.Budget; b != nil {
			p, err := tenant.ParsePeriod(b.Period)
			if err != nil {
				return nil, fmt.Errorf("keys[%d].budget: %w", i, err)
			}
			keys[i].Budget = &tenant.Budget{Limit: b.USD.USD(), Period: p}
		}
		if r := k.RateLimit; r != nil {
			keys[i].Rate = tenant.RateLimit{RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute}
		}
	}

	s.Metrics = metrics.New()
	if err := s.Metrics.Registry().Register(newHealthCollector(s.Executor)); err != nil {
		return nil, fmt.Errorf("register deployment health metrics: %w", err)
	}
	gopts := gateway.Options{
		Logger: log, Registry: s.Registry, Executor: s.Executor, Pricer: s.Registry,
		Keys: tenant.NewKeys(keys, cfg.Server.RequireKeys), AdminKey: cfg.Server.AdminKey,
		MaxBodyBytes: cfg.Server.MaxBodyBytes, Routes: cfg.Routes, Baseline: cfg.Router.Baseline,
		Metrics: s.Metrics, MetricsHandler: s.Metrics.Handler(),
	}

	if gopts.Router, err = newAutoRouter(s.Registry, s.Executor, cfg.Router.Baseline, time.Now()); err != nil {
		return nil, err
	}

	if config.Bool(cfg.Cache.Enabled, true) {
		if s.Cache, err = s.buildCache(ctx, cfg); err != nil {
			return nil, err
		}
		gopts.Cache = s.Cache
		gopts.CachePolicies, err = policies(cfg)
		if err != nil {
			return nil, err
		}
		if config.Bool(cfg.Semantic.Enabled, false) {
			if gopts.Semantic, err = s.buildSemantic(ctx, cfg); err != nil {
				return nil, err
			}
			gopts.SemanticThreshold = cfg.Semantic.Threshold
		}
	}

	if !cfg.Ledger.Disabled {
		if err := s.openLedger(ctx, cfg); err != nil {
			return nil, err
		}
		gopts.Ledger = s.Ledger
	}

	if gopts.Keys.Limited() {
		if gopts.Limits, err = s.buildLimits(ctx, cfg, gopts.Keys, o.Now); err != nil {
			return nil, err
		}
	}

	if o.Mounts != nil {
		gopts.Mounts = o.Mounts(s)
	}
	s.Gateway = gateway.New(gopts)
	return s, nil
}

func policies(cfg *config.Config) (*cache.Policies, error) {
	conv := func(p config.CachePolicy, base cache.Policy) (cache.Policy, error) {
		if p.Enabled != nil {
			base.Enabled = *p.Enabled
		}
		if p.TTL > 0 {
			base.TTL = p.TTL.D()
		}
		if p.Sampled != "" {
			sm, err := cache.ParseSampled(p.Sampled)
			if err != nil {
				return base, err
			}
			base.Sampled = sm
		}
		return base, nil
	}
	def, err := conv(cfg.Cache.Policy, cache.DefaultPolicy())
	if err != nil {
		return nil, err
	}
	ps := &cache.Policies{Default: def, ByModel: map[string]cache.Policy{}}
	for name, rt := range cfg.Routes {
		if rt.Cache == nil {
			continue
		}
		p, err := conv(*rt.Cache, def)
		if err != nil {
			return nil, fmt.Errorf("routes.%s.cache: %w", name, err)
		}
		ps.ByModel[name] = p
	}
	return ps, nil
}

func (s *Server) buildCache(ctx context.Context, cfg *config.Config) (cache.Store, error) {
	mem := cache.NewMemory(cache.MemoryOptions{MaxBytes: cfg.Cache.MaxBytes})
	if cfg.Cache.Redis == nil {
		return mem, nil
	}
	r := cfg.Cache.Redis
	client := redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, DB: r.DB})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connect cache redis %s: %w", r.Addr, err)
	}
	prefix := r.Prefix
	if prefix == "" {
		prefix = "arbiter:cache:"
	}
	s.redis = client
	rs := cache.NewRedis(cache.RedisOptions{Client: client, Prefix: prefix})
	tiered := cache.NewTiered(mem, rs, cache.TieredOptions{})
	// Keep this replica's in-memory front in step with deletions made elsewhere.
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tiered.Run(rctx) }()
	s.closers = append(s.closers, func(context.Context) error {
		stop()
		<-done
		return client.Close()
	})
	return tiered, nil
}

func (s *Server) openLedger(ctx context.Context, cfg *config.Config) error {
	var store ledger.Store
	var err error
	if cfg.Ledger.Postgres != "" {
		store, err = postgres.Open(ctx, cfg.Ledger.Postgres)
	} else {
		dir := cfg.Ledger.DataDir
		if dir == "" {
			dir = DefaultDataDir()
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create ledger data dir: %w", err)
		}
		store, err = sqlite.Open(ctx, dir)
	}
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	s.Store = store
	s.Ledger = ledger.NewWriter(store, ledger.WriterOptions{
		FlushInterval: cfg.Ledger.FlushInterval.D(), MaxBuffered: cfg.Ledger.BufferRecords, Logger: s.log,
	})
	s.Metrics.WatchLedger(s.Ledger)
	s.closers = append(s.closers, func(ctx context.Context) error {
		err := s.Ledger.Close(ctx)
		return errors.Join(err, store.Close())
	})
	return nil
}

// DefaultDataDir is where the SQLite ledger lives when none is configured.
func DefaultDataDir() string {
	if d := os.Getenv("ARBITER_DATA_DIR"); d != "" {
		return d
	}
	return "data"
}

// Handler is the gateway's HTTP handler.
func (s *Server) Handler() http.Handler { return s.Gateway.Handler() }

// Close flushes the ledger and releases stores, in reverse order of opening.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// ListenAndServe serves on addr until ctx ends, then drains: it stops accepting, lets
// requests and streams in flight finish for up to drain, and closes the server.
func (s *Server) ListenAndServe(ctx context.Context, ln net.Listener, drain time.Duration) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining requests in flight", "drain_timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.log.Warn("drain timed out; closing remaining connections", "err", err)
		hs.Close()
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer fcancel()
	if cerr := s.Close(fctx); cerr != nil {
		return fmt.Errorf("closing: %w", cerr)
	}
	s.log.Info("stopped cleanly")
	return nil
}
