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

func TestMidnightRepeated(t *testing.T) {
	// Asia/Amman went back 2021-10-29 01:00 → 00:00 (UTC+3 → UTC+2): local
	// midnight happened twice, and the day starts at the first one, so the
	// day has 25 hours and its first hour is two periods with one key.
	loc, err := time.LoadLocation("Asia/Amman")
	if err != nil {
		t.Fatal(err)
	}
	c := For(loc)
	for _, at := range []string{"2021-10-28T21:00:00Z", "2021-10-28T22:30:00Z", "2021-10-29T12:00:00Z"} {
		d := c.Of(Daily, ms(at))
		if d.Key != "2021-10-29" || d.Start != ms("2021-10-28T21:00:00Z") {
			t.Errorf("day of %s: %+v (%v), want 2021-10-29 from 21:00Z", at, d, time.UnixMilli(d.Start).UTC())
		}
	}
	if n := c.Next(Daily, ms("2021-10-29T12:00:00Z")); n != ms("2021-10-29T22:00:00Z") {
		t.Errorf("next day = %v, want a 25-hour day", time.UnixMilli(n).UTC())
	}
	first, second := c.Of(Hourly, ms("2021-10-28T21:10:00Z")), c.Of(Hourly, ms("2021-10-28T22:10:00Z"))
	if first.Key != "2021-10-29T00" || second.Key != first.Key || second.Start-first.Start != hourMs {
		t.Errorf("repeated midnight hours: %+v %+v", first, second)
	}
	// That week has 7 days and an hour: the next starts Monday 00:00 UTC+2.
	if n := c.Next(Weekly, ms("2021-10-29T12:00:00Z")); n != ms("2021-10-31T22:00:00Z") {
		t.Errorf("next week = %v", time.UnixMilli(n).UTC())
	}
	// The week and month holding that day start at their own (single) midnights.
	if w := c.Of(Weekly, ms("2021-10-29T12:00:00Z")); w.Key != "2021-W43" || w.Start != ms("2021-10-24T21:00:00Z") {
		t.Errorf("week: %+v (%v)", w, time.UnixMilli(w.Start).UTC())
	}
	if m := c.Of(Monthly, ms("2021-10-29T12:00:00Z")); m.Key != "2021-10" || m.Start != ms("2021-09-30T21:00:00Z") {
		t.Errorf("month: %+v (%v)", m, time.UnixMilli(m.Start).UTC())
	}
}

func TestPeriodNames(t *testing.T) {
	nominal := map[Period]time.Duration{Hourly: time.Hour, Daily: 24 * time.Hour, Weekly: 7 * 24 * time.Hour, Monthly: 31 * 24 * time.Hour}
	for _, p := range All {
		if !p.Valid() {
			t.Errorf("%s not valid", p)
		}
		// Nominal only bounds series sizes: a month counts as 31 days.
		if got := p.Nominal(); got != nominal[p] {
			t.Errorf("%s.Nominal() = %v, want %v", p, got, nominal[p])
		}
	}
	for _, p := range []Period{"", "yearly", "Daily"} {
		if p.Valid() {
			t.Errorf("%q should not be a period", p)
		}
	}
}

func TestHourStarts(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		loc      *time.Location
		at       int64
		key      string
		from     string
		nextFrom string
	}{
		// Milliseconds into the hour count too.
		{time.UTC, ms("2024-01-15T13:59:59Z") + 999, "2024-01-15T13", "2024-01-15T13:00:00Z", "2024-01-15T14:00:00Z"},
		{time.UTC, ms("2024-01-15T13:00:00Z") + 1, "2024-01-15T13", "2024-01-15T13:00:00Z", "2024-01-15T14:00:00Z"},
		// UTC+5:30: local hours start at half past in UTC.
		{kolkata, ms("2024-01-15T08:10:00Z"), "2024-01-15T13", "2024-01-15T07:30:00Z", "2024-01-15T08:30:00Z"},
	}
	for _, tc := range cases {
		c := For(tc.loc)
		got := c.Of(Hourly, tc.at)
		if got.Key != tc.key || got.Start != ms(tc.from) {
			t.Errorf("%s %d: got %s %v, want %s %s", tc.loc, tc.at, got.Key, time.UnixMilli(got.Start).UTC(), tc.key, tc.from)
		}
		if n := c.Next(Hourly, tc.at); n != ms(tc.nextFrom) {
			t.Errorf("%s %d: next hour %v, want %s", tc.loc, tc.at, time.UnixMilli(n).UTC(), tc.nextFrom)
		}
	}
}

func TestFarOffsets(t *testing.T) {
	// The zones furthest from UTC: a local day starts 14 hours before UTC's
	// (Kiritimati, UTC+14) or 11 hours after it (Pago Pago, UTC-11).
	cases := []struct {
		zone, at, key, from string
	}{
		{"Pacific/Kiritimati", "2024-01-15T12:00:00Z", "2024-01-16", "2024-01-15T10:00:00Z"},
		{"Pacific/Pago_Pago", "2024-01-15T12:00:00Z", "2024-01-15", "2024-01-15T11:00:00Z"},
	}
	for _, tc := range cases {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		c := For(loc)
		d := c.Of(Daily, ms(tc.at))
		if d.Key != tc.key || d.Start != ms(tc.from) {
			t.Errorf("%s: day %+v (%v), want %s from %s", tc.zone, d, time.UnixMilli(d.Start).UTC(), tc.key, tc.from)
		}
		if n := c.Next(Daily, ms(tc.at)); n != ms(tc.from)+dayMs {
			t.Errorf("%s: next day %v", tc.zone, time.UnixMilli(n).UTC())
		}
	}
}
