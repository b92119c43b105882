package semantic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/arbiterhq/arbiter/internal/embed"
)

func TestGuardsRefuseAnswerChangingDifferences(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       Guard
	}{
		{"other numbers", "What is 2+2?", "What is 2+3?", GuardNumbers},
		{"number words", "I have two apples, how many pears?", "I have three apples, how many pears?", GuardNumbers},
		{"thousands separators agree", "Is 2,000 a lot?", "Is 2000 a lot?", GuardNone},
		{"negation", "Someone is reading the email", "Someone is not reading the email", GuardNegation},
		{"contracted negation", "Why is my code working?", "Why isn't my code working?", GuardNegation},
		{"nobody", "Nobody is walking in the snow", "Some people are walking in the snow", GuardNegation},
		{"on and off", "How do I turn on dark mode?", "How do I turn off dark mode?", GuardOnOff},
		{"enable and disable", "How can I enable two-factor login?", "How can I disable two-factor login?", GuardOnOff},
		{"antonym adjectives", "A big dog is running on the grass", "A small dog is running on the grass", GuardOnOff},
		{"sitting and standing", "A woman is sitting in a chair", "A woman is standing near a chair", GuardOnOff},
		{"single-letter name", "How do we get vitamin E from sunlight?", "How do we get vitamin D from sunlight?", GuardEntity},
		{"other country", "What is the capital of France?", "What is the capital of Spain?", GuardEntity},
		{"name in lower case agrees", "How do I learn Python quickly?", "how can i learn python fast?", GuardNone},
		{"quoted string", `What does "foo" mean in this code?`, `What does "bar" mean in this code?`, GuardQuoted},
		{"plain paraphrase", "How can I learn to cook?", "What is the best way to learn cooking?", GuardNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := guard(analyze(tt.a), analyze(tt.b)); got != tt.want {
				t.Errorf("guard(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
			}
			if got := guard(analyze(tt.b), analyze(tt.a)); got != tt.want {
				t.Errorf("guard is not symmetric: guard(%q, %q) = %q, want %q", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestVerifierNeverHitsAcrossAGuardHoweverSimilar(t *testing.T) {
	v, err := DefaultVerifier(embed.KindStatic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{
		{"what is 2+2", "what is 2+3"},
		{"turn on dark mode", "turn off dark mode"},
		{"A man is playing a flute", "A man is not playing a flute"},
	} {
		// Cosine 1 and the most permissive threshold: the guard still refuses.
		if got := v.Judge(p[0], p[1], 1, 1, 1e-9); got.Hit || got.Guard == GuardNone {
			t.Errorf("Judge(%q, %q) = %+v, want a guard refusal", p[0], p[1], got)
		}
	}
}

func TestVerifierHitsTheSameTextUpToCaseAndSpacing(t *testing.T) {
	v, err := DefaultVerifier(embed.KindStatic)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Judge("How do I reset my password?", "how do I  reset my password?", 0.99, 0.99, 0); !got.Hit {
		t.Errorf("Judge of the same text = %+v, want a hit", got)
	}
}

func TestEmbeddedVerifierHasAModelPerEmbedderWithThisBuildsFeatures(t *testing.T) {
	for _, kind := range []string{embed.KindUSE, embed.KindStatic} {
		v, err := DefaultVerifier(kind)
		if err != nil {
			t.Fatalf("DefaultVerifier(%s): %v", kind, err)
		}
		m := v.Model()
		if m.Threshold <= 0 || m.Threshold >= 1 || len(m.Model.Trees) == 0 {
			t.Errorf("%s: implausible model: threshold %v, %d trees", kind, m.Threshold, len(m.Model.Trees))
		}
	}
}

func TestParseVerifierRejectsAModelTrainedOnOtherFeatures(t *testing.T) {
	f := VerifierFile{Models: []VerifierModel{{Embedder: embed.KindStatic, Features: []string{"cos"}}}}
	b, _ := json.Marshal(f)
	_, err := ParseVerifier(b, embed.KindStatic)
	if err == nil || !strings.Contains(err.Error(), "retrain") {
		t.Fatalf("ParseVerifier with stale features: err = %v, want a retrain hint", err)
	}
	if _, err := ParseVerifier(b, "other-model"); err == nil {
		t.Fatal("ParseVerifier for an embedder without a model: want an error")
	}
}

func TestGBDTLearnsAnInteractionAndIsDeterministic(t *testing.T) {
	// y = x0 > 0.5 XOR x1 > 0.5: needs a depth-2 interaction, beyond a linear model.
	var x [][]float64
	var y []bool
	for i := 0; i < 400; i++ {
		a, b := float64(i%20)/20, float64((i/20)%20)/20
		x = append(x, []float64{a, b})
		y = append(y, (a > 0.5) != (b > 0.5))
	}
	p := gbdtParams{Trees: 40, Depth: 3, LearningRate: 0.3, MinLeaf: 5, L2: 1, Bins: 32}
	m := trainGBDT(x, y, nil, p)
	wrong := 0
	for i := range x {
		if (m.prob(x[i]) >= 0.5) != y[i] {
			wrong++
		}
	}
	if wrong > 4 {
		t.Errorf("%d of %d training points misclassified", wrong, len(x))
	}
	b1, _ := json.Marshal(m)
	b2, _ := json.Marshal(trainGBDT(x, y, nil, p))
	if string(b1) != string(b2) {
		t.Error("two trainings on the same data differ")
	}
}

func TestGroupFoldsKeepTextsThatShareAPairTogether(t *testing.T) {
	pairs := []Pair{
		{A: "q1", B: "q2"}, {A: "q2", B: "q3"}, {A: "q3", B: "q4"}, // one group
		{A: "x1", B: "x2"}, {A: "y1", B: "y2"}, {A: "z1", B: "z2"},
	}
	f := groupFolds(pairs, 5, 7)
	if f[0] != f[1] || f[1] != f[2] {
		t.Errorf("pairs chained by shared texts landed in folds %v", f[:3])
	}
	again := groupFolds(pairs, 5, 7)
	for i := range f {
		if f[i] != again[i] {
			t.Fatal("fold assignment is not deterministic")
		}
	}
}

func TestScoreCountsPrecisionRecallAndFalseHits(t *testing.T) {
	pairs := []Pair{
		{Duplicate: true, Source: "s"}, {Duplicate: true, Source: "s"}, {Duplicate: false, Source: "s"},
		{Duplicate: false, Source: "adv"}, {Duplicate: false, Source: "adv"},
	}
	hits := []bool{true, false, true, true, false}
	ms := Score(pairs, hits, nil)
	by := map[string]Metrics{}
	for _, m := range ms {
		by[m.Source] = m
	}
	if s := by["s"]; s.Precision() != 0.5 || s.Recall() != 0.5 || s.FalseHitRate() != 1 {
		t.Errorf("s: precision %v recall %v false-hit %v", s.Precision(), s.Recall(), s.FalseHitRate())
	}
	if a := by["adv"]; a.FalseHitRate() != 0.5 || a.Actual != 0 {
		t.Errorf("adv: false-hit %v duplicates %d", a.FalseHitRate(), a.Actual)
	}
	if all := ms[len(ms)-1]; all.Source != "all" || all.Pairs != 5 || all.TP != 1 || all.FP != 2 {
		t.Errorf("all row = %+v", all)
	}
}
