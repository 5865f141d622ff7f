package periods

import (
	"testing"
	"time"
)

// Every period is half-open: its Start is in it, the millisecond before
// it is in the previous period (which ends exactly there), and the last
// millisecond before Next is still in it. Checked every 5 hours over a
// year in zones with and without DST, and across half-hour DST shifts.
func TestPeriodEdges(t *testing.T) {
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		c := For(loc)
		from, to := ms("2024-01-01T00:00:00Z"), ms("2025-01-01T00:00:00Z")
		for ts := from; ts < to; ts += 5 * hourMs {
			for _, p := range All {
				in := c.Of(p, ts)
				next := c.Next(p, ts)
				if in.Period != p || in.Start > ts || next <= ts {
					t.Fatalf("%s %s at %v: %+v, next %v: not around it", zone, p, time.UnixMilli(ts).UTC(), in, time.UnixMilli(next).UTC())
				}
				if last := c.Of(p, next-1); last != in {
					t.Fatalf("%s %s: last ms before next %v is in %+v, want %+v", zone, p, time.UnixMilli(next).UTC(), last, in)
				}
				if after := c.Of(p, next); after.Start != next || after.Key == in.Key && p != Hourly {
					t.Fatalf("%s %s: period at next %v is %+v", zone, p, time.UnixMilli(next).UTC(), after)
				}
				if before := c.Of(p, in.Start-1); before.Start >= in.Start || c.Next(p, in.Start-1) != in.Start {
					t.Fatalf("%s %s: period before %+v is %+v, ending at %v", zone, p, in, before, time.UnixMilli(c.Next(p, in.Start-1)).UTC())
				}
			}
		}
	}
}

// ISO week 53 of 2026 runs Monday 2026-12-28 to Sunday 2027-01-03; its
// key carries the ISO week-year (2026) on the days of 2027, and week 1 of
// 2027 starts Monday 2027-01-04, local time: in Tokyo (UTC+9) that is
// 2027-01-03T15:00Z, while New York is still in week 53 then.
func TestISOWeek53AtTheYearBoundary(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		loc       *time.Location
		at        int64
		key, from string
		next      string
	}{
		{time.UTC, ms("2026-12-31T12:00:00Z"), "2026-W53", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{time.UTC, ms("2027-01-03T23:59:59Z") + 999, "2026-W53", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{time.UTC, ms("2027-01-04T00:00:00Z"), "2027-W01", "2027-01-04T00:00:00Z", "2027-01-11T00:00:00Z"},
		{tokyo, ms("2027-01-03T14:59:59Z") + 999, "2026-W53", "2026-12-27T15:00:00Z", "2027-01-03T15:00:00Z"},
		{tokyo, ms("2027-01-03T15:00:00Z"), "2027-W01", "2027-01-03T15:00:00Z", "2027-01-10T15:00:00Z"},
		{ny, ms("2027-01-04T04:59:59Z"), "2026-W53", "2026-12-28T05:00:00Z", "2027-01-04T05:00:00Z"},
	}
	for _, tc := range cases {
		c := For(tc.loc)
		got := c.Of(Weekly, tc.at)
		if got.Key != tc.key || got.Start != ms(tc.from) {
			t.Errorf("%s %v: week %s from %v, want %s from %s", tc.loc, time.UnixMilli(tc.at).UTC(), got.Key, time.UnixMilli(got.Start).UTC(), tc.key, tc.from)
		}
		if n := c.Next(Weekly, tc.at); n != ms(tc.next) {
			t.Errorf("%s %v: next week %v, want %s", tc.loc, time.UnixMilli(tc.at).UTC(), time.UnixMilli(n).UTC(), tc.next)
		}
	}
	// The month and day keys of the same instants use the calendar year.
	if d := For(tokyo).Of(Daily, ms("2027-01-03T15:00:00Z")); d.Key != "2027-01-04" {
		t.Errorf("Tokyo day %s, want 2027-01-04", d.Key)
	}
	if m := For(ny).Of(Monthly, ms("2027-01-01T04:59:59Z")); m.Key != "2026-12" || m.Start != ms("2026-12-01T05:00:00Z") {
		t.Errorf("New York month %+v, want 2026-12 from 05:00Z", m)
	}
}

// America/Santiago went back 2022-04-03 00:00 (UTC−3) → 2022-04-02 23:00
// (UTC−4): the hour before midnight repeats, so 2022-04-02 has 25 hours
// and 2022-04-03 starts at its only midnight, 04:00Z. The offset in force
// at that midnight is the one after the change, which only a probe a day
// later sees (the instants "00:00 UTC" of the day and of the day before
// are before the change).
func TestFallBackBeforeMidnight(t *testing.T) {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	c := For(loc)
	long := c.Of(Daily, ms("2022-04-02T12:00:00Z"))
	if long.Key != "2022-04-02" || long.Start != ms("2022-04-02T03:00:00Z") {
		t.Fatalf("day before: %+v (%v)", long, time.UnixMilli(long.Start).UTC())
	}
	if n := c.Next(Daily, ms("2022-04-02T12:00:00Z")); n != ms("2022-04-03T04:00:00Z") {
		t.Fatalf("25-hour day ends %v, want 04:00Z", time.UnixMilli(n).UTC())
	}
	// Both 23:xx hours are in 2022-04-02.
	for _, at := range []string{"2022-04-03T02:30:00Z", "2022-04-03T03:30:00Z", "2022-04-03T03:59:59Z"} {
		if d := c.Of(Daily, ms(at)); d != long {
			t.Errorf("%s is in %+v, want %+v", at, d, long)
		}
	}
	day := c.Of(Daily, ms("2022-04-03T04:00:00Z"))
	if day.Key != "2022-04-03" || day.Start != ms("2022-04-03T04:00:00Z") {
		t.Fatalf("day after: %+v (%v)", day, time.UnixMilli(day.Start).UTC())
	}
	// A fresh calendar (no cached wall) finds the same start.
	fresh := &Calendar{loc: loc, cache: map[int64]int64{}}
	if got := fresh.startOfWall(utcDay(2022, time.April, 3)); got != day.Start {
		t.Fatalf("fresh calendar: %v", time.UnixMilli(got).UTC())
	}
}

// startOfWall remembers what it found, one entry per local midnight asked
// for, and the memory stays bounded (cleared past 10,000 entries) while
// the answers stay right.
func TestCalendarCache(t *testing.T) {
	c := &Calendar{loc: time.UTC, cache: map[int64]int64{}}
	day0 := ms("1990-01-01T00:00:00Z")
	for i := range int64(300) {
		c.Of(Daily, day0+i*dayMs+hourMs)
	}
	if len(c.cache) != 300 {
		t.Fatalf("%d cached walls after 300 distinct days, want 300", len(c.cache))
	}
	// The same days again add nothing.
	for i := range int64(300) {
		c.Of(Daily, day0+i*dayMs+2*hourMs)
	}
	if len(c.cache) != 300 {
		t.Fatalf("%d cached walls after repeating the days, want 300", len(c.cache))
	}
	for i := range int64(25_000) {
		want := day0 + i*dayMs
		if got := c.Of(Daily, want+hourMs).Start; got != want {
			t.Fatalf("day %d starts %v, want %v", i, time.UnixMilli(got).UTC(), time.UnixMilli(want).UTC())
		}
		if len(c.cache) > 10_001 {
			t.Fatalf("cache grew to %d entries", len(c.cache))
		}
	}
	if len(c.cache) == 0 {
		t.Fatal("cache empty after 25,000 days")
	}
}
