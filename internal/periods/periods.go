// Package periods computes reporting periods in the reporting time zone,
// exactly as the Convex backend does (packages/convex/src/lib/periods.ts); the contract
// suite holds the two to the same answers.
//
// A period is identified by its Start (ms since the epoch, the first instant
// whose local wall-clock time is inside the period); Key is its label:
//   - hourly  "2024-01-15T13": the local hour. In a DST fall-back the
//     repeated hour is two periods with one key and two starts.
//   - daily   "2024-01-15": the local day (23, 24 or 25 hours).
//   - weekly  "2024-W03": the ISO-8601 week of the local date, ISO week-year.
//   - monthly "2024-01": the local month.
//
// When local midnight does not exist (a DST gap at 00:00) the day starts at
// the first instant after the gap.
package periods

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // REPORTING_TZ works on hosts without a zoneinfo database
)

// Period is a kind of reporting period.
type Period string

// The periods, shortest first.
const (
	Hourly  Period = "hourly"
	Daily   Period = "daily"
	Weekly  Period = "weekly"
	Monthly Period = "monthly"
)

// All lists every period.
var All = []Period{Hourly, Daily, Weekly, Monthly}

// Valid reports whether p is a known period.
func (p Period) Valid() bool {
	switch p {
	case Hourly, Daily, Weekly, Monthly:
		return true
	}
	return false
}

const (
	hourMs = int64(time.Hour / time.Millisecond)
	dayMs  = 24 * hourMs
)

// Nominal is a period's nominal length, used only to bound series sizes.
func (p Period) Nominal() time.Duration {
	switch p {
	case Hourly:
		return time.Hour
	case Daily:
		return 24 * time.Hour
	case Weekly:
		return 7 * 24 * time.Hour
	}
	return 31 * 24 * time.Hour
}

// Info is one period.
type Info struct {
	Period Period
	Key    string
	Start  int64 // ms
}

// Calendar does period arithmetic in one time zone. It is safe for
// concurrent use.
type Calendar struct {
	loc   *time.Location
	mu    sync.Mutex
	cache map[int64]int64 // wall ms → first instant
}

var (
	calMu     sync.Mutex
	calendars = map[string]*Calendar{}
)

// For returns the calendar of loc.
func For(loc *time.Location) *Calendar {
	calMu.Lock()
	defer calMu.Unlock()
	c := calendars[loc.String()]
	if c == nil {
		c = &Calendar{loc: loc, cache: map[int64]int64{}}
		calendars[loc.String()] = c
	}
	return c
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// wallMs is the local wall-clock time of ts, encoded as if it were UTC.
func (c *Calendar) wallMs(ts int64) int64 {
	t := time.UnixMilli(ts).In(c.loc)
	y, mo, d := t.Date()
	return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).UnixMilli()
}

// startOfWall is the first instant whose local wall time is wall, or the
// first instant after a DST gap that swallows it.
func (c *Calendar) startOfWall(wall int64) int64 {
	c.mu.Lock()
	if v, ok := c.cache[wall]; ok {
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()
	var cands []int64
	for _, probe := range []int64{wall - dayMs, wall, wall + dayMs} {
		cands = append(cands, wall-(c.wallMs(probe)-probe))
	}
	best, found := int64(0), false
	for _, x := range cands {
		if c.wallMs(x) == wall && (!found || x < best) {
			best, found = x, true
		}
	}
	if !found {
		lo, hi := cands[0], cands[0]
		for _, x := range cands {
			lo, hi = min(lo, x), max(hi, x)
		}
		lo, hi = lo-dayMs, hi+dayMs
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if c.wallMs(mid) >= wall {
				hi = mid
			} else {
				lo = mid
			}
		}
		best = hi
	}
	c.mu.Lock()
	if len(c.cache) > 10_000 {
		clear(c.cache)
	}
	c.cache[wall] = best
	c.mu.Unlock()
	return best
}

func utcDay(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// Of returns the period of kind p containing ts (ms).
func (c *Calendar) Of(p Period, ts int64) Info {
	t := time.UnixMilli(ts).In(c.loc)
	y, mo, d := t.Date()
	switch p {
	case Hourly:
		into := int64(t.Minute())*60_000 + int64(t.Second())*1000 + int64(t.Nanosecond()/1e6)
		return Info{p, fmt.Sprintf("%04d-%02d-%02dT%02d", y, int(mo), d, t.Hour()), hourStart(t, ts-into)}
	case Daily:
		return Info{p, fmt.Sprintf("%04d-%02d-%02d", y, int(mo), d), c.startOfWall(utcDay(y, mo, d))}
	case Weekly:
		dayWall := utcDay(y, mo, d)
		dow := (int64(time.UnixMilli(dayWall).UTC().Weekday()) + 6) % 7 // Monday = 0
		isoYear, week := time.Date(y, mo, d, 12, 0, 0, 0, time.UTC).ISOWeek()
		return Info{p, fmt.Sprintf("%04d-W%02d", isoYear, week), c.startOfWall(dayWall - dow*dayMs)}
	default:
		return Info{Monthly, fmt.Sprintf("%04d-%02d", y, int(mo)), c.startOfWall(utcDay(y, mo, 1))}
	}
}

// hourStart is the start of the local hour that t is in, given start, the
// instant its wall clock showed the hour's :00 at t's UTC offset. When the
// offset changed since (a half-hour DST shift, as in Australia/Lord_Howe,
// where clocks go from 02:00 back to 01:30), the hour began at the change:
// its :00 lies before it, inside the previous local hour, and the two
// periods would overlap.
func hourStart(t time.Time, start int64) int64 {
	_, off := t.Zone()
	if _, was := time.UnixMilli(start).In(t.Location()).Zone(); was == off {
		return start
	}
	from, _ := t.ZoneBounds()
	return max(start, from.UnixMilli())
}

// Next returns the start of the period after the one containing ts.
func (c *Calendar) Next(p Period, ts int64) int64 {
	t := time.UnixMilli(ts).In(c.loc)
	y, mo, d := t.Date()
	switch p {
	case Hourly:
		start := c.Of(Hourly, ts).Start
		// The next local hour starts one hour later, except across a
		// half-hour DST shift: find the first instant with another key.
		next := start + hourMs
		for c.Of(Hourly, next).Start == start {
			next += 30 * 60_000
		}
		return c.Of(Hourly, next).Start
	case Daily:
		return c.startOfWall(utcDay(y, mo, d+1))
	case Weekly:
		return c.Next(Daily, c.Of(Weekly, ts).Start+6*dayMs+hourMs*12)
	default:
		return c.startOfWall(utcDay(y, mo+1, 1))
	}
}
