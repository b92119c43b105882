package emulator

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	cases := []struct {
		in   string
		want *FaultSpec
	}{
		{"", nil},
		{"status=429;retry_after=2", &FaultSpec{Faults: []Fault{{Kind: FaultStatus, Status: 429, RetryAfter: 2 * time.Second}}}},
		{"429", &FaultSpec{Faults: []Fault{{Kind: FaultStatus, Status: 429, RetryAfter: time.Second}}}},
		{"status=429;retry_after=0", &FaultSpec{Faults: []Fault{{Kind: FaultStatus, Status: 429}}}},
		{"status=529", &FaultSpec{Faults: []Fault{{Kind: FaultStatus, Status: 529}}}},
		{"status=503;retry_after=0.5;times=2", &FaultSpec{Times: 2, Faults: []Fault{{Kind: FaultStatus, Status: 503, RetryAfter: 500 * time.Millisecond}}}},
		{"hang", &FaultSpec{Faults: []Fault{{Kind: FaultHang}}}},
		{" cut ; after=5 ", &FaultSpec{Faults: []Fault{{Kind: FaultCut, After: 5}}}},
		{"malformed", &FaultSpec{Faults: []Fault{{Kind: FaultMalformed}}}},
		{"error;after=3;status=529", &FaultSpec{Faults: []Fault{{Kind: FaultStreamError, Status: 529, After: 3}}}},
		{"rate=0.3;kinds=429,500,hang,cut;seed=7", &FaultSpec{Rate: 0.3, Seed: 7, Faults: []Fault{
			{Kind: FaultStatus, Status: 429, RetryAfter: time.Second}, {Kind: FaultStatus, Status: 500}, {Kind: FaultHang}, {Kind: FaultCut}}}},
	}
	for _, c := range cases {
		got, err := ParseFaults(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if got != nil { // String writes what ParseFaults reads back
			again, err := ParseFaults(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("round trip of %q via %q = %+v, %v", c.in, got.String(), again, err)
			}
		}
	}
}

func TestParseFaultsRejectsNonsenseNamingTheClause(t *testing.T) {
	cases := map[string]string{
		"status=200":         "400-599",
		"status=abc":         "400-599",
		"rate=1.5;kinds=429": "rate",
		"rate=0.5":           "kinds",
		"kinds=429,teapot":   "teapot",
		"hang;cut":           "both",
		"bogus=1":            "bogus",
		"after=-1;cut":       "after",
		"retry_after=x;429":  "retry_after",
		"times=0;429":        "times",
		"retry_after=2":      "no fault",
	}
	for in, want := range cases {
		if _, err := ParseFaults(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFaults(%q) error %v, want one mentioning %q", in, err, want)
		}
	}
}

func TestProbabilisticFaultsAreReproducibleAndNearTheRate(t *testing.T) {
	spec := MustParseFaults("rate=0.3;kinds=429,500,529,hang,cut")
	run := func(seed uint64) []string {
		e := New(Config{Seed: seed})
		var out []string
		for i := 0; i < 2000; i++ {
			f, ok := e.drawFault(settings{faults: spec}, "m", hashString(strconv.Itoa(i%1000)))
			if ok {
				out = append(out, strconv.Itoa(i)+":"+f.Label())
			}
		}
		return out
	}
	a, b := run(1), run(1)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different faults")
	}
	if len(a) < 520 || len(a) > 680 {
		t.Fatalf("%d faults in 2000 requests at rate 0.3", len(a))
	}
	kinds := map[string]int{}
	for _, s := range a {
		kinds[s[strings.IndexByte(s, ':')+1:]]++
	}
	if len(kinds) != 5 {
		t.Fatalf("kinds drawn: %v", kinds)
	}
	if reflect.DeepEqual(a, run(2)) {
		t.Fatal("another seed draws the same faults")
	}
}

func TestFaultTimesLimitsToTheFirstRequests(t *testing.T) {
	e := New(Config{})
	set := settings{faults: MustParseFaults("status=503;times=2"), faultID: "x"}
	var got []bool
	for i := 0; i < 4; i++ {
		_, ok := e.drawFault(set, "m", 1)
		got = append(got, ok)
	}
	if !reflect.DeepEqual(got, []bool{true, true, false, false}) {
		t.Fatalf("faulted %v, want the first two only", got)
	}
	if _, ok := e.drawFault(set, "other-model", 1); !ok {
		t.Fatal("times is counted per model")
	}
}

func TestSettingsPrecedence(t *testing.T) {
	modelFault := MustParseFaults("status=500")
	e := New(Config{
		Faults:  MustParseFaults("status=503"),
		Latency: Latency{TTFT: time.Second},
		Models: map[string]ModelConfig{
			"claude-*":      {Faults: modelFault, Usage: UsageOverride{CachedInputTokens: 7}},
			"claude-opus-*": {Latency: &Latency{TTFT: 2 * time.Second}},
		},
	})
	s, _ := e.settingsFor("gpt-4o", http.Header{})
	if s.faults.Faults[0].Status != 503 || s.latency.TTFT != time.Second {
		t.Fatalf("default settings %+v", s)
	}
	s, _ = e.settingsFor("claude-haiku", http.Header{})
	if s.faults != modelFault || s.usage.CachedInputTokens != 7 {
		t.Fatalf("pattern settings %+v", s)
	}
	s, _ = e.settingsFor("claude-opus-4", http.Header{})
	if s.latency.TTFT != 2*time.Second || s.faults.Faults[0].Status != 503 {
		t.Fatalf("longest pattern wins: %+v", s)
	}
	h := http.Header{}
	h.Set(HeaderFault, "hang")
	h.Set(HeaderLatency, "ttft=5ms;per_token=1ms;jitter=0.5")
	h.Set(HeaderUsage, "cached=9;reasoning=-1")
	s, lerr := e.settingsFor("claude-haiku", h)
	if lerr != nil || s.faults.Faults[0].Kind != FaultHang || s.latency != (Latency{TTFT: 5 * time.Millisecond, PerToken: time.Millisecond, Jitter: 0.5}) ||
		s.usage != (UsageOverride{CachedInputTokens: 9, ReasoningTokens: -1}) {
		t.Fatalf("headers did not win: %+v %v", s, lerr)
	}
	e.SetFaults("claude-*", nil)
	s, _ = e.settingsFor("claude-haiku", http.Header{})
	if s.faults.Faults[0].Status != 503 {
		t.Fatalf("SetFaults(nil) left %+v", s.faults)
	}
	h.Set(HeaderLatency, "ttft=soon")
	if _, lerr := e.settingsFor("m", h); lerr == nil || lerr.Param != HeaderLatency {
		t.Fatalf("bad latency header accepted: %v", lerr)
	}
}
