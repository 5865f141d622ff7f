// Package money holds the project's fixed-point money types.
//
// Every amount is US dollars (one OpenRouter credit is one dollar). Costs are
// Nanos, an int64 count of 1e-9 USD, so sums are exact integer additions and
// never drift the way float sums do; int64 nanos cover ±9.2 billion dollars.
// Per-token prices are Price, an int64 count of 1e-15 USD per token, because
// OpenRouter quotes prices finer than a nano-dollar ("0.0000000375").
//
// Values are parsed from their decimal text (JSON numbers or strings), never
// through float64, so "0.000012345" is exactly 12345 nanos. Digits beyond a
// type's precision are rounded half away from zero.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Nanos is an amount of US dollars in units of 1e-9 USD.
type Nanos int64

// Price is a per-token price in units of 1e-15 USD.
type Price int64

const (
	nanoDigits  = 9
	priceDigits = 15
	// NanosPerUSD is the number of Nanos in one dollar.
	NanosPerUSD Nanos = 1_000_000_000
)

// ErrSyntax reports text that is not a plain decimal number.
var ErrSyntax = errors.New("money: invalid decimal")

// ErrRange reports a value too large for its type.
var ErrRange = errors.New("money: value out of range")

// ParseUSD parses a decimal dollar amount such as "0.000012345" or "1e-5".
func ParseUSD(s string) (Nanos, error) {
	v, err := parseFixed(s, nanoDigits)
	return Nanos(v), err
}

// ParsePrice parses a per-token dollar price such as "0.00000015".
func ParsePrice(s string) (Price, error) {
	v, err := parseFixed(s, priceDigits)
	return Price(v), err
}

// USD returns n as float64 dollars, for display and for stores whose
// schema keeps a float column beside the exact one. Never sum these.
func (n Nanos) USD() float64 { return float64(n) / float64(NanosPerUSD) }

// String formats n as a plain decimal with nine fractional digits.
func (n Nanos) String() string { return formatFixed(int64(n), nanoDigits) }

// MarshalJSON writes n as a JSON number of dollars with exact digits.
func (n Nanos) MarshalJSON() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalJSON accepts a JSON number or string of dollars.
func (n *Nanos) UnmarshalJSON(b []byte) error {
	v, err := ParseUSD(unquote(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// String formats p as a plain decimal with fifteen fractional digits.
func (p Price) String() string { return formatFixed(int64(p), priceDigits) }

// MarshalJSON writes p as a JSON string, the way OpenRouter quotes prices.
func (p Price) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(trimZeros(p.String()))), nil
}

// UnmarshalJSON accepts a JSON string or number of dollars per token.
func (p *Price) UnmarshalJSON(b []byte) error {
	v, err := ParsePrice(unquote(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Cost returns the cost of tokens at price p, rounded half up to a nano.
// It saturates rather than wraps on absurd inputs.
func (p Price) Cost(tokens int64) Nanos {
	if tokens <= 0 || p <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(p))
	const div = 1_000_000 // 1e-15 → 1e-9
	if hi >= div {
		return Nanos(math.MaxInt64)
	}
	q, r := bits.Div64(hi, lo, div)
	if r*2 >= div {
		q++
	}
	if q > math.MaxInt64 {
		return Nanos(math.MaxInt64)
	}
	return Nanos(q)
}

// IsZero reports whether the price is free.
func (p Price) IsZero() bool { return p == 0 }

func unquote(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

// parseFixed turns decimal text (optionally with an exponent) into an integer
// scaled by 10^digits, rounding half away from zero.
func parseFixed(s string, digits int) (int64, error) {
	if s == "" || s == "null" {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			return 0, fmt.Errorf("%w: exponent in %q", ErrSyntax, s)
		}
		exp, s = e, s[:i]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	mant := intPart + frac
	for _, c := range mant {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
		}
	}
	// value = mant × 10^(exp - len(frac)); we want value × 10^digits.
	shift := exp - len(frac) + digits
	mant = strings.TrimLeft(mant, "0")
	if mant == "" {
		return 0, nil
	}
	var roundUp bool
	if shift < 0 {
		cut := len(mant) + shift
		if cut < 0 {
			return 0, nil // far below the unit: rounds to zero
		}
		roundUp = mant[cut] >= '5'
		mant = mant[:cut]
		shift = 0
	}
	if len(mant)+shift > 19 {
		return 0, fmt.Errorf("%w: %q", ErrRange, s)
	}
	var v uint64
	for _, c := range mant {
		v = v*10 + uint64(c-'0')
	}
	for range shift {
		v *= 10
	}
	if roundUp {
		v++
	}
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %q", ErrRange, s)
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func formatFixed(v int64, digits int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	if neg {
		s = "-" + s
	}
	return s
}

func trimZeros(s string) string {
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
