package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"
)

func postRaw(t *testing.T, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var forceWeather = &genai.GenerateContentConfig{
	Tools:      []*genai.Tool{geminiWeather},
	ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}},
}

// firstCallPart returns the first functionCall part of a response and its
// signature as the REST API carries it (base64).
func firstCallPart(t *testing.T, resp *genai.GenerateContentResponse) (*genai.Part, string) {
	t.Helper()
	for _, p := range resp.Candidates[0].Content.Parts {
		if p.FunctionCall != nil {
			return p, base64.StdEncoding.EncodeToString(p.ThoughtSignature)
		}
	}
	t.Fatalf("no function call in %+v", resp.Candidates[0].Content)
	return nil, ""
}

func argsJSON(t *testing.T, fc *genai.FunctionCall) string {
	b, err := json.Marshal(fc.Args)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Gemini 3 models sign the first function call, whole and streamed; earlier models
// do not sign.
func TestGenaiSDKGemini3SignsFunctionCalls(t *testing.T) {
	_, _, c := geminiServer(t, Config{})
	ctx := context.Background()
	prompt := genai.Text("Forecast for Berlin please.")
	resp, err := c.Models.GenerateContent(ctx, "gemini-3-flash-preview", prompt, forceWeather)
	if err != nil {
		t.Fatal(err)
	}
	part, sig := firstCallPart(t, resp)
	if len(part.ThoughtSignature) == 0 || !VerifyFunctionCall(part.FunctionCall.Name, argsJSON(t, part.FunctionCall), sig) {
		t.Fatalf("whole: call %+v carries signature %q", part.FunctionCall, sig)
	}
	var streamed []*genai.Part
	for chunk, err := range c.Models.GenerateContentStream(ctx, "gemini-3-flash-preview", prompt, forceWeather) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range chunk.Candidates[0].Content.Parts {
			if p.FunctionCall != nil {
				streamed = append(streamed, p)
			}
		}
	}
	if len(streamed) != 1 || base64.StdEncoding.EncodeToString(streamed[0].ThoughtSignature) != sig {
		t.Fatalf("streamed calls %+v, want the whole answer's signature", streamed)
	}
	old, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", prompt, forceWeather)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := firstCallPart(t, old); len(p.ThoughtSignature) != 0 {
		t.Fatalf("gemini-2.5-flash signed its call: %q", p.ThoughtSignature)
	}
}

// The SDK's own tool loop (history sent back as received) succeeds; without the
// signature Gemini 3 answers 400.
func TestGenaiSDKGemini3ToolLoopNeedsTheSignature(t *testing.T) {
	_, _, c := geminiServer(t, Config{})
	ctx := context.Background()
	user := genai.NewContentFromText("Forecast for Berlin please.", genai.RoleUser)
	first, err := c.Models.GenerateContent(ctx, "gemini-3-flash-preview", []*genai.Content{user}, forceWeather)
	if err != nil {
		t.Fatal(err)
	}
	model := first.Candidates[0].Content
	part, _ := firstCallPart(t, first)
	result := genai.NewContentFromFunctionResponse(part.FunctionCall.Name, map[string]any{"output": "12 C"}, genai.RoleUser)
	cfg := &genai.GenerateContentConfig{Tools: []*genai.Tool{geminiWeather}}
	second, err := c.Models.GenerateContent(ctx, "gemini-3-flash-preview", []*genai.Content{user, model, result}, cfg)
	if err != nil {
		t.Fatalf("turn 2 with the signature: %v", err)
	}
	if !strings.Contains(second.Text(), "12 C") {
		t.Fatalf("turn 2: %q", second.Text())
	}
	part.ThoughtSignature = nil
	_, err = c.Models.GenerateContent(ctx, "gemini-3-flash-preview", []*genai.Content{user, model, result}, cfg)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Status != "INVALID_ARGUMENT" ||
		!strings.Contains(apiErr.Message, "Function call is missing a thought_signature in functionCall parts") {
		t.Fatalf("turn 2 without the signature: %v", err)
	}
}

