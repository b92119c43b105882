// Package config defines Arbiter's configuration: its YAML schema, defaults, loading
// with ${ENV} expansion, the environment-only fallback, and validation whose errors
// name the file, line and field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Config is the whole configuration. Every field is documented in docs/config.md.
type Config struct {
	Server    Server            `yaml:"server"`
	Providers []Provider        `yaml:"providers"`
	Keys      []Key             `yaml:"keys"`
	Routes    map[string]Route  `yaml:"routes"`
	Cache     Cache             `yaml:"cache"`
	Ledger    Ledger            `yaml:"ledger"`
	Executor  Executor          `yaml:"executor"`
	Router    Router            `yaml:"router"`
	Semantic  Semantic          `yaml:"semantic"`
	Models    yaml.Node         `yaml:"models"` // catalog overrides, decoded by the catalog
	Emulator  *EmulatorSettings `yaml:"emulator,omitempty"`

	// Source is the file the configuration came from ("" for environment-only).
	Source string `yaml:"-"`
	root   *yaml.Node
}

// Server is the HTTP listener.
type Server struct {
	Addr         string   `yaml:"addr"`
	MaxBodyBytes int64    `yaml:"max_body_bytes"`
	AdminKey     string   `yaml:"admin_key"`
	DrainTimeout Duration `yaml:"drain_timeout"`
	// RequireKeys makes the API refuse requests without a virtual key even when no
	// keys are configured (then nothing is served): a guard for public listeners.
	RequireKeys bool   `yaml:"require_keys"`
	LogLevel    string `yaml:"log_level"`
}

// Provider is one upstream account.
type Provider struct {
	Name    string            `yaml:"name"`
	Kind    string            `yaml:"kind"` // openai, anthropic, gemini
	BaseURL string            `yaml:"base_url"`
	APIKey  string            `yaml:"api_key"`
	Headers map[string]string `yaml:"headers"`
	// Models limits which catalog models are served through this provider; empty
	// means every catalog model that lists a deployment on it.
	Models []string `yaml:"models"`
}

// Key is a virtual key handed to an application: it maps to a tenant and its limits.
type Key struct {
	Name   string `yaml:"name"`
	Key    string `yaml:"key"`
	Tenant string `yaml:"tenant"`
	// AllowModels restricts the models and routes the key may use (empty: all).
	AllowModels []string `yaml:"allow_models"`
	// CacheNamespace shares a cache namespace between tenants that set the same one.
	CacheNamespace string `yaml:"cache_namespace"`
	// Budget is a hard cap on the key's upstream spend per period (nil: none).
	Budget *Budget `yaml:"budget"`
	// RateLimit bounds the key's requests and tokens per minute (nil: none).
	RateLimit *RateLimit `yaml:"rate_limit"`
}

// Budget is a spending cap: usd per period (day or month, in UTC, or total).
type Budget struct {
	USD    Dollars `yaml:"usd"`
	Period string  `yaml:"period"`
}

// RateLimit is a per-minute limit; 0 is unlimited. Tokens are the input and output
// tokens the provider reported, charged after each response.
type RateLimit struct {
	RequestsPerMinute int64 `yaml:"requests_per_minute"`
	TokensPerMinute   int64 `yaml:"tokens_per_minute"`
}

// Dollars is an amount of US dollars written as a decimal number ("50", "0.25"),
// read exactly into nanodollars: never through a float.
type Dollars money.USD

// UnmarshalYAML parses the decimal text of the scalar.
func (d *Dollars) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want an amount of dollars such as 50 or 0.25", n.Line)
	}
	v, err := money.ParseDecimal(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid amount of dollars %q (use e.g. 50 or 0.25)", n.Line, n.Value)
	}
	*d = Dollars(v)
	return nil
}

// USD returns the amount as money.
func (d Dollars) USD() money.USD { return money.USD(d) }

// Route configures one model name or virtual route.
type Route struct {
	// Deployments lists "provider/model" pairs in order of preference; empty means
	// every configured provider that serves the model, cheapest first.
	Deployments []string `yaml:"deployments"`
	// Fallbacks are other models tried after the deployments of this one.
	Fallbacks []string `yaml:"fallbacks"`
	// For auto routes: the models the router may choose from, its quality target and
	// the baseline model savings are counted against.
	Models        []string `yaml:"models"`
	QualityTarget float64  `yaml:"quality_target"`
	Baseline      string   `yaml:"baseline"`
	// RouteDown lets the router answer a concrete model's request with a cheaper
	// model predicted to be as good for the prompt.
	RouteDown bool         `yaml:"route_down"`
	Cache     *CachePolicy `yaml:"cache"`
	Semantic  *bool        `yaml:"semantic"`
	Threshold float64      `yaml:"semantic_threshold"`
	Timeout   Duration     `yaml:"timeout"`
}

