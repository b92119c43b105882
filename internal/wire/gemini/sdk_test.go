package gemini_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genai"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/gemini"
)

// fakeGemini serves the Gemini API paths with the server-side codec, as the
// emulator does: model and streaming come from the URL.
type fakeGemini struct {
	mu      sync.Mutex
	got     *llm.Request
	gotKey  string
	resp    *llm.Response
	err     *llm.Error
	failAt  int
	failErr *llm.Error
}

func (f *fakeGemini) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	if !ok {
		f.writeErr(w, &llm.Error{Kind: llm.KindNotFound, Message: "no route " + r.URL.Path})
		return
	}
	model, method, _ := strings.Cut(rest, ":")
	f.mu.Lock()
	f.gotKey = r.Header.Get("x-goog-api-key")
	f.mu.Unlock()
	if f.err != nil {
		f.writeErr(w, f.err)
		return
	}
	switch method {
	case "batchEmbedContents", "embedContent":
		batch := method == "batchEmbedContents"
		req, err := gemini.DecodeEmbeddingRequest(model, body, batch)
		if err != nil {
			f.writeErr(w, llm.AsError(err))
			return
		}
		out := &llm.EmbeddingResponse{}
		for i := range req.Input {
			out.Vectors = append(out.Vectors, []float32{float32(i), float32(len(req.Input[i]))})
		}
		b, _ := gemini.EncodeEmbeddingResponse(out, batch)
		_, _ = w.Write(b)
		return
	case "generateContent", "streamGenerateContent":
	default:
		f.writeErr(w, &llm.Error{Kind: llm.KindNotFound, Message: "no method " + method})
		return
	}
	stream := method == "streamGenerateContent"
	if stream && r.URL.Query().Get("alt") != "sse" {
		f.writeErr(w, &llm.Error{Kind: llm.KindInvalidRequest, Message: "alt=sse required"})
		return
	}
	req, err := gemini.DecodeRequest(model, body, stream)
	if err != nil {
		f.writeErr(w, llm.AsError(err))
		return
	}
	f.mu.Lock()
	f.got = req
	f.mu.Unlock()
	if !stream {
		b, err := gemini.EncodeResponse(f.resp)
		if err != nil {
			f.writeErr(w, llm.AsError(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	sse.Header(w.Header())
	sw := sse.NewWriter(w)
	enc := gemini.NewStreamEncoder(gemini.StreamOptions{})
	for i, ev := range llm.Events(f.resp, 4) {
		if f.failAt > 0 && i == f.failAt {
			_ = enc.Fail(sw, f.failErr)
			return
		}
		if err := enc.Encode(sw, ev); err != nil {
			return
		}
	}
	_ = enc.Finish(sw)
}

func (f *fakeGemini) writeErr(w http.ResponseWriter, e *llm.Error) {
	status, body := gemini.EncodeError(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *fakeGemini) request() *llm.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got
}

func newClient(t *testing.T, h http.Handler) *genai.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "gm-test-key", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func answer(text string, calls ...llm.ToolCall) *llm.Response {
	finish := llm.FinishStop
	if len(calls) > 0 {
		finish = llm.FinishToolCalls
	}
	msg := llm.Message{Role: llm.RoleAssistant, ToolCalls: calls}
	if text != "" {
		msg.Content = []llm.Part{{Type: llm.PartText, Text: text}}
	}
	return &llm.Response{ID: "resp-1", Model: "gemini-test",
		Choices: []llm.Choice{{Message: msg, FinishReason: finish}},
		Usage:   llm.Usage{InputTokens: 300, CachedInputTokens: 200, OutputTokens: 45, ReasoningTokens: 15}}
}

var weather = &genai.Tool{FunctionDeclarations: []*genai.FunctionDeclaration{{
	Name: "get_weather", Description: "Weather for a city",
	Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{
		"city": {Type: genai.TypeString}, "unit": {Type: genai.TypeString, Enum: []string{"c", "f"}, Nullable: genai.Ptr(true)}},
		Required: []string{"city"}},
}}}

func TestGenaiGenerateContent(t *testing.T) {
	f := &fakeGemini{resp: answer("Sunny in Paris.")}
	client := newClient(t, f)
	resp, err := client.Models.GenerateContent(context.Background(), "gemini-test", []*genai.Content{
		genai.NewContentFromText("Weather in Paris?", genai.RoleUser),
		{Role: genai.RoleModel, Parts: []*genai.Part{genai.NewPartFromFunctionCall("get_weather", map[string]any{"city": "Paris"})}},
		{Role: genai.RoleUser, Parts: []*genai.Part{genai.NewPartFromFunctionResponse("get_weather", map[string]any{"output": "sunny"})}},
	}, &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("Be brief.", genai.RoleUser),
		Temperature:       genai.Ptr[float32](0.25),
		MaxOutputTokens:   128,
		StopSequences:     []string{"END"},
		Tools:             []*genai.Tool{weather},
		ToolConfig:        &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAuto}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "Sunny in Paris." || resp.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Fatalf("SDK parsed text %q finish %s", resp.Text(), resp.Candidates[0].FinishReason)
	}
	u := resp.UsageMetadata
	if u.PromptTokenCount != 300 || u.CachedContentTokenCount != 200 || u.CandidatesTokenCount != 30 || u.ThoughtsTokenCount != 15 || u.TotalTokenCount != 345 {
		t.Fatalf("usage = %+v", u)
	}
	got := f.request()
	if got.Model != "gemini-test" || got.System() != "Be brief." || *got.MaxTokens != 128 || got.Stop[0] != "END" || got.ToolChoice.Mode != llm.ToolChoiceAuto {
		t.Fatalf("decoded request = %+v", got)
	}
	if f.gotKey != "gm-test-key" {
		t.Fatal("x-goog-api-key not sent by the SDK (test server sanity)")
	}
	tool := got.Messages[3]
	if tool.Role != llm.RoleTool || tool.ToolName != "get_weather" || tool.ToolCallID != got.Messages[2].ToolCalls[0].ID || tool.Text() != "sunny" {
		t.Fatalf("function response → %+v", tool)
	}
	if string(got.Tools[0].Parameters) != `{"properties":{"city":{"type":"string"},"unit":{"enum":["c","f"],"type":["string","null"]}},"required":["city"],"type":"object"}` {
		t.Fatalf("tool schema → %s", got.Tools[0].Parameters)
	}
}

func TestGenaiFunctionCallResponse(t *testing.T) {
	f := &fakeGemini{resp: answer("", llm.ToolCall{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Rome"}`})}
	client := newClient(t, f)
	resp, err := client.Models.GenerateContent(context.Background(), "gemini-test",
		genai.Text("Weather in Rome?"), &genai.GenerateContentConfig{Tools: []*genai.Tool{weather}})
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.FunctionCalls()
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "Rome" || calls[0].ID != "toolu_1" {
		t.Fatalf("function calls = %+v", calls)
	}
}

func TestGenaiStreamingTextAndFunctionCall(t *testing.T) {
	f := &fakeGemini{resp: answer("Let me check the weather for you.", llm.ToolCall{ID: "c1", Name: "get_weather", Arguments: `{"city":"Oslo","unit":"c"}`})}
	client := newClient(t, f)
	var text strings.Builder
	var calls []*genai.FunctionCall
	var last *genai.GenerateContentResponse
	chunks := 0
	for resp, err := range client.Models.GenerateContentStream(context.Background(), "gemini-test",
		genai.Text("Weather in Oslo?"), &genai.GenerateContentConfig{Tools: []*genai.Tool{weather}}) {
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		text.WriteString(resp.Text())
		calls = append(calls, resp.FunctionCalls()...)
		last = resp
	}
	if chunks < 3 || text.String() != "Let me check the weather for you." {
		t.Fatalf("%d chunks, text %q", chunks, text.String())
	}
	if len(calls) != 1 || calls[0].Args["city"] != "Oslo" || calls[0].Args["unit"] != "c" {
		t.Fatalf("calls = %+v", calls)
	}
	if last.Candidates[0].FinishReason != genai.FinishReasonStop || last.UsageMetadata == nil || last.UsageMetadata.ThoughtsTokenCount != 15 {
		t.Fatalf("last chunk = %+v", last)
	}
	if !f.request().Stream {
		t.Fatal("stream flag from the URL not decoded")
	}
}

func TestGenaiErrors(t *testing.T) {
	for _, tc := range []struct {
		kind   llm.ErrorKind
		code   int
		status string
	}{
		{llm.KindRateLimited, 429, "RESOURCE_EXHAUSTED"},
		{llm.KindOverloaded, 503, "UNAVAILABLE"},
		{llm.KindInvalidRequest, 400, "INVALID_ARGUMENT"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			f := &fakeGemini{err: &llm.Error{Kind: tc.kind, Message: "nope"}}
			client := newClient(t, f)
			_, err := client.Models.GenerateContent(context.Background(), "gemini-test", genai.Text("hi"), nil)
			var apiErr genai.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.Status != tc.status || apiErr.Message != "nope" {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestGenaiMidStreamErrorSurfaces(t *testing.T) {
	f := &fakeGemini{resp: answer("a long answer that will be cut off half way"), failAt: 3,
		failErr: &llm.Error{Kind: llm.KindOverloaded, Message: "upstream broke"}}
	client := newClient(t, f)
	var gotErr error
	n := 0
	for _, err := range client.Models.GenerateContentStream(context.Background(), "gemini-test", genai.Text("hi"), nil) {
		if err != nil {
			gotErr = err
			break
		}
		n++
	}
	var apiErr genai.APIError
	if n == 0 || !errors.As(gotErr, &apiErr) || apiErr.Status != "UNAVAILABLE" {
		t.Fatalf("chunks=%d err=%v", n, gotErr)
	}
}

func TestGenaiEmbedContent(t *testing.T) {
	f := &fakeGemini{}
	client := newClient(t, f)
	resp, err := client.Models.EmbedContent(context.Background(), "text-embedding-004",
		[]*genai.Content{genai.NewContentFromText("abc", genai.RoleUser), genai.NewContentFromText("hello", genai.RoleUser)},
		&genai.EmbedContentConfig{TaskType: "RETRIEVAL_DOCUMENT", OutputDimensionality: genai.Ptr[int32](2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || resp.Embeddings[1].Values[0] != 1 || resp.Embeddings[1].Values[1] != 5 {
		t.Fatalf("embeddings = %+v", resp.Embeddings)
	}
}
