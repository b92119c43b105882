package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/genai"
)

func geminiServer(t *testing.T, cfg Config) (*Emulator, *httptest.Server, *genai.Client) {
	t.Helper()
	emu := New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "gm-emulator", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return emu, srv, c
}

var geminiWeather = &genai.Tool{FunctionDeclarations: []*genai.FunctionDeclaration{{
	Name: "get_weather", Description: "Weather for a city",
	Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{
		"city": {Type: genai.TypeString},
		"unit": {Type: genai.TypeString, Enum: []string{"celsius", "fahrenheit"}},
		"days": {Type: genai.TypeInteger, Minimum: genai.Ptr(1.0), Maximum: genai.Ptr(5.0)},
	}, Required: []string{"city", "unit", "days"}},
}}}

func TestGenaiSDKGeneratesContentWithThoughtsForThinkingModels(t *testing.T) {
	emu, _, c := geminiServer(t, Config{})
	ctx := context.Background()
	resp, err := c.Models.GenerateContent(ctx, "gemini-2.0-flash", genai.Text("Why is the sky blue?"),
		&genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("Be brief.", genai.RoleUser)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Text(), "[gemini-2.0-flash] ") || resp.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Fatalf("text %q finish %s", resp.Text(), resp.Candidates[0].FinishReason)
	}
	u := resp.UsageMetadata
	if u.PromptTokenCount == 0 || u.CandidatesTokenCount != int32(TextTokens(resp.Text())) || u.ThoughtsTokenCount != 0 {
		t.Fatalf("usage %+v", u)
	}
	thinking, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("Why is the sky blue?"), nil)
	if err != nil || thinking.UsageMetadata.ThoughtsTokenCount == 0 {
		t.Fatalf("gemini-2.5-flash: %v %+v", err, thinking.UsageMetadata)
	}
	cached, err := c.Models.GenerateContent(ctx, "gemini-2.0-flash", genai.Text(strings.Repeat("context ", 100)), nil)
	if err != nil || cached.UsageMetadata.CachedContentTokenCount != 0 {
		t.Fatalf("uncached: %v %+v", err, cached.UsageMetadata)
	}
	if s := emu.Stats().ByPath["/v1beta/models/{model}:generateContent"]; s.Requests != 3 || s.Succeeded != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestGenaiSDKStreamsAFunctionCallSatisfyingTheSchema(t *testing.T) {
	_, _, c := geminiServer(t, Config{})
	var calls []*genai.FunctionCall
	chunks := 0
	cfg := &genai.GenerateContentConfig{
		Tools:      []*genai.Tool{geminiWeather},
		ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}},
	}
	var last *genai.GenerateContentResponse
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.0-flash", genai.Text("Forecast for Berlin please."), cfg) {
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		calls = append(calls, resp.FunctionCalls()...)
		last = resp
	}
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "Berlin" {
		t.Fatalf("%d chunks, calls %+v", chunks, calls)
	}
	unit, days := calls[0].Args["unit"], calls[0].Args["days"].(float64)
	if (unit != "celsius" && unit != "fahrenheit") || days < 1 || days > 5 || days != float64(int(days)) {
		t.Fatalf("arguments %v do not satisfy the schema", calls[0].Args)
	}
	if last.UsageMetadata == nil || last.UsageMetadata.TotalTokenCount == 0 {
		t.Fatalf("last chunk carries no usage: %+v", last)
	}
}

func TestGenaiSDKStreamsTextInChunks(t *testing.T) {
	_, _, c := geminiServer(t, Config{})
	ctx := context.Background()
	whole, err := c.Models.GenerateContent(ctx, "gemini-2.0-flash", genai.Text("Describe a lighthouse."), nil)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	chunks := 0
	for resp, err := range c.Models.GenerateContentStream(ctx, "gemini-2.0-flash", genai.Text("Describe a lighthouse."), nil) {
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		text.WriteString(resp.Text())
	}
	if text.String() != whole.Text() || chunks < 10 {
		t.Fatalf("%d chunks gave %q, want %q", chunks, text.String(), whole.Text())
	}
}