// CachePolicy is the exact cache's behaviour for a route.
type CachePolicy struct {
	Enabled *bool    `yaml:"enabled"`
	TTL     Duration `yaml:"ttl"`
	// Sampled: never (only temperature 0), seeded (temperature 0 or a seed), always.
	Sampled string `yaml:"sampled"`
}

// Cache configures the exact response cache.
type Cache struct {
	Enabled  *bool       `yaml:"enabled"`
	MaxBytes int64       `yaml:"max_bytes"`
	Policy   CachePolicy `yaml:"policy"`
	Redis    *Redis      `yaml:"redis"`
}

// Redis is a Redis server shared by replicas.
type Redis struct {
	Addr     string `yaml:"addr"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	Prefix   string `yaml:"prefix"`
}

// Semantic configures the semantic cache.
type Semantic struct {
	Enabled   *bool   `yaml:"enabled"`
	ModelDir  string  `yaml:"model_dir"`
	Threshold float64 `yaml:"threshold"`
	Postgres  string  `yaml:"postgres"`
}

// Ledger configures where usage records go.
type Ledger struct {
	DataDir       string   `yaml:"data_dir"`
	Postgres      string   `yaml:"postgres"`
	FlushInterval Duration `yaml:"flush_interval"`
	BufferRecords int      `yaml:"buffer_records"`
	Disabled      bool     `yaml:"disabled"`
}

// Executor configures retries, breakers and timeouts.
type Executor struct {
	MaxAttempts          int      `yaml:"max_attempts"`
	RetriesPerDeployment int      `yaml:"retries_per_deployment"`
	BackoffBase          Duration `yaml:"backoff_base"`
	BackoffMax           Duration `yaml:"backoff_max"`
	MaxRetryAfter        Duration `yaml:"max_retry_after"`
	ConnectTimeout       Duration `yaml:"connect_timeout"`
	FirstByteTimeout     Duration `yaml:"first_byte_timeout"`
	IdleTimeout          Duration `yaml:"idle_timeout"`
	TotalTimeout         Duration `yaml:"total_timeout"`
	FailoverOnFilter     bool     `yaml:"failover_on_content_filter"`
	Breaker              Breaker  `yaml:"breaker"`
}

// Breaker configures the circuit breakers.
type Breaker struct {
	ConsecutiveFailures int      `yaml:"consecutive_failures"`
	ErrorRate           float64  `yaml:"error_rate"`
	MinRequests         int      `yaml:"min_requests"`
	Window              Duration `yaml:"window"`
	CoolDown            Duration `yaml:"cool_down"`
}

// Router configures automatic routing.
type Router struct {
	// Baseline is the model savings are counted against for auto routes.
	Baseline string `yaml:"baseline"`
}

// EmulatorSettings makes serve start the built-in provider emulator in process and
// point every provider at it (the demo does this).
type EmulatorSettings struct {
	TTFT     Duration `yaml:"ttft"`
	PerToken Duration `yaml:"per_token"`
}

// Duration is a time.Duration written as "1.5s", "300ms", or a number of seconds.
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings and bare seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	return fmt.Errorf("line %d: invalid duration %q (use e.g. 500ms, 30s, 5m)", n.Line, s)
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Kinds of provider wire families.
var providerKinds = map[string]bool{"openai": true, "anthropic": true, "gemini": true}

// Error is a configuration problem located in its file.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "environment"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default}. A reference to an unset variable
// without a default is an error naming the variable and line, so that a missing
// secret is caught at start-up rather than sent upstream as an empty key.
func expand(file string, data []byte, getenv func(string) string) ([]byte, error) {
	var errs []error
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		trimmed := bytes.TrimSpace(line)
		if bytes.HasPrefix(trimmed, []byte("#")) {
			continue
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			sub := envRef.FindSubmatch(m)
			name := string(sub[1])
			if v := getenv(name); v != "" {
				return []byte(v)
			}
			if len(sub[2]) > 0 {
				return sub[3]
			}
			errs = append(errs, &Error{File: file, Line: i + 1, Msg: fmt.Sprintf("environment variable %s is not set", name)})
			return nil
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bytes.Join(lines, []byte("\n")), nil
}

// Load reads, expands and validates a YAML file.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, getenv)
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// Parse decodes configuration text; file names it in errors.
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := expand(file, data, getenv)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErr(file, err)
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		return nil, yamlErr(file, err)
	}
	c.Source, c.root = file, &root
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func yamlErr(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, m := range te.Errors {
			errs = append(errs, lineErr(file, m))
		}
		return errors.Join(errs...)
	}
	return lineErr(file, err.Error())
}

func lineErr(file, msg string) error {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		return &Error{File: file, Line: line, Msg: m[2]}
	}
	return &Error{File: file, Msg: msg}
}

// Defaults.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultMaxBodyBytes = 4 << 20
)

func (c *Config) applyDefaults() {
	if c.Server.Addr == "" {
		c.Server.Addr = DefaultAddr
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Server.DrainTimeout == 0 {
		c.Server.DrainTimeout = Duration(30 * time.Second)
	}
	if c.Ledger.FlushInterval == 0 {
		c.Ledger.FlushInterval = Duration(time.Second)
	}
	if c.Ledger.BufferRecords == 0 {
		c.Ledger.BufferRecords = 100_000
	}
	if c.Cache.MaxBytes == 0 {
		c.Cache.MaxBytes = 256 << 20
	}
	if c.Router.Baseline == "" {
		c.Router.Baseline = "gpt-4o"
	}
	for i := range c.Keys {
		if b := c.Keys[i].Budget; b != nil && b.Period == "" {
			b.Period = "month"
		}
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Kind == "" {
			p.Kind = p.Name
			if !providerKinds[p.Kind] {
				p.Kind = "openai" // every other host speaks OpenAI's format
			}
		}
		if p.BaseURL == "" {
			p.BaseURL = DefaultBaseURL(p.Name, p.Kind)
		}
	}
}

// Validate checks the values that decoding cannot.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path []string, format string, args ...any) {
		errs = append(errs, &Error{File: c.Source, Line: c.line(path...), Field: strings.Join(path, "."), Msg: fmt.Sprintf(format, args...)})
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		bad([]string{"server", "addr"}, "%q is not host:port", c.Server.Addr)
	}
	if c.Server.MaxBodyBytes < 1024 {
		bad([]string{"server", "max_body_bytes"}, "must be at least 1024, got %d", c.Server.MaxBodyBytes)
	}
	names := map[string]bool{}
	for i, p := range c.Providers {
		path := []string{"providers", fmt.Sprint(i)}
		if p.Name == "" {
			bad(append(path, "name"), "is required")
		} else if names[p.Name] {
			bad(append(path, "name"), "duplicate provider %q", p.Name)
		}
		names[p.Name] = true
		if !providerKinds[p.Kind] {
			bad(append(path, "kind"), "unknown kind %q (openai, anthropic or gemini)", p.Kind)
		}
		if p.BaseURL == "" {
			bad(append(path, "base_url"), "is required for provider %q", p.Name)
		} else if !strings.HasPrefix(p.BaseURL, "http://") && !strings.HasPrefix(p.BaseURL, "https://") {
			bad(append(path, "base_url"), "%q must start with http:// or https://", p.BaseURL)
		}
	}
	keys := map[string]bool{}
	for i, k := range c.Keys {
		path := []string{"keys", fmt.Sprint(i)}
		if len(k.Key) < 16 {
			bad(append(path, "key"), "virtual keys must be at least 16 characters")
		}
		if keys[k.Key] {
			bad(append(path, "key"), "duplicate key (key %q)", k.Name)
		}
		keys[k.Key] = true
		if k.Tenant == "" {
			bad(append(path, "tenant"), "is required")
		}
		if b := k.Budget; b != nil {
			if b.USD.USD() <= 0 {
				bad(append(path, "budget", "usd"), "must be more than 0, got %s (remove the key to block it)", b.USD.USD().Decimal())
			}
			switch b.Period {
			case "", "day", "month", "total":
			default:
				bad(append(path, "budget", "period"), "unknown period %q (day, month or total)", b.Period)
			}
		}
		if r := k.RateLimit; r != nil {
			if r.RequestsPerMinute < 0 {
				bad(append(path, "rate_limit", "requests_per_minute"), "must be 0 (unlimited) or more, got %d", r.RequestsPerMinute)
			}
			if r.TokensPerMinute < 0 {
				bad(append(path, "rate_limit", "tokens_per_minute"), "must be 0 (unlimited) or more, got %d", r.TokensPerMinute)
			}
		}
	}
	routeNames := make([]string, 0, len(c.Routes))
	for n := range c.Routes {
		routeNames = append(routeNames, n)
	}
	sort.Strings(routeNames)
	for _, n := range routeNames {
		r := c.Routes[n]
		path := []string{"routes", n}
		if r.QualityTarget < 0 || r.QualityTarget > 1 {
			bad(append(path, "quality_target"), "must be between 0 and 1, got %g", r.QualityTarget)
		}
		for j, d := range r.Deployments {
			prov, _, ok := strings.Cut(d, "/")
			if !ok || !names[prov] {
				bad(append(path, "deployments", fmt.Sprint(j)), "%q must be provider/model with a configured provider", d)
			}
		}
		if r.Cache != nil {
			switch r.Cache.Sampled {
			case "", "never", "seeded", "always":
			default:
				bad(append(path, "cache", "sampled"), "unknown value %q (never, seeded or always)", r.Cache.Sampled)
			}
		}
	}
	switch c.Cache.Policy.Sampled {
	case "", "never", "seeded", "always":
	default:
		bad([]string{"cache", "policy", "sampled"}, "unknown value %q (never, seeded or always)", c.Cache.Policy.Sampled)
	}
	if c.Ledger.FlushInterval.D() > time.Minute {
		bad([]string{"ledger", "flush_interval"}, "at most 1m (it bounds what a crash loses), got %s", c.Ledger.FlushInterval.D())
	}
	return errors.Join(errs...)
}

// line finds the line of a field by its path in the YAML tree (0 when unknown or
// when the configuration did not come from a file).
func (c *Config) line(path ...string) int {
	if c.root == nil || len(c.root.Content) == 0 {
		return 0
	}
	n := c.root.Content[0]
	line := n.Line
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscanf(p, "%d", &idx); err != nil || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// DefaultBaseURL is where a known provider is reached.
func DefaultBaseURL(name, kind string) string {
	switch name {
	case "openai":
		return "https://api.openai.com/v1"
	case "anthropic":
		return "https://api.anthropic.com"
	case "gemini", "google":
		return "https://generativelanguage.googleapis.com"
	}
	for _, h := range KnownHosts {
		if h.Name == name {
			return h.BaseURL
		}
	}
	return ""
}

// Host is an OpenAI-compatible provider known by name.
type Host struct {
	Name, EnvKey, BaseURL string
}

// KnownHosts are the OpenAI-compatible hosts configured from their standard key
// variables when no file is given.
var KnownHosts = []Host{
	{"groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"},
	{"together", "TOGETHER_API_KEY", "https://api.together.xyz/v1"},
	{"deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"},
	{"mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"},
	{"fireworks", "FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1"},
	{"openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"},
	{"deepinfra", "DEEPINFRA_API_KEY", "https://api.deepinfra.com/v1/openai"},
}

// ErrNoProviders is returned by FromEnv when no provider key is set.
var ErrNoProviders = errors.New("no configuration file and no provider API key in the environment (set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, … or pass --config; to try Arbiter without keys run `arbiter demo`)")

// FromEnv builds a configuration from the standard provider variables, as the
// providers' own SDKs read them: OPENAI_API_KEY (+ OPENAI_BASE_URL),
// ANTHROPIC_API_KEY (+ ANTHROPIC_BASE_URL), GEMINI_API_KEY or GOOGLE_API_KEY
// (+ GEMINI_BASE_URL), and the OpenAI-compatible hosts' keys.
func FromEnv(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &Config{}
	add := func(name, kind, key, base string) {
		if key == "" {
			return
		}
		c.Providers = append(c.Providers, Provider{Name: name, Kind: kind, APIKey: key, BaseURL: base})
	}
	add("openai", "openai", getenv("OPENAI_API_KEY"), getenv("OPENAI_BASE_URL"))
	add("anthropic", "anthropic", getenv("ANTHROPIC_API_KEY"), getenv("ANTHROPIC_BASE_URL"))
	gk := getenv("GEMINI_API_KEY")
	if gk == "" {
		gk = getenv("GOOGLE_API_KEY")
	}
	add("gemini", "gemini", gk, getenv("GEMINI_BASE_URL"))
	for _, h := range KnownHosts {
		add(h.Name, "openai", getenv(h.EnvKey), "")
	}
	if len(c.Providers) == 0 {
		return nil, ErrNoProviders
	}
	if k := getenv("ARBITER_ADMIN_KEY"); k != "" {
		c.Server.AdminKey = k
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Bool returns *b or def when b is nil.
func Bool(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
