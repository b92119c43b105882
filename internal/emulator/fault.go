package emulator

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FaultKind names a way the emulator fails a request.
type FaultKind string

const (
	// FaultStatus answers with an HTTP error status and the format's error body.
	FaultStatus FaultKind = "status"
	// FaultHang sends nothing more (after After stream events) until the client gives up.
	FaultHang FaultKind = "hang"
	// FaultCut closes the connection without an end marker: before the response when
	// After is 0, otherwise after After stream events (non-streaming: half a body).
	FaultCut FaultKind = "cut"
	// FaultMalformed sends invalid JSON with status 200: a truncated body, or a broken
	// data event after After stream events (then the connection closes).
	FaultMalformed FaultKind = "malformed"
	// FaultStreamError sends the format's error event after After stream events (a
	// non-streaming request gets the error status instead). Status picks the error
	// kind (default 500; 529 overloaded, 429 rate limited).
	FaultStreamError FaultKind = "error"
)

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of FaultStatus, and the error kind of FaultStreamError.
	Status int
	// RetryAfter, when positive, is sent as Retry-After (whole seconds, rounded up) and,
	// when not a whole number of seconds, also as retry-after-ms.
	RetryAfter time.Duration
	// After is the number of neutral stream events (llm.Event) sent before the fault
	// strikes, for hang, cut, malformed and error on streams.
	After int
}

// Label names the fault in Stats: the status ("429", "529") or the kind ("hang").
func (f Fault) Label() string {
	if f.Kind == FaultStatus {
		return strconv.Itoa(f.Status)
	}
	return string(f.Kind)
}

// FaultSpec says which requests fail and how. The zero Rate with faults listed means
// every request.
type FaultSpec struct {
	// Rate is the probability that a request is failed, in (0, 1]; 0 means 1.
	Rate float64
	// Faults are the candidate failures; one is drawn uniformly when the rate fires.
	Faults []Fault
	// Times, when positive, limits the spec to the first Times requests it applies to
	// (per model), so "fail twice then answer" can be expressed.
	Times int
	// Seed is mixed into the emulator's seed for this spec's draws.
	Seed uint64
}

// ParseFaults parses the fault syntax of the x-emulator-fault header, the --faults
// flag and configuration. Clauses are separated by ";", each "key" or "key=value":
//
//	status=429            answer HTTP 429 (any 4xx/5xx; a bare "429" works too)
//	retry_after=2         with Retry-After: 2 (seconds, fractions allowed: 0.5);
//	                      429 defaults to 1 s, retry_after=0 sends none
//	hang                  never answer; the client must time out or cancel
//	cut                   close the connection with no end marker
//	malformed             send invalid JSON with status 200
//	error                 send an error event mid-stream (status=529 picks its kind)
//	after=N               for hang/cut/malformed/error: after N stream events (default 0)
//	times=N               only for the first N requests, then answer normally
//	rate=0.3              the probabilistic form: fail 30 % of requests ...
//	kinds=429,500,529,hang,cut   ... with a kind drawn uniformly from this list
//	seed=7                vary the draws (runs with the same seed are reproducible)
//
// Examples: "status=429;retry_after=2", "cut;after=5", "status=503;times=2",
// "rate=0.3;kinds=429,500,529,hang,cut;retry_after=1;seed=42". "" means no fault.
func ParseFaults(s string) (*FaultSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	spec := &FaultSpec{}
	var (
		kind        FaultKind
		status      int
		after       int
		retryAfter  = time.Duration(-1)
		kinds       []string
		rateGiven   bool
		statusGiven bool
	)
	for _, clause := range strings.Split(s, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		key, val, hasVal := strings.Cut(clause, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		setKind := func(k FaultKind) error {
			if hasVal {
				return fmt.Errorf("fault %q: %s takes no value", s, key)
			}
			if kind != "" && kind != k {
				return fmt.Errorf("fault %q: both %s and %s given; use rate/kinds to mix kinds", s, kind, k)
			}
			kind = k
			return nil
		}
		var err error
		switch key {
		case "hang":
			err = setKind(FaultHang)
		case "cut":
			err = setKind(FaultCut)
		case "malformed":
			err = setKind(FaultMalformed)
		case "error", "stream_error":
			err = setKind(FaultStreamError)
		case "status":
			status, err = parseStatus(val)
			statusGiven = true
		case "retry_after":
			var sec float64
			sec, err = strconv.ParseFloat(val, 64)
			if err != nil || sec < 0 || math.IsInf(sec, 0) || math.IsNaN(sec) {
				err = fmt.Errorf("fault %q: retry_after must be a number of seconds ≥ 0, got %q", s, val)
			}
			retryAfter = time.Duration(sec * float64(time.Second))
		case "after":
			after, err = strconv.Atoi(val)
			if err != nil || after < 0 {
				err = fmt.Errorf("fault %q: after must be a count of stream events ≥ 0, got %q", s, val)
			}
		case "times":
			spec.Times, err = strconv.Atoi(val)
			if err != nil || spec.Times < 1 {
				err = fmt.Errorf("fault %q: times must be a count ≥ 1, got %q", s, val)
			}
		case "rate":
			spec.Rate, err = strconv.ParseFloat(val, 64)
			if err != nil || !(spec.Rate > 0 && spec.Rate <= 1) {
				err = fmt.Errorf("fault %q: rate must be a probability in (0, 1], got %q", s, val)
			}
			rateGiven = true
		case "kinds":
			for _, k := range strings.Split(val, ",") {
				if k = strings.TrimSpace(k); k != "" {
					kinds = append(kinds, strings.ToLower(k))
				}
			}
			if len(kinds) == 0 {
				err = fmt.Errorf("fault %q: kinds lists no kind", s)
			}
		case "seed":
			spec.Seed, err = strconv.ParseUint(val, 10, 64)
			if err != nil {
				err = fmt.Errorf("fault %q: seed must be an unsigned integer, got %q", s, val)
			}
		default:
			if st, perr := parseStatus(key); perr == nil && !hasVal {
				status, statusGiven = st, true
				break
			}
			err = fmt.Errorf("fault %q: unknown clause %q (want status, retry_after, hang, cut, malformed, error, after, times, rate, kinds, seed)", s, clause)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fault ") {
				err = fmt.Errorf("fault %q: %w", s, err)
			}
			return nil, err
		}
	}
	build := func(k FaultKind, st int) Fault {
		f := Fault{Kind: k, Status: st, After: after}
		if retryAfter >= 0 {
			f.RetryAfter = retryAfter
		} else {
			f.RetryAfter = defaultRetryAfter(f)
		}
		return f
	}
	switch {
	case len(kinds) > 0:
		if kind != "" {
			return nil, fmt.Errorf("fault %q: give either one kind or kinds=…, not both", s)
		}
		for _, k := range kinds {
			switch FaultKind(k) {
			case FaultHang, FaultCut, FaultMalformed, FaultStreamError:
				spec.Faults = append(spec.Faults, build(FaultKind(k), status))
			default:
				st, err := parseStatus(k)
				if err != nil {
					return nil, fmt.Errorf("fault %q: kinds: %q is neither a status nor hang, cut, malformed, error", s, k)
				}
				spec.Faults = append(spec.Faults, build(FaultStatus, st))
			}
		}
	case kind != "":
		spec.Faults = []Fault{build(kind, status)}
	case statusGiven:
		spec.Faults = []Fault{build(FaultStatus, status)}
	default:
		if rateGiven {
			return nil, fmt.Errorf("fault %q: rate needs kinds=… to say which faults", s)
		}
		return nil, fmt.Errorf("fault %q: no fault named (want status=N, hang, cut, malformed, error or rate with kinds)", s)
	}
	return spec, nil
}

