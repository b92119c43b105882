package semantic

import (
	"math"
	"slices"
	"strings"
)

// Guard names why a pair was refused before the classifier ran. The empty
// Guard means the guards passed.
type Guard string

// Guards. Each is a difference that changes the answer however close the
// embeddings are: "what is 2+2" is not "what is 2+3", "turn on" is not "turn off".
const (
	GuardNone     Guard = ""
	GuardNumbers  Guard = "numbers"  // the numbers differ (as multisets)
	GuardNegation Guard = "negation" // one text is negated and the other is not
	GuardEntity   Guard = "entity"   // a name in one text is absent from the other
	GuardQuoted   Guard = "quoted"   // a quoted string in one text is absent from the other
	GuardOnOff    Guard = "polarity" // opposite particles or antonyms: on/off, enable/disable, …
)

// guard applies the hard rules to a cached text a and a new text b.
func guard(a, b *analysis) Guard {
	if !sameMultiset(a.numbers, b.numbers) {
		return GuardNumbers
	}
	if (a.negations > 0) != (b.negations > 0) {
		return GuardNegation
	}
	for _, q := range a.quoted {
		if !strings.Contains(b.norm, q) {
			return GuardQuoted
		}
	}
	for _, q := range b.quoted {
		if !strings.Contains(a.norm, q) {
			return GuardQuoted
		}
	}
	if !entitiesCovered(a, b) || !entitiesCovered(b, a) {
		return GuardEntity
	}
	if polarityClash(a, b) {
		return GuardOnOff
	}
	return GuardNone
}

// entitiesCovered reports whether every entity of x appears as a word of y, in
// any case (users do not capitalise consistently; "python" is "Python").
func entitiesCovered(x, y *analysis) bool {
	for _, e := range x.entities {
		if !y.rawWords[e] && !y.stems[stem(e)] {
			return false
		}
	}
	return true
}

// polarityClash reports whether one text holds a word whose opposite is in the
// other and not in the first (on/off, enable/disable, increase/decrease, …).
func polarityClash(a, b *analysis) bool {
	for _, p := range opposites {
		if a.rawWords[p[0]] && b.rawWords[p[1]] && !a.rawWords[p[1]] && !b.rawWords[p[0]] ||
			a.rawWords[p[1]] && b.rawWords[p[0]] && !a.rawWords[p[0]] && !b.rawWords[p[1]] {
			return true
		}
	}
	return false
}

var opposites = [][2]string{
	{"on", "off"}, {"enable", "disable"}, {"enabled", "disabled"}, {"increase", "decrease"},
	{"add", "remove"}, {"adding", "removing"}, {"before", "after"}, {"maximum", "minimum"},
	{"max", "min"}, {"largest", "smallest"}, {"biggest", "smallest"}, {"highest", "lowest"},
	{"best", "worst"}, {"more", "less"}, {"open", "close"}, {"start", "stop"}, {"true", "false"},
	{"buy", "sell"}, {"import", "export"}, {"encrypt", "decrypt"}, {"encode", "decode"},
	{"upload", "download"}, {"push", "pull"}, {"input", "output"}, {"lock", "unlock"},
	{"ascending", "descending"}, {"left", "right"}, {"above", "below"}, {"inside", "outside"},
	{"men", "women"}, {"man", "woman"}, {"boy", "girl"},
	{"male", "female"}, {"advantages", "disadvantages"}, {"pros", "cons"}, {"light", "dark"},
	{"first", "last"}, {"yes", "no"}, {"love", "hate"}, {"win", "lose"}, {"gain", "lose"},
	{"big", "small"}, {"large", "small"}, {"bigger", "smaller"}, {"larger", "smaller"},
	{"high", "low"}, {"higher", "lower"}, {"same", "different"}, {"positive", "negative"},
	{"send", "receive"}, {"fast", "slow"}, {"faster", "slower"}, {"like", "dislike"},
	{"agree", "disagree"}, {"legal", "illegal"}, {"possible", "impossible"}, {"happy", "unhappy"},
	{"happy", "sad"}, {"cheap", "expensive"}, {"hot", "cold"}, {"rich", "poor"}, {"strong", "weak"},
	{"early", "late"}, {"past", "future"}, {"north", "south"}, {"east", "west"}, {"accept", "reject"},
	{"pass", "fail"}, {"success", "failure"}, {"top", "bottom"}, {"long", "short"}, {"longer", "shorter"},
	{"heavy", "light"}, {"correct", "incorrect"}, {"odd", "even"}, {"private", "public"},
	{"online", "offline"}, {"internal", "external"}, {"young", "old"}, {"easiest", "hardest"},
	{"safe", "dangerous"}, {"empty", "full"}, {"asleep", "awake"}, {"sit", "stand"},
	{"sitting", "standing"}, {"inside", "outdoors"}, {"indoors", "outdoors"}, {"wet", "dry"},
}

