package money

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestParseUSD(t *testing.T) {
	cases := []struct {
		in   string
		want Nanos
		err  error
	}{
		{"0", 0, nil},
		{"0.000012345", 12345, nil},                    // exact nano digits
		{"1", 1_000_000_000, nil},                      // one dollar
		{"0.0000000005", 1, nil},                       // half a nano rounds away from zero
		{"0.0000000004999", 0, nil},                    // below half rounds down
		{"-0.25", -250_000_000, nil},                   // refunds can be negative
		{"1.5e-5", 15000, nil},                         // exponent form as JSON numbers allow
		{"2E3", 2000 * 1_000_000_000, nil},             // upper-case exponent
		{"9223372036.854775807", math.MaxInt64, nil},   // the largest amount
		{"9223372037", 0, ErrRange},                    // one dollar past it
		{"abc", 0, ErrSyntax},                          // not a number
		{"", 0, ErrSyntax},                             // empty
		{"1e-400", 0, nil},                             // tiny exponent rounds to zero
		{"1.2.3", 0, ErrSyntax},                        // two points
		{".5", 500_000_000, nil},                       // no integer digits
		{"5.", 5_000_000_000, nil},                     // no fraction digits
		{".", 0, ErrSyntax},                            // a point alone is no number
		{"e5", 0, ErrSyntax},                           // an exponent alone is no number
		{"+2", 2_000_000_000, nil},                     // explicit plus sign
		{"0e400", 0, nil},                              // the largest exponent accepted
		{"1e401", 0, ErrSyntax},                        // exponent past the bound
		{"1e400", 0, ErrRange},                         // accepted exponent, value far too large
		{"1e11", 0, ErrRange},                          // 1e20 nanos would wrap uint64: refused, not wrapped
		{"100000000000", 0, ErrRange},                  // the same without an exponent
		{"-9223372036.854775807", -math.MaxInt64, nil}, // the most negative amount
	}
	for _, c := range cases {
		got, err := ParseUSD(c.in)
		if !errors.Is(err, c.err) || (c.err == nil && got != c.want) {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestNanosJSONRoundTrip(t *testing.T) {
	var v struct {
		Cost  Nanos  `json:"cost"`
		Other *Nanos `json:"other"`
	}
	if err := json.Unmarshal([]byte(`{"cost":0.000123456789,"other":"0.5"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Cost != 123457 || v.Other == nil || *v.Other != 500_000_000 {
		t.Fatalf("got %d %v", v.Cost, v.Other)
	}
	b, _ := json.Marshal(v.Cost)
	if string(b) != "0.000123457" {
		t.Fatalf("marshal = %s", b)
	}
	if Nanos(-5).String() != "-0.000000005" {
		t.Fatalf("negative format = %s", Nanos(-5))
	}
}

func TestPriceCost(t *testing.T) {
	p, err := ParsePrice("0.0000000375")
	if err != nil {
		t.Fatal(err)
	}
	if p != 37_500_000 {
		t.Fatalf("price = %d", p)
	}
	cases := []struct {
		tokens int64
		want   Nanos
	}{
		{0, 0},
		{1, 38}, // 37.5 nanos rounds half up
		{2, 75}, // exact
		{1_000_000, 37_500_000},
	}
	for _, c := range cases {
		if got := p.Cost(c.tokens); got != c.want {
			t.Errorf("Cost(%d) = %d, want %d", c.tokens, got, c.want)
		}
	}
	if got := Price(math.MaxInt64).Cost(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("overflow should saturate, got %d", got)
	}
	b, _ := json.Marshal(p)
	if string(b) != `"0.0000000375"` {
		t.Errorf("price json = %s", b)
	}
}

func TestSumIsExact(t *testing.T) {
	// Ten thousand costs of 0.000000123 sum to exactly 0.00123; float64 would not.
	var sum Nanos
	var f float64
	for range 10_000 {
		n, _ := ParseUSD("0.000000123")
		sum += n
		f += 0.000000123
	}
	if sum.String() != "0.001230000" {
		t.Fatalf("sum = %s", sum)
	}
	if f == 0.00123 {
		t.Log("float happened to be exact this time")
	}
}

func TestNanosFormat(t *testing.T) {
	cases := []struct {
		n    Nanos
		want string
		usd  float64
	}{
		{0, "0.000000000", 0},                     // zero has no sign
		{1, "0.000000001", 0.000000001},           // one nano
		{123_456_789, "0.123456789", 0.123456789}, // exactly nine digits still gets a leading zero
		{1_500_000_000, "1.500000000", 1.5},       // dollars and cents
		{-1_500_000_000, "-1.500000000", -1.5},    // a refund
		{math.MaxInt64, "9223372036.854775807", 9223372036.854775807},
	}
	for _, c := range cases {
		if got := c.n.String(); got != c.want {
			t.Errorf("Nanos(%d).String() = %q, want %q", int64(c.n), got, c.want)
		}
		if got := c.n.USD(); got != c.usd {
			t.Errorf("Nanos(%d).USD() = %v, want %v", int64(c.n), got, c.usd)
		}
	}
}

func TestPriceJSON(t *testing.T) {
	var v struct {
		Prompt, Completion, Free Price
	}
	// OpenRouter quotes prices as strings; numbers are accepted too.
	if err := json.Unmarshal([]byte(`{"Prompt":"0.00000015","Completion":6e-7,"Free":"0"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Prompt != 150_000_000 || v.Completion != 600_000_000 || v.Free != 0 {
		t.Fatalf("prices = %+v", v)
	}
	if !v.Free.IsZero() || v.Prompt.IsZero() {
		t.Errorf("IsZero: free %v, prompt %v", v.Free.IsZero(), v.Prompt.IsZero())
	}
	for _, bad := range []string{`"free"`, `""`, `null`, `"1e999"`} {
		p := Price(7)
		if err := json.Unmarshal([]byte(bad), &p); !errors.Is(err, ErrSyntax) || p != 7 {
			t.Errorf("Unmarshal(%s) = %v, price %d; want ErrSyntax and the price untouched", bad, err, p)
		}
	}
	if got := Price(1).String(); got != "0.000000000000001" {
		t.Errorf("smallest price = %s", got)
	}
}

func TestPriceCostBounds(t *testing.T) {
	cases := []struct {
		p      Price
		tokens int64
		want   Nanos
	}{
		{1_000_000, -5, 0},                        // negative token counts cost nothing
		{-1_000_000, 5, 0},                        // a negative price costs nothing
		{499_999, 1, 0},                           // just under half a nano rounds down
		{500_000, 1, 1},                           // half a nano rounds up
		{1_000_000, 3, 3},                         // one nano per token
		{1 << 62, 4_000_000, math.MaxInt64},       // product exactly 1e6·2^64: the first that cannot be divided, saturates
		{1 << 62, 3_999_999, math.MaxInt64},       // just below it the quotient still exceeds int64: saturates
		{math.MaxInt64, 1_000_000, math.MaxInt64}, // lands exactly on the largest amount
	}
	for _, c := range cases {
		if got := c.p.Cost(c.tokens); got != c.want {
			t.Errorf("Price(%d).Cost(%d) = %d, want %d", int64(c.p), c.tokens, got, c.want)
		}
	}
}
