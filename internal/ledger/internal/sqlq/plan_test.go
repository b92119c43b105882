package sqlq

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arbiterhq/arbiter/internal/ledger"
)

func TestPlanCoversTheRangeOnceAndReadsFewRawRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := int64(1_780_000_000) * usPerSec
	for range 5000 {
		from := base + rng.Int64N(40*dayUS)
		to := from + 1 + rng.Int64N(40*dayUS)
		wm := base + rng.Int64N(90*dayUS)
		wm = floorTo(wm, hourUS)
		iv := []ledger.Interval{ledger.NoSeries, ledger.Hourly, ledger.Daily}[rng.IntN(3)]
		segs := plan(from, to, wm, iv)
		at := from
		for _, s := range segs {
			if s.from != at || s.to <= s.from {
				t.Fatalf("plan(%d,%d,wm %d) = %+v: gap, overlap or empty segment", from, to, wm, segs)
			}
			at = s.to
			switch s.width {
			case 0:
				if s.to <= wm && s.to-s.from >= 2*hourUS {
					t.Fatalf("%+v: two hours or more of raw rows below the watermark", s)
				}
			case 3600, 86400:
				w := s.width * usPerSec
				if s.from%w != 0 || s.to%w != 0 || s.to > wm {
					t.Fatalf("%+v: rollup segment not aligned or above the watermark %d", s, wm)
				}
				if s.width == 86400 && s.to > floorTo(wm, dayUS) {
					t.Fatalf("%+v: daily rollup read for a day not rolled up (watermark %d)", s, wm)
				}
				if iv == ledger.Hourly && s.width != 3600 {
					t.Fatalf("hourly series read a daily rollup")
				}
			default:
				t.Fatalf("width %d", s.width)
			}
		}
		if at != to {
			t.Fatalf("plan(%d,%d) ends at %d", from, to, at)
		}
	}
}

func TestPickRollupChoosesSmallestCovering(t *testing.T) {
	cases := []struct {
		need []string
		want string
	}{
		{nil, "total"},
		{[]string{"cache_status"}, "rc"},
		{[]string{"model"}, "mp"},
		{[]string{"key_id"}, "key"},
		{[]string{"key_id", "model"}, "keymp"},
		{[]string{"model", "cache_status"}, "full"},
		{[]string{"tenant", "route_reason"}, "keyfull"},
	}
	for _, c := range cases {
		if got := pickRollup(3600, c.need).Kind.Name; got != c.want {
			t.Errorf("pickRollup(%v) = %s, want %s", c.need, got, c.want)
		}
	}
	for _, k := range Kinds() {
		if !slices.Equal(Rollup{k, 86400}.keyCols()[1:], k.Dims) {
			t.Errorf("%s key columns", k.Name)
		}
	}
}
