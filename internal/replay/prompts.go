package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/arbiterhq/arbiter/internal/tokens"
)

// chatFraming is what the chat format adds around one user message (role and
// separators, and the reply's priming), so that the prompt text is sized to leave
// the trace's context tokens in total.
const chatFraming = 7

// Prompts makes the user prompt of a request of a given size: real first turns
// (ShareGPT) repeated or cut to size, or, without any, deterministic prose.
type Prompts struct {
	texts   []string
	counter *tokens.Counter

	mu    sync.Mutex
	ratio map[int]float64 // tokens per byte of texts[i], counted on first use
}

// NewPrompts sizes texts; with none it writes prose.
func NewPrompts(texts []string) *Prompts {
	return &Prompts{texts: texts, counter: tokens.New(), ratio: map[int]float64{}}
}

// LoadPrompts reads ShareGPT-style JSON — an array of {"conversations":[{"from":
// "human","value":…},…]}, whose first human turn is used — or a JSON array of strings.
func LoadPrompts(path string) (*Prompts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read prompts: %w", err)
	}
	var texts []string
	if err := json.Unmarshal(b, &texts); err != nil {
		var convs []struct {
			Conversations []struct {
				From  string `json:"from"`
				Value string `json:"value"`
			} `json:"conversations"`
		}
		if err2 := json.Unmarshal(b, &convs); err2 != nil {
			return nil, fmt.Errorf("%s: want a JSON array of ShareGPT conversations or of strings: %w", path, err2)
		}
		for _, c := range convs {
			for _, turn := range c.Conversations {
				if turn.From == "human" || turn.From == "user" {
					if strings.TrimSpace(turn.Value) != "" {
						texts = append(texts, turn.Value)
					}
					break
				}
			}
		}
	}
	var kept []string
	for _, t := range texts {
		if strings.TrimSpace(t) != "" {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return NewPrompts(kept), nil
}

// Len is the number of source prompts (0: prose).
func (p *Prompts) Len() int { return len(p.texts) }

// Text is row i's prompt for a context of about n tokens. It is a function of i and
// n only, so runs are reproducible.
func (p *Prompts) Text(i, n int) string {
	n = max(n-chatFraming, 1)
	if len(p.texts) == 0 {
		return prose(i, n)
	}
	k := i % len(p.texts)
	src := p.texts[k]
	p.mu.Lock()
	r, ok := p.ratio[k]
	p.mu.Unlock()
	if !ok {
		r = float64(max(p.counter.Text(src), 1)) / float64(len(src))
		p.mu.Lock()
		p.ratio[k] = r
		p.mu.Unlock()
	}
	want := int(float64(n)/r + 0.5)
	var b strings.Builder
	for b.Len() < want {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(src)
	}
	return cut(b.String(), want)
}

// cut shortens s to at most n bytes, at a space when there is one near the end, and
// never inside a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	s = s[:n]
	if i := strings.LastIndexAny(s, " \n"); i > n-40 && i > 0 {
		s = s[:i]
	}
	return s
}

// proseWords are common words that are one token each (with their leading space) in
// o200k_base, so that n of them make about n tokens, and average a little over
// three letters, so that with the full stops the text is four bytes a token, and
// the emulator's estimate (and many token counters') agrees (TestProseIsAboutTheAskedSize).
var proseWords = strings.Fields(`of to in is on by it or be at as an we us if my do no he up so go the and for you not are all new
was can has but our one may out use any see his who now get its had day two her she set did own end
per low run put try lot ask due ago bad six sea boy hit ten fit nor dry won that this with from your
have more will time they what only when here also help some like than find back just over year into
next used work last most make them such best then good well each very need many said does part must
made area want long show even open`)

// prose is n words of proseWords chosen from row i's seed, in sentences.
func prose(i, n int) string {
	r := newSplitMix(uint64(i) + 1)
	var b strings.Builder
	b.Grow(n * 7)
	left := 0 // words left in this sentence
	for k := 0; k < n; k++ {
		if left == 0 {
			if k > 0 {
				b.WriteString(". ")
				k++ // the full stop is a token of its own
				if k >= n {
					break
				}
			}
			left = 8 + int(r.next()%10)
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(proseWords[r.next()%uint64(len(proseWords))])
		left--
	}
	b.WriteByte('.')
	return b.String()
}

// splitMix is SplitMix64: a tiny deterministic generator, enough for choosing words.
type splitMix struct{ s uint64 }

func newSplitMix(seed uint64) *splitMix { return &splitMix{s: seed} }

func (r *splitMix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133cb111
	return z ^ (z >> 31)
}
