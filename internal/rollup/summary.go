package rollup

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"llmmeter/internal/periods"
)

// The period summaries: one per stored period (hourly, daily, weekly,
// monthly), written only by the fold and the rebuild, read by the admin
// functions that would otherwise read one row per user or model
// (llmmeter:overview's activeUsers, topUsers, modelStats). A summary holds
// the period's active-user count, one entry per model (no shards, no zero
// fill) and the period's top users.
//
// Why the fold computes whole summaries rather than deltas: the active-user
// count moves when a user's first row of the period appears and the top
// list when a user's period total passes another's, so both depend on what
// is stored. The fold reads that (SummaryState: the touched periods'
// summaries and the touched users' period rows, with the fold version),
// Summarize computes the new summaries here, in Go, and the engine replaces
// them in the same compare-and-set apply that checks the fold version is
// still the one read. Nothing ranks or counts in TypeScript; a concurrent
// writer makes the apply lose and the folder re-read, as for rows.

// TopN is how many users per metric (cost, tokens, requests) a summary
// keeps: llmmeter:topUsers serves a limit of at most 100.
const TopN = 100

// MaxModelEntries bounds a summary's model entries (a summary document
// stays under about 0.5 MB); beyond it the cheapest models are merged into
// one entry named OtherModels.
const MaxModelEntries = 1000

// OtherModels names the merged entry of the models beyond MaxModelEntries.
const OtherModels = "(other models)"

// ModelEntry is one model's counters in a period.
type ModelEntry struct {
	Model string `json:"model"`
	Counters
}

// UserTotals are the ranked totals of one user in a period.
type UserTotals struct {
	UserID      string `json:"userId"`
	Requests    int64  `json:"requests"`
	TotalTokens int64  `json:"totalTokens"`
	CostNanoUsd int64  `json:"costNanoUsd"`
}

// Summary is one period's summary: the wire shape of /jobs/fold/apply's
// summaries and of /jobs/fold/state's answer.
type Summary struct {
	Period      periods.Period `json:"period"`
	PeriodStart int64          `json:"periodStart"`
	PeriodKey   string         `json:"periodKey"`
	// ActiveUsers is the number of users with a user row in the period.
	ActiveUsers int64 `json:"activeUsers"`
	// Models are sorted by model.
	Models []ModelEntry `json:"models"`
	// TopUsers is the union of the period's top TopN users by cost, by
	// tokens and by requests (each ordered by the metric descending, then
	// userId ascending), sorted by userId. Exact: totals only grow between
	// folds, so a user outside the top N can only enter it when its own
	// total grows, which the fold sees.
	TopUsers []UserTotals `json:"topUsers"`
}

// PeriodRef names a stored period.
type PeriodRef struct {
	Period      periods.Period `json:"period"`
	PeriodStart int64          `json:"periodStart"`
}

// UserPeriod names a user's row of a period.
type UserPeriod struct {
	UserID      string         `json:"userId"`
	Period      periods.Period `json:"period"`
	PeriodStart int64          `json:"periodStart"`
}

// UserRow is a stored user row's ranked totals.
type UserRow struct {
	UserPeriod
	Requests    int64 `json:"requests"`
	TotalTokens int64 `json:"totalTokens"`
	CostNanoUsd int64 `json:"costNanoUsd"`
}

// StateKeys is what Summarize needs read for a set of deltas: the body of
// /jobs/fold/state.
type StateKeys struct {
	Periods []PeriodRef  `json:"periods"`
	Users   []UserPeriod `json:"users"`
}

// SummaryState is what is stored for StateKeys: the summaries and user
// rows that exist, and the fold version they were read at.
type SummaryState struct {
	Version   int64      `json:"version"`
	Summaries []*Summary `json:"summaries"`
	Users     []UserRow  `json:"users"`
}

// KeysOf lists the periods and user rows deltas touch, sorted.
func KeysOf(deltas []*Row) StateKeys {
	ps := map[PeriodRef]bool{}
	us := map[UserPeriod]bool{}
	for _, r := range deltas {
		ps[PeriodRef{r.Period, r.PeriodStart}] = true
		if r.Scope == ScopeUser {
			us[UserPeriod{r.UserID, r.Period, r.PeriodStart}] = true
		}
	}
	k := StateKeys{Periods: slices.SortedFunc(maps.Keys(ps), comparePeriods), Users: slices.SortedFunc(maps.Keys(us), compareUserPeriods)}
	if k.Periods == nil {
		k.Periods = []PeriodRef{}
	}
	if k.Users == nil {
		k.Users = []UserPeriod{}
	}
	return k
}

func comparePeriods(a, b PeriodRef) int {
	return cmp.Or(strings.Compare(string(a.Period), string(b.Period)), cmp.Compare(a.PeriodStart, b.PeriodStart))
}

func compareUserPeriods(a, b UserPeriod) int {
	return cmp.Or(strings.Compare(a.UserID, b.UserID), comparePeriods(PeriodRef{a.Period, a.PeriodStart}, PeriodRef{b.Period, b.PeriodStart}))
}

