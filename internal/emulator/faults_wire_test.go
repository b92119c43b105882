package emulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
	"github.com/arbiterhq/arbiter/internal/wire/anthropic"
	"github.com/arbiterhq/arbiter/internal/wire/gemini"
	"github.com/arbiterhq/arbiter/internal/wire/openai"
)

// format is what a client of one wire format needs: how to ask, and the client-side
// codec that reads the answer (the same decoders the provider adapters use).
type format struct {
	name        string
	request     func(base string, stream bool) *http.Request
	decodeError func(int, http.Header, []byte) *llm.Error
	decoder     func() func(name string, data []byte) ([]llm.Event, bool, error)
}

var formats = []format{
	{
		name: "openai",
		request: func(base string, stream bool) *http.Request {
			body := `{"model":"gpt-4o-mini","stream":` + boolText(stream) + `,"messages":[{"role":"user","content":"Tell me a story about faults."}]}`
			r, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer k")
			return r
		},
		decodeError: openai.DecodeError,
		decoder:     func() func(string, []byte) ([]llm.Event, bool, error) { return openai.NewStreamDecoder().Decode },
	},
	{
		name: "anthropic",
		request: func(base string, stream bool) *http.Request {
			body := `{"model":"claude-3-5-haiku-latest","max_tokens":400,"stream":` + boolText(stream) + `,"messages":[{"role":"user","content":"Tell me a story about faults."}]}`
			r, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(body))
			r.Header.Set("X-Api-Key", "k")
			r.Header.Set("Anthropic-Version", "2023-06-01")
			return r
		},
		decodeError: anthropic.DecodeError,
		decoder: func() func(string, []byte) ([]llm.Event, bool, error) {
			return anthropic.NewStreamDecoder().Decode
		},
	},
	{
		name: "gemini",
		request: func(base string, stream bool) *http.Request {
			url := base + "/v1beta/models/gemini-2.0-flash:generateContent"
			if stream {
				url = base + "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
			}
			r, _ := http.NewRequest("POST", url, strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"Tell me a story about faults."}]}]}`))
			r.Header.Set("X-Goog-Api-Key", "k")
			return r
		},
		decodeError: gemini.DecodeError,
		decoder:     func() func(string, []byte) ([]llm.Event, bool, error) { return gemini.NewStreamDecoder().Decode },
	},
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// readStream reads a streamed answer with the format's decoder and reports the
// assembled response, whether it completed, and the first error.
func readStream(f format, body io.Reader) (*llm.Response, bool, error) {
	dec := f.decoder()
	rd := sse.NewReader(body)
	var a llm.Assembler
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return a.Response(), a.Finished(), nil
		}
		if err != nil {
			return a.Response(), false, err
		}
		evs, done, err := dec(ev.Name, ev.Data)
		if err != nil {
			return a.Response(), false, err
		}
		for _, e := range evs {
			a.Add(e)
		}
		if done {
			return a.Response(), a.Finished(), nil
		}
	}
}

// TestEveryFaultInEveryFormat checks each fault kind as each format's own client-side
// codec sees it: statuses decode to the right kind with Retry-After kept, mid-stream
// errors arrive as the format's error event, cut and malformed streams never look
// complete, and hangs last until the client gives up.
func TestEveryFaultInEveryFormat(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	client := srv.Client()

	statuses := []struct {
		fault      string
		status     int
		kind       llm.ErrorKind
		retryAfter time.Duration
	}{
		{"status=429;retry_after=2", 429, llm.KindRateLimited, 2 * time.Second},
		{"status=429;retry_after=0.25", 429, llm.KindRateLimited, 250 * time.Millisecond},
		{"status=500", 500, llm.KindUpstreamServer, 0},
		{"status=503", 503, llm.KindOverloaded, 0},
		{"status=529", 529, llm.KindOverloaded, 0},
	}
	for _, f := range formats {
		for _, stream := range []bool{false, true} {
			for _, sc := range statuses {
				t.Run(f.name+"/"+sc.fault+"/stream="+boolText(stream), func(t *testing.T) {
					req := f.request(srv.URL, stream)
					req.Header.Set(HeaderFault, sc.fault)
					resp, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					le := f.decodeError(resp.StatusCode, resp.Header, body)
					if resp.StatusCode != sc.status || le.Kind != sc.kind || le.RetryAfter != sc.retryAfter {
						t.Fatalf("status %d kind %s retry %v from %s", resp.StatusCode, le.Kind, le.RetryAfter, body)
					}
				})
			}
		}

		t.Run(f.name+"/error mid-stream", func(t *testing.T) {
			req := f.request(srv.URL, true)
			req.Header.Set(HeaderFault, "error;after=5;status=529")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, complete, err := readStream(f, resp.Body)
			var le *llm.Error
			if resp.StatusCode != 200 || complete || !errors.As(err, &le) || le.Kind != llm.KindOverloaded || got.Text() == "" {
				t.Fatalf("status %d complete %v text %q err %v", resp.StatusCode, complete, got.Text(), err)
			}
		})

		for _, fault := range []string{"cut;after=5", "malformed;after=5"} {
			t.Run(f.name+"/"+fault, func(t *testing.T) {
				req := f.request(srv.URL, true)
				req.Header.Set(HeaderFault, fault)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got, complete, err := readStream(f, resp.Body)
				if complete || err == nil || got.Text() == "" {
					t.Fatalf("complete %v text %q err %v: a broken stream must not look whole", complete, got.Text(), err)
				}
			})
		}

		t.Run(f.name+"/malformed body", func(t *testing.T) {
			req := f.request(srv.URL, false)
			req.Header.Set(HeaderFault, "malformed")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var decodeErr error
			switch f.name {
			case "openai":
				_, decodeErr = openai.DecodeResponse(body)
			case "anthropic":
				_, decodeErr = anthropic.DecodeResponse(body)
			case "gemini":
				_, decodeErr = gemini.DecodeResponse(body)
			}
			if resp.StatusCode != 200 || decodeErr == nil {
				t.Fatalf("status %d, decoded without error: %s", resp.StatusCode, body)
			}
		})

		for _, stream := range []bool{false, true} {
			t.Run(f.name+"/cut before the first byte/stream="+boolText(stream), func(t *testing.T) {
				req := f.request(srv.URL, stream)
				req.Header.Set(HeaderFault, "cut")
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					t.Fatalf("got status %d, want a connection error", resp.StatusCode)
				}
			})
			t.Run(f.name+"/hang/stream="+boolText(stream), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
				defer cancel()
				req := f.request(srv.URL, stream).WithContext(ctx)
				req.Header.Set(HeaderFault, "hang")
				if resp, err := client.Do(req); !errors.Is(err, context.DeadlineExceeded) {
					if err == nil {
						resp.Body.Close()
					}
					t.Fatalf("got %v, want the client's deadline", err)
				}
			})
		}
	}
}
