package periods

import (
	"testing"
	"time"
)

// TestHalfHourDSTHours: Australia/Lord_Howe moves its clocks by half an
// hour. On 2024-04-07 they go from 02:00 (+11) back to 01:30 (+10:30), so
// the local hour 01 comes twice, the second time from the change on; on
// 2024-10-06 they go from 02:00 (+10:30) to 02:30 (+11), so hour 02 lasts
// half an hour. Hours neither overlap nor stall: each starts where the one
// before ends, and walking them with Next ends (it once returned its input
// there, so Cover looped forever).
func TestHalfHourDSTHours(t *testing.T) {
	loc, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Fatal(err)
	}
	c := For(loc)
	cases := []struct {
		from string
		want [][2]string // key, start
	}{
		{"2024-04-06T13:00:00Z", [][2]string{
			{"2024-04-07T00", "2024-04-06T13:00:00Z"},
			{"2024-04-07T01", "2024-04-06T14:00:00Z"}, // 01:00–02:00 at +11
			{"2024-04-07T01", "2024-04-06T15:00:00Z"}, // 01:30–02:00 at +10:30
			{"2024-04-07T02", "2024-04-06T15:30:00Z"},
			{"2024-04-07T03", "2024-04-06T16:30:00Z"},
		}},
		{"2024-10-05T13:30:00Z", [][2]string{
			{"2024-10-06T00", "2024-10-05T13:30:00Z"},
			{"2024-10-06T01", "2024-10-05T14:30:00Z"},
			{"2024-10-06T02", "2024-10-05T15:30:00Z"}, // 02:00–02:30 at +10:30, then 02:30–03:00 at +11
			{"2024-10-06T03", "2024-10-05T16:00:00Z"},
			{"2024-10-06T04", "2024-10-05T17:00:00Z"},
		}},
	}
	for _, tc := range cases {
		at := ms(tc.from)
		for i, w := range tc.want {
			p := c.Of(Hourly, at)
			if p.Key != w[0] || p.Start != ms(w[1]) {
				t.Fatalf("hour %d from %s: %s %v, want %s %s", i, tc.from, p.Key, time.UnixMilli(p.Start).UTC(), w[0], w[1])
			}
			// Every instant of the hour maps to it, up to the next one's start.
			next := c.Next(Hourly, at)
			if next <= at {
				t.Fatalf("Next(%v) = %v: not after it", time.UnixMilli(at).UTC(), time.UnixMilli(next).UTC())
			}
			for x := p.Start; x < next; x += 5 * 60_000 {
				if q := c.Of(Hourly, x); q != p {
					t.Fatalf("%v is in %s %v, want %s %v", time.UnixMilli(x).UTC(), q.Key, time.UnixMilli(q.Start).UTC(), p.Key, time.UnixMilli(p.Start).UTC())
				}
			}
			at = next
		}
		end := c.Next(Hourly, ms(tc.want[len(tc.want)-1][1]))
		if got := c.Cover(Hourly, ms(tc.want[0][1]), end); len(got) != len(tc.want) {
			t.Fatalf("Cover from %s: %d hours, want %d", tc.from, len(got), len(tc.want))
		}
	}
}
