package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/arbiterhq/arbiter/internal/config"
	"github.com/arbiterhq/arbiter/internal/emulator"
)

// The cross-format matrix: every client format (the official OpenAI and Anthropic Go
// SDKs) against a model served by each provider format, through the whole gateway,
// with the emulator playing the providers. Subtests are named client/provider/case.

// tinyPNG is a 1×1 PNG, base64.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

// matrixProvider is one provider format and the model it serves in the matrix.
type matrixProvider struct {
	name     string // provider format: openai, anthropic, gemini
	model    string // what the client asks for
	upstream string // the provider's own name for it (the emulator's stats key)
	path     string // the emulator route a non-streamed request reaches
}

var matrixProviders = []matrixProvider{
	{"openai", "gpt-4o-mini", "gpt-4o-mini", "/v1/chat/completions"},
	{"anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", "/v1/messages"},
	{"gemini", "gemini-2.0-flash", "gemini-2.0-flash", "/v1beta/models/{model}:generateContent"},
}

// convo is a conversation in no client's format; each client builds its own params.
type convo struct {
	system string
	turns  []turn
	tools  bool // offer get_weather
	clock  bool // offer get_time too
	schema bool // ask for JSON matching forecastSchema (OpenAI client only)
}

type turn struct {
	role   string // user, assistant, tool
	text   string
	image  bool       // user: a base64 PNG after the text
	calls  []toolCall // assistant: tool calls
	callID string     // tool: the call answered
}

type toolCall struct{ id, name, args string }

// outcome is what a client saw, normalised.
type outcome struct {
	text   string
	calls  []toolCall
	finish string // "stop" or "tool_calls", in OpenAI's words
	in     int64
	out    int64
	// streams only
	argDeltas  int  // events carrying a piece of tool-call arguments
	finalUsage bool // the last event before the end carried usage with output > 0
}

// matrixClient speaks one client format through its official SDK.
type matrixClient interface {
	name() string
	do(ctx context.Context, model string, c convo, stream bool) (outcome, error)
	// checkError asserts err is the SDK's API error with the status and error type
	// this client format uses for an upstream failure with that status.
	checkError(t *testing.T, err error, upstreamStatus int)
	// rawStream sends a streamed request with plain HTTP and returns the SSE events.
	rawStream(t *testing.T, base, model string) (status int, events []sseEvent)
	// checkMidStreamError asserts the raw events end in this format's error event.
	checkMidStreamError(t *testing.T, events []sseEvent, wantType string)
}

var weatherSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7}},
	"required":   []string{"city", "days"},
}

var timeSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required":   []string{"city"},
}

var forecastSchema = map[string]any{
	"type":                 "object",
	"properties":           map[string]any{"city": map[string]any{"type": "string"}, "high_c": map[string]any{"type": "number"}},
	"required":             []string{"city", "high_c"},
	"additionalProperties": false,
}

// ---- OpenAI client ----

type openaiClient struct{ c openai.Client }

func (openaiClient) name() string { return "openai" }

func (o openaiClient) params(model string, c convo) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: model, MaxTokens: openai.Int(300)}
	if c.system != "" {
		p.Messages = append(p.Messages, openai.SystemMessage(c.system))
	}
	for _, tn := range c.turns {
		switch tn.role {
		case "user":
			if tn.image {
				p.Messages = append(p.Messages, openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
					openai.TextContentPart(tn.text),
					openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + tinyPNG}),
				}))
			} else {
				p.Messages = append(p.Messages, openai.UserMessage(tn.text))
			}
		case "assistant":
			if len(tn.calls) == 0 {
				p.Messages = append(p.Messages, openai.AssistantMessage(tn.text))
				continue
			}
			a := &openai.ChatCompletionAssistantMessageParam{}
			for _, tc := range tn.calls {
				a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID: tc.id, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.name, Arguments: tc.args}}})
			}
			p.Messages = append(p.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: a})
		case "tool":
			p.Messages = append(p.Messages, openai.ToolMessage(tn.text, tn.callID))
		}
	}
	if c.tools {
		p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Description: openai.String("Weather forecast for a city"), Parameters: shared.FunctionParameters(weatherSchema)})}
		if c.clock {
			p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_time", Description: openai.String("Local time in a city"), Parameters: shared.FunctionParameters(timeSchema)}))
		}
	}
	if c.schema {
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "forecast", Strict: openai.Bool(true), Schema: forecastSchema}}}
	}
	return p
}

