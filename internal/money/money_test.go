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
		{"0.000012345", 12345, nil},                  // exact nano digits
		{"1", 1_000_000_000, nil},                    // one dollar
		{"0.0000000005", 1, nil},                     // half a nano rounds away from zero
		{"0.0000000004999", 0, nil},                  // below half rounds down
		{"-0.25", -250_000_000, nil},                 // refunds can be negative
		{"1.5e-5", 15000, nil},                       // exponent form as JSON numbers allow
		{"2E3", 2000 * 1_000_000_000, nil},           // upper-case exponent
		{"9223372036.854775807", math.MaxInt64, nil}, // the largest amount
		{"9223372037", 0, ErrRange},                  // one dollar past it
		{"abc", 0, ErrSyntax},                        // not a number
		{"", 0, ErrSyntax},                           // empty
		{"1e-400", 0, nil},                           // tiny exponent rounds to zero
		{"1.2.3", 0, ErrSyntax},                      // two points
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
