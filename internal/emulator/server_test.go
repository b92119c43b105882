package emulator

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestListenAndServeServesUntilCanceledEvenWithAHangingRequest(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	emu := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- emu.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	addr := (<-addrc).String()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer x")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()

	hung := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set(HeaderFault, "hang")
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		hung <- err
	}()
	for emu.Stats().Total.Faults["hang"] == 0 { // wait until the hang has begun
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-hung; err == nil {
		t.Fatal("the hanging request got an answer")
	}
}

func TestSetModelOption(t *testing.T) {
	var c Config
	for _, o := range [][2]string{
		{"faults", "claude-*=status=529;retry_after=1"},
		{"latency", "gpt-4o=ttft=50ms;per_token=2ms"},
		{"usage", "gpt-4o=cached=100;reasoning=20"},
	} {
		if err := c.SetModelOption(o[0], o[1]); err != nil {
			t.Fatal(err)
		}
	}
	if f := c.Models["claude-*"].Faults; f == nil || f.Faults[0].Status != 529 {
		t.Fatalf("faults %+v", c.Models)
	}
	g := c.Models["gpt-4o"]
	if g.Latency == nil || g.Latency.TTFT != 50*time.Millisecond || g.Usage.CachedInputTokens != 100 || g.Usage.ReasoningTokens != 20 {
		t.Fatalf("gpt-4o %+v", g)
	}
	for _, bad := range [][2]string{{"faults", "nomodel"}, {"faults", "m=status=99"}, {"usage", "m=cached=x"}, {"color", "m=red"}} {
		if err := c.SetModelOption(bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestAdminRoutesReportStatsAndSetFaults(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	do := func(method, path, auth, body string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	if r := do("PUT", "/_emulator/faults?model=gpt-4o", "", "status=503;times=1"); r.StatusCode != 204 {
		t.Fatalf("set faults: %d", r.StatusCode)
	}
	if r := do("PUT", "/_emulator/faults", "", "status=99"); r.StatusCode != 400 {
		t.Fatalf("bad spec: %d", r.StatusCode)
	}
	if r := do("POST", "/v1/chat/completions", "Bearer k", chat); r.StatusCode != 503 {
		t.Fatalf("first request: %d, want the injected 503", r.StatusCode)
	}
	if r := do("POST", "/v1/chat/completions", "Bearer k", chat); r.StatusCode != 200 {
		t.Fatalf("second request: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/_emulator/stats", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if m := st.ByModel["gpt-4o"]; m.Requests != 2 || m.Succeeded != 1 || m.Faults["503"] != 1 {
		t.Fatalf("stats over HTTP %+v", m)
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/messages/count_tokens",
		strings.NewReader(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"How many tokens is this?"}]}`))
	req.Header.Set("X-Api-Key", "k")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		InputTokens int `json:"input_tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.InputTokens != 3+4+6 {
		t.Fatalf("status %d, %+v (%v)", resp.StatusCode, out, err)
	}
}