func sameMultiset(x, y []string) bool {
	if len(x) != len(y) {
		return false
	}
	if len(x) == 0 {
		return true
	}
	a, b := slices.Clone(x), slices.Clone(y)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Feature indices of the pair classifier. The order is part of verifier.json.
const (
	fCos         = iota // cosine of the sentence embeddings
	fWordJaccard        // Jaccard of stemmed word sets
	fContentJacc        // Jaccard of content-word sets
	fCharTrigram        // Jaccard of character trigram sets
	fBigramJacc         // Jaccard of word bigram sets (word order)
	fLenRatio           // shorter / longer word count
	fLogLen             // log(1 + longer word count)
	fOnlyA              // content words of a missing from b
	fOnlyB              // content words of b missing from a
	fOnlyFrac           // share of content words in only one text
	fQWordDiffer        // both have a question word and they differ
	fQWordOne           // exactly one has a question word
	fContainment        // content words of the shorter text found in the longer
	fEditRatio          // word-level edit distance / longer word count
	fCosMinusLex        // cosine minus content Jaccard (semantic but not lexical)
	fEntityCount        // names in both (shared context makes matches more specific)
	fCosStatic          // cosine of the static (per-piece) embeddings: word-level agreement
	fOrderSwap          // same content words in another order ("ethane to ethene" / "ethene to ethane")
	fWords              // the learned score of the words only one text has (see wordModel)
	fNet                // the pair network's logit over the two embedding vectors (see pairNet)
	numFeatures
)

// featureNames label the features in verifier.json and in reports.
var featureNames = [numFeatures]string{
	"cos", "word_jaccard", "content_jaccard", "char_trigram_jaccard", "bigram_jaccard",
	"len_ratio", "log_len", "only_a", "only_b", "only_frac", "qword_differ", "qword_one",
	"containment", "edit_ratio", "cos_minus_lex", "entities", "cos_static", "order_swap", "word_score", "pair_net",
}

// features computes the classifier input for cached text a and new text b whose
// embeddings have cosine cos, and static embeddings cosine cosStatic.
func features(a, b *analysis, cos, cosStatic float64) [numFeatures]float64 {
	var f [numFeatures]float64
	f[fCos] = cos
	f[fCosStatic] = cosStatic
	f[fWordJaccard] = jaccard(a.words, b.words)
	f[fContentJacc] = jaccard(a.content, b.content)
	f[fCharTrigram] = trigramJaccard(a.norm, b.norm)
	f[fBigramJacc] = bigramJaccard(a.words, b.words)
	la, lb := float64(len(a.words)), float64(len(b.words))
	if mx := math.Max(la, lb); mx > 0 {
		f[fLenRatio] = math.Min(la, lb) / mx
		f[fLogLen] = math.Log1p(mx)
	}
	onlyA, onlyB := missing(a.content, b.content), missing(b.content, a.content)
	f[fOnlyA] = float64(onlyA)
	f[fOnlyB] = float64(onlyB)
	if tot := len(a.content) + len(b.content); tot > 0 {
		f[fOnlyFrac] = float64(onlyA+onlyB) / float64(tot)
	}
	if a.qword != "" && b.qword != "" && a.qword != b.qword {
		f[fQWordDiffer] = 1
	}
	if (a.qword == "") != (b.qword == "") {
		f[fQWordOne] = 1
	}
	short, long := a.content, b.content
	if len(short) > len(long) {
		short, long = long, short
	}
	if len(short) > 0 {
		f[fContainment] = 1 - float64(missing(short, long))/float64(len(short))
	}
	if mx := max(len(a.words), len(b.words)); mx > 0 {
		f[fEditRatio] = float64(editDistance(a.words, b.words)) / float64(mx)
	}
	f[fCosMinusLex] = cos - f[fContentJacc]
	f[fEntityCount] = float64(min(len(a.entities), len(b.entities)))
	if onlyA == 0 && onlyB == 0 && !slices.Equal(a.content, b.content) && len(a.content) == len(b.content) {
		f[fOrderSwap] = 1
	}
	return f
}

func jaccard(x, y []string) float64 {
	if len(x) == 0 && len(y) == 0 {
		return 1
	}
	sx := set(x...)
	inter := 0
	sy := make(map[string]bool, len(y))
	for _, w := range y {
		if sy[w] {
			continue
		}
		sy[w] = true
		if sx[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(sx)+len(sy)-inter)
}

// missing counts the distinct words of x that are not in y.
func missing(x, y []string) int {
	sy := set(y...)
	seen := make(map[string]bool, len(x))
	n := 0
	for _, w := range x {
		if !seen[w] && !sy[w] {
			n++
		}
		seen[w] = true
	}
	return n
}

func bigramJaccard(x, y []string) float64 {
	bg := func(w []string) []string {
		out := make([]string, 0, len(w))
		for i := 0; i+1 < len(w); i++ {
			out = append(out, w[i]+" "+w[i+1])
		}
		return out
	}
	return jaccard(bg(x), bg(y))
}

func trigramJaccard(x, y string) float64 {
	tg := func(s string) map[string]bool {
		m := make(map[string]bool, len(s))
		for i := 0; i+3 <= len(s); i++ {
			m[s[i:i+3]] = true
		}
		return m
	}
	sx, sy := tg(x), tg(y)
	if len(sx) == 0 && len(sy) == 0 {
		if x == y {
			return 1
		}
		return 0
	}
	inter := 0
	for k := range sy {
		if sx[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(sx)+len(sy)-inter)
}

// editDistance is the word-level Levenshtein distance, capped in cost by the
// analysis cap on text length.
func editDistance(x, y []string) int {
	if len(x) > 256 {
		x = x[:256]
	}
	if len(y) > 256 {
		y = y[:256]
	}
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			c := prev[j-1]
			if x[i-1] != y[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}
