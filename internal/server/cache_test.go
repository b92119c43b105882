package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
)

func streamed(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (openai.ChatCompletion, int, http.Header) {
	t.Helper()
	var raw *http.Response
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := c.Chat.Completions.NewStreaming(context.Background(), p, append(opts, option.WithResponseInto(&raw))...)
	var acc openai.ChatCompletionAccumulator
	n := 0
	for st.Next() {
		acc.AddChunk(st.Current())
		n++
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	return acc.ChatCompletion, n, raw.Header
}

func params(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Temperature: openai.Float(0),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
}

func TestStreamedAnswerIsCachedAndReplayedToTheOpenAISDK(t *testing.T) {
	s := newStack(t, emulator.Config{}, nil)
	c := sdk(s.arbSrv.URL)
	p := params("gpt-4o-mini", "Name three rivers in Europe.")
	first, n1, h1 := streamed(t, c, p)
	second, n2, h2 := streamed(t, c, p)
	if h1.Get("X-Arbiter-Cache") != "miss" || h2.Get("X-Arbiter-Cache") != "hit" || h2.Get("Age") == "" {
		t.Fatalf("cache headers: %q then %q (Age %q)", h1.Get("X-Arbiter-Cache"), h2.Get("X-Arbiter-Cache"), h2.Get("Age"))
	}
	if n2 < 5 {
		t.Fatalf("replay came in %d chunks, want several", n2)
	}
	if first.Choices[0].Message.Content != second.Choices[0].Message.Content || second.Usage.CompletionTokens != first.Usage.CompletionTokens {
		t.Fatalf("replay differs:\n%q %+v\n%q %+v", first.Choices[0].Message.Content, first.Usage, second.Choices[0].Message.Content, second.Usage)
	}
	if got := s.emu.Stats().Total.Requests; got != 1 {
		t.Fatalf("upstream saw %d requests", got)
	}
	_ = n1
}

func TestCacheControlDirectives(t *testing.T) {
	s := newStack(t, emulator.Config{}, nil)
	c := sdk(s.arbSrv.URL)
	p := params("gpt-4o-mini", "cache control")
	get := func(hdrs ...string) string {
		var raw *http.Response
		opts := []option.RequestOption{option.WithResponseInto(&raw)}
		for i := 0; i+1 < len(hdrs); i += 2 {
			opts = append(opts, option.WithHeader(hdrs[i], hdrs[i+1]))
		}
		if _, err := c.Chat.Completions.New(context.Background(), p, opts...); err != nil {
			t.Fatal(err)
		}
		return raw.Header.Get("X-Arbiter-Cache")
	}
	calls := func() int64 { return s.emu.Stats().Total.Requests }
	steps := []struct {
		name    string
		hdrs    []string
		want    string
		upcalls int64
	}{
		{"no-store neither reads nor writes", []string{"Cache-Control", "no-store"}, "bypass", 1},
		{"first plain request misses and stores", nil, "miss", 2},
		{"then it hits", nil, "hit", 2},
		{"no-cache skips the lookup and refreshes", []string{"Cache-Control", "no-cache"}, "miss", 3},
		{"max-age=0 refuses any entry", []string{"Cache-Control", "max-age=0"}, "miss", 4},
		{"max-age=60 accepts a fresh one", []string{"Cache-Control", "max-age=60"}, "hit", 4},
	}
	for _, st := range steps {
		if got := get(st.hdrs...); got != st.want || calls() != st.upcalls {
			t.Fatalf("%s: cache %q with %d upstream calls, want %q with %d", st.name, got, calls(), st.want, st.upcalls)
		}
	}
	// A one-second TTL: served at once, gone after it expires.
	q := params("gpt-4o-mini", "short lived")
	var raw *http.Response
	c.Chat.Completions.New(context.Background(), q, option.WithHeader("X-Arbiter-Cache-Ttl", "1s"))
	c.Chat.Completions.New(context.Background(), q, option.WithResponseInto(&raw))
	if raw.Header.Get("X-Arbiter-Cache") != "hit" {
		t.Fatalf("within its TTL: %q", raw.Header.Get("X-Arbiter-Cache"))
	}
	time.Sleep(1100 * time.Millisecond)
	c.Chat.Completions.New(context.Background(), q, option.WithResponseInto(&raw))
	if raw.Header.Get("X-Arbiter-Cache") != "miss" {
		t.Fatalf("after its TTL: %q", raw.Header.Get("X-Arbiter-Cache"))
	}
}

func TestTwoGatewaysSharingRedisServeEachOthersAnswers(t *testing.T) {
	prefix := redisPrefix(t) // its clean-up runs after both gateways have closed
	shared := func(c *config.Config) {
		c.Cache.Redis = &config.Redis{Addr: "127.0.0.1:6379", Prefix: prefix}
	}
	a := newStack(t, emulator.Config{}, shared)
	b := newStack(t, emulator.Config{}, shared)
	p := params("gpt-4o-mini", "shared between replicas")
	ca, cb := sdk(a.arbSrv.URL), sdk(b.arbSrv.URL)
	if _, err := ca.Chat.Completions.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var raw *http.Response
	if _, err := cb.Chat.Completions.New(context.Background(), p, option.WithResponseInto(&raw)); err != nil {
		t.Fatal(err)
	}
	if raw.Header.Get("X-Arbiter-Cache") != "hit" || b.emu.Stats().Total.Requests != 0 {
		t.Fatalf("replica b: cache %q, its upstream saw %d", raw.Header.Get("X-Arbiter-Cache"), b.emu.Stats().Total.Requests)
	}
}

func TestHundredIdenticalRequestsReachTheUpstreamOnce(t *testing.T) {
	s := newStack(t, emulator.Config{Latency: emulator.Latency{TTFT: 300 * time.Millisecond, PerToken: time.Millisecond}}, nil)
	body := `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"a burst of the same question"}]}`
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(stream bool) {
			defer wg.Done()
			b := body
			if stream {
				b = strings.Replace(body, `"temperature":0`, `"temperature":0,"stream":true`, 1)
			}
			resp, err := http.Post(s.arbSrv.URL+"/v1/chat/completions", "application/json", strings.NewReader(b))
			if err != nil {
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && (strings.Contains(string(data), `"finish_reason":"stop"`)) {
				ok.Add(1)
			}
		}(i%2 == 0)
	}
	wg.Wait()
	if ok.Load() != 100 || s.emu.Stats().Total.Requests != 1 {
		t.Fatalf("%d good answers; upstream saw %d requests", ok.Load(), s.emu.Stats().Total.Requests)
	}
}

func TestSemanticHitIsReplayedAsAStreamToTheOpenAISDK(t *testing.T) {
	yes := true
	s := newStack(t, emulator.Config{}, func(c *config.Config) { c.Semantic.Enabled = &yes })
	c := sdk(s.arbSrv.URL)
	first, _, _ := streamed(t, c, params("gpt-4o-mini", "What is the chemical symbol for gold?"))
	second, n, h := streamed(t, c, params("gpt-4o-mini", "What's the chemical symbol for gold?"))
	if h.Get("X-Arbiter-Cache") != "semantic-hit" || h.Get("X-Arbiter-Cache-Similarity") == "" {
		t.Fatalf("rephrased question: cache %q similarity %q", h.Get("X-Arbiter-Cache"), h.Get("X-Arbiter-Cache-Similarity"))
	}
	if n < 5 || second.Choices[0].Message.Content != first.Choices[0].Message.Content {
		t.Fatalf("semantic replay: %d chunks, %q vs %q", n, second.Choices[0].Message.Content, first.Choices[0].Message.Content)
	}
	// A different number is a different question: never a semantic hit.
	_, _, h = streamed(t, c, params("gpt-4o-mini", "What is the chemical symbol for gold? Answer in 3 words."))
	if h.Get("X-Arbiter-Cache") == "semantic-hit" {
		t.Fatal("a question with a different constraint was served another question's answer")
	}
}

func TestTwoGatewaysShareTheSemanticCacheThroughPostgres(t *testing.T) {
	schema := fmt.Sprintf("semantic_e2e_%d", time.Now().UnixNano())
	conn, err := pgx.Connect(context.Background(), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	yes := true
	dsn := "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=" + schema
	shared := func(c *config.Config) { c.Semantic.Enabled = &yes; c.Semantic.Postgres = dsn }
	a := newStack(t, emulator.Config{}, shared)
	b := newStack(t, emulator.Config{}, shared)
	ca, cb := sdk(a.arbSrv.URL), sdk(b.arbSrv.URL)
	if _, err := ca.Chat.Completions.New(context.Background(), params("gpt-4o-mini", "Explain how HTTPS protects data in transit.")); err != nil {
		t.Fatal(err)
	}
	// Replica b hears of the entry and answers a paraphrase with replica a's answer.
	// It is asked until it does (with a TTL of 0 so that its own misses store
	// nothing); the delay is logged, not asserted.
	start := time.Now()
	var raw *http.Response
	for {
		if _, err := cb.Chat.Completions.New(context.Background(), params("gpt-4o-mini", "Explain how HTTPS protects data while in transit."),
			option.WithResponseInto(&raw), option.WithHeader("X-Arbiter-Cache-Ttl", "0")); err != nil {
			t.Fatal(err)
		}
		if raw.Header.Get("X-Arbiter-Cache") == "semantic-hit" {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("replica b never served replica a's answer: cache %q", raw.Header.Get("X-Arbiter-Cache"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("replica b served replica a's answer %s after it was stored", time.Since(start).Round(time.Millisecond))
}