func TestGenaiSDKJSONSchemaAnswerConforms(t *testing.T) {
	_, _, c := geminiServer(t, Config{})
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.0-flash", genai.Text("List two fruits with prices."),
		&genai.GenerateContentConfig{
			ResponseMIMEType: "application/json",
			ResponseSchema: &genai.Schema{Type: genai.TypeArray, MinItems: genai.Ptr[int64](2), Items: &genai.Schema{
				Type: genai.TypeObject,
				Properties: map[string]*genai.Schema{
					"name":  {Type: genai.TypeString},
					"price": {Type: genai.TypeNumber, Minimum: genai.Ptr(0.5), Maximum: genai.Ptr(9.5)},
				},
				Required: []string{"name", "price"},
			}},
		})
	if err != nil {
		t.Fatal(err)
	}
	sch := compileSchema(t, `{"type":"array","minItems":2,"items":{"type":"object","properties":{"name":{"type":"string"},"price":{"type":"number","minimum":0.5,"maximum":9.5}},"required":["name","price"]}}`)
	assertConforms(t, sch, resp.Text())
}

func TestGenaiSDKSeesFaultsInGeminiShape(t *testing.T) {
	cases := []struct {
		fault, status string
		code          int
	}{
		{"status=429", "RESOURCE_EXHAUSTED", 429},
		{"status=503", "UNAVAILABLE", 503},
		{"status=500", "INTERNAL", 500},
	}
	_, _, c := geminiServer(t, Config{})
	for _, tc := range cases {
		_, err := c.Models.GenerateContent(context.Background(), "gemini-2.0-flash", genai.Text("hi"),
			&genai.GenerateContentConfig{HTTPOptions: &genai.HTTPOptions{Headers: http.Header{HeaderFault: {tc.fault}}}})
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.Status != tc.status {
			t.Fatalf("%s: %#v", tc.fault, err)
		}
	}
	var gotErr error
	n := 0
	for _, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.0-flash", genai.Text("Tell me a long story."),
		&genai.GenerateContentConfig{HTTPOptions: &genai.HTTPOptions{Headers: http.Header{HeaderFault: {"error;after=4;status=503"}}}}) {
		if err != nil {
			gotErr = err
			break
		}
		n++
	}
	var apiErr genai.APIError
	if n == 0 || !errors.As(gotErr, &apiErr) || apiErr.Status != "UNAVAILABLE" {
		t.Fatalf("after %d chunks: %v", n, gotErr)
	}
}

func TestGenaiSDKEmbeds(t *testing.T) {
	emu, _, c := geminiServer(t, Config{})
	resp, err := c.Models.EmbedContent(context.Background(), "text-embedding-004",
		[]*genai.Content{genai.NewContentFromText("alpha", genai.RoleUser), genai.NewContentFromText("beta", genai.RoleUser)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Embed([]string{"alpha", "beta"}, 768)
	if len(resp.Embeddings) != 2 || len(resp.Embeddings[1].Values) != 768 || resp.Embeddings[1].Values[3] != want[1][3] {
		t.Fatalf("embeddings %d", len(resp.Embeddings))
	}
	if s := emu.Stats().Total; s.Succeeded != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestGeminiRouteChecksTheKeyAndTheURL(t *testing.T) {
	_, srv, _ := geminiServer(t, Config{})
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		url, key string
		status   int
	}{
		{"/v1beta/models/gemini-2.0-flash:generateContent", "", 401},
		{"/v1beta/models/gemini-2.0-flash:generateContent?key=k", "", 200},
		{"/v1beta/models/gemini-2.0-flash:generateContent", "k", 200},
		{"/v1/models/gemini-2.0-flash:generateContent", "k", 200},
		{"/v1beta/models/gemini-2.0-flash:streamGenerateContent", "k", 400},
		{"/v1beta/models/gemini-2.0-flash:countTokens", "k", 404},
	} {
		req, _ := http.NewRequest("POST", srv.URL+tc.url, strings.NewReader(body))
		if tc.key != "" {
			req.Header.Set("x-goog-api-key", tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s key %q: status %d, want %d", tc.url, tc.key, resp.StatusCode, tc.status)
		}
	}
}
