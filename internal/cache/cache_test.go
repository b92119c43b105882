package cache

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
)

func TestLookupHonoursDecision(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := NewMemory(MemoryOptions{Now: clock.Now})
	req := &llm.Request{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}}
	k, _ := KeyFor("t", req)
	_ = s.Set(ctx, k, entryFor("hello"), time.Hour)
	clock.Advance(2 * time.Minute)

	cases := []struct {
		header string
		hit    bool
	}{
		{"", true},
		{"max-age=300", true},
		{"max-age=60", false},
		{"no-cache", false},
		{"no-store", false},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.header != "" {
			h.Set("Cache-Control", c.header)
		}
		d := Decide(req, DefaultPolicy(), h)
		_, hit, err := Lookup(ctx, s, k, d, clock.Now())
		if err != nil || hit != c.hit {
			t.Errorf("Cache-Control %q: hit=%v err=%v, want hit=%v", c.header, hit, err, c.hit)
		}
	}
}

func TestReplayStreamsACachedAnswerInSeveralChunksWithUsage(t *testing.T) {
	resp := answer(longAnswer(3))
	resp.SystemFingerprint = "" // not carried by stream events
	e := &Entry{Response: resp}
	s := Replay(e, 0)
	var texts int
	var usage *llm.Usage
	var a llm.Assembler
	for {
		ev, err := s.Recv()
		if err != nil {
			break
		}
		a.Add(ev)
		switch ev.Type {
		case llm.EventText:
			texts++
		case llm.EventUsage:
			usage = ev.Usage
		}
	}
	if texts < 10 {
		t.Fatalf("%d text events for %d bytes: not streamed in chunks", texts, len(resp.Text()))
	}
	if usage == nil || *usage != resp.Usage {
		t.Fatalf("usage %v, want %v", usage, resp.Usage)
	}
	if got := a.Response(); !reflect.DeepEqual(got, resp) {
		t.Fatalf("replay does not reassemble into the cached answer")
	}
}

func TestAdminDeletesByPrintedKeyAndByNamespace(t *testing.T) {
	ctx := context.Background()
	s := NewMemory(MemoryOptions{})
	a := &Admin{Store: s, Group: NewGroup(GroupOptions{})}
	k1, k2, k3 := keyN("team:a", 1), keyN("team:a", 2), keyN("team-b", 1)
	for _, k := range []Key{k1, k2, k3} {
		_ = s.Set(ctx, k, entryFor("x"), time.Hour)
	}
	if ok, err := a.DeleteKey(ctx, k1.String()); err != nil || !ok {
		t.Fatalf("delete by key: %v %v", ok, err)
	}
	if _, err := a.DeleteKey(ctx, "not a key"); err == nil {
		t.Fatal("a malformed key was accepted")
	}
	if n, err := a.DeleteNamespace(ctx, "team:a"); err != nil || n != 1 {
		t.Fatalf("delete namespace: %d %v", n, err)
	}
	st := a.Stats()
	if st.Store.Entries != 1 || st.Coalescing == nil {
		t.Fatalf("stats %+v", st)
	}
}
