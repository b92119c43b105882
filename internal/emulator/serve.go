package emulator

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/sse"
)

// streamEncoder is what every wire codec's StreamEncoder does.
type streamEncoder interface {
	Encode(w *sse.Writer, ev llm.Event) error
	Finish(w *sse.Writer) error
	Fail(w *sse.Writer, err *llm.Error) error
}

// wire is one format's server side, built from its codec's functions.
type wire struct {
	format         llm.Format
	authorized     func(r *http.Request) bool
	encodeError    func(*llm.Error) (int, []byte)
	encodeResponse func(*llm.Response) ([]byte, error)
	newStream      func(req *llm.Request, resp *llm.Response) streamEncoder
	// respID and toolID give IDs this format's way ("chatcmpl-…", "msg_…", "toolu_…")
	// from the brain's hex.
	respID func(hex string) string
	toolID func(hex string) string
	// malformedEvent is the SSE event name a broken event is sent under.
	malformedEvent string
	// check, when set, validates a decoded request against its body the way the
	// provider does beyond the codec (Anthropic's thinking history, Gemini 3's thought
	// signatures, OpenAI's tool call id length); adorn adds what the format's models
	// say beside the brain's answer (Anthropic's thinking, Gemini 3's signatures).
	check func(body []byte, req *llm.Request) *llm.Error
	adorn func(req *llm.Request, resp *llm.Response)
}

