package semantic

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// analysis is what the verifier needs to know about one text: its words
// (lower-cased, stemmed), and the tokens whose disagreement changes the answer
// whatever the embeddings say: numbers, negations, named entities, quoted strings.
type analysis struct {
	norm      string          // NFKC, lower-cased, whitespace collapsed
	words     []string        // stemmed lower-case words in order, numbers included
	content   []string        // words minus stopwords, in order
	numbers   []string        // normalised numeric values in order ("2,000" → "2000", "two" → "2")
	negations int             // count of negation cues (not, no, never, n't, nobody, without, …)
	entities  []string        // lower-cased capitalised words not at a sentence start, acronyms, alphanumerics
	quoted    []string        // lower-cased text inside quotation marks
	qword     string          // the first question word (what, how, why, …), "" when none
	rawWords  map[string]bool // lower-cased words before stemming
	stems     map[string]bool // the set of words
}

// analyze splits text into the parts the verifier compares. It allocates a few
// small slices; texts are prompts, not documents, and are capped at maxAnalyzed bytes.
func analyze(text string) *analysis {
	if len(text) > maxAnalyzed {
		cut := maxAnalyzed
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	text = norm.NFKC.String(text)
	a := &analysis{rawWords: make(map[string]bool)}
	a.quoted = quotedSpans(text)

	var lower strings.Builder
	lower.Grow(len(text))
	sentenceStart := true
	space := false
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			if unicode.IsSpace(r) {
				if !space && lower.Len() > 0 {
					lower.WriteByte(' ')
				}
				space = true
			} else {
				lower.WriteString(strings.ToLower(string(r)))
				space = false
			}
			if r == '.' || r == '?' || r == '!' || r == ':' || r == ';' || r == '\n' || r == '"' || r == '(' {
				// "3.5" keeps its dot inside the number token (see isWordRune below),
				// so a dot here ends a sentence.
				sentenceStart = true
			}
			i += n
			continue
		}
		j := i + n
		for j < len(text) {
			r2, n2 := utf8.DecodeRuneInString(text[j:])
			if isWordRune(r2) {
				j += n2
				continue
			}
			// Keep "3.5", "2,000", "don't" and "e-mail" as one token.
			if (r2 == '.' || r2 == ',' || r2 == '\'' || r2 == '’' || r2 == '-' || r2 == '/') && j+n2 < len(text) {
				r3, _ := utf8.DecodeRuneInString(text[j+n2:])
				prev, _ := utf8.DecodeLastRuneInString(text[:j])
				if isWordRune(r3) && (r2 == '\'' || r2 == '’' || r2 == '-' || unicode.IsDigit(prev) && unicode.IsDigit(r3)) {
					j += n2
					continue
				}
			}
			break
		}
		tok := text[i:j]
		lower.WriteString(strings.ToLower(tok))
		space = false
		a.addToken(tok, sentenceStart)
		sentenceStart = false
		i = j
	}
	a.norm = strings.TrimSpace(lower.String())
	a.stems = set(a.words...)
	for _, w := range a.words {
		if !stopwords[w] {
			a.content = append(a.content, w)
		}
	}
	return a
}

// maxAnalyzed caps the bytes of a text that are analysed (prompts longer than
// this compare on their beginning, like the embedder's token cap).
const maxAnalyzed = 8 << 10

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func (a *analysis) addToken(tok string, sentenceStart bool) {
	low := strings.ToLower(strings.ReplaceAll(tok, "’", "'"))
	// Contractions: "don't" → do + not; "isn't" → is + not; "can't" → can + not.
	if strings.HasSuffix(low, "n't") {
		a.negations++
		base := strings.TrimSuffix(low, "n't")
		switch base {
		case "ca":
			base = "can"
		case "wo":
			base = "will"
		case "sha":
			base = "shall"
		}
		a.word(base)
		a.word("not")
		return
	}
	if k := strings.IndexByte(low, '\''); k > 0 {
		low = low[:k] // possessive 's, 'll, 're, 've, 'd: keep the stem
	}
	if negationWords[low] {
		a.negations++
	}
	if v, ok := numberValue(low); ok {
		a.numbers = append(a.numbers, v)
	}
	if isEntity(tok, sentenceStart) && !stopwords[low] && !questionWords[low] {
		a.entities = append(a.entities, low)
	}
	if a.qword == "" && questionWords[low] {
		a.qword = low
	}
	a.rawWords[low] = true
	a.word(low)
}

func (a *analysis) word(w string) {
	if w == "" {
		return
	}
	a.words = append(a.words, stem(w))
}

