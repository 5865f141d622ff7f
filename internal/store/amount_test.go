package store

import (
	"math"
	"testing"
)

// Before the fix an estimate of prompt + max_tokens wrapped negative and
// SQLite turned reserved + estimate into a float; these edges must saturate.
func TestAmountArithmeticSaturates(t *testing.T) {
	cases := []struct {
		name      string
		op        func(a, b int64) int64
		a, b, out int64
	}{
		{"add: small values add exactly", AddAmounts, 2, 3, 5},
		{"add: MaxInt64 + 1 saturates instead of wrapping", AddAmounts, math.MaxInt64, 1, MaxAmount},
		{"add: MaxAmount + MaxAmount saturates", AddAmounts, MaxAmount, MaxAmount, MaxAmount},
		{"add: reaching MaxAmount exactly is not saturation", AddAmounts, MaxAmount - 1, 1, MaxAmount},
		{"add: a negative operand counts as 0", AddAmounts, math.MinInt64, 7, 7},
		{"mul: small values multiply exactly", MulAmounts, 500, 3, 1500},
		{"mul: MaxInt64 × 2 saturates (128-bit product)", MulAmounts, math.MaxInt64, 2, MaxAmount},
		{"mul: 2^31 × 2^31 is over MaxAmount", MulAmounts, 1 << 31, 1 << 31, MaxAmount},
		{"mul: a product just under MaxAmount is exact", MulAmounts, 1 << 26, 1<<27 - 1, (1 << 26) * (1<<27 - 1)},
		{"mul: a negative operand counts as 0", MulAmounts, -5, 5, 0},
		{"mul: MinInt64 × MinInt64 does not overflow positive", MulAmounts, math.MinInt64, math.MinInt64, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.op(c.a, c.b); got != c.out {
				t.Fatalf("got %d, want %d", got, c.out)
			}
		})
	}
	if ClampAmount(math.MaxInt64) != MaxAmount || ClampAmount(-1) != 0 || ClampAmount(42) != 42 {
		t.Fatal("ClampAmount")
	}
}
