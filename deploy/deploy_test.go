// Package deploy holds the container files. Docker cannot run on the machines that
// test Arbiter, so these tests keep the files true to the code instead: the
// configuration the image ships parses, the Dockerfile builds with the Go version
// go.mod asks for and copies only what exists and is not ignored, and compose gives
// a replica longer to stop than Arbiter takes to drain.
package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/arbiterhq/arbiter/internal/config"
)

func TestImageConfigurationParses(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "sk-test-only-openai"}
	cfg, err := config.Load("arbiter.yaml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.Server.Addr, "127.") || strings.HasPrefix(cfg.Server.Addr, "localhost") {
		t.Errorf("server.addr %q is loopback: unreachable from outside the container", cfg.Server.Addr)
	}
	if cfg.Cache.Redis == nil || cfg.Cache.Redis.Addr != "redis:6379" {
		t.Errorf("exact cache redis = %+v, want the compose service redis:6379", cfg.Cache.Redis)
	}
	if !strings.Contains(cfg.Semantic.Postgres, "@postgres:5432/") || !strings.Contains(cfg.Ledger.Postgres, "@postgres:5432/") {
		t.Errorf("semantic %q / ledger %q do not default to the compose service postgres", cfg.Semantic.Postgres, cfg.Ledger.Postgres)
	}
	if cfg.Ledger.DataDir != "/var/lib/arbiter" {
		t.Errorf("ledger.data_dir = %q, want the image's volume /var/lib/arbiter", cfg.Ledger.DataDir)
	}
}

func TestDockerfileMatchesTheRepository(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	arg := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)`).FindSubmatch(df)
	if goLine == nil || arg == nil || string(goLine[1]) != string(arg[1]) {
		t.Errorf("Dockerfile GO_VERSION %q, go.mod asks for %q", arg, goLine)
	}
	allowed := dockerignoreAllows(t)
	copyLine := regexp.MustCompile(`(?m)^COPY (?:--\S+ )*(.+) (\S+)$`)
	n := 0
	for _, m := range copyLine.FindAllStringSubmatch(string(df), -1) {
		if strings.Contains(m[0], "--from=") {
			continue
		}
		for _, src := range strings.Fields(m[1]) {
			n++
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
			if !allowed(src) {
				t.Errorf("COPY %s: excluded by .dockerignore, the build would fail", src)
			}
		}
	}
	if n < 5 {
		t.Fatalf("found %d COPY sources; the pattern no longer reads the Dockerfile", n)
	}
	script, err := os.ReadFile("../scripts/fetch-model.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "TARBALL_SHA256=") || !strings.Contains(string(df), "fetch-model.sh /model") {
		t.Error("the image no longer fetches the model with the checksummed script")
	}
}

// dockerignoreAllows reads the allow-list form of .dockerignore ("*" then "!path").
func dockerignoreAllows(t *testing.T) func(string) bool {
	f, err := os.Open("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var allow []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if after, ok := strings.CutPrefix(l, "!"); ok {
			allow = append(allow, strings.TrimSuffix(after, "/"))
		}
	}
	return func(p string) bool {
		p = strings.TrimSuffix(p, "/")
		for _, a := range allow {
			if p == a || strings.HasPrefix(p, a+"/") {
				return true
			}
		}
		return false
	}
}

func TestComposeGivesReplicasTimeToDrain(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			StopGracePeriod string            `yaml:"stop_grace_period"`
			Environment     map[string]string `yaml:"environment"`
			Build           struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("arbiter.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	drain := time.Duration(cfg.Server.DrainTimeout)
	replicas := 0
	for name, s := range c.Services {
		if !strings.HasPrefix(name, "arbiter") {
			continue
		}
		replicas++
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace <= drain {
			t.Errorf("%s: stop_grace_period %q must exceed server.drain_timeout %v", name, s.StopGracePeriod, drain)
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: build: %v", name, err)
		}
		if s.Environment["ARBITER_REDIS_ADDR"] == "" || s.Environment["ARBITER_POSTGRES_URL"] == "" {
			t.Errorf("%s: replicas must share Redis and PostgreSQL", name)
		}
	}
	if replicas < 2 {
		t.Errorf("%d Arbiter replicas in compose, want at least 2", replicas)
	}
}
