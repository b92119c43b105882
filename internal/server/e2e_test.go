package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"go.uber.org/goleak"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
)

// stack is an emulator playing every provider and an Arbiter in front of it.
type stack struct {
	emu    *emulator.Emulator
	emuSrv *httptest.Server
	arb    *Server
	arbSrv *httptest.Server
}

func (s *stack) close() {
	s.arbSrv.Close()
	s.arb.Close(context.Background())
	s.emuSrv.Close()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newStack starts the emulator and an Arbiter whose providers all point at it;
// tweak adjusts the configuration first.
func newStack(t *testing.T, ecfg emulator.Config, tweak func(*config.Config)) *stack {
	t.Helper()
	s := &stack{emu: emulator.New(ecfg)}
	s.emuSrv = httptest.NewServer(s.emu)
	cfg := &config.Config{
		Server:   config.Server{Addr: "127.0.0.1:0", MaxBodyBytes: config.DefaultMaxBodyBytes, AdminKey: "admin-test-key"},
		Ledger:   config.Ledger{DataDir: t.TempDir(), FlushInterval: config.Duration(50 * time.Millisecond)},
		Router:   config.Router{Baseline: "gpt-4o"},
		Executor: config.Executor{BackoffBase: config.Duration(10 * time.Millisecond), BackoffMax: config.Duration(50 * time.Millisecond)},
	}
	for _, p := range []struct{ name, kind string }{{"openai", "openai"}, {"anthropic", "anthropic"}, {"gemini", "gemini"}, {"groq", "openai"}, {"together", "openai"}, {"deepinfra", "openai"}} {
		base := s.emuSrv.URL
		if p.kind == "openai" {
			base += "/v1"
		}
		cfg.Providers = append(cfg.Providers, config.Provider{Name: p.name, Kind: p.kind, BaseURL: base, APIKey: "sk-upstream-" + p.name})
	}
	if tweak != nil {
		tweak(cfg)
	}
	arb, err := New(context.Background(), cfg, Options{Logger: quietLogger()})
	if err != nil {
		s.emuSrv.Close()
		t.Fatal(err)
	}
	s.arb = arb
	s.arbSrv = httptest.NewServer(arb.Handler())
	t.Cleanup(s.close)
	return s
}

func sdk(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("sk-client"), option.WithMaxRetries(0))
}

// comparable strips what legitimately differs between two answers to the same
// request (ids and timestamps) and returns the rest as generic JSON.
func comparable(t *testing.T, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	delete(m, "id")
	delete(m, "created")
	return m
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather",
		Parameters: shared.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7}},
			"required":   []string{"city", "days"},
		},
	})
}

func TestOpenAISDKSeesTheSameAnswerThroughArbiter(t *testing.T) {
	s := newStack(t, emulator.Config{}, func(c *config.Config) { f := false; c.Cache.Enabled = &f })
	direct, via := sdk(s.emuSrv.URL), sdk(s.arbSrv.URL)
	ctx := context.Background()
	base := func() openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are terse."), openai.UserMessage("What's the weather in Lyon for 3 days?")}}
	}
	plain := base()
	tools := base()
	tools.Tools = []openai.ChatCompletionToolUnionParam{weatherTool()}
	tools.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
	schema := base()
	schema.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "forecast", Strict: openai.Bool(true), Schema: map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}, "high_c": map[string]any{"type": "number"}},
			"required": []string{"city", "high_c"}, "additionalProperties": false}}}}
	for name, p := range map[string]openai.ChatCompletionNewParams{"plain": plain, "tools": tools, "json_schema": schema} {
		t.Run(name, func(t *testing.T) {
			a, err := direct.Chat.Completions.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			b, err := via.Chat.Completions.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if ca, cb := comparable(t, a.RawJSON()), comparable(t, b.RawJSON()); !reflect.DeepEqual(ca, cb) {
				t.Fatalf("direct %s\nvia Arbiter %s", a.RawJSON(), b.RawJSON())
			}
		})
		t.Run(name+"/stream", func(t *testing.T) {
			p := p
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			collect := func(c openai.Client) (openai.ChatCompletion, int) {
				st := c.Chat.Completions.NewStreaming(ctx, p)
				var acc openai.ChatCompletionAccumulator
				n := 0
				for st.Next() {
					acc.AddChunk(st.Current())
					n++
				}
				if err := st.Err(); err != nil {
					t.Fatal(err)
				}
				return acc.ChatCompletion, n
			}
			a, na := collect(direct)
			b, nb := collect(via)
			if na != nb {
				t.Errorf("chunks: direct %d, via Arbiter %d", na, nb)
			}
			a.ID, b.ID, a.Created, b.Created = "", "", 0, 0
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("accumulated streams differ:\ndirect %s\nvia    %s", ja, jb)
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		s.emu.SetFaults("gpt-4o", emulator.MustParseFaults("status=429;retry_after=0"))
		p := base()
		p.Model = "gpt-4o"
		_, errDirect := direct.Chat.Completions.New(ctx, p)
		_, errVia := via.Chat.Completions.New(ctx, p)
		var a, b *openai.Error
		if !errors.As(errDirect, &a) || !errors.As(errVia, &b) {
			t.Fatalf("errors: %v / %v", errDirect, errVia)
		}
		if a.StatusCode != b.StatusCode || a.Type != b.Type || a.Code != b.Code {
			t.Fatalf("direct %d %s %s, via %d %s %s", a.StatusCode, a.Type, a.Code, b.StatusCode, b.Type, b.Code)
		}
		if strings.Contains(b.Message, "sk-upstream") || strings.Contains(string(b.RawJSON()), "sk-upstream") {
			t.Fatal("the provider key leaked into the client's error")
		}
	})
}

func TestClientDisconnectMidStreamLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newStack(t, emulator.Config{Latency: emulator.Latency{TTFT: time.Millisecond, PerToken: 20 * time.Millisecond}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	body := `{"model":"gpt-4o-mini","stream":true,"max_tokens":400,"messages":[{"role":"user","content":"Write a long essay about rivers."}]}`
	req, _ := http.NewRequestWithContext(ctx, "POST", s.arbSrv.URL+"/v1/chat/completions", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	events := 0
	for sc.Scan() && events < 3 {
		if strings.HasPrefix(sc.Text(), "data: ") {
			events++
		}
	}
	cancel()
	resp.Body.Close()
	// The upstream request must be cancelled promptly, not left to finish.
	deadline := time.Now().Add(5 * time.Second)
	for s.emu.Stats().Total.Canceled == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("upstream never saw the cancellation: %+v", s.emu.Stats().Total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.close()
	http.DefaultClient.CloseIdleConnections()
}

func TestRetryAfterIsHonouredOrSkipped(t *testing.T) {
	s := newStack(t, emulator.Config{}, func(c *config.Config) {
		f := false
		c.Cache.Enabled = &f
		c.Routes = map[string]config.Route{"llama-3.3-70b": {Deployments: []string{"groq", "together"}}}
	})
	c := sdk(s.arbSrv.URL)
	p := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}

	// One deployment, Retry-After: 2 and time to wait: Arbiter waits about 2 s.
	s.emu.SetFaults("gpt-4o-mini", emulator.MustParseFaults("status=429;retry_after=2;times=1"))
	start := time.Now()
	if _, err := c.Chat.Completions.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 1900*time.Millisecond || el > 4*time.Second {
		t.Fatalf("took %s, want about 2s", el)
	}

	// Two deployments and a 1 s deadline: the 429's Retry-After: 2 cannot be waited
	// for, so the request goes to the next deployment at once.
	s.emu.SetFaults("llama-3.3-70b-versatile", emulator.MustParseFaults("status=429;retry_after=2;times=1"))
	p.Model = "llama-3.3-70b"
	start = time.Now()
	var raw *http.Response
	if _, err := c.Chat.Completions.New(context.Background(), p, option.WithHeader("X-Arbiter-Timeout", "1s"), option.WithResponseInto(&raw)); err != nil {
		t.Fatal(err)
	}
	hdr := raw.Header
	if el := time.Since(start); el >= 1900*time.Millisecond {
		t.Fatalf("took %s: waited for a Retry-After beyond the deadline", el)
	}
	if hdr.Get("X-Arbiter-Provider") != "together" || hdr.Get("X-Arbiter-Attempts") != "2" {
		t.Fatalf("served by %q after %q attempts, want together after 2", hdr.Get("X-Arbiter-Provider"), hdr.Get("X-Arbiter-Attempts"))
	}
}

func TestUnknownPathAndMethodAnswerInOpenAIShape(t *testing.T) {
	s := newStack(t, emulator.Config{}, nil)
	resp, err := http.Get(s.arbSrv.URL + "/v1/nope")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"error"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

var _ = fmt.Sprint

func TestDeploymentHealthIsInMetrics(t *testing.T) {
	s := newStack(t, emulator.Config{}, nil)
	c := sdk(s.arbSrv.URL)
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.arbSrv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`arbiter_deployment_breaker_state{deployment="openai/gpt-4o-mini",state="closed"} 1`,
		`arbiter_deployment_error_rate{deployment="openai/gpt-4o-mini"} 0`,
		`arbiter_requests_total`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
