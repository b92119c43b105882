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
// o200k_base, so that n of them make about n tokens (TestProseIsAboutTheAskedSize).
var proseWords = strings.Fields(`the of and to in for is on that by this with you it not or be are from at as your all have new more
an was we will can us about if my has but our one other do no time they he up may what which their
out use any there see only so his when here who also now help get some these its like than find back
people had just over year day into two world next used go work last most make them should her such
after best then good well where through each she very need many said does set under part could great
must made before did right because those using area want long based show even check open today same
own found both house while place end three without per think water history small level change still
money every little visit save low different learn point join look plan answer human second question
simple common short quick light story result easy given possible might major future space hand
problem keep share similar garden energy run put try welcome central until away once least sure
trade able close drive several living called lot ask means early past natural whether due upon
period done record present either ago word talk final third rock bad plus cover usually together
often feel though bank risk thanks everything various words town heart received choose knowledge
clear receive step wide whole basic known half along among death speed face enough higher near
thought turn mean growth notes copy force river double build soon across needed season apply someone
anything believe mind rather weeks came nothing certain running lower necessary according particular
fine hour skills six career leave huge kind middle move coming object machine length actually nice
sample follow capital went choice letter structure summer allow matter almost took multiple focus
late fall idea voice friendly purpose feature physical deal hold ready regular simply evidence round
understand option master recently probably sea built improve strong ground excellent perfect
opportunity classic basis distance tree ensure thus wall extra especially quite boy beautiful useful
directly ways rule bring considered told feet agent valid door grand normal wrote entire leading
positive opinion likely develop alternative seems pass century morning otherwise allows rest plant
hit pool deep behind floor boys sense born unless background target ability maybe moving places
pretty winter youth pressure itself enjoy surface minimum visual variety block steel wrong beginning
hands finally fixed gets capacity father respect unknown worth poor eyes relationship farm peace
traditional benefit progress sometimes beyond goes families interesting former ten complex flat flow
parent setting scale stand economy highest helpful critical frame path chief gives bottom detail
heard begin clean switch largest relevant square attention difference allowed correct piece seven
older elements jump random motion looks chance vision ball couple giving goal successful situation
appear determine actual stone perhaps difficult fit easily edge root closed balance initial thinking
waste minute cold effort phase letters mass count quickly heat wild brought himself nor task reduce
soft alone seconds walk wait pocket freedom fresh began steps thoughts worked essential myself heavy
covered solid became orange prevent rich avoid finding spirit challenge seem touch towards suggest
serve reasons magic smart gave ones define faith chain missing reach moment extended attack sorry
damage snow truth failure follows bridge fill movement equal adventure compared gone codes kinds
completely tried named earlier direction evening brain powerful dream false soul carry flag decided
advantage maintain eight straight prepared handle sweet clearly measure changing looked gain ocean
depth whatever exactly dry explore concept nearly reality knew faster nations route followed broken
battle speak protocol shared sounds fight height zero remain roll secret healthy perform toward won
slightly`)

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
