package router

import (
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prompt is what the predictor sees of a request.
type Prompt struct {
	Text  string // the last user turn (or the whole prompt for single-turn data)
	Turns int    // number of user turns in the conversation (1 for a single prompt)
}

// featureNames names the dense hand-made features, in vector order. They are cheap
// (one pass over the text, no regular expressions) and chosen to carry over to
// subjects and tasks the training data does not contain: size, digits and
// arithmetic, code, question type, answer-option shape, negation, language.
var featureNames = [...]string{
	"log_chars", "log_words", "log_lines", "log_sentences",
	"digit_share", "log_numbers", "log_distinct_numbers", "decimal_or_fraction", "math_symbol_share", "math_notation",
	"code_symbol_share", "code_keywords", "code_fence",
	"q_which", "q_what", "q_how_many_much", "q_why_explain", "q_calculate", "q_prove", "q_write", "q_true_false",
	"negation", "statements_pipe",
	"mc_options", "log_option_words", "numeric_options", "log_stem_words",
	"non_ascii_share", "cjk_share", "mean_word_len", "long_word_share", "capital_share",
	"log_turns", "multi_step_cues", "units_money", "article_keywords", "passage",
}

// featureIndex maps a feature name to its position; read-only after initialisation.
var featureIndex = func() map[string]int {
	m := make(map[string]int, len(featureNames))
	for i, n := range featureNames {
		m[n] = i
	}
	return m
}()

// NumDense is the number of dense hand-made features.
var NumDense = len(featureNames)

// FeatureNames returns the names of the dense features in vector order.
func FeatureNames() []string { return append([]string(nil), featureNames[:]...) }

var (
	codeKeywords = []string{"def ", "func ", "return ", "#include", "class ", "import ", "public ", "void ", "function", "console.", "print(", "select ", "=>", "->", "sql", "python", "javascript", "java ", "c++", "regex", "algorithm", "code"}
	multiStep    = []string{" each ", " every ", " per ", " total", " remaining", " twice", " half", " times ", " more than ", " less than ", " left", " rest ", " after ", " average", " ratio", " percent", "%"}
	unitsMoney   = []string{"$", "dollar", "cent", "hour", "minute", "second", "day", "week", "month", "year", "mile", "km", "meter", "pound", "kg", "gram", "liter", "gallon", "inch", "feet", "foot"}
	articleWords = []string{"analyze", "debug", "architecture", "refactor", "optimize"}
	negations    = []string{" not ", " except", " least", " false", "n't ", " never ", " incorrect"}
	calcWords    = []string{"calculate", "compute", "find ", "solve", "evaluate", "determine", "simplify", "how long", "what is the value", "estimate"}
)

// denseFeatures fills dst (len NumDense) with the hand-made features of p. need,
// when not nil, says which features the caller uses: the keyword searches of the
// others are skipped (they are most of the cost on long prompts) and left at 0.
func denseFeatures(p Prompt, dst []float32, need []bool) {
	t := p.Text
	lower := ""
	var chars, digits, mathSym, codeSym, nonASCII, cjk, lines, sentences float64
	var words, wordLetters, longWords, capitals float64
	numbers := 0
	distinct := map[string]struct{}{}
	decimalOrFrac := 0.0
	inWord, inNum := false, false
	numStart := 0
	wordLen := 0
	prevSpace := true
	if !needsRichPass(need) {
		chars, words, lines, sentences = basicCounts(t)
		t = "" // skip the rich pass below
	}
	for i, r := range t {
		chars++
		switch {
		case r >= '0' && r <= '9':
			digits++
			if !inNum {
				inNum, numStart = true, i
			}
		case inNum && (r == '.' || r == ',' || r == '/') && i+1 < len(t) && t[i+1] >= '0' && t[i+1] <= '9':
			if r != ',' {
				decimalOrFrac = 1
			}
			continue
		default:
			if inNum {
				inNum = false
				numbers++
				distinct[t[numStart:i]] = struct{}{}
			}
		}
		switch r {
		case '+', '*', '/', '=', '^', '<', '>', '%', '×', '÷', '√', '∫', '∑', '≤', '≥', 'π':
			mathSym++
		case '{', '}', ';', '(', ')', '[', ']', '_', '#':
			codeSym++
		case '\n':
			lines++
		case '.', '?', '!':
			sentences++
		}
		if r >= utf8.RuneSelf {
			nonASCII++
			if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) {
				cjk++
			}
		}
		if unicode.IsLetter(r) {
			if !inWord {
				inWord = true
				words++
				wordLen = 0
				if unicode.IsUpper(r) && !prevSpace {
					capitals++
				}
			}
			wordLen++
			wordLetters++
		} else if inWord {
			inWord = false
			if wordLen >= 10 {
				longWords++
			}
		}
		if !unicode.IsSpace(r) && !unicode.IsLetter(r) {
			prevSpace = r == '.' || r == '?' || r == '!' || r == '\n'
		} else if r == '\n' {
			prevSpace = true
		} else if unicode.IsLetter(r) {
			prevSpace = false
		}
	}
	if inNum {
		numbers++
		distinct[t[numStart:]] = struct{}{}
	}
	t = p.Text
	i := 0 // index of the feature being computed
	want := func() bool {
		if need != nil && !need[i] {
			return false
		}
		if lower == "" && t != "" {
			lower = strings.ToLower(t)
		}
		return true
	}
	if inWord && wordLen >= 10 {
		longWords++
	}
	share := func(x float64) float32 {
		if chars == 0 {
			return 0
		}
		return float32(x / chars)
	}
	per := func(x float64) float32 {
		if words == 0 {
			return 0
		}
		return float32(x / words)
	}
	count := func(list []string) float32 {
		if !want() {
			return 0
		}
		n := 0
		for _, k := range list {
			n += strings.Count(lower, k)
		}
		return float32(math.Log1p(float64(n)))
	}
	has := func(list ...string) float32 {
		if !want() {
			return 0
		}
		for _, k := range list {
			if strings.Contains(lower, k) {
				return 1
			}
		}
		return 0
	}
	lg := func(x float64) float32 { return float32(math.Log1p(x)) }

	// Multiple-choice shape: options "\nA." … and the stem before them.
	stem, rest, nOpts := splitOptions(t)
	var optWords, numericOpts float64
	if nOpts > 0 {
		for line := range strings.SplitSeq(rest, "\n") {
			if isOptionLine(line) {
				o := strings.TrimSpace(line[2:])
				optWords += float64(countFields(o))
				if o != "" && strings.ContainsAny(o[:1], "0123456789-−$") {
					numericOpts++
				}
			}
		}
		optWords /= float64(nOpts)
		numericOpts /= float64(nOpts)
	}
	stemWords := 0.0
	if need == nil || need[featureIndex["log_stem_words"]] || need[featureIndex["passage"]] {
		stemWords = float64(countFields(stem))
	}

	f := dst[:NumDense]
	put := func(v float32) { f[i] = v; i++ }
	put(lg(chars))
	put(lg(words))
	put(lg(lines))
	put(lg(sentences))
	put(share(digits))
	put(lg(float64(numbers)))
	put(lg(float64(len(distinct))))
	put(float32(decimalOrFrac))
	put(share(mathSym))
	put(has("\\frac", "sqrt", "$$", "\\(", "log(", "sin(", "cos(", "x^", "f(x)", "∫", "derivative", "integral", "equation", "polynomial"))
	put(share(codeSym))
	put(count(codeKeywords))
	put(has("```"))
	put(has("which"))
	put(has("what"))
	put(has("how many", "how much"))
	put(has("why", "explain", "describe", "discuss"))
	put(count(calcWords))
	put(has("prove", "show that", "derive"))
	put(has("write ", "create ", "generate ", "compose ", "draft "))
	put(has("true or false", "true, true", "false, false"))
	if want() {
		put(count(negations) + boolf(strings.Contains(t, "NOT") || strings.Contains(t, "EXCEPT")))
	} else {
		put(0)
	}
	put(lg(float64(strings.Count(t, "|"))))
	put(float32(nOpts) / 4)
	put(lg(optWords))
	put(float32(numericOpts))
	put(lg(stemWords))
	put(share(nonASCII))
	put(share(cjk))
	if words > 0 {
		put(float32(wordLetters / words))
	} else {
		put(0)
	}
	put(per(longWords))
	put(per(capitals))
	put(lg(float64(max(p.Turns, 1))))
	put(count(multiStep))
	put(count(unitsMoney))
	put(count(articleWords))
	put(boolf(stemWords > 150))
}

