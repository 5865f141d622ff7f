package rollup

import "testing"

// Fine bounds are geometric (~25 % apart) and a value lands in the first
// bucket whose inclusive bound holds it.
func TestFineBucket(t *testing.T) {
	for i := 1; i < len(FineBounds); i++ {
		r := float64(FineBounds[i]) / float64(FineBounds[i-1])
		if r < 1.2 || r > 1.3 {
			t.Errorf("bound %d: %d/%d = %.3f, want ~1.25", i, FineBounds[i], FineBounds[i-1], r)
		}
	}
	for _, c := range []struct {
		ms   int64
		want int
	}{{0, 0}, {25, 0}, {26, 1}, {31, 1}, {32, 2}, {1110, 17}, {1111, 18}, {717465, NumFine - 2}, {717466, NumFine - 1}} {
		if got := FineBucket(c.ms); got != c.want {
			t.Errorf("FineBucket(%d) = %d, want %d", c.ms, got, c.want)
		}
	}
}

// Percentile = upper bound of the bucket holding the ceil(p·n/100)-th sample.
func TestFinePercentile(t *testing.T) {
	var b [NumFine]int64
	if v := FinePercentile(b, 95); v != nil {
		t.Fatalf("empty: %d, want nil", *v)
	}
	b[FineBucket(100)] = 50  // 119
	b[FineBucket(1000)] = 45 // 1110
	b[FineBucket(5000)] = 4  // 5294
	b[NumFine-1] = 1         // beyond
	for _, c := range []struct {
		p    int64
		want int64
	}{{50, 119}, {51, 1110}, {95, 1110}, {96, 5294}, {99, 5294}} {
		if v := FinePercentile(b, c.p); v == nil || *v != c.want {
			t.Errorf("p%d = %v, want %d", c.p, v, c.want)
		}
	}
	if v := FinePercentile(b, 100); v != nil {
		t.Errorf("p100 = %d, want nil (beyond the last bound)", *v)
	}
}