// isEntity reports whether a token in its original case looks like a name: a
// capitalised word not at a sentence start, an acronym, or letters with digits
// ("iPhone7", "gpt-4"). "I" is not.
func isEntity(tok string, sentenceStart bool) bool {
	if tok == "I" || tok == "" {
		return false
	}
	upper, lower, digit, letters := 0, 0, 0, 0
	for _, r := range tok {
		switch {
		case unicode.IsUpper(r):
			upper++
			letters++
		case unicode.IsLower(r):
			lower++
			letters++
		case unicode.IsDigit(r):
			digit++
		}
	}
	if letters == 0 {
		return false // a number: compared as a number
	}
	if digit > 0 {
		return true
	}
	if upper >= 2 {
		return true // acronym or CamelCase
	}
	first, _ := utf8.DecodeRuneInString(tok)
	return !sentenceStart && unicode.IsUpper(first)
}

// numberValue normalises a numeric token: digits with thousands separators and
// trailing ".0" removed, or a small number word. "one" is left out: it is a
// pronoun far more often than a count ("which one is better").
func numberValue(low string) (string, bool) {
	if v, ok := numberWords[low]; ok {
		return v, true
	}
	hasDigit := false
	for i := 0; i < len(low); i++ {
		c := low[i]
		if c >= '0' && c <= '9' {
			hasDigit = true
		} else if c != ',' && c != '.' && c != '/' {
			// "10th", "5km", "3pm": keep the digits with their unit as the value.
			if !hasDigit {
				return "", false
			}
		}
	}
	if !hasDigit {
		return "", false
	}
	v := strings.ReplaceAll(low, ",", "")
	if k := strings.IndexByte(v, '.'); k >= 0 && strings.Trim(v[k+1:], "0") == "" && !strings.ContainsAny(v[:k], "/") {
		v = v[:k]
	}
	return v, true
}

// quotedSpans returns the lower-cased text between matching quotation marks.
func quotedSpans(text string) []string {
	var out []string
	pairs := [][2]rune{{'"', '"'}, {'“', '”'}, {'«', '»'}}
	for _, p := range pairs {
		rest := text
		for {
			i := strings.IndexRune(rest, p[0])
			if i < 0 {
				break
			}
			rest = rest[i+utf8.RuneLen(p[0]):]
			j := strings.IndexRune(rest, p[1])
			if j < 0 {
				break
			}
			if q := strings.TrimSpace(rest[:j]); q != "" && j < 200 {
				out = append(out, strings.ToLower(q))
			}
			rest = rest[j+utf8.RuneLen(p[1]):]
		}
	}
	return out
}

// stem is a deliberately small suffix stripper: it only has to make "learn",
// "learning" and "learns" agree for overlap features, not be linguistically right.
func stem(w string) string {
	if len(w) <= 3 || w[0] >= '0' && w[0] <= '9' {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		return w[:len(w)-3]
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ly") && len(w) > 4:
		return w[:len(w)-2]
	case strings.HasSuffix(w, "es") && len(w) > 4 && strings.ContainsAny(w[len(w)-3:len(w)-2], "sxz"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

var (
	negationWords = set("not", "no", "never", "nobody", "nothing", "none", "neither", "nor",
		"nowhere", "cannot", "without", "noone", "hardly", "barely")
	questionWords = set("what", "how", "why", "when", "where", "who", "whom", "whose", "which")
	numberWords   = map[string]string{
		"zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
		"eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13",
		"fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
		"nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
		"sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
		"thousand": "1000", "million": "1000000", "billion": "1000000000", "half": "1/2",
		"twice": "2x", "double": "2x", "triple": "3x", "quarter": "1/4", "dozen": "12",
	}
	// stopwords are function words left out of the content-word features (stemmed
	// forms, as the words are compared after stem).
	stopwords = set("a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am",
		"do", "doe", "does", "did", "done", "have", "has", "had", "having", "i", "me", "my", "mine", "we", "u",
		"us", "our", "you", "your", "he", "him", "his", "she", "her", "it", "its", "they", "them",
		"their", "this", "that", "these", "those", "thi", "these", "there", "here", "of", "in", "on", "at", "to",
		"for", "from", "by", "with", "about", "as", "into", "onto", "up", "down", "out", "over",
		"and", "or", "but", "if", "so", "than", "then", "can", "could", "would", "should",
		"will", "shall", "may", "might", "must", "some", "any", "all", "what", "how", "why",
		"when", "where", "who", "whom", "which", "whose", "get", "one", "just", "also", "very",
		"really", "much", "many", "more", "most", "s", "t", "ha", "wa", "someone", "something",
		"person", "people", "way", "best", "good", "thing",
	)
)
