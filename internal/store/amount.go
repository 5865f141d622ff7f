package store

import "math/bits"

// MaxAmount is the largest counter or estimate either engine holds exactly:
// 2^53 − 1, the largest integer a Convex number (a float64) represents
// without rounding. Quota limits, used amounts, reservations and the
// amounts of rows are integers in [0, MaxAmount]; larger values are refused
// as ErrInvalid, and sums saturate here instead of wrapping.
const MaxAmount int64 = 1<<53 - 1

// AddAmounts is a + b for amounts, saturating: a negative operand counts as
// 0 and the result is at most MaxAmount. Counters and estimates are summed
// with it so that no input, however hostile, wraps a counter negative or
// turns it into a float in SQLite.
func AddAmounts(a, b int64) int64 {
	a, b = ClampAmount(a), ClampAmount(b)
	return min(a+b, MaxAmount) // two values ≤ 2^53 cannot overflow int64
}

// MulAmounts is a × b for amounts, saturating like AddAmounts.
func MulAmounts(a, b int64) int64 {
	a, b = ClampAmount(a), ClampAmount(b)
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > uint64(MaxAmount) {
		return MaxAmount
	}
	return int64(lo)
}

// ClampAmount bounds v to [0, MaxAmount].
func ClampAmount(v int64) int64 { return min(max(v, 0), MaxAmount) }
