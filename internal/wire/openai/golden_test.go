package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/wiretest"
)

// inputs lists testdata/<dir>/*<ext> that are inputs, not golden outputs.
func inputs(t *testing.T, dir, ext string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		base := filepath.Base(p)
		if strings.Count(base, ".") == 1 { // name.json, not name.decoded.json
			out = append(out, strings.TrimSuffix(base, ext))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no inputs in testdata/%s", dir)
	}
	return out
}

func TestGoldenRequests(t *testing.T) {
	for _, name := range inputs(t, "requests", ".json") {
		t.Run(name, func(t *testing.T) {
			body := wiretest.ReadTestdata(t, "requests/"+name+".json")
			req, err := DecodeRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			wiretest.Golden(t, "requests/"+name+".decoded.json", wiretest.Indent(t, req))
			up, err := EncodeRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(up) {
				t.Fatalf("EncodeRequest produced invalid JSON: %s", up)
			}
			wiretest.Golden(t, "requests/"+name+".upstream.json", wiretest.Indent(t, up))

			// Round trip: what we send upstream decodes to the same request, except
			// that a stream always asks for usage.
			again, err := DecodeRequest(up)
			if err != nil {
				t.Fatalf("re-decoding our own encoding: %v", err)
			}
			want := *req
			if want.Stream {
				want.IncludeUsage = true
			}
			if len(want.Tools) == 0 {
				want.ToolChoice = nil // not sent without tools
			}
			if !reflect.DeepEqual(again, &want) {
				t.Fatalf("round trip changed the request\nfirst:  %+v\nsecond: %+v", &want, again)
			}
		})
	}
}

func TestGoldenResponses(t *testing.T) {
	for _, name := range inputs(t, "responses", ".json") {
		t.Run(name, func(t *testing.T) {
			body := wiretest.ReadTestdata(t, "responses/"+name+".json")
			resp, err := DecodeResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			wiretest.Golden(t, "responses/"+name+".decoded.json", wiretest.Indent(t, resp))
			enc, err := EncodeResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			wiretest.Golden(t, "responses/"+name+".encoded.json", append(enc, '\n'))
			again, err := DecodeResponse(enc)
			if err != nil || !reflect.DeepEqual(again, resp) {
				t.Fatalf("round trip changed the response: %v\nfirst:  %+v\nsecond: %+v", err, resp, again)
			}
		})
	}
}

// decodeStream runs an SSE body through the stream decoder.
func decodeStream(t *testing.T, body []byte) []llm.Event {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(body))
	dec := NewStreamDecoder()
	var evs []llm.Event
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			tail, err := dec.EndOfStream()
			if err != nil {
				t.Fatal(err)
			}
			return append(evs, tail...)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := dec.Decode(ev.Name, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
	}
}

// eventLines renders events one per line for golden files.
func eventLines(evs []llm.Event) []byte {
	var b bytes.Buffer
	for _, ev := range evs {
		line, _ := json.Marshal(ev)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func encodeStream(t *testing.T, evs []llm.Event, opts StreamOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	enc := NewStreamEncoder(opts)
	for _, ev := range evs {
		if err := enc.Encode(w, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Finish(w); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGoldenStreams(t *testing.T) {
	for _, name := range inputs(t, "streams", ".sse") {
		t.Run(name, func(t *testing.T) {
			body := wiretest.ReadTestdata(t, "streams/"+name+".sse")
			evs := decodeStream(t, body)
			wiretest.Golden(t, "streams/"+name+".events.jsonl", eventLines(evs))
			enc := encodeStream(t, evs, StreamOptions{IncludeUsage: true})
			wiretest.Golden(t, "streams/"+name+".encoded.sse", enc)
			// Chat Completions has no reasoning field: the encoder drops it.
			var want []llm.Event
			for _, ev := range evs {
				if ev.Type != llm.EventReasoning {
					want = append(want, ev)
				}
			}
			if again := decodeStream(t, enc); !reflect.DeepEqual(again, want) {
				t.Fatalf("re-decoding our encoding changed the events\nfirst:\n%s\nsecond:\n%s", eventLines(want), eventLines(again))
			}
		})
	}
}

func TestGoldenErrors(t *testing.T) {
	cases := []*llm.Error{
		{Kind: llm.KindInvalidRequest, Message: "messages[1].content: expected a string or an array of content parts, got number", Param: "messages[1].content"},
		{Kind: llm.KindAuthentication, Message: "Incorrect API key provided.", Code: "invalid_api_key"},
		{Kind: llm.KindPermission, Message: "This key may not use gpt-4o."},
		{Kind: llm.KindNotFound, Message: "The model `gpt-5-ultra` does not exist.", Param: "model", Code: "model_not_found"},
		{Kind: llm.KindRateLimited, Message: "Rate limit reached for gpt-4o-mini."},
		{Kind: llm.KindOverloaded, Message: "All providers for this model are overloaded."},
		{Kind: llm.KindContextLength, Message: "This model's maximum context length is 128000 tokens.", Param: "messages"},
		{Kind: llm.KindContentFilter, Message: "The response was filtered."},
		{Kind: llm.KindTimeout, Message: "upstream timed out"},
		{Kind: llm.KindUpstreamServer, Message: "every provider failed"},
		{Kind: llm.KindRequestTooLarge, Message: "request body exceeds 4 MiB"},
	}
	var all bytes.Buffer
	for _, e := range cases {
		status, body := EncodeError(e)
		fmt.Fprintf(&all, "%s %d %s\n", e.Kind, status, body)
		// What we send decodes back to the same kind, code and message.
		back := DecodeError(status, nil, body)
		wantCode := e.Code
		if wantCode == "" {
			wantCode = defaultCode(e.Kind)
		}
		if back.Kind != e.Kind || back.Message != e.Message || back.Param != e.Param || back.Code != wantCode {
			t.Errorf("%s: decoded back as %+v", e.Kind, back)
		}
	}
	wiretest.Golden(t, "errors/encoded.txt", all.Bytes())
}
