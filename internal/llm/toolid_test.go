package llm

import (
	"context"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// anthropicID is the pattern Anthropic requires of tool_use ids.
var anthropicID = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func TestToolIDJoinSplitRoundTrips(t *testing.T) {
	for _, tc := range []struct{ name, id, sig string }{
		{"gemini made-up id", "call_0123456789abcdef", "CiQBcsjafQ/Xm+Gz7v1ZdhAl3xWk9nsP0yN2Zl6gF7u9o3Q=="},
		{"binary-looking signature", "call_1", "\x00\xff\x10" + strings.Repeat("é", 40)},
		{"the sentinel itself", "call_2", "skip_thought_signature_validator"},
		{"signature containing the marker", "c", "xx" + ToolIDMarker + "yy"},
		{"id containing the marker", "toolu" + ToolIDMarker + "AAAA", "sig"},
		{"empty id", "", "sig"},
		{"long signature", "call_3", strings.Repeat("Q29mZmVl", 500)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			joined := JoinToolID(tc.id, tc.sig)
			if !strings.HasPrefix(joined, tc.id+ToolIDMarker) {
				t.Fatalf("joined id %q does not start with the id and marker", joined)
			}
			if tc.id != "" && !anthropicID.MatchString(joined) {
				t.Fatalf("joined id %q is not a valid Anthropic tool_use id", joined)
			}
			id, sig := SplitToolID(joined)
			if id != tc.id || sig != tc.sig {
				t.Fatalf("SplitToolID(%q) = %q, %q; want %q, %q", joined, id, sig, tc.id, tc.sig)
			}
			if ShortToolID(joined) != tc.id {
				t.Fatalf("ShortToolID = %q, want %q", ShortToolID(joined), tc.id)
			}
		})
	}
}

func TestToolIDWithoutSignatureIsUnchanged(t *testing.T) {
	if got := JoinToolID("call_abc", ""); got != "call_abc" {
		t.Fatalf("JoinToolID without signature = %q", got)
	}
}

// Ids that Arbiter did not make, including ones that contain the marker, come back
// whole with no signature: the call and its result keep matching and nothing is sent
// to a provider as a signature.
func TestToolIDForeignIdsStayWhole(t *testing.T) {
	valid := JoinToolID("call_x", "sig")
	for _, s := range []string{
		"",
		"call_abc",
		"toolu_01A09q90qw90lq917835lq9",
		"functions.get_weather:0",
		ToolIDMarker,
		"x" + ToolIDMarker,
		"x" + ToolIDMarker + "AAAA",                   // decodes, but the checksum cannot match
		"x" + ToolIDMarker + "not base64!",            // not base64url
		"x" + ToolIDMarker + "QUJDREVGR0g=",           // padded: not what Arbiter writes
		"x" + ToolIDMarker + "A",                      // too short to decode
		"x" + ToolIDMarker + ToolIDMarker,             // marker twice, nothing else
		valid[:len(valid)-1],                          // truncated
		valid[:len(valid)-1] + "A",                    // last character changed
		strings.Replace(valid, "call_x", "call_y", 1), // another id, same payload
	} {
		id, sig := SplitToolID(s)
		if id != s || sig != "" {
			t.Errorf("SplitToolID(%q) = %q, %q; want it whole and unsigned", s, id, sig)
		}
	}
}

// A client-made id that contains the marker, with ours folded after it, splits at
// ours.
func TestToolIDClientIdWithMarkerThenOurs(t *testing.T) {
	base := "client" + ToolIDMarker + "QUJD"
	id, sig := SplitToolID(JoinToolID(base, "s1"))
	if id != base || sig != "s1" {
		t.Fatalf("got %q, %q", id, sig)
	}
}

func FuzzSplitToolID(f *testing.F) {
	f.Add("call_1", "sig")
	f.Add("a"+ToolIDMarker+"b", "")
	f.Fuzz(func(t *testing.T, id, sig string) {
		if sig != "" {
			gid, gsig := SplitToolID(JoinToolID(id, sig))
			if gid != id || gsig != sig {
				t.Fatalf("round trip of %q, %q gave %q, %q", id, sig, gid, gsig)
			}
		}
		// Any string splits without panicking into a prefix of itself.
		gid, _ := SplitToolID(id)
		if !strings.HasPrefix(id, gid) {
			t.Fatalf("SplitToolID(%q) id %q is not a prefix", id, gid)
		}
	})
}

func TestEventsThenCollectKeepsToolCallSignature(t *testing.T) {
	resp := &Response{
		ID: "r1", Model: "gemini-3.5-flash",
		Choices: []Choice{{Message: Message{Role: RoleAssistant, ToolCalls: []ToolCall{
			{ID: "c1", Name: "f", Arguments: `{"a":1}`, Signature: "c2lnbmF0dXJl"},
			{ID: "c2", Name: "g", Arguments: `{}`},
		}}, FinishReason: FinishToolCalls}},
	}
	got, err := Collect(context.Background(), &SliceStream{Events: Events(resp, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Choices, resp.Choices) {
		t.Fatalf("collected %+v\nwant %+v", got.Choices, resp.Choices)
	}
}

// Every tool call id and tool result id of every request goes through SplitToolID.
func BenchmarkSplitToolID(b *testing.B) {
	for _, bc := range []struct{ name, id string }{
		{"plain", "call_0123456789abcdef"},
		{"folded", JoinToolID("call_0123456789abcdef", strings.Repeat("CiQBcsjafQ/Xm+Gz", 20))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SplitToolID(bc.id)
			}
		})
	}
}
