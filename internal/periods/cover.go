package periods

// Cover splits the window of the admin reads into whole stored periods, so
// a read touches O(pieces) summary documents instead of one per period of
// its granularity.
//
// The window of granularity g over [from, to) is the periods of kind g
// whose start lies in [from, to), whole (the admin functions' rule): the
// interval [first, end) from the first such start to the end of the last.
// Cover walks that interval and at each point takes the coarsest period
// (monthly, then weekly, daily, hourly) that starts there and ends within
// it; otherwise one period of kind g. A calendar month is one piece; a
// 30-day window is at most about 16 (days, weeks, days); a 24-hour one at
// most 24 hours, or one day when it is aligned. Pieces are ascending and
// disjoint, and their union is exactly the window's periods of kind g, so
// any additive total over them equals the total over the g periods.
// packages/convex/src/lib/cover.ts is the same walk for the Convex reads.
func (c *Calendar) Cover(g Period, from, to int64) []Info {
	if from >= to {
		return nil
	}
	first := c.Of(g, from).Start
	if first < from {
		first = c.Next(g, first)
	}
	if first >= to {
		return nil
	}
	end := c.Next(g, c.Of(g, to-1).Start)
	var out []Info
	for x := first; x < end; {
		piece := c.Of(g, x)
		for _, p := range coarserFirst(g) {
			if in := c.Of(p, x); in.Start == x && c.Next(p, x) <= end {
				piece = in
				break
			}
		}
		out = append(out, piece)
		x = c.Next(piece.Period, x)
	}
	return out
}

// coarserFirst lists the periods longer than g, longest first.
func coarserFirst(g Period) []Period {
	var out []Period
	for i := len(All) - 1; i >= 0 && All[i] != g; i-- {
		out = append(out, All[i])
	}
	return out
}
