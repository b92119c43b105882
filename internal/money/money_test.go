package money

import "testing"

func TestMeterRoundsOnceAtTheEnd(t *testing.T) {
	// $0.15/M is 150 n$ a token.
	var m Meter
	m.Add(1_000_003, PerMillion(0.15))
	if got := m.Total(); got != 150_000_000+450 {
		t.Fatalf("total = %d, want %d", got, 150_000_450)
	}
	var small Meter
	// $0.0375/M (a cached-input price) is 37.5 n$ a token: three tokens are 112.5 n$,
	// rounded once to 113, not 3 × 38 = 114.
	for i := 0; i < 3; i++ {
		small.Add(1, PerMillion(0.0375))
	}
	if got := small.Total(); got != 113 {
		t.Fatalf("three tokens = %d n$, want 113", got)
	}
}

func TestDecimalFormatting(t *testing.T) {
	cases := []struct {
		in   USD
		want string
	}{
		{0, "0.00"}, {1, "0.000000001"}, {123_000, "0.000123"}, {1_500_000_000, "1.50"},
		{-2_250_000_000, "-2.25"},
	}
	for _, c := range cases {
		if got := c.in.Decimal(); got != c.want {
			t.Errorf("%d.Decimal() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseDecimalIsExact(t *testing.T) {
	cases := []struct {
		in   string
		want USD
	}{
		{"0.15", 150_000_000}, {"$1.000000001", 1_000_000_001}, {"2.5e-7", 250}, {"-3", -3_000_000_000},
	}
	for _, c := range cases {
		got, err := ParseDecimal(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	if _, err := ParseDecimal("abc"); err == nil {
		t.Error("ParseDecimal(abc) succeeded")
	}
}

func TestPerTokenMatchesPerMillion(t *testing.T) {
	if PerToken(1.5e-07) != PerMillion(0.15) {
		t.Fatalf("PerToken(1.5e-7)=%d PerMillion(0.15)=%d", PerToken(1.5e-07), PerMillion(0.15))
	}
}
