package rollup

import (
	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

// Confirmation is what confirming an estimated usage row changes, computed
// once, here, for both engines: the embedded engine applies it in its
// transaction, the Convex engine sends it to /jobs/usage/confirm, which
// stores it (packages/convex/src/usage.ts) without deriving anything.
type Confirmation struct {
	// Delta is the row's user, model and time with the record's tokens
	// and cost minus the row's (negative when the estimate was high).
	Delta store.Usage
	// Aggregates are Delta's aggregate deltas (every period; system, user
	// and model), shard 0.
	Aggregates []*Row
	// Quotas are the windows, per quota type, that the row lies in: a quota
	// of that type counts the difference only if its current window is
	// this one (QuotaWindow.Holds).
	Quotas []QuotaWindow
}

// QuotaWindow is the row's window for one quota type and the difference
// it makes to that type's counter (tokens, or nano-USD for cost quotas).
type QuotaWindow struct {
	QuotaType string `json:"quotaType"`
	Start     int64  `json:"windowStart"`
	End       int64  `json:"windowEnd"`
	Delta     int64  `json:"delta"`
}

// Holds reports whether a quota whose current window ends at resetDate
// counts a row at ts lying in w: its current window is w (the one that
// holds resetDate-1) and the row is before its reset. An older window was
// reset already and must not move.
func (w QuotaWindow) Holds(resetDate, ts int64) bool {
	return w.Start <= resetDate-1 && resetDate-1 < w.End && ts < resetDate
}

// Confirm computes the Confirmation of old (the stored estimated row) by
// confirmed (the generation record's tokens and cost; other fields unused),
// in cal's periods.
func Confirm(cal *periods.Calendar, old, confirmed store.Usage) Confirmation {
	d := old
	d.PromptTokens = confirmed.PromptTokens - old.PromptTokens
	d.CompletionTokens = confirmed.CompletionTokens - old.CompletionTokens
	d.TotalTokens = confirmed.TotalTokens - old.TotalTokens
	d.CachedTokens = confirmed.CachedTokens - old.CachedTokens
	d.ReasoningTokens = confirmed.ReasoningTokens - old.ReasoningTokens
	d.Cost = confirmed.Cost - old.Cost
	b := NewBatch(cal)
	b.AddUsage(d)
	c := Confirmation{Delta: d, Aggregates: b.Rows()}
	for _, qt := range []string{store.QuotaMonthlyTokens, store.QuotaMonthlyCostUSD, store.QuotaSystemMonthlyCostUSD} {
		delta := d.TotalTokens
		if store.IsCostQuota(qt) {
			delta = int64(d.Cost)
		}
		if delta == 0 {
			continue
		}
		p := store.QuotaPeriod(qt)
		start := cal.Of(p, old.Timestamp).Start
		c.Quotas = append(c.Quotas, QuotaWindow{QuotaType: qt, Start: start, End: cal.Next(p, start), Delta: delta})
	}
	return c
}

// AdjustAll moves every summary of sums by the confirmation's difference
// (Summary.Adjust) and returns them.
func (c Confirmation) AdjustAll(sums []*Summary) []*Summary {
	for _, s := range sums {
		s.Adjust(c.Delta.UserID, c.Delta.Model, UsageDelta(c.Delta))
	}
	return sums
}
