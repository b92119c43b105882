// Package money counts US dollars in integer nanodollars so that sums are exact.
//
// Prices are quoted per million tokens (as every provider does); a price is held in
// nanodollars per million tokens, which is an integer for every published price down
// to $0.000001 per million. The cost of a usage is the sum of tokens × price over all
// token classes, divided by one million once at the end, so rounding happens once.
package money

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// USD is an amount of money in nanodollars (1e-9 US dollars).
type USD int64

// Nanodollars per dollar.
const Dollar USD = 1_000_000_000

// FromDollars converts a decimal dollar amount, rounding to the nearest nanodollar.
// Use only for configuration and published prices, never for sums.
func FromDollars(d float64) USD { return USD(math.Round(d * float64(Dollar))) }

// Dollars returns the amount as float64 dollars, for display and Prometheus only.
func (u USD) Dollars() float64 { return float64(u) / float64(Dollar) }

// String formats the amount as dollars with all nine decimals trimmed of trailing zeros
// (at least two decimals): "$0.000123", "-$1.50".
func (u USD) String() string { return "$" + u.Decimal() }

// Decimal formats the amount as a plain decimal number of dollars without the sign
// symbol, exact to the nanodollar ("0.000123", "-1.50"); used in headers and exports.
func (u USD) Decimal() string {
	neg := u < 0
	v := uint64(u)
	if neg {
		v = uint64(-u)
	}
	whole := v / uint64(Dollar)
	frac := fmt.Sprintf("%09d", v%uint64(Dollar))
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	s := strconv.FormatUint(whole, 10) + "." + frac
	if neg {
		return "-" + s
	}
	return s
}

// ParseDecimal parses a decimal dollar amount such as "0.15" or "2.5e-7" exactly when
// it has at most nine decimals, else rounded to the nearest nanodollar.
func ParseDecimal(s string) (USD, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "$"))
	if s == "" {
		return 0, fmt.Errorf("parse dollars: empty amount")
	}
	if !strings.ContainsAny(s, "eE") {
		neg := strings.HasPrefix(s, "-")
		s2 := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
		whole, frac, _ := strings.Cut(s2, ".")
		if len(frac) <= 9 && isDigits(whole+frac) && whole+frac != "" {
			w, err := strconv.ParseInt("0"+whole, 10, 64)
			if err == nil && w <= math.MaxInt64/int64(Dollar)-1 {
				f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
				v := USD(w)*Dollar + USD(f)
				if neg {
					v = -v
				}
				return v, nil
			}
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parse dollars %q: %w", s, err)
	}
	if math.Abs(f) > float64(math.MaxInt64)/float64(Dollar) {
		return 0, fmt.Errorf("parse dollars %q: out of range", s)
	}
	return FromDollars(f), nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PerMTok is a price in nanodollars per million tokens ($0.15/M is 150_000_000).
type PerMTok int64

// PerMillion converts a published price in dollars per million tokens.
func PerMillion(dollars float64) PerMTok { return PerMTok(math.Round(dollars * float64(Dollar))) }

// PerToken converts a price in dollars per token (LiteLLM's unit).
func PerToken(dollars float64) PerMTok { return PerMTok(math.Round(dollars * 1e6 * float64(Dollar))) }

// DollarsPerMillion returns the price as dollars per million tokens, for display.
func (p PerMTok) DollarsPerMillion() float64 { return float64(p) / float64(Dollar) }

// Meter accumulates tokens × price in nanodollar-tokens and rounds once at the end.
// The zero value is ready to use.
type Meter struct{ acc int64 }

// Add counts n tokens at price p.
func (m *Meter) Add(n int64, p PerMTok) { m.acc += n * int64(p) }

// Total returns the accumulated cost rounded half away from zero to the nanodollar.
func (m *Meter) Total() USD {
	const million = 1_000_000
	q, r := m.acc/million, m.acc%million
	if r >= million/2 {
		q++
	} else if r <= -million/2 {
		q--
	}
	return USD(q)
}
