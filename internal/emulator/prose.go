package emulator

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A small grammar writes prose that looks like an answer (sentences with subjects,
// verbs, objects and connectives) so that demos, dashboards and token counts look
// like the real thing, while every word is a function of the request hash.

var (
	openers = []string{
		"In practice,", "In short,", "For example,", "As a rule,", "Put simply,", "In most cases,",
		"On balance,", "By contrast,", "More importantly,", "At the same time,", "Over time,", "Typically,",
	}
	subjects = []string{
		"the system", "the team", "this approach", "the model", "the process", "a good design",
		"the result", "each step", "the data", "the budget", "the schedule", "the first option",
		"the second option", "the main risk", "the user", "the service",
	}
	verbs = []string{
		"improves", "reduces", "depends on", "affects", "requires", "supports", "balances",
		"explains", "shapes", "limits", "protects", "simplifies", "changes", "reflects",
		"strengthens", "replaces", "measures", "drives",
	}
	adjectives = []string{
		"overall", "careful", "simple", "reliable", "expected", "practical", "clear", "gradual",
		"consistent", "useful", "lower", "higher", "initial", "final", "shared", "long-term",
	}
	objects = []string{
		"cost", "quality", "latency", "accuracy", "performance", "trade-off", "outcome",
		"workload", "feedback loop", "error rate", "structure", "estimate", "baseline",
		"decision", "plan", "context", "result", "priority",
	}
	preps = []string{
		"for the whole project", "over several weeks", "in the long run", "across teams",
		"under load", "without extra effort", "at a lower price", "in most situations",
		"with little overhead", "for everyone involved",
	}
	connectives = []string{", and ", ", which", ", because ", ", while ", ", so ", ", although "}
)

// sentence writes one sentence ending with a full stop.
func sentence(r *rng) string {
	var b strings.Builder
	if r.intn(3) == 0 {
		b.WriteString(pick(r, openers))
		b.WriteByte(' ')
		b.WriteString(pick(r, subjects))
	} else {
		b.WriteString(capitalize(pick(r, subjects)))
	}
	clause(&b, r)
	if r.intn(2) == 0 {
		c := pick(r, connectives)
		b.WriteString(c)
		if c != ", which" {
			b.WriteString(pick(r, subjects))
		}
		clause(&b, r)
	}
	b.WriteByte('.')
	return b.String()
}

func clause(b *strings.Builder, r *rng) {
	b.WriteByte(' ')
	b.WriteString(pick(r, verbs))
	b.WriteString(" the ")
	if r.intn(2) == 0 {
		b.WriteString(pick(r, adjectives))
		b.WriteByte(' ')
	}
	b.WriteString(pick(r, objects))
	if r.intn(3) == 0 {
		b.WriteByte(' ')
		b.WriteString(pick(r, preps))
	}
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// prose writes sentences after head until the text holds about target tokens,
// with a paragraph break every few sentences.
func prose(r *rng, head string, target int) string {
	var b strings.Builder
	b.WriteString(head)
	want := target * bytesPerToken
	inPara := 0
	for b.Len() < want {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
			if inPara >= 3+r.intn(3) {
				b.WriteString("\n\n")
				inPara = 0
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(sentence(r))
		inPara++
	}
	return b.String()
}

// topic returns the first words of the user's message, for an opening line that shows
// the answer was written for this prompt.
func topic(s string, words int) string {
	f := strings.Fields(s)
	cut := len(f) > words
	if cut {
		f = f[:words]
	}
	t := strings.TrimRight(strings.Join(f, " "), ".,;:!?")
	if len(t) > 80 {
		t = truncateUTF8(t, 80)
		cut = true
	}
	if cut {
		t += "…"
	}
	return t
}

// placeHint returns the last capitalised word that does not start a sentence, a
// plausible value for a location argument ("What is the weather in Paris?").
func placeHint(s string) string {
	f := strings.Fields(s)
	hint := ""
	for i := 1; i < len(f); i++ {
		prev := f[i-1]
		if strings.HasSuffix(prev, ".") || strings.HasSuffix(prev, "?") || strings.HasSuffix(prev, "!") {
			continue
		}
		w := strings.TrimFunc(f[i], func(r rune) bool { return !unicode.IsLetter(r) })
		if w == "" || w == "I" {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(w); unicode.IsUpper(r) {
			hint = w
		}
	}
	return hint
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
