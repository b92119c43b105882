package emulator

import "sync"

// Counts are what the emulator saw for one model, one path, or in total.
type Counts struct {
	// Requests is every request received (including rejected and faulted ones).
	Requests int64 `json:"requests"`
	// Succeeded counts requests answered completely: a full body, or a stream that
	// reached its end marker.
	Succeeded int64 `json:"succeeded"`
	// Rejected counts 4xx answers the client caused: no auth header, a bad body or a
	// bad emulator header.
	Rejected int64 `json:"rejected"`
	// Canceled counts requests the client abandoned before the answer was complete,
	// other than injected hangs (those count as faults).
	Canceled int64 `json:"canceled"`
	// Faults counts injected faults by Fault.Label ("429", "529", "hang", "cut", ...).
	Faults map[string]int64 `json:"faults,omitempty"`
}

// Stats is a snapshot of the emulator's counters. Requests whose model could not be
// read (no auth header, invalid JSON) are counted under the model "".
type Stats struct {
	Total   Counts            `json:"total"`
	ByModel map[string]Counts `json:"by_model"`
	// ByPath is keyed by route: "/v1/chat/completions", "/v1/messages",
	// "/v1beta/models/{model}:streamGenerateContent", ...
	ByPath map[string]Counts `json:"by_path"`
}

// FaultsTotal sums the injected faults of all kinds.
func (c Counts) FaultsTotal() int64 {
	var n int64
	for _, v := range c.Faults {
		n += v
	}
	return n
}

type outcome uint8

const (
	outcomeSucceeded outcome = iota + 1
	outcomeRejected
	outcomeCanceled
	outcomeFault
)

type counters struct {
	mu      sync.Mutex
	total   Counts
	byModel map[string]*Counts
	byPath  map[string]*Counts
}

func (c *counters) each(model, path string, f func(*Counts)) {
	if c.byModel == nil {
		c.byModel = map[string]*Counts{}
		c.byPath = map[string]*Counts{}
	}
	m := c.byModel[model]
	if m == nil {
		m = &Counts{}
		c.byModel[model] = m
	}
	p := c.byPath[path]
	if p == nil {
		p = &Counts{}
		c.byPath[path] = p
	}
	f(&c.total)
	f(m)
	f(p)
}

func (c *counters) received(model, path string) {
	c.mu.Lock()
	c.each(model, path, func(k *Counts) { k.Requests++ })
	c.mu.Unlock()
}

func (c *counters) record(model, path string, o outcome, faultLabel string) {
	c.mu.Lock()
	c.each(model, path, func(k *Counts) {
		switch o {
		case outcomeSucceeded:
			k.Succeeded++
		case outcomeRejected:
			k.Rejected++
		case outcomeCanceled:
			k.Canceled++
		case outcomeFault:
			if k.Faults == nil {
				k.Faults = map[string]int64{}
			}
			k.Faults[faultLabel]++
		}
	})
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Total: c.total.clone(), ByModel: map[string]Counts{}, ByPath: map[string]Counts{}}
	for k, v := range c.byModel {
		s.ByModel[k] = v.clone()
	}
	for k, v := range c.byPath {
		s.ByPath[k] = v.clone()
	}
	return s
}

func (c *counters) reset() {
	c.mu.Lock()
	c.total, c.byModel, c.byPath = Counts{}, nil, nil
	c.mu.Unlock()
}

func (c Counts) clone() Counts {
	out := c
	if c.Faults != nil {
		out.Faults = make(map[string]int64, len(c.Faults))
		for k, v := range c.Faults {
			out.Faults[k] = v
		}
	}
	return out
}