// Summarize returns the new summary of every period the deltas touch:
// st's summary (or an empty one) with the model deltas added, one more
// active user per user row that did not exist, and the top lists updated
// with the touched users' new period totals. With an empty st and the
// complete rows of periods (a rebuild) it computes their summaries from
// scratch. Sorted by period, then start.
func Summarize(st SummaryState, deltas []*Row) []*Summary {
	out := map[PeriodRef]*Summary{}
	for _, s := range st.Summaries {
		c := *s
		c.Models = slices.Clone(s.Models)
		c.TopUsers = slices.Clone(s.TopUsers)
		out[PeriodRef{s.Period, s.PeriodStart}] = &c
	}
	users := map[UserPeriod]UserTotals{}
	for _, u := range st.Users {
		users[u.UserPeriod] = UserTotals{UserID: u.UserID, Requests: u.Requests, TotalTokens: u.TotalTokens, CostNanoUsd: u.CostNanoUsd}
	}
	touched := map[PeriodRef]bool{}
	moved := map[PeriodRef][]UserTotals{}
	for _, r := range deltas {
		ref := PeriodRef{r.Period, r.PeriodStart}
		s := out[ref]
		if s == nil {
			s = &Summary{Period: r.Period, PeriodStart: r.PeriodStart, PeriodKey: r.PeriodKey, Models: []ModelEntry{}, TopUsers: []UserTotals{}}
			out[ref] = s
		}
		touched[ref] = true
		switch r.Scope {
		case ScopeModel:
			i := slices.IndexFunc(s.Models, func(e ModelEntry) bool { return e.Model == r.Model })
			if i < 0 {
				s.Models = append(s.Models, ModelEntry{Model: r.Model})
				i = len(s.Models) - 1
			}
			s.Models[i].Add(r.Counters)
		case ScopeUser:
			k := UserPeriod{r.UserID, r.Period, r.PeriodStart}
			u, ok := users[k]
			if !ok {
				s.ActiveUsers++
				u.UserID = r.UserID
			}
			u.Requests += r.TotalRequests
			u.TotalTokens += r.TotalTokens
			u.CostNanoUsd += r.TotalCostNanoUsd
			users[k] = u
			moved[ref] = append(moved[ref], u)
		}
	}
	res := make([]*Summary, 0, len(touched))
	for ref := range touched {
		s := out[ref]
		s.TopUsers = TopOf(append(s.TopUsers, moved[ref]...), TopN)
		s.Models = capModels(s.Models)
		res = append(res, s)
	}
	slices.SortFunc(res, func(a, b *Summary) int {
		return comparePeriods(PeriodRef{a.Period, a.PeriodStart}, PeriodRef{b.Period, b.PeriodStart})
	})
	return res
}

// Metrics a top list ranks by, as llmmeter:topUsers names them.
var Metrics = []string{"cost", "tokens", "requests"}

// Metric is a user's total by metric ("cost", "tokens", else requests).
func (u UserTotals) Metric(by string) int64 {
	switch by {
	case "cost":
		return u.CostNanoUsd
	case "tokens":
		return u.TotalTokens
	}
	return u.Requests
}

// RankBy orders users by the metric descending, then userId ascending.
func RankBy(by string) func(a, b UserTotals) int {
	return func(a, b UserTotals) int {
		return cmp.Or(cmp.Compare(b.Metric(by), a.Metric(by)), strings.Compare(a.UserID, b.UserID))
	}
}

// TopOf keeps the union of the top n users by each metric. A user listed
// twice keeps its last entry (the newest totals). Sorted by userId.
func TopOf(entries []UserTotals, n int) []UserTotals {
	latest := map[string]UserTotals{}
	for _, e := range entries {
		latest[e.UserID] = e
	}
	all := slices.Collect(maps.Values(latest))
	keep := map[string]UserTotals{}
	for _, by := range Metrics {
		slices.SortFunc(all, RankBy(by))
		for _, u := range all[:min(n, len(all))] {
			keep[u.UserID] = u
		}
	}
	out := slices.Collect(maps.Values(keep))
	slices.SortFunc(out, func(a, b UserTotals) int { return strings.Compare(a.UserID, b.UserID) })
	if out == nil {
		out = []UserTotals{}
	}
	return out
}

// capModels sorts entries by model and merges those beyond MaxModelEntries
// (the cheapest, then the last by name) into the OtherModels entry.
func capModels(es []ModelEntry) []ModelEntry {
	if len(es) > MaxModelEntries {
		var other ModelEntry
		other.Model = OtherModels
		rest := es[:0:0]
		for _, e := range es {
			if e.Model == OtherModels {
				other.Add(e.Counters)
			} else {
				rest = append(rest, e)
			}
		}
		slices.SortFunc(rest, func(a, b ModelEntry) int {
			return cmp.Or(cmp.Compare(b.TotalCostNanoUsd, a.TotalCostNanoUsd), strings.Compare(a.Model, b.Model))
		})
		for _, e := range rest[MaxModelEntries-1:] {
			other.Add(e.Counters)
		}
		es = append(rest[:MaxModelEntries-1:MaxModelEntries-1], other)
	}
	slices.SortFunc(es, func(a, b ModelEntry) int { return strings.Compare(a.Model, b.Model) })
	return es
}

// Adjust moves a stored summary by a confirmed usage row's difference d
// (jobs backfill: an estimated cost replaced by OpenRouter's): the model's
// entry and the user's top-list entry, if listed, move by d; nothing is
// re-ranked and no user enters the list. packages/convex/src/usage.ts
// applies the same to Convex's summaries. A confirmation that lowers a
// listed user's totals can leave the top list short of a user who now
// ranks above it, until `jobs rebuild` recomputes the period.
func (s *Summary) Adjust(userID, model string, d Counters) {
	if i := slices.IndexFunc(s.Models, func(e ModelEntry) bool { return e.Model == model }); i >= 0 {
		s.Models[i].Add(d)
	}
	if i := slices.IndexFunc(s.TopUsers, func(u UserTotals) bool { return u.UserID == userID }); i >= 0 {
		s.TopUsers[i].TotalTokens += d.TotalTokens
		s.TopUsers[i].CostNanoUsd += d.TotalCostNanoUsd
	}
}