// writeError answers with the format's error shape. status, when not zero, replaces
// the codec's status (a 529 must stay a 529 whatever the kind maps to).
func (e *Emulator) writeError(w http.ResponseWriter, wf *wire, le *llm.Error, status int) {
	st, body := wf.encodeError(le)
	if status != 0 {
		st = status
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if le.RetryAfter > 0 {
		secs := int64(math.Ceil(le.RetryAfter.Seconds()))
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		if le.RetryAfter%time.Second != 0 {
			h.Set("Retry-After-Ms", strconv.FormatInt(le.RetryAfter.Milliseconds(), 10))
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(st)
	_, _ = w.Write(body)
}

// faultError is the error a status fault (or a mid-stream error fault) reports.
func faultError(f Fault) *llm.Error {
	st := f.Status
	if st == 0 {
		st = http.StatusInternalServerError
	}
	le := &llm.Error{Kind: llm.StatusKind(st), Status: st, RetryAfter: f.RetryAfter}
	switch le.Kind {
	case llm.KindRateLimited:
		le.Message = "Rate limit reached for requests (emulated fault)."
	case llm.KindOverloaded:
		le.Message = "The service is overloaded; please try again later (emulated fault)."
	case llm.KindTimeout:
		le.Message = "The upstream timed out (emulated fault)."
	case llm.KindUpstreamServer:
		le.Message = "The server had an error while processing your request (emulated fault)."
	default:
		le.Message = "Emulated fault with status " + strconv.Itoa(st) + "."
	}
	return le
}

// readBody reads a size-limited body.
func (e *Emulator) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errBodyTooLarge
	}
	return body, err
}

// exchange is one request in flight: where it goes, what to count it under.
type exchange struct {
	e     *Emulator
	w     http.ResponseWriter
	r     *http.Request
	wf    *wire
	path  string
	model string
}

func (x *exchange) reject(le *llm.Error, status int) {
	x.e.writeError(x.w, x.wf, le, status)
	x.e.stats.record(x.model, x.path, outcomeRejected, "")
}

// admit does what every route does first: the auth check and reading the body.
// It counts the request under urlModel when it fails (the body's model is unknown).
func (x *exchange) admit() ([]byte, bool) {
	if !x.wf.authorized(x.r) {
		x.e.stats.received(x.model, x.path)
		x.reject(&llm.Error{Kind: llm.KindAuthentication, Code: "invalid_api_key",
			Message: "Missing API key: the emulator requires the auth header this API uses (any value)."}, 0)
		return nil, false
	}
	body, err := x.e.readBody(x.w, x.r)
	if err != nil {
		x.e.stats.received(x.model, x.path)
		if err == errBodyTooLarge {
			x.reject(&llm.Error{Kind: llm.KindRequestTooLarge,
				Message: "Request body exceeds " + strconv.FormatInt(x.e.maxBody, 10) + " bytes."}, 0)
		} else {
			x.reject(&llm.Error{Kind: llm.KindInvalidRequest, Message: "Could not read the request body."}, 0)
		}
		return nil, false
	}
	return body, true
}

// decodeFailed answers a codec's decoding error as a 400 in the format's shape.
func (x *exchange) decodeFailed(err error) {
	x.e.stats.received(x.model, x.path)
	le := llm.AsError(err)
	if le.Kind == llm.KindUpstreamServer { // a plain error from a decoder: the client's fault
		le = &llm.Error{Kind: llm.KindInvalidRequest, Message: err.Error()}
	}
	x.reject(le, 0)
}

// preFault handles faults that strike before any answer is generated, and reports
// whether the request is finished.
func (x *exchange) preFault(f Fault, stream bool) bool {
	before := f.Kind == FaultStatus || f.Kind == FaultStreamError && !stream ||
		f.Kind == FaultHang && (f.After == 0 || !stream) || f.Kind == FaultCut && f.After == 0
	if !before {
		return false
	}
	x.e.stats.record(x.model, x.path, outcomeFault, f.Label())
	switch f.Kind {
	case FaultHang:
		<-x.r.Context().Done()
	case FaultCut:
		panic(http.ErrAbortHandler) // the connection closes before any byte of a response
	default:
		le := faultError(f)
		x.e.writeError(x.w, x.wf, le, le.Status)
	}
	return true
}

// serveChat runs a chat request: decode, faults, the brain, latency, then the answer
// as one body or a stream. The answering model is urlModel (Gemini) or the body's.
func (e *Emulator) serveChat(w http.ResponseWriter, r *http.Request, wf *wire, path, urlModel string,
	decode func(body []byte) (*llm.Request, error)) {
	x := &exchange{e: e, w: w, r: r, wf: wf, path: path, model: urlModel}
	body, ok := x.admit()
	if !ok {
		return
	}
	req, err := decode(body)
	if err != nil {
		x.decodeFailed(err)
		return
	}
	if x.model == "" {
		x.model = req.Model
	}
	if wf.check != nil {
		if le := wf.check(body, req); le != nil {
			x.decodeFailed(le)
			return
		}
	}
	e.stats.received(x.model, path)
	set, lerr := e.settingsFor(x.model, r.Header)
	if lerr != nil {
		x.reject(lerr, 0)
		return
	}
	bodyHash := hashBytes(body)
	fault, faulted := e.drawFault(set, x.model, bodyHash)
	if faulted && x.preFault(fault, req.Stream) {
		return
	}
	lat := set.latency.For(bodyHash)

	resp := Generate(req, x.model)
	if wf.adorn != nil {
		wf.adorn(req, resp)
	}
	applyUsage(resp, set.usage)
	hex := strings.TrimPrefix(resp.ID, "chatcmpl-")
	resp.ID = wf.respID(hex)
	resp.Created = e.now().Unix()
	for i := range resp.Choices {
		for j := range resp.Choices[i].Message.ToolCalls {
			tc := &resp.Choices[i].Message.ToolCalls[j]
			tc.ID = wf.toolID(strings.TrimPrefix(tc.ID, "call_"))
		}
	}
	if !faulted {
		fault = Fault{}
	}
	if req.Stream {
		x.stream(req, resp, lat, fault)
	} else {
		x.reply(resp, lat, fault)
	}
}

// reply sends a whole response after the modelled latency.
func (x *exchange) reply(resp *llm.Response, lat Latency, f Fault) {
	ctx := x.r.Context()
	if !sleep(ctx, lat.Duration(resp)) {
		x.e.stats.record(x.model, x.path, outcomeCanceled, "")
		return
	}
	body, err := x.wf.encodeResponse(resp)
	if err != nil {
		x.e.writeError(x.w, x.wf, &llm.Error{Kind: llm.KindUpstreamServer, Message: "emulator: encoding the response: " + err.Error()}, 0)
		x.e.stats.record(x.model, x.path, outcomeRejected, "")
		return
	}
	x.writeBody(body, f)
}

// stream sends the response as the format's event stream on the modelled schedule,
// with a mid-stream fault after f.After events when one was drawn.
func (x *exchange) stream(req *llm.Request, resp *llm.Response, lat Latency, f Fault) {
	ctx := x.r.Context()
	steps := lat.Schedule(resp)
	start := time.Now()
	sse.Header(x.w.Header())
	x.w.WriteHeader(http.StatusOK)
	sw := sse.NewWriter(x.w)
	enc := x.wf.newStream(req, resp)
	for i := 0; ; i++ {
		if f.Kind != "" && i == min(f.After, len(steps)) {
			x.midStreamFault(sw, enc, f)
			return
		}
		if i == len(steps) {
			break
		}
		if !sleep(ctx, steps[i].At-time.Since(start)) {
			x.e.stats.record(x.model, x.path, outcomeCanceled, "")
			return
		}
		if err := enc.Encode(sw, steps[i].Event); err != nil {
			x.e.stats.record(x.model, x.path, outcomeCanceled, "")
			return
		}
	}
	if err := enc.Finish(sw); err != nil {
		x.e.stats.record(x.model, x.path, outcomeCanceled, "")
		return
	}
	x.e.stats.record(x.model, x.path, outcomeSucceeded, "")
}

// midStreamFault strikes after some events were sent. A fault whose After is beyond
// the stream's length strikes just before the end marker.
func (x *exchange) midStreamFault(sw *sse.Writer, enc streamEncoder, f Fault) {
	x.e.stats.record(x.model, x.path, outcomeFault, f.Label())
	switch f.Kind {
	case FaultHang:
		<-x.r.Context().Done()
	case FaultStreamError:
		_ = enc.Fail(sw, faultError(f))
	case FaultMalformed:
		_ = sw.Write(x.wf.malformedEvent, []byte(`{"id":"broken","choices":[{"delta":{"content":"unterminated`))
		panic(http.ErrAbortHandler)
	case FaultCut:
		panic(http.ErrAbortHandler) // no end marker: the stream just stops
	}
}

func hashBytes(b []byte) uint64 {
	h := newHasher()
	h.bytes(b)
	return h.sum()
}

// serveEmbed runs an embeddings request: decode, faults, vectors, after TTFT.
// Stream faults do not apply; "error" answers with its status, "cut" closes the
// connection at once (after=0) or halfway through the body.
func (e *Emulator) serveEmbed(w http.ResponseWriter, r *http.Request, wf *wire, path, urlModel string,
	decode func(body []byte) (*llm.EmbeddingRequest, error),
	encode func(req *llm.EmbeddingRequest, resp *llm.EmbeddingResponse) ([]byte, error)) {
	x := &exchange{e: e, w: w, r: r, wf: wf, path: path, model: urlModel}
	body, ok := x.admit()
	if !ok {
		return
	}
	req, err := decode(body)
	if err != nil {
		x.decodeFailed(err)
		return
	}
	if x.model == "" {
		x.model = req.Model
	}
	e.stats.received(x.model, path)
	set, lerr := e.settingsFor(x.model, r.Header)
	if lerr != nil {
		x.reject(lerr, 0)
		return
	}
	bodyHash := hashBytes(body)
	fault, faulted := e.drawFault(set, x.model, bodyHash)
	if faulted && x.preFault(fault, false) {
		return
	}
	if !faulted {
		fault = Fault{}
	}
	dims := EmbeddingDims(x.model)
	if req.Dimensions != nil && *req.Dimensions > 0 {
		dims = *req.Dimensions
	}
	resp := &llm.EmbeddingResponse{Model: x.model, Vectors: Embed(req.Input, dims)}
	for _, in := range req.Input {
		resp.Usage.InputTokens += TextTokens(in)
	}
	if !sleep(r.Context(), set.latency.For(bodyHash).TTFT) {
		e.stats.record(x.model, path, outcomeCanceled, "")
		return
	}
	out, err := encode(req, resp)
	if err != nil {
		e.writeError(w, wf, &llm.Error{Kind: llm.KindUpstreamServer, Message: "emulator: encoding the embeddings: " + err.Error()}, 0)
		e.stats.record(x.model, path, outcomeRejected, "")
		return
	}
	x.writeBody(out, fault)
}

// writeBody sends a complete JSON body, or the malformed or cut version of it.
func (x *exchange) writeBody(body []byte, f Fault) {
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	switch f.Kind {
	case FaultMalformed:
		body = body[:len(body)/2] // status 200, but the JSON stops halfway
		h.Set("Content-Length", strconv.Itoa(len(body)))
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(body)
		x.e.stats.record(x.model, x.path, outcomeFault, f.Label())
		return
	case FaultCut: // After > 0: half the promised body, then the connection drops
		h.Set("Content-Length", strconv.Itoa(len(body)))
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(body[:len(body)/2])
		if fl, ok := x.w.(http.Flusher); ok {
			fl.Flush()
		}
		x.e.stats.record(x.model, x.path, outcomeFault, f.Label())
		panic(http.ErrAbortHandler)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(http.StatusOK)
	if _, err := x.w.Write(body); err != nil {
		x.e.stats.record(x.model, x.path, outcomeCanceled, "")
		return
	}
	x.e.stats.record(x.model, x.path, outcomeSucceeded, "")
}
