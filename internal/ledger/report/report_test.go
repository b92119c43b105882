package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/ledger/sqlite"
	"github.com/arbiterhq/arbiter/internal/ledger/synth"
	"github.com/arbiterhq/arbiter/internal/money"
)

func TestParseSince(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseSince(in); err != nil || got != want {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0d", "-3d", "d", "week", "-1h"} {
		if _, err := ParseSince(bad); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}
}

func TestDollarsShowsPrecisionSmallAmountsNeed(t *testing.T) {
	for v, want := range map[money.USD]string{
		0: "$0.000000", 123: "$0.000000", 1234: "$0.000001", 15_000_000: "$0.0150",
		2_500_000_000: "$2.5000", 123_456_789_000_000: "$123,456.79", -1_500_000_000: "-$1.5000",
	} {
		if got := Dollars(v); got != want {
			t.Errorf("Dollars(%d) = %s, want %s", v, got, want)
		}
	}
}

func store(t *testing.T, recs []ledger.Record) ledger.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for len(recs) > 0 {
		n := min(500, len(recs))
		if err := s.Insert(context.Background(), recs[:n]); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
	return s
}

var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

func TestTableShowsSpendBaselineAndSavingsByCause(t *testing.T) {
	recs := []ledger.Record{
		{Time: t0, RequestID: "a", ServedModel: "gpt-4o-mini", Cost: 1_000_000_000, BaselineCost: 4_000_000_000,
			Saved: 3_000_000_000, SavingCause: ledger.CauseRouting},
		{Time: t0.Add(time.Minute), RequestID: "b", ServedModel: "gpt-4o", Cache: ledger.CacheHit,
			BaselineCost: 2_000_000_000, Saved: 2_000_000_000, SavingCause: ledger.CauseCache},
	}
	s := store(t, recs)
	sum, err := s.Summary(context.Background(), ledger.Query{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), GroupBy: ledger.ByModel})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Table(&b, sum); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"$1.0000", "$6.0000", "$5.0000", "83.3%", "cache    $2.0000", "routing    $3.0000",
		"1 answered from cache: 1 exact", "By model", "gpt-4o-mini"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := JSON(&b, sum); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Totals struct {
			Saved struct {
				Nano int64 `json:"nanousd"`
			} `json:"saved"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(b.Bytes(), &js); err != nil || js.Totals.Saved.Nano != 5_000_000_000 {
		t.Fatalf("json saved = %+v, %v", js, err)
	}
}

func TestExportRoundTripsEveryRecord(t *testing.T) {
	recs := synth.New(synth.Options{From: t0, To: t0.Add(3 * time.Hour), N: 2345, Seed: 3}).Fill(2345)
	s := store(t, recs)
	var b bytes.Buffer
	n, err := Export(context.Background(), s, &b, "jsonl", ledger.RequestFilter{})
	if err != nil || n != len(recs) {
		t.Fatalf("exported %d, %v", n, err)
	}
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		var got ledger.Record
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := recs[i]
		want.Normalize()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("line %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if i != len(recs) {
		t.Fatalf("%d lines", i)
	}

	b.Reset()
	n, err = Export(context.Background(), s, &b, "csv", ledger.RequestFilter{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || !reflect.DeepEqual(rows[0], CSVHeader()) || n < 700 || n > 860 {
		t.Fatalf("csv: %d rows for %d records", len(rows), n)
	}
	var cost money.USD
	for _, r := range rows[1:] {
		v, err := money.ParseDecimal(r[19])
		if err != nil {
			t.Fatal(err)
		}
		cost += v
	}
	sum, _ := s.Summary(context.Background(), ledger.Query{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)})
	if cost != sum.Totals.Cost {
		t.Fatalf("csv costs add to %s, summary says %s", cost, sum.Totals.Cost)
	}
	if _, err := Export(context.Background(), s, &b, "xml", ledger.RequestFilter{}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestSavingsAndByModelTables(t *testing.T) {
	var b bytes.Buffer
	Savings(&b, ledger.Totals{Counts: ledger.Counts{Cost: money.USD(25e7), BaselineCost: money.USD(1e9), Saved: money.USD(75e7)}})
	if !strings.Contains(b.String(), "(75.0%)") {
		t.Errorf("savings table lacks the saved share 75.0%%:\n%s", b.String())
	}
	b.Reset()
	Savings(&b, ledger.Totals{})
	if !strings.Contains(b.String(), "(0.0%)") {
		t.Errorf("with no baseline the share is 0, got:\n%s", b.String())
	}
	b.Reset()
	ByModel(&b, []ledger.Group{{Key: "small", Totals: ledger.Totals{Counts: ledger.Counts{Requests: 2}}}, {Key: "big", Totals: ledger.Totals{Counts: ledger.Counts{Requests: 9}}}})
	if i, j := strings.Index(b.String(), "big"), strings.Index(b.String(), "small"); i < 0 || j < 0 || i > j {
		t.Errorf("models are not listed most requests first:\n%s", b.String())
	}
}