func (o openaiClient) do(ctx context.Context, model string, c convo, stream bool) (outcome, error) {
	p := o.params(model, c)
	var cc openai.ChatCompletion
	var res outcome
	if stream {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		st := o.c.Chat.Completions.NewStreaming(ctx, p)
		var acc openai.ChatCompletionAccumulator
		var last openai.ChatCompletionChunk
		for st.Next() {
			ch := st.Current()
			acc.AddChunk(ch)
			last = ch
			for _, chc := range ch.Choices {
				for _, tc := range chc.Delta.ToolCalls {
					if tc.Function.Arguments != "" {
						res.argDeltas++
					}
				}
			}
		}
		if err := st.Err(); err != nil {
			return res, err
		}
		// include_usage: the last chunk has no choices and carries the usage.
		res.finalUsage = len(last.Choices) == 0 && last.Usage.CompletionTokens > 0 && last.Usage.PromptTokens > 0
		cc = acc.ChatCompletion
	} else {
		r, err := o.c.Chat.Completions.New(ctx, p)
		if err != nil {
			return res, err
		}
		cc = *r
	}
	if len(cc.Choices) != 1 {
		return res, errors.New("want exactly one choice, got " + cc.RawJSON())
	}
	ch := cc.Choices[0]
	res.text, res.finish = ch.Message.Content, ch.FinishReason
	for _, tc := range ch.Message.ToolCalls {
		res.calls = append(res.calls, toolCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
	}
	res.in, res.out = cc.Usage.PromptTokens, cc.Usage.CompletionTokens
	return res, nil
}

func (openaiClient) checkError(t *testing.T, err error, upstream int) {
	t.Helper()
	want := map[int]struct {
		status int
		typ    string
	}{429: {429, "rate_limit_error"}, 529: {503, "server_error"}, 500: {502, "server_error"}}[upstream]
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *openai.Error, got %T %v", err, err)
	}
	if e.StatusCode != want.status || e.Type != want.typ || e.Message == "" {
		t.Fatalf("upstream %d: got status %d type %q message %q, want %d %q", upstream, e.StatusCode, e.Type, e.Message, want.status, want.typ)
	}
}

func (openaiClient) rawStream(t *testing.T, base, model string) (int, []sseEvent) {
	body := `{"model":"` + model + `","stream":true,"stream_options":{"include_usage":true},"max_tokens":300,"messages":[{"role":"user","content":"Write a long essay about rivers and bridges."}]}`
	return postSSE(t, base+"/v1/chat/completions", body, nil)
}

func (openaiClient) checkMidStreamError(t *testing.T, evs []sseEvent, wantType string) {
	t.Helper()
	content := 0
	for i, ev := range evs {
		if ev.data == "[DONE]" {
			t.Fatalf("stream ended with [DONE] after an upstream failure: %v", evs)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatalf("event %d is not JSON: %q", i, ev.data)
		}
		if raw, ok := m["error"]; ok {
			if i != len(evs)-1 {
				t.Fatalf("error event is not the last: %v", evs)
			}
			var e struct{ Message, Type string }
			if err := json.Unmarshal(raw, &e); err != nil || e.Message == "" || e.Type != wantType {
				t.Fatalf("error event %s: want type %q and a message", raw, wantType)
			}
			if content == 0 {
				t.Fatalf("no content before the error: the failure was not mid-stream: %v", evs)
			}
			return
		}
		content++
	}
	t.Fatalf("no error event: a truncated stream that looks complete to the client: %v", evs)
}

// ---- Anthropic client ----

type anthropicClient struct{ c anthropic.Client }

func (anthropicClient) name() string { return "anthropic" }

func (a anthropicClient) params(model string, c convo) anthropic.MessageNewParams {
	p := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 300}
	if c.system != "" {
		p.System = []anthropic.TextBlockParam{{Text: c.system}}
	}
	for i, tn := range c.turns {
		switch tn.role {
		case "user":
			blocks := []anthropic.ContentBlockParamUnion{anthropic.NewTextBlock(tn.text)}
			if tn.image {
				blocks = append(blocks, anthropic.NewImageBlockBase64("image/png", tinyPNG))
			}
			p.Messages = append(p.Messages, anthropic.NewUserMessage(blocks...))
		case "assistant":
			var blocks []anthropic.ContentBlockParamUnion
			if tn.text != "" {
				blocks = append(blocks, anthropic.NewTextBlock(tn.text))
			}
			for _, tc := range tn.calls {
				blocks = append(blocks, anthropic.NewToolUseBlock(tc.id, json.RawMessage(tc.args), tc.name))
			}
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(blocks...))
		case "tool":
			// Results of one assistant turn go back together in one user turn.
			block := anthropic.NewToolResultBlock(tn.callID, tn.text, false)
			if i > 0 && c.turns[i-1].role == "tool" {
				last := &p.Messages[len(p.Messages)-1]
				last.Content = append(last.Content, block)
			} else {
				p.Messages = append(p.Messages, anthropic.NewUserMessage(block))
			}
		}
	}
	if c.tools {
		p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("Weather forecast for a city"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city", "days"}},
		}}}
		if c.clock {
			p.Tools = append(p.Tools, anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
				Name: "get_time", Description: anthropic.String("Local time in a city"),
				InputSchema: anthropic.ToolInputSchemaParam{Properties: timeSchema["properties"], Required: []string{"city"}},
			}})
		}
	}
	return p
}

