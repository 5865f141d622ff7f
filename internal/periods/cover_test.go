package periods

import (
	"testing"
	"time"
)

// Cover takes the coarsest whole periods inside the window and nothing
// outside it; the pieces partition exactly the window's periods of its
// granularity.
func TestCover(t *testing.T) {
	utc := For(time.UTC)
	at := func(s string) int64 { return ms(s) }
	for _, c := range []struct {
		name     string
		g        Period
		from, to string
		want     []string // piece keys
	}{
		// A calendar month is one stored period.
		{"month", Daily, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", []string{"2026-03"}},
		// 30 days ending Sunday 2026-11-01 (exclusive): Oct 2–4 (Fri–Sun), weeks 41–43, Oct 26–31, no
		// week past the end, days where the last week would cross it.
		{"30 days", Daily, "2026-10-02T00:00:00Z", "2026-11-01T00:00:00Z",
			[]string{"2026-10-02", "2026-10-03", "2026-10-04", "2026-W41", "2026-W42", "2026-W43", "2026-10-26", "2026-10-27", "2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"}},
		// A from inside a day skips that day (periods are whole); to inside a day includes it.
		{"partial edges", Daily, "2026-03-01T10:00:00Z", "2026-03-03T01:00:00Z", []string{"2026-03-02", "2026-03-03"}},
		// A 24-hour window aligned to a day is one day; unaligned it is 24 hours.
		{"aligned day", Hourly, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", []string{"2026-03-02"}},
		{"unaligned 3h", Hourly, "2026-03-02T22:00:00Z", "2026-03-03T01:00:00Z", []string{"2026-03-02T22", "2026-03-02T23", "2026-03-03T00"}},
		// 48 hours from 01:00: 23 hours, a whole day, then one hour.
		{"48h", Hourly, "2026-03-02T01:00:00Z", "2026-03-04T01:00:00Z", append(append(hours("2026-03-02", 1, 23), "2026-03-03"), "2026-03-04T00")},
		// Monthly granularity takes months only.
		{"months", Monthly, "2026-01-15T00:00:00Z", "2026-04-01T00:00:00Z", []string{"2026-02", "2026-03"}},
		{"empty", Daily, "2026-03-01T10:00:00Z", "2026-03-01T20:00:00Z", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := utc.Cover(c.g, at(c.from), at(c.to))
			var keys []string
			for _, p := range got {
				keys = append(keys, p.Key)
			}
			if len(keys) != len(c.want) {
				t.Fatalf("pieces %v, want %v", keys, c.want)
			}
			for i := range keys {
				if keys[i] != c.want[i] {
					t.Fatalf("pieces %v, want %v", keys, c.want)
				}
			}
		})
	}
}

func hours(day string, from, to int) []string {
	var out []string
	for h := from; h <= to; h++ {
		out = append(out, day+"T"+string(rune('0'+h/10))+string(rune('0'+h%10)))
	}
	return out
}

// Every window up to 92 days, at any hour, in a zone with DST: pieces are
// contiguous, each a whole stored period, and together exactly the window's
// periods of its granularity; no window up to 31 days takes more than 26 pieces
// (48 hours from 01:00 across a DST change: 23 hours, a day, 2 hours).
func TestCoverPartitionsWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cal := For(berlin)
	base := ms("2026-02-20T00:00:00Z")
	for _, span := range []int64{3 * hourMs, 24 * hourMs, 48 * hourMs, 7 * dayMs, 30 * dayMs, 31 * dayMs, 92 * dayMs} {
		g := Hourly
		if span > 48*hourMs {
			g = Daily
		}
		for off := int64(0); off < 40*dayMs; off += 7 * hourMs {
			from, to := base+off, base+off+span
			pieces := cal.Cover(g, from, to)
			var want []int64
			for s := cal.Of(g, from).Start; s < to; s = cal.Next(g, s) {
				if s >= from {
					want = append(want, s)
				}
			}
			x := want[0]
			for _, p := range pieces {
				if p.Start != x || cal.Of(p.Period, x) != p {
					t.Fatalf("span %d off %d: piece %+v at %d not whole or not contiguous", span, off, p, x)
				}
				x = cal.Next(p.Period, x)
			}
			if x != cal.Next(g, want[len(want)-1]) {
				t.Fatalf("span %d off %d: pieces end at %d", span, off, x)
			}
			if span <= 31*dayMs && len(pieces) > 26 {
				t.Fatalf("span %d off %d: %d pieces", span, off, len(pieces))
			}
		}
	}
}
