package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a replay.
type Options struct {
	// Target is the gateway's base URL ("http://127.0.0.1:8080", with or without /v1).
	Target string
	// Key, when set, is sent as a bearer token.
	Key string
	// Model is every request's model (default "auto").
	Model string
	// Speed divides the trace's inter-arrival times (default 1: real time).
	Speed float64
	// Stream is the share of requests sent as streams, in [0, 1].
	Stream float64
	// MaxInFlight bounds the requests outstanding at once (default 4096).
	MaxInFlight int
	// Timeout bounds one request, answer included (default 5 minutes).
	Timeout time.Duration
	// Prompts sizes the prompts (nil: prose).
	Prompts *Prompts
	// Client sends the requests (nil: one with a large connection pool).
	Client *http.Client
	// Clock is the schedule's clock (nil: the wall clock).
	Clock Clock
	// Progress receives a line per ProgressEvery (nil: none).
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Outcome is what happened to one request.
type Outcome struct {
	Row       Row
	Stream    bool
	Scheduled time.Duration // offset from the start
	Lag       time.Duration // how late it was sent
	Status    int           // HTTP status; 0 when no response came
	Err       string        // why it failed; empty when it succeeded
	TTFB      time.Duration // to the first byte of the body
	Latency   time.Duration // to the last byte
	InTokens  int           // usage.prompt_tokens
	OutTokens int           // usage.completion_tokens
	Cache     string        // x-arbiter-cache
}

// OK says whether the request succeeded.
func (o *Outcome) OK() bool { return o.Err == "" }

// Result is a finished replay.
type Result struct {
	Outcomes []Outcome // in trace order
	Start    time.Time
	Elapsed  time.Duration // start to the last answer
	Sent     int           // requests sent (fewer than rows when interrupted)
	Waited   int           // requests held back by the in-flight cap
	Speed    float64
}

// Streamed says whether request i of a replay streams: exactly ⌊n·share⌋ of the
// first n requests do, spread evenly, whatever the trace.
func Streamed(i int, share float64) bool {
	if share <= 0 {
		return false
	}
	if share >= 1 {
		return true
	}
	return int(float64(i+1)*share) > int(float64(i)*share)
}

func (o *Options) defaults() error {
	if o.Model == "" {
		o.Model = "auto"
	}
	if o.Speed == 0 {
		o.Speed = 1
	}
	if o.Speed < 0 {
		return fmt.Errorf("speed must be positive, not %g", o.Speed)
	}
	if o.Stream < 0 || o.Stream > 1 {
		return fmt.Errorf("stream share must be within 0..1, not %g", o.Stream)
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 4096
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Prompts == nil {
		o.Prompts = NewPrompts(nil)
	}
	if o.Client == nil {
		o.Client = NewClient()
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	o.Target = strings.TrimSuffix(strings.TrimSuffix(o.Target, "/"), "/v1")
	if o.Target == "" {
		return errors.New("no target URL")
	}
	return nil
}

// NewClient is an HTTP client whose pool keeps a connection per request in flight,
// so that an open-loop load does not churn through ephemeral ports.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 4096, 4096
	return &http.Client{Transport: t}
}

// Run replays rows against o.Target and returns every outcome. It returns an error
// only when it could not run; failed requests are in the outcomes.
func Run(ctx context.Context, rows []Row, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	offsets := Offsets(rows, o.Speed)
	res := &Result{Outcomes: make([]Outcome, len(rows)), Speed: o.Speed}
	var live liveCounts
	live.lags = make([]time.Duration, 0, len(rows))

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	started := make(chan time.Time, 1)
	go func() {
		defer close(progressDone)
		if o.Progress == nil {
			<-stopProgress
			return
		}
		var t0 time.Time
		select {
		case t0 = <-started:
		case <-stopProgress:
			return
		}
		tk := time.NewTicker(o.ProgressEvery)
		defer tk.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-tk.C:
				live.print(o.Progress, len(rows), time.Since(t0))
			}
		}
	}()

	d := Dispatcher{Clock: o.Clock, MaxInFlight: o.MaxInFlight}
	var startOnce sync.Once
	disp := d.Run(ctx, offsets, func(ctx context.Context, i int, lag time.Duration) {
		startOnce.Do(func() { started <- time.Now() })
		live.sent(lag)
		out := &res.Outcomes[i]
		*out = Outcome{Row: rows[i], Stream: Streamed(i, o.Stream), Scheduled: offsets[i], Lag: lag}
		send(ctx, &o, i, out)
		live.done(out.OK())
	})
	res.Start, res.Sent, res.Waited = disp.Start, disp.Sent, disp.Waited
	res.Elapsed = o.Clock.Now().Sub(disp.Start)
	res.Outcomes = res.Outcomes[:disp.Sent]
	close(stopProgress)
	<-progressDone
	if o.Progress != nil {
		live.print(o.Progress, len(rows), res.Elapsed)
	}
	return res, nil
}

