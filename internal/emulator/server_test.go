package emulator

import (
	"context"
	"net"
	"net/http"
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