func (a anthropicClient) do(ctx context.Context, model string, c convo, stream bool) (outcome, error) {
	p := a.params(model, c)
	var msg anthropic.Message
	var res outcome
	if stream {
		st := a.c.Messages.NewStreaming(ctx, p)
		var lastDeltaOut int64
		var lastType string
		for st.Next() {
			ev := st.Current()
			if err := msg.Accumulate(ev); err != nil {
				return res, err
			}
			switch ev.Type {
			case "content_block_delta":
				if ev.Delta.Type == "input_json_delta" && ev.Delta.PartialJSON != "" {
					res.argDeltas++
				}
			case "message_delta":
				lastDeltaOut = ev.Usage.OutputTokens
			}
			if ev.Type != "ping" {
				lastType = ev.Type
			}
		}
		if err := st.Err(); err != nil {
			return res, err
		}
		if lastType != "message_stop" {
			return res, errors.New("stream ended without message_stop, last event " + lastType)
		}
		res.finalUsage = lastDeltaOut > 0
	} else {
		m, err := a.c.Messages.New(ctx, p)
		if err != nil {
			return res, err
		}
		msg = *m
	}
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			res.text += b.Text
		case "tool_use":
			res.calls = append(res.calls, toolCall{b.ID, b.Name, string(b.Input)})
		}
	}
	switch msg.StopReason {
	case "end_turn", "stop_sequence":
		res.finish = "stop"
	case "tool_use":
		res.finish = "tool_calls"
	default:
		res.finish = string(msg.StopReason)
	}
	res.in, res.out = msg.Usage.InputTokens, msg.Usage.OutputTokens
	return res, nil
}

func (anthropicClient) checkError(t *testing.T, err error, upstream int) {
	t.Helper()
	want := map[int]struct {
		status int
		typ    string
	}{429: {429, "rate_limit_error"}, 529: {529, "overloaded_error"}, 500: {500, "api_error"}}[upstream]
	var e *anthropic.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *anthropic.Error, got %T %v", err, err)
	}
	if e.StatusCode != want.status || string(e.Type()) != want.typ {
		t.Fatalf("upstream %d: got status %d type %q (%s), want %d %q", upstream, e.StatusCode, e.Type(), e.RawJSON(), want.status, want.typ)
	}
}

func (anthropicClient) rawStream(t *testing.T, base, model string) (int, []sseEvent) {
	body := `{"model":"` + model + `","stream":true,"max_tokens":300,"messages":[{"role":"user","content":"Write a long essay about rivers and bridges."}]}`
	return postSSE(t, base+"/v1/messages", body, map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "sk-client"})
}