// basicFeatures are the features basicCounts provides (with the option parse and
// the keyword counts, which do not need the per-character pass).
var basicFeatures = map[string]bool{
	"log_chars": true, "log_words": true, "log_lines": true, "log_sentences": true,
	"mc_options": true, "log_option_words": true, "numeric_options": true, "log_stem_words": true,
	"code_keywords": true, "code_fence": true, "q_which": true, "q_what": true, "q_how_many_much": true,
	"q_why_explain": true, "q_calculate": true, "q_prove": true, "q_write": true, "q_true_false": true,
	"negation": true, "statements_pipe": true, "math_notation": true, "log_turns": true,
	"multi_step_cues": true, "units_money": true, "article_keywords": true, "passage": true,
}

// needsRichPass reports whether any needed feature requires the full per-character
// pass (digits, numbers, symbols, scripts, word shapes).
func needsRichPass(need []bool) bool {
	if need == nil {
		return true
	}
	for j, n := range need {
		if n && !basicFeatures[featureNames[j]] {
			return true
		}
	}
	return false
}

// basicCounts counts characters (runes), words (runs of letters), lines and sentence
// ends exactly as the full pass does, but without its per-character bookkeeping: a
// '.' between two digits is a decimal point, not a sentence end.
func basicCounts(t string) (chars, words, lines, sentences float64) {
	inWord := false
	for i, r := range t {
		chars++
		letter := r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') || r >= utf8.RuneSelf && unicode.IsLetter(r)
		if letter && !inWord {
			words++
		}
		inWord = letter
		switch r {
		case '\n':
			lines++
		case '?', '!':
			sentences++
		case '.':
			if !(i > 0 && isDigit(t[i-1]) && i+1 < len(t) && isDigit(t[i+1])) {
				sentences++
			}
		}
	}
	return chars, words, lines, sentences
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// splitOptions splits a multiple-choice prompt into its stem and the text from the
// first option line ("\nA.") on, and counts the option lines ("A." … "H.").
func splitOptions(t string) (stem, rest string, n int) {
	i := strings.Index(t, "\nA.")
	if i < 0 {
		return t, "", 0
	}
	stem, rest = t[:i], t[i+1:]
	rest = strings.TrimSuffix(strings.TrimSpace(rest), "Answer:")
	for line := range strings.SplitSeq(rest, "\n") {
		if isOptionLine(line) {
			n++
		}
	}
	return stem, rest, n
}

func isOptionLine(line string) bool {
	return len(line) >= 2 && line[1] == '.' && line[0] >= 'A' && line[0] <= 'H'
}

// isMultipleChoiceText reports whether the prompt has answer options; it equals the
// mc_options feature being non-zero.
func isMultipleChoiceText(t string) bool {
	_, _, n := splitOptions(t)
	return n > 0
}

// countFields counts whitespace-separated fields like len(strings.Fields(s)),
// without allocating.
func countFields(s string) int {
	n, in := 0, false
	for _, r := range s {
		sp := r < utf8.RuneSelf && asciiSpace[r] || r >= utf8.RuneSelf && unicode.IsSpace(r)
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func boolf(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// hashedTokens appends the hashed lower-case word unigrams of text (bucket indices in
// [0, dim)) to dst, each bucket once. Words of one letter and pure numbers are
// skipped: numbers are covered by the dense features and would only memorise values.
func hashedTokens(text string, dim int, dst []int32) []int32 {
	if dim <= 0 {
		return dst
	}
	start := len(dst)
	h := fnv.New32a()
	word := make([]byte, 0, 32)
	flush := func() {
		if len(word) > 1 {
			h.Reset()
			h.Write(word)
			dst = append(dst, int32(h.Sum32()%uint32(dim)))
		}
		word = word[:0]
	}
	for _, r := range text {
		if unicode.IsLetter(r) {
			word = utf8.AppendRune(word, unicode.ToLower(r))
		} else {
			flush()
		}
	}
	flush()
	toks := dst[start:]
	slices.Sort(toks)
	return dst[:start+len(slices.Compact(toks))]
}