// liveCounts feed the progress line.
type liveCounts struct {
	inFlight, ok, failed, nSent atomic.Int64
	mu                          sync.Mutex
	lags                        []time.Duration
}

func (c *liveCounts) sent(lag time.Duration) {
	c.nSent.Add(1)
	c.inFlight.Add(1)
	c.mu.Lock()
	c.lags = append(c.lags, lag)
	c.mu.Unlock()
}

func (c *liveCounts) done(ok bool) {
	c.inFlight.Add(-1)
	if ok {
		c.ok.Add(1)
	} else {
		c.failed.Add(1)
	}
}

func (c *liveCounts) print(w io.Writer, total int, elapsed time.Duration) {
	c.mu.Lock()
	lags := append([]time.Duration(nil), c.lags...)
	c.mu.Unlock()
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	sent := c.nSent.Load()
	fmt.Fprintf(w, "replay %6.1fs  sent %d/%d  in flight %d  ok %d  failed %d  %.1f req/s  lag p99 %s\n",
		elapsed.Seconds(), sent, total, c.inFlight.Load(), c.ok.Load(), c.failed.Load(),
		float64(sent)/max(elapsed.Seconds(), 1e-9), round(percentile(lags, 0.99)))
}

// send makes row i's request and fills out.
func send(ctx context.Context, o *Options, i int, out *Outcome) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	body := requestBody(o, i, out.Row, out.Stream)
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.Target+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		out.Err = err.Error()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if o.Key != "" {
		req.Header.Set("Authorization", "Bearer "+o.Key)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		out.Err = err.Error()
		return
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	out.Cache = resp.Header.Get("X-Arbiter-Cache")
	fb := &firstByte{r: resp.Body}
	data, err := io.ReadAll(fb)
	out.Latency = time.Since(start)
	if !fb.at.IsZero() {
		out.TTFB = fb.at.Sub(start)
	}
	if err != nil {
		out.Err = fmt.Sprintf("reading the answer: %v", err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		msg := bytes.TrimSpace(data)
		if len(msg) > 300 {
			msg = msg[:300]
		}
		out.Err = fmt.Sprintf("status %d: %s", resp.StatusCode, msg)
		return
	}
	var u usage
	if out.Stream {
		u, err = streamUsage(data)
	} else {
		u, err = wholeUsage(data)
	}
	if err != nil {
		out.Err = err.Error()
		return
	}
	out.InTokens, out.OutTokens = u.PromptTokens, u.CompletionTokens
}

func requestBody(o *Options, i int, r Row, stream bool) []byte {
	body := map[string]any{
		"model":      o.Model,
		"max_tokens": max(r.Generated, 1),
		"messages":   []map[string]string{{"role": "user", "content": o.Prompts.Text(i, r.Context)}},
	}
	if stream {
		body["stream"] = true
		body["stream_options"] = map[string]bool{"include_usage": true}
	}
	b, _ := json.Marshal(body) // maps of strings, ints and bools always marshal
	return b
}

// firstByte notes when the first byte of a body arrived.
type firstByte struct {
	r  io.Reader
	at time.Time
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && f.at.IsZero() {
		f.at = time.Now()
	}
	return n, err
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func wholeUsage(data []byte) (usage, error) {
	var r struct {
		Choices []json.RawMessage `json:"choices"`
		Usage   *usage            `json:"usage"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return usage{}, fmt.Errorf("answer is not a chat completion: %v", err)
	}
	if len(r.Choices) == 0 {
		return usage{}, errors.New("answer has no choices")
	}
	if r.Usage == nil {
		return usage{}, errors.New("answer has no usage")
	}
	return *r.Usage, nil
}

// streamUsage reads an OpenAI SSE stream: it must end with [DONE], carry no error
// event, and report usage in its last chunk (stream_options.include_usage).
func streamUsage(data []byte) (usage, error) {
	var u *usage
	done := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		line = strings.TrimSpace(line)
		if line == "[DONE]" {
			done = true
			continue
		}
		var chunk struct {
			Usage *usage          `json:"usage"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &chunk); err != nil {
			return usage{}, fmt.Errorf("stream event is not JSON: %v", err)
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" {
			return usage{}, fmt.Errorf("stream ended in an error: %s", chunk.Error)
		}
		if chunk.Usage != nil {
			u = chunk.Usage
		}
	}
	if err := sc.Err(); err != nil {
		return usage{}, fmt.Errorf("reading the stream: %v", err)
	}
	if !done {
		return usage{}, errors.New("stream ended without [DONE]")
	}
	if u == nil {
		return usage{}, errors.New("stream carried no usage")
	}
	return *u, nil
}