// defaultRetryAfter is the Retry-After a fault gets when the spec names none: 1 s for
// a 429, as providers send, and none otherwise.
func defaultRetryAfter(f Fault) time.Duration {
	if f.Kind == FaultStatus && f.Status == 429 {
		return time.Second
	}
	return 0
}

func parseStatus(v string) (int, error) {
	st, err := strconv.Atoi(v)
	if err != nil || st < 400 || st > 599 {
		return 0, fmt.Errorf("status must be an HTTP error status 400-599, got %q", v)
	}
	return st, nil
}

// MustParseFaults is ParseFaults for literals in tests and examples; it panics on a
// syntax error.
func MustParseFaults(s string) *FaultSpec {
	spec, err := ParseFaults(s)
	if err != nil {
		panic(err)
	}
	return spec
}

// String renders the spec in the syntax ParseFaults reads.
func (s *FaultSpec) String() string {
	if s == nil || len(s.Faults) == 0 {
		return ""
	}
	var parts []string
	f := s.Faults[0]
	if len(s.Faults) == 1 && s.Rate == 0 {
		if f.Kind == FaultStatus {
			parts = append(parts, "status="+strconv.Itoa(f.Status))
		} else {
			parts = append(parts, string(f.Kind))
			if f.Status != 0 {
				parts = append(parts, "status="+strconv.Itoa(f.Status))
			}
		}
	} else {
		labels := make([]string, len(s.Faults))
		for i, f := range s.Faults {
			labels[i] = f.Label()
		}
		if s.Rate > 0 {
			parts = append(parts, "rate="+strconv.FormatFloat(s.Rate, 'g', -1, 64))
		}
		parts = append(parts, "kinds="+strings.Join(labels, ","))
	}
	// retry_after is written when some fault's differs from what parsing would default.
	for _, g := range s.Faults {
		if g.RetryAfter != defaultRetryAfter(g) {
			parts = append(parts, "retry_after="+strconv.FormatFloat(g.RetryAfter.Seconds(), 'g', -1, 64))
			break
		}
	}
	if f.After > 0 {
		parts = append(parts, "after="+strconv.Itoa(f.After))
	}
	if s.Times > 0 {
		parts = append(parts, "times="+strconv.Itoa(s.Times))
	}
	if s.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(s.Seed, 10))
	}
	return strings.Join(parts, ";")
}
