package openai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeRequest checks the hand-written JSON reader against encoding/json: it
// never panics, never accepts a body that is not valid JSON, and whatever it accepts
// encodes to valid JSON that decodes again.
//
//	go test -run '^$' -fuzz FuzzDecodeRequest -fuzztime 30s ./internal/wire/openai
func FuzzDecodeRequest(f *testing.F) {
	paths, _ := filepath.Glob("testdata/requests/*.json")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"\ud83d\ude00 \u00e9 \"q\""}],"x":[1,-2.5e3,true,null,{"a":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON: %q", body)
		}
		out, err := EncodeRequest(req)
		if err != nil || !json.Valid(out) {
			t.Fatalf("re-encoded to invalid JSON: %q (%v)", out, err)
		}
		if _, err := DecodeRequest(out); err != nil {
			t.Fatalf("our own encoding does not decode: %v\n%s", err, out)
		}
	})
}

// FuzzStreamDecoder checks that no chunk makes the stream decoder panic.
func FuzzStreamDecoder(f *testing.F) {
	f.Add([]byte(`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":3,"id":"a","function":{"name":"f","arguments":"{"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`{"error":{"message":"m","code":429}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewStreamDecoder()
		d.Decode("", data)
		d.Decode("", data)
		d.EndOfStream()
	})
}