// History checks, as Gemini 3 makes them, on the raw REST body.
func TestGemini3ChecksTheFirstCallOfEachModelTurn(t *testing.T) {
	_, srv, _ := geminiServer(t, Config{})
	good := SignFunctionCall("get_weather", `{"city":"Paris"}`)
	body := func(sig1, sig2 string) string {
		part := func(city, sig string) string {
			s := `{"functionCall":{"name":"get_weather","args":{"city":"` + city + `"}}`
			if sig != "" {
				s += `,"thoughtSignature":"` + sig + `"`
			}
			return s + "}"
		}
		return `{"contents":[{"role":"user","parts":[{"text":"Weather in Paris and Lyon?"}]},
		 {"role":"model","parts":[{"text":"Checking."},` + part("Paris", sig1) + `,` + part("Lyon", sig2) + `]},
		 {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"sun"}}},
		                          {"functionResponse":{"name":"get_weather","response":{"output":"rain"}}}]}],
		 "tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}}]}]}`
	}
	for _, tc := range []struct {
		name, model, sig1, sig2 string
		status                  int
		msg                     string
	}{
		{"real signature, parallel call unsigned", "gemini-3-flash-preview", good, "", 200, ""},
		{"placeholder", "gemini-3.1-pro-preview", "skip_thought_signature_validator", "", 200, ""},
		{"missing", "gemini-3-flash-preview", "", "", 400, "Function call is missing a thought_signature in functionCall parts"},
		{"missing, second call signed", "gemini-3-flash-preview", "", good, 400, "missing a thought_signature"},
		{"forged", "gemini-3-flash-preview", SignFunctionCall("get_weather", `{"city":"Lyon"}`), "", 400, "Thought signature is not valid"},
		{"earlier model checks nothing", "gemini-2.5-flash", "", "", 200, ""},
	} {
		status, out := postRaw(t, srv.URL+"/v1beta/models/"+tc.model+":generateContent",
			map[string]string{"x-goog-api-key": "k"}, body(tc.sig1, tc.sig2))
		if status != tc.status || !strings.Contains(out, tc.msg) {
			t.Errorf("%s: %d %s", tc.name, status, out)
		}
		if status == 400 && !strings.Contains(out, `"status":"INVALID_ARGUMENT"`) {
			t.Errorf("%s: not Gemini's error shape: %s", tc.name, out)
		}
	}
}

func TestSignFunctionCallIgnoresArgumentLayout(t *testing.T) {
	sig := SignFunctionCall("f", `{"b":1,"a":{"y":2.50,"x":"é"}}`)
	if !VerifyFunctionCall("f", `{ "a": {"x":"é","y":2.50}, "b":1 }`, sig) {
		t.Fatal("reordered arguments do not verify")
	}
	for _, other := range [][2]string{{"g", `{"b":1,"a":{"y":2.50,"x":"é"}}`}, {"f", `{"b":2,"a":{"y":2.50,"x":"é"}}`}} {
		if VerifyFunctionCall(other[0], other[1], sig) {
			t.Fatalf("signature verifies for %v", other)
		}
	}
}

// OpenAI refuses tool call ids over 40 characters, on calls and on results.
func TestOpenAIRouteRefusesLongToolCallIDs(t *testing.T) {
	_, srv, _ := openaiServer(t, Config{})
	body := func(callID, resultID string) string {
		return `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Weather?"},
		 {"role":"assistant","content":null,"tool_calls":[{"id":"` + callID + `","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		 {"role":"tool","tool_call_id":"` + resultID + `","content":"sun"}]}`
	}
	id40, id41 := strings.Repeat("a", 40), strings.Repeat("a", 41)
	auth := map[string]string{"Authorization": "Bearer k"}
	if status, out := postRaw(t, srv.URL+"/v1/chat/completions", auth, body(id40, id40)); status != 200 {
		t.Fatalf("40-character ids refused: %d %s", status, out)
	}
	for _, tc := range []struct{ call, result, param string }{
		{id41, id40, "messages[1].tool_calls[0].id"},
		{id40, id41, "messages[2].tool_call_id"},
	} {
		status, out := postRaw(t, srv.URL+"/v1/chat/completions", auth, body(tc.call, tc.result))
		if status != 400 || !strings.Contains(out, `"param":"`+tc.param+`"`) || !strings.Contains(out, `"code":"string_above_max_length"`) ||
			!strings.Contains(out, "Expected a string with maximum length 40, but got a string with length 41 instead.") {
			t.Errorf("%s: %d %s", tc.param, status, out)
		}
	}
}
