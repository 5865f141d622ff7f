package periods

import (
	"testing"
	"time"
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func TestPeriodsUTC(t *testing.T) {
	c := For(time.UTC)
	cases := []struct {
		at        string
		p         Period
		key, from string
	}{
		{"2024-01-15T13:45:10Z", Hourly, "2024-01-15T13", "2024-01-15T13:00:00Z"}, // mid-hour
		{"2024-01-15T00:00:00Z", Daily, "2024-01-15", "2024-01-15T00:00:00Z"},     // a day's first instant
		{"2024-01-21T23:59:59Z", Weekly, "2024-W03", "2024-01-15T00:00:00Z"},      // Sunday ends ISO week 3
		{"2024-12-30T10:00:00Z", Weekly, "2025-W01", "2024-12-30T00:00:00Z"},      // ISO week-year differs from the year
		{"2021-01-03T10:00:00Z", Weekly, "2020-W53", "2020-12-28T00:00:00Z"},      // a 53-week year
		{"2024-02-29T23:00:00Z", Monthly, "2024-02", "2024-02-01T00:00:00Z"},      // leap day
		{"2024-12-31T23:59:59Z", Monthly, "2024-12", "2024-12-01T00:00:00Z"},      // year end
	}
	for _, tc := range cases {
		got := c.Of(tc.p, ms(tc.at))
		if got.Key != tc.key || got.Start != ms(tc.from) {
			t.Errorf("%s %s: got %s %s, want %s %s", tc.p, tc.at, got.Key, time.UnixMilli(got.Start).UTC().Format(time.RFC3339), tc.key, tc.from)
		}
	}
	if n := c.Next(Monthly, ms("2024-12-15T00:00:00Z")); n != ms("2025-01-01T00:00:00Z") {
		t.Errorf("next month = %v", time.UnixMilli(n).UTC())
	}
	if n := c.Next(Weekly, ms("2024-01-17T00:00:00Z")); n != ms("2024-01-22T00:00:00Z") {
		t.Errorf("next week = %v", time.UnixMilli(n).UTC())
	}
}

func TestPeriodsAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c := For(ny)
	// 2024-03-10: clocks jump 02:00 → 03:00 EST→EDT; the day has 23 hours.
	day := c.Of(Daily, ms("2024-03-10T12:00:00Z"))
	next := c.Next(Daily, ms("2024-03-10T12:00:00Z"))
	if day.Key != "2024-03-10" || day.Start != ms("2024-03-10T05:00:00Z") || next-day.Start != 23*hourMs {
		t.Fatalf("spring day: %+v, length %dh", day, (next-day.Start)/hourMs)
	}
	// 2024-11-03: 01:00–02:00 repeats; two hourly periods share a key.
	a := c.Of(Hourly, ms("2024-11-03T05:30:00Z")) // 01:30 EDT
	b := c.Of(Hourly, ms("2024-11-03T06:30:00Z")) // 01:30 EST
	if a.Key != "2024-11-03T01" || b.Key != a.Key || b.Start-a.Start != hourMs {
		t.Fatalf("fall-back hours: %+v %+v", a, b)
	}
	if n := c.Next(Daily, ms("2024-11-03T12:00:00Z")) - c.Of(Daily, ms("2024-11-03T12:00:00Z")).Start; n != 25*hourMs {
		t.Fatalf("fall day length %dh", n/hourMs)
	}
	if n := c.Next(Hourly, a.Start); n != b.Start {
		t.Fatalf("next hour after the first 01:00 = %v", time.UnixMilli(n).UTC())
	}
}

func TestMidnightGap(t *testing.T) {
	// America/Santiago skipped 2022-09-11 00:00–01:00: the day starts at 01:00 local.
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	d := For(loc).Of(Daily, ms("2022-09-11T12:00:00Z"))
	if d.Key != "2022-09-11" || d.Start != ms("2022-09-11T04:00:00Z") {
		t.Fatalf("gap day: %+v (%v)", d, time.UnixMilli(d.Start).UTC())
	}
}
