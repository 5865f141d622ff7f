package rollup

import (
	"math/rand/v2"
	"testing"
	"time"

	"llmmeter/internal/periods"
)

// TestPeriodsOfMatchesTheCalendar: the batch's per-hour cache of periods
// answers exactly what the calendar does, in zones with DST shifts of an
// hour and of half an hour and with a 45-minute offset, for timestamps
// around the shifts and in no particular order.
func TestPeriodsOfMatchesTheCalendar(t *testing.T) {
	for _, zone := range []string{"UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Berlin"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		cal := periods.For(loc)
		var ts []int64
		// Both 2026 shifts of each zone fall in these windows (March/April
		// and October/November), as does a year end and a month end.
		for _, day := range []time.Time{
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC),
		} {
			for m := int64(0); m < 3*24*60; m += 17 {
				ts = append(ts, day.UnixMilli()+m*60_000+m%1000)
			}
		}
		r := rand.New(rand.NewPCG(1, 2))
		in := append([]int64(nil), ts...)
		r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		for _, order := range [][]int64{ts, in} {
			b := NewBatch(cal)
			for _, x := range order {
				got := b.periodsOf(x)
				for i, p := range periods.All {
					if want := cal.Of(p, x); got[i] != want {
						t.Fatalf("%s: periods of %d (%s): %+v, the calendar says %+v", zone, x,
							time.UnixMilli(x).In(loc).Format(time.RFC3339), got[i], want)
					}
				}
			}
		}
	}
}