func (anthropicClient) checkMidStreamError(t *testing.T, evs []sseEvent, wantType string) {
	t.Helper()
	content := 0
	for i, ev := range evs {
		switch ev.event {
		case "message_stop":
			t.Fatalf("message_stop after an upstream failure: %v", evs)
		case "error":
			if i != len(evs)-1 {
				t.Fatalf("error event is not the last: %v", evs)
			}
			var e struct {
				Type  string
				Error struct{ Type, Message string }
			}
			if err := json.Unmarshal([]byte(ev.data), &e); err != nil || e.Type != "error" || e.Error.Type != wantType || e.Error.Message == "" {
				t.Fatalf("error event %q: want type %q and a message", ev.data, wantType)
			}
			if content == 0 {
				t.Fatalf("no content before the error: the failure was not mid-stream: %v", evs)
			}
			return
		case "content_block_delta":
			content++
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil || m["type"] != ev.event {
			t.Fatalf("event %d %q: data %q is not its JSON", i, ev.event, ev.data)
		}
	}
	t.Fatalf("no error event: a truncated stream that looks complete to the client: %v", evs)
}

// ---- raw SSE ----

type sseEvent struct{ event, data string }

func postSSE(t *testing.T, url, body string, hdr map[string]string) (int, []sseEvent) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-client")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var evs []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" || cur.event != "" {
				evs = append(evs, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event:"):
			cur.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			cur.data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
	if cur.data != "" {
		evs = append(evs, cur) // an event the server never terminated
	}
	if err := sc.Err(); err != nil {
		t.Logf("reading the stream: %v", err)
	}
	return resp.StatusCode, evs
}

// ---- upstream recorder ----

// recorder sits between Arbiter and the emulator and keeps every upstream request,
// so the matrix can check what reached the provider in its own format.
type recorder struct {
	emu  atomic.Pointer[emulator.Emulator]
	mu   sync.Mutex
	reqs []upstreamReq
}

type upstreamReq struct {
	path string
	body map[string]any
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(b))
	var m map[string]any
	json.Unmarshal(b, &m)
	r.mu.Lock()
	r.reqs = append(r.reqs, upstreamReq{req.URL.Path, m})
	r.mu.Unlock()
	r.emu.Load().ServeHTTP(w, req)
}

// take returns the requests recorded since the last take.
func (r *recorder) take() []upstreamReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// newMatrixStack is newStack with the recorder in front of the emulator, no cache
// (every request must reach a provider), each matrix model on its own provider only,
// two attempts per request and breakers that never open (errors are injected on
// purpose).
func newMatrixStack(t *testing.T) (*stack, *recorder) {
	rec := &recorder{}
	recSrv := httptest.NewServer(rec)
	t.Cleanup(recSrv.Close)
	s := newStack(t, emulator.Config{}, func(c *config.Config) {
		off := false
		c.Cache.Enabled = &off
		c.Executor.MaxAttempts, c.Executor.RetriesPerDeployment = 2, 1
		// Ends a stream that hangs mid-way; the emulator answers at once otherwise.
		c.Executor.IdleTimeout = config.Duration(time.Second)
		c.Executor.Breaker = config.Breaker{ConsecutiveFailures: 1 << 20, ErrorRate: 1, MinRequests: 1 << 20, Window: config.Duration(time.Minute), CoolDown: config.Duration(time.Millisecond)}
		c.Routes = map[string]config.Route{}
		for _, p := range matrixProviders {
			c.Routes[p.model] = config.Route{Deployments: []string{p.name}}
		}
		pointProvidersAt(c, recSrv.URL)
	})
	rec.emu.Store(s.emu)
	return s, rec
}

// pointProvidersAt sends every provider of c to one server (a recorder in front
// of the emulator), at the path its SDK-style base URL would have.
func pointProvidersAt(c *config.Config, url string) {
	for i := range c.Providers {
		p := &c.Providers[i]
		p.BaseURL = url
		if p.Kind == "openai" {
			p.BaseURL += "/v1"
		}
	}
}

// ---- upstream checks, per provider format ----

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// roles lists the roles of the conversation turns as the provider received them.
func upstreamRoles(provider string, body map[string]any) []string {
	key := "messages"
	if provider == "gemini" {
		key = "contents"
	}
	var out []string
	list, _ := body[key].([]any)
	for _, m := range list {
		mm, _ := m.(map[string]any)
		r, _ := mm["role"].(string)
		out = append(out, r)
	}
	return out
}

// upstreamSystem returns the provider's system prompt as JSON text.
func upstreamSystem(provider string, body map[string]any) string {
	switch provider {
	case "anthropic":
		return jsonOf(body["system"])
	case "gemini":
		return jsonOf(body["systemInstruction"])
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) > 0 {
		if m, _ := msgs[0].(map[string]any); m["role"] == "system" || m["role"] == "developer" {
			return jsonOf(m["content"])
		}
	}
	return ""
}

// lastUpstream returns the one recorded request, failing unless exactly one reached
// the provider the model belongs to.
func lastUpstream(t *testing.T, rec *recorder, p matrixProvider) upstreamReq {
	t.Helper()
	reqs := rec.take()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := strings.ReplaceAll(p.path, "{model}", p.upstream)
	if !strings.HasPrefix(r.path, strings.TrimSuffix(want, ":generateContent")) {
		t.Fatalf("upstream path %q, want %q", r.path, want)
	}
	return r
}

// ---- the matrix ----

func TestMatrixEveryClientFormatReachesEveryProvider(t *testing.T) {
	s, rec := newMatrixStack(t)
	clients := []matrixClient{
		openaiClient{sdk(s.arbSrv.URL)},
		anthropicClient{anthropic.NewClient(aoption.WithBaseURL(s.arbSrv.URL+"/"), aoption.WithAPIKey("sk-client"), aoption.WithMaxRetries(0))},
	}
	ctx := context.Background()
	for _, cl := range clients {
		for _, p := range matrixProviders {
			for _, stream := range []bool{false, true} {
				suffix := ""
				if stream {
					suffix = "/stream"
				}
				run := func(t *testing.T, c convo) outcome {
					t.Helper()
					rec.take()
					res, err := cl.do(ctx, p.model, c, stream)
					if err != nil {
						t.Fatal(err)
					}
					if res.in <= 0 || res.out <= 0 {
						t.Fatalf("usage in %d out %d, want both > 0", res.in, res.out)
					}
					if stream && !res.finalUsage {
						t.Fatal("the final stream event carried no usage")
					}
					return res
				}
				prefix := cl.name() + "/" + p.name + "/"

				t.Run(prefix+"text"+suffix, func(t *testing.T) {
					res := run(t, convo{turns: []turn{{role: "user", text: "Tell me about lighthouses."}}})
					up := lastUpstream(t, rec, p)
					if res.finish != "stop" || !strings.Contains(res.text, "["+p.upstream+"]") || !strings.Contains(res.text, "lighthouses") {
						t.Fatalf("finish %q text %q", res.finish, res.text)
					}
					if got := upstreamRoles(p.name, up.body); len(got) != 1 || got[0] != "user" {
						t.Fatalf("upstream roles %v", got)
					}
				})

				t.Run(prefix+"system"+suffix, func(t *testing.T) {
					const sys = "You are a terse lighthouse keeper."
					plain := run(t, convo{turns: []turn{{role: "user", text: "Tell me about lighthouses."}}})
					rec.take()
					res := run(t, convo{system: sys, turns: []turn{{role: "user", text: "Tell me about lighthouses."}}})
					up := lastUpstream(t, rec, p)
					if !strings.Contains(upstreamSystem(p.name, up.body), sys) {
						t.Fatalf("system prompt not in the provider's system slot: %s", jsonOf(up.body))
					}
					if res.in <= plain.in {
						t.Fatalf("input tokens with a system prompt %d, without %d: not counted", res.in, plain.in)
					}
				})

				t.Run(prefix+"multi_turn"+suffix, func(t *testing.T) {
					res := run(t, convo{turns: []turn{
						{role: "user", text: "My name is Ada."},
						{role: "assistant", text: "Hello Ada, how can I help?"},
						{role: "user", text: "Which rivers cross Lyon?"},
					}})
					up := lastUpstream(t, rec, p)
					want := "user,assistant,user"
					if p.name == "gemini" {
						want = "user,model,user"
					}
					if got := strings.Join(upstreamRoles(p.name, up.body), ","); got != want {
						t.Fatalf("upstream roles %s, want %s", got, want)
					}
					if j := jsonOf(up.body); !strings.Contains(j, "Hello Ada, how can I help?") || !strings.Contains(j, "My name is Ada.") {
						t.Fatalf("history lost upstream: %s", j)
					}
					if !strings.Contains(res.text, "rivers cross Lyon") {
						t.Fatalf("answer is not about the last turn: %q", res.text)
					}
				})

				t.Run(prefix+"image"+suffix, func(t *testing.T) {
					res := run(t, convo{turns: []turn{{role: "user", text: "Describe this image.", image: true}}})
					up := lastUpstream(t, rec, p)
					j := jsonOf(up.body)
					key := map[string]string{"openai": `"url":"data:image/png;base64,` + tinyPNG, "anthropic": `"data":"` + tinyPNG, "gemini": `"data":"` + tinyPNG}[p.name]
					mime := map[string]string{"openai": `image_url`, "anthropic": `"media_type":"image/png"`, "gemini": `"mimeType":"image/png"`}[p.name]
					if !strings.Contains(j, key) || !strings.Contains(j, mime) {
						t.Fatalf("image not sent in %s's shape: %s", p.name, j)
					}
					if res.in < 765 { // the emulator counts an image as 765 tokens
						t.Fatalf("input tokens %d: the image was not counted", res.in)
					}
				})

				t.Run(prefix+"tool_round_trip"+suffix, func(t *testing.T) {
					c := convo{tools: true, turns: []turn{{role: "user", text: "Use get_weather: what will it be like in Lyon?"}}}
					first := run(t, c)
					lastUpstream(t, rec, p)
					if first.finish != "tool_calls" || len(first.calls) != 1 {
						t.Fatalf("finish %q calls %+v, want one tool call", first.finish, first.calls)
					}
					call := first.calls[0]
					if call.name != "get_weather" || call.id == "" {
						t.Fatalf("call %+v", call)
					}
					var args struct {
						City *string `json:"city"`
						Days *int    `json:"days"`
					}
					dec := json.NewDecoder(strings.NewReader(call.args))
					dec.DisallowUnknownFields()
					if err := dec.Decode(&args); err != nil || args.City == nil || args.Days == nil || *args.Days < 1 || *args.Days > 7 {
						t.Fatalf("arguments %q do not match the schema (%v)", call.args, err)
					}
					if stream && p.name != "gemini" && first.argDeltas < 2 {
						t.Fatalf("tool arguments arrived in %d delta(s), want them streamed in several", first.argDeltas)
					}
					if stream && first.argDeltas < 1 {
						t.Fatal("no tool argument delta")
					}
					if stream {
						t.Logf("tool argument deltas seen by the SDK: %d", first.argDeltas)
					}

					c.turns = append(c.turns,
						turn{role: "assistant", calls: []toolCall{call}},
						turn{role: "tool", callID: call.id, text: "18C and sunny"})
					second := run(t, c)
					up := lastUpstream(t, rec, p)
					if second.finish != "stop" || len(second.calls) != 0 {
						t.Fatalf("finish %q calls %+v after the result, want an answer", second.finish, second.calls)
					}
					// The emulator names the tool whose result it got, found by the call id
					// (OpenAI, Anthropic) or by name (Gemini): a lost id or name shows here.
					if !strings.Contains(second.text, "The get_weather tool returned: 18C and sunny") {
						t.Fatalf("answer %q does not quote the get_weather result", second.text)
					}
					checkUpstreamToolIDs(t, p.name, up.body, call)
				})

				t.Run(prefix+"two_tool_calls"+suffix, func(t *testing.T) {
					c := convo{tools: true, clock: true, turns: []turn{{role: "user", text: "Use get_weather and get_time for Lyon."}}}
					first := run(t, c)
					lastUpstream(t, rec, p)
					if first.finish != "tool_calls" || len(first.calls) != 2 {
						t.Fatalf("finish %q calls %+v, want two tool calls", first.finish, first.calls)
					}
					a, b := first.calls[0], first.calls[1]
					if a.name != "get_weather" || b.name != "get_time" || a.id == "" || b.id == "" || a.id == b.id {
						t.Fatalf("calls %+v: want get_weather then get_time with distinct ids", first.calls)
					}
					for _, call := range first.calls {
						var m map[string]any
						if err := json.Unmarshal([]byte(call.args), &m); err != nil || m["city"] == nil {
							t.Fatalf("%s arguments %q (%v)", call.name, call.args, err)
						}
					}
					c.turns = append(c.turns,
						turn{role: "assistant", calls: first.calls},
						turn{role: "tool", callID: a.id, text: "18C and sunny"},
						turn{role: "tool", callID: b.id, text: "14:05"})
					second := run(t, c)
					lastUpstream(t, rec, p)
					if !strings.Contains(second.text, "The get_weather tool returned: 18C and sunny") || !strings.Contains(second.text, "The get_time tool returned: 14:05") {
						t.Fatalf("answer %q does not quote both results under their tools' names", second.text)
					}
				})

				if cl.name() == "openai" {
					t.Run(prefix+"json_schema"+suffix, func(t *testing.T) {
						res := run(t, convo{schema: true, turns: []turn{{role: "user", text: "Forecast for Lyon as JSON."}}})
						lastUpstream(t, rec, p)
						var v struct {
							City  *string  `json:"city"`
							HighC *float64 `json:"high_c"`
						}
						dec := json.NewDecoder(strings.NewReader(res.text))
						dec.DisallowUnknownFields()
						if err := dec.Decode(&v); err != nil || v.City == nil || v.HighC == nil {
							t.Fatalf("content %q does not match the schema (%v)", res.text, err)
						}
						if res.finish != "stop" {
							t.Fatalf("finish %q", res.finish)
						}
					})
				} else {
					t.Run(prefix+"json_schema"+suffix, func(t *testing.T) {
						t.Skip("the Anthropic Messages API has no response_format (output_format is a beta passed through only to Anthropic)")
					})
				}

				for _, status := range []int{429, 529, 500} {
					t.Run(prefix+"error_"+itoa(status)+suffix, func(t *testing.T) {
						s.emu.SetFaults(p.upstream, emulator.MustParseFaults("status="+itoa(status)+";retry_after=0"))
						defer s.emu.SetFaults(p.upstream, nil)
						before := s.emu.Stats().ByModel[p.upstream].Faults[itoa(status)]
						_, err := cl.do(ctx, p.model, convo{turns: []turn{{role: "user", text: "hi"}}}, stream)
						cl.checkError(t, err, status)
						if n := s.emu.Stats().ByModel[p.upstream].Faults[itoa(status)] - before; n != 2 {
							t.Fatalf("%d upstream attempts failed, want 2 (retries exhausted)", n)
						}
						rec.take()
					})
				}
			}

			// Mid-stream failure: events already went to the client, then upstream breaks.
			prefix := cl.name() + "/" + p.name + "/"
			for _, f := range []struct{ name, spec, openaiType, anthropicType string }{
				{"cut", "cut;after=5", "server_error", "api_error"},
				{"error_529", "error;after=5;status=529", "server_error", "overloaded_error"},
				{"malformed", "malformed;after=5", "server_error", "api_error"},
				{"hang", "hang;after=5", "server_error", "api_error"}, // ended by the idle timeout
			} {
				t.Run(prefix+"mid_stream_"+f.name+"/raw", func(t *testing.T) {
					s.emu.SetFaults(p.upstream, emulator.MustParseFaults(f.spec))
					defer s.emu.SetFaults(p.upstream, nil)
					status, evs := cl.rawStream(t, s.arbSrv.URL, p.model)
					rec.take()
					if status != 200 {
						t.Fatalf("status %d: the failure came before the stream started", status)
					}
					want := f.openaiType
					if cl.name() == "anthropic" {
						want = f.anthropicType
					}
					cl.checkMidStreamError(t, evs, want)
				})
				t.Run(prefix+"mid_stream_"+f.name+"/sdk", func(t *testing.T) {
					s.emu.SetFaults(p.upstream, emulator.MustParseFaults(f.spec))
					defer s.emu.SetFaults(p.upstream, nil)
					_, err := cl.do(ctx, p.model, convo{turns: []turn{{role: "user", text: "Write a long essay about rivers and bridges."}}}, true)
					rec.take()
					if err == nil {
						t.Fatal("the SDK saw a complete stream after the upstream broke")
					}
					t.Logf("SDK error: %v", err)
				})
			}
		}
	}
}

// checkUpstreamToolIDs checks that the assistant's tool call and the tool result
// reached the provider linked: the same id (OpenAI, Anthropic; the client echoed the
// id it was given) or the tool's name (Gemini, which has no ids on the wire).
func checkUpstreamToolIDs(t *testing.T, provider string, body map[string]any, call toolCall) {
	t.Helper()
	j := jsonOf(body)
	switch provider {
	case "openai":
		if !strings.Contains(j, `"tool_call_id":"`+call.id+`"`) || !strings.Contains(j, `"id":"`+call.id+`"`) {
			t.Fatalf("call id %q not echoed upstream on both the call and the result: %s", call.id, j)
		}
	case "anthropic":
		if !strings.Contains(j, `"tool_use_id":"`+call.id+`"`) || !strings.Contains(j, `"id":"`+call.id+`"`) {
			t.Fatalf("call id %q not echoed upstream on both tool_use and tool_result: %s", call.id, j)
		}
	case "gemini":
		if !strings.Contains(j, `"functionCall":{`) || !strings.Contains(j, `"functionResponse":{`) || strings.Count(j, `"name":"get_weather"`) < 3 {
			t.Fatalf("functionCall/functionResponse not linked by name upstream: %s", j)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestMatrixOpenAIErrorCodeIsOpenAIsWhateverTheProvider pins a bug: the Anthropic and
// Gemini decoders put their own vocabulary in llm.Error.Code (Anthropic's error type
// "overloaded_error", Gemini's status "RESOURCE_EXHAUSTED"), and the OpenAI surface
// sends it as "code", so an OpenAI client's code depends on which provider answered.
// llm.Error.Code is documented as "in the client's vocabulary"; an OpenAI client
// should see the code an OpenAI upstream would give (rate_limit_exceeded, overloaded).
func TestMatrixOpenAIErrorCodeIsOpenAIsWhateverTheProvider(t *testing.T) {
	s, _ := newMatrixStack(t)
	c := openaiClient{sdk(s.arbSrv.URL)}
	for _, p := range matrixProviders {
		for _, tc := range []struct {
			fault, want string
			stream      bool
		}{
			{"status=429;retry_after=0", "rate_limit_exceeded", false},
			{"status=529", "overloaded", false},
			{"status=500", "", false},
			{"status=400", "", false},
			{"error;after=5;status=529", "overloaded", true},
		} {
			t.Run(p.name+"/"+tc.fault, func(t *testing.T) {
				s.emu.SetFaults(p.upstream, emulator.MustParseFaults(tc.fault))
				defer s.emu.SetFaults(p.upstream, nil)
				_, err := c.do(context.Background(), p.model, convo{turns: []turn{{role: "user", text: "Write a long essay about rivers."}}}, tc.stream)
				var code string
				var apiErr *openai.Error
				var streamErr *ssestream.StreamError
				switch {
				case errors.As(err, &apiErr):
					code = apiErr.Code
				case errors.As(err, &streamErr):
					var body struct{ Error struct{ Code *string } }
					if json.Unmarshal(streamErr.Event.Data, &body) != nil {
						t.Fatalf("error event %q", streamErr.Event.Data)
					}
					if body.Error.Code != nil {
						code = *body.Error.Code
					}
				default:
					t.Fatalf("want an OpenAI error, got %T %v", err, err)
				}
				if code != tc.want {
					t.Fatalf("code %q, want %q (what an OpenAI upstream gives)", code, tc.want)
				}
			})
		}
	}
}

// TestMatrixGeminiToolSchemaTranslatesOrFailsWithAClear400: a tool schema carrying
// what Gemini rejects (additionalProperties, strict, $ref/$defs, anyOf) is translated;
// one Gemini cannot express (a recursive $ref) is refused by Arbiter with a 400 in the
// client's shape naming the construct, and never reaches Gemini.
func TestMatrixGeminiToolSchemaTranslatesOrFailsWithAClear400(t *testing.T) {
	s, rec := newMatrixStack(t)
	c := sdk(s.arbSrv.URL)
	ac := anthropic.NewClient(aoption.WithBaseURL(s.arbSrv.URL+"/"), aoption.WithAPIKey("sk-client"), aoption.WithMaxRetries(0))
	translatable := map[string]any{
		"type": "object", "additionalProperties": false, "strict": true,
		"$defs": map[string]any{"place": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}},
		"properties": map[string]any{
			"where": map[string]any{"$ref": "#/$defs/place"},
			"unit":  map[string]any{"anyOf": []any{map[string]any{"type": "string", "enum": []string{"C", "F"}}, map[string]any{"type": "null"}}},
		},
		"required": []string{"where"},
	}
	recursive := map[string]any{
		"type": "object",
		"$defs": map[string]any{"node": map[string]any{"type": "object", "properties": map[string]any{
			"name": map[string]any{"type": "string"}, "children": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/node"}}}}},
		"properties": map[string]any{"tree": map[string]any{"$ref": "#/$defs/node"}},
	}
	openaiReq := func(schema map[string]any) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "gemini-2.0-flash",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Use get_weather for Lyon.")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Strict: openai.Bool(true), Parameters: shared.FunctionParameters(schema)})}}
	}
	anthropicReq := func(schema map[string]any) anthropic.MessageNewParams {
		extra := map[string]any{}
		for k, v := range schema {
			if k != "type" && k != "properties" && k != "required" {
				extra[k] = v
			}
		}
		req, _ := schema["required"].([]string)
		return anthropic.MessageNewParams{Model: "gemini-2.0-flash", MaxTokens: 200,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Use get_weather for Lyon."))},
			Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
				InputSchema: anthropic.ToolInputSchemaParam{Properties: schema["properties"], Required: req, ExtraFields: extra}}}}}
	}
	ctx := context.Background()

	t.Run("openai/translated", func(t *testing.T) {
		rec.take()
		r, err := c.Chat.Completions.New(ctx, openaiReq(translatable))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Choices) != 1 || len(r.Choices[0].Message.ToolCalls) != 1 || !strings.Contains(r.Choices[0].Message.ToolCalls[0].Function.Arguments, `"where":{"city":`) {
			t.Fatalf("want a get_weather call with the $ref'd object, got %s", r.RawJSON())
		}
		if j := jsonOf(rec.take()[0].body); strings.Contains(j, "additionalProperties") || strings.Contains(j, "$ref") || strings.Contains(j, "strict") {
			t.Fatalf("Gemini was sent what it rejects: %s", j)
		}
	})
	t.Run("anthropic/translated", func(t *testing.T) {
		rec.take()
		m, err := ac.Messages.New(ctx, anthropicReq(translatable))
		if err != nil {
			t.Fatal(err)
		}
		if m.StopReason != "tool_use" {
			t.Fatalf("want a tool call, got %s", m.RawJSON())
		}
		if j := jsonOf(rec.take()[0].body); strings.Contains(j, "additionalProperties") || strings.Contains(j, "$ref") {
			t.Fatalf("Gemini was sent what it rejects: %s", j)
		}
	})
	t.Run("openai/refused", func(t *testing.T) {
		rec.take()
		_, err := c.Chat.Completions.New(ctx, openaiReq(recursive))
		var e *openai.Error
		if !errors.As(err, &e) || e.StatusCode != 400 || e.Type != "invalid_request_error" || !strings.Contains(e.Message, "$ref (recursive)") {
			t.Fatalf("want a 400 invalid_request_error naming the recursive $ref, got %v", err)
		}
		if n := len(rec.take()); n != 0 {
			t.Fatalf("%d requests reached Gemini", n)
		}
	})
	t.Run("anthropic/refused", func(t *testing.T) {
		rec.take()
		_, err := ac.Messages.New(ctx, anthropicReq(recursive))
		var e *anthropic.Error
		if !errors.As(err, &e) || e.StatusCode != 400 || e.Type() != "invalid_request_error" || !strings.Contains(e.RawJSON(), "$ref (recursive)") {
			t.Fatalf("want a 400 invalid_request_error naming the recursive $ref, got %v", err)
		}
		if n := len(rec.take()); n != 0 {
			t.Fatalf("%d requests reached Gemini", n)
		}
	})
}

// TestMatrixAnthropicMessageStartCarriesInputTokens pins a bug: Anthropic sends the
// input token count in message_start, and tools that read it there (cost meters,
// context-window gauges) get 0 from Arbiter, whatever the provider: the Anthropic
// stream encoder (wire/anthropic StreamEncoder, which the emulator also uses) always
// writes message_start with usage.input_tokens 0, and the real count arrives only in
// message_delta. The neutral EventStart has no usage to carry it from an upstream
// message_start either.
func TestMatrixAnthropicMessageStartCarriesInputTokens(t *testing.T) {
	s, _ := newMatrixStack(t)
	_, evs := anthropicClient{}.rawStream(t, s.arbSrv.URL, "claude-3-5-haiku-latest")
	for _, ev := range evs {
		if ev.event != "message_start" {
			continue
		}
		var m struct {
			Message struct {
				Usage struct {
					InputTokens int64 `json:"input_tokens"`
				}
			}
		}
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatal(err)
		}
		if m.Message.Usage.InputTokens == 0 {
			t.Fatalf("message_start usage.input_tokens is 0: %s", ev.data)
		}
		return
	}
	t.Fatalf("no message_start in %v", evs)
}
