package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/outbox"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

// KeySource reports the OpenRouter key's balance (*openrouter.Client).
type KeySource interface {
	Key(ctx context.Context) (*openrouter.KeyInfo, error)
}

// OutboxSource reports the delivery backlog (*outbox.Outbox).
type OutboxSource interface {
	Stats(ctx context.Context) (outbox.Stats, error)
}

// Notifier delivers an alert notification (Webhooks).
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// Alerts evaluates every alert condition at w.To and reconciles
// systemAlerts with the result, one live row per conditionKey (condition +
// subject; see AlertChange for the rule):
//   - a firing condition opens a row, or raises the severity of its open
//     row in place as further thresholds are crossed;
//   - a live row whose condition no longer fires is resolved (or, if an
//     admin resolved it already, re-armed): the next firing is a new row;
//   - notifications follow shouldNotify: never while silenced, at
//     once when opened or escalated, then every RepeatInterval unless
//     acknowledged, and again at the next run if one failed.
//
// A family of conditions whose inputs cannot be read (OpenRouter down, …)
// is neither opened nor resolved in that run.
type Alerts struct {
	Store    Store
	Cal      *periods.Calendar
	Cfg      Config
	Key      KeySource    // nil: no balance alert
	Outbox   OutboxSource // nil: no backlog alert
	Notifier Notifier     // nil: alerts are stored, not sent
	JobNames []string     // jobs whose failures alert
	Log      zerolog.Logger
}

// Name implements Job.
func (a *Alerts) Name() string { return JobAlerts }

// CatchUp implements CatchUpper: only the present matters.
func (a *Alerts) CatchUp() CatchUp { return CatchUpLatest }

// condition is one evaluated alert condition.
type condition struct {
	Alert
	firing bool
}

// Run implements Job.
func (a *Alerts) Run(ctx context.Context, w Window) (Counts, error) {
	now := w.To
	conds := map[string]condition{}
	failed := map[string]error{} // family → why it could not be evaluated
	add := func(c condition) { conds[c.ConditionKey] = c }
	for family, eval := range map[string]func(context.Context, time.Time, func(condition)) error{
		"quota": a.quotaConditions, "budget": a.dailyBudgetConditions, "errors": a.requestConditions,
		"balance": a.openrouterConditions, "backlog": a.backlogCondition, "job": a.jobConditions,
	} {
		if err := eval(ctx, now, add); err != nil {
			failed[family] = err
			if family == "errors" {
				failed["latency"] = err
			}
		}
	}
	counts := Counts{"conditions": int64(len(conds))}
	open, err := a.Store.OpenAlerts(ctx, 1000)
	if err != nil {
		return counts, fmt.Errorf("open alerts: %w", err)
	}
	liveBy := map[string]*Alert{}
	for i := range open {
		liveBy[open[i].ConditionKey] = &open[i]
	}
	keys := make([]string, 0, len(conds))
	for k := range conds {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		c := conds[k]
		if !c.firing {
			continue
		}
		counts["firing"]++
		c.CreatedAt = now.UnixMilli()
		cur, change, err := a.apply(ctx, liveBy[k], c.Alert)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s alert %s: %w", change, k, err))
			continue
		}
		counts[string(change)]++
		if a.Notifier == nil || !shouldNotify(cur, now, a.Cfg.RepeatInterval) {
			continue
		}
		if err := a.Notifier.Notify(ctx, cur); err != nil {
			counts["notifyFailed"]++
			a.Log.Warn().Err(err).Str("conditionKey", k).Msg("alert notification failed; retried next run")
			continue
		}
		counts["notified"]++
		if err := a.Store.AlertNotified(ctx, cur.ID, now); err != nil {
			errs = append(errs, fmt.Errorf("alert notified %s: %w", k, err))
		}
	}
	for _, o := range open {
		family, _, _ := strings.Cut(o.ConditionKey, ":")
		if _, ours := families[family]; !ours || failed[family] != nil {
			continue
		}
		if c, ok := conds[o.ConditionKey]; ok && c.firing {
			continue
		}
		if _, err := a.Store.ResolveAlert(ctx, o.ConditionKey, now); err != nil {
			errs = append(errs, fmt.Errorf("resolve alert %s: %w", o.ConditionKey, err))
			continue
		}
		if o.IsResolved {
			counts["rearmed"]++
		} else {
			counts["resolved"]++
		}
	}
	for fam, err := range failed {
		if !errors.Is(err, errInputDown) { // reported by its own alert
			errs = append(errs, fmt.Errorf("evaluate %s alerts: %w", fam, err))
		}
	}
	return counts, errors.Join(errs...)
}

// apply makes the change decide picks for c firing over live, and returns
// the row as it now stands.
func (a *Alerts) apply(ctx context.Context, live *Alert, c Alert) (Alert, AlertChange, error) {
	change := decide(live, c.Severity)
	switch change {
	case AlertOpened:
		row, created, err := a.Store.OpenAlert(ctx, c)
		if err == nil && !created {
			change = AlertUnchanged // opened meanwhile (another replica's run)
		}
		return row, change, err
	case AlertEscalated:
		ok, err := a.Store.EscalateAlert(ctx, live.ID, c)
		if err != nil || !ok {
			// Resolved by an admin meanwhile: held, not notified.
			row := *live
			row.IsResolved = true
			return row, AlertHeld, err
		}
		row := *live
		row.Severity, row.Message, row.Metadata = c.Severity, c.Message, c.Metadata
		row.History = append(slices.Clone(row.History), Escalation{Severity: c.Severity, At: c.CreatedAt})
		row.AcknowledgedAt, row.LastNotifiedAt = 0, 0
		return row, change, nil
	}
	return *live, change, nil
}

// families are the condition-key prefixes this job owns.
var families = map[string]struct{}{"quota": {}, "budget": {}, "errors": {}, "latency": {}, "balance": {}, "backlog": {}, "job": {}, "openrouter": {}}

func severityOf(pct int) Severity {
	switch {
	case pct >= 100:
		return SeverityCritical
	case pct >= 90:
		return SeverityWarning
	}
	return SeverityInfo
}

// sumBy lists aggregates of scope/period containing at and sums shards by
// subject (userId or model; "" for system).
func sumBy(ctx context.Context, st Store, cal *periods.Calendar, scope string, p periods.Period, at int64) (map[string]rollup.Counters, error) {
	start := cal.Of(p, at).Start
	rows, err := st.Aggregates(ctx, scope, p, start, start+1)
	if err != nil {
		return nil, err
	}
	out := map[string]rollup.Counters{}
	for _, r := range rows {
		k := r.UserID + r.Model
		c := out[k]
		c.Add(r.Counters)
		out[k] = c
	}
	return out, nil
}

// maxQuotaDate is beyond every resetDate (Convex accepts safe integers).
const maxQuotaDate = 4_102_444_800_000

// maxQuotaPages bounds the pages allQuotas reads: 1,000 pages of 1,000.
const maxQuotaPages = 1000

// allQuotas reads every active quota, page by page. A quota left unread
// would have its alert resolved as if its condition had cleared, so a
// listing that does not reach the end is an error, not a shorter list.
func allQuotas(ctx context.Context, st Store) ([]Quota, error) {
	var out []Quota
	cursor := ""
	for range maxQuotaPages {
		page, err := st.DueQuotas(ctx, maxQuotaDate, cursor, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Quotas...)
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
	return nil, fmt.Errorf("quotas: more than %d pages", maxQuotaPages)
}

func (a *Alerts) quotaConditions(ctx context.Context, now time.Time, add func(condition)) error {
	quotas, err := allQuotas(ctx, a.Store)
	if err != nil {
		return err
	}
	ms := now.UnixMilli()
	cache := map[string]map[string]rollup.Counters{}
	agg := func(scope string, p periods.Period) (map[string]rollup.Counters, error) {
		k := scope + string(p)
		if m, ok := cache[k]; ok {
			return m, nil
		}
		m, err := sumBy(ctx, a.Store, a.Cal, scope, p, ms)
		cache[k] = m
		return m, err
	}
	for _, q := range quotas {
		scope := rollup.ScopeUser
		if q.QuotaType == QuotaSystemMonthlyCostUSD {
			scope = rollup.ScopeSystem
		}
		m, err := agg(scope, QuotaPeriod(q.QuotaType))
		if err != nil {
			return err
		}
		c := m[q.UserID]
		var used, limit int64
		unit := ""
		switch q.QuotaType {
		case QuotaDailyRequests:
			used, limit, unit = c.TotalRequests, int64(q.Limit), "requests"
		case QuotaMonthlyTokens:
			used, limit, unit = c.TotalTokens, int64(q.Limit), "tokens"
		default:
			used, limit, unit = c.TotalCostNanoUsd, q.LimitNano, "USD"
		}
		if limit <= 0 {
			continue
		}
		pct, firing := crossed(used, limit, a.Cfg.QuotaThresholds)
		alertType := "quota_threshold"
		if unit == "USD" {
			alertType = "cost_budget"
		}
		show := func(v int64) string {
			if unit == "USD" {
				return formatUSD(v)
			}
			return formatCount(v) + " " + unit
		}
		add(condition{firing: firing, Alert: Alert{
			ConditionKey: quotaConditionKey(q.ID), AlertType: alertType, Severity: severityOf(pct), UserID: q.UserID,
			Message:  fmt.Sprintf("%d%% of the %s quota used (%s of %s)", pct, quotaLabel(q.QuotaType), show(used), show(limit)),
			Metadata: map[string]any{"quotaId": q.ID, "quotaType": q.QuotaType, "threshold": pct, "used": used, "limit": limit, "resetDate": q.ResetDate},
		}})
	}
	return nil
}

// crossed is the highest of thresholds (percent) that used has reached
// of limit; ok is false when none was.
func crossed(used, limit int64, thresholds []int) (pct int, ok bool) {
	for _, t := range thresholds {
		if used*100 >= int64(t)*limit && (!ok || t > pct) {
			pct, ok = t, true
		}
	}
	return pct, ok
}

func (a *Alerts) dailyBudgetConditions(ctx context.Context, now time.Time, add func(condition)) error {
	ms := now.UnixMilli()
	check := func(key, subject, userID string, used, limit int64) {
		pct, firing := crossed(used, limit, a.Cfg.QuotaThresholds)
		add(condition{firing: firing, Alert: Alert{
			ConditionKey: "budget:daily:" + key, AlertType: "cost_budget", Severity: severityOf(pct), UserID: userID,
			Message:  fmt.Sprintf("%s spent %d%% of the daily budget (%s of %s)", subject, pct, formatUSD(used), formatUSD(limit)),
			Metadata: map[string]any{"threshold": pct, "usedNanoUsd": used, "limitNanoUsd": limit, "day": a.Cal.Of(periods.Daily, ms).Key},
		}})
	}
	if a.Cfg.DailyBudgetNanoUsd > 0 {
		m, err := sumBy(ctx, a.Store, a.Cal, rollup.ScopeSystem, periods.Daily, ms)
		if err != nil {
			return err
		}
		check("system", "The system", "", m[""].TotalCostNanoUsd, a.Cfg.DailyBudgetNanoUsd)
	}
	if a.Cfg.UserDailyBudgetNano > 0 {
		m, err := sumBy(ctx, a.Store, a.Cal, rollup.ScopeUser, periods.Daily, ms)
		if err != nil {
			return err
		}
		for uid, c := range m {
			check("user:"+uid, "The user", uid, c.TotalCostNanoUsd, a.Cfg.UserDailyBudgetNano)
		}
	}
	return nil
}

// requestConditions: error rate and p95 latency over the sliding window,
// exactly from the raw request logs.
func (a *Alerts) requestConditions(ctx context.Context, now time.Time, add func(condition)) error {
	to := now.UnixMilli()
	from := to - a.Cfg.ErrorRateWindow.Milliseconds()
	var total, failed int64
	var lat []int64
	err := EachRequestLog(ctx, a.Store, from, to, PageSize, func(l store.RequestLog) {
		if store.IsQuotaRefusal(l) {
			return // a refusal is the quota working, not an error
		}
		total++
		if l.Status != store.StatusSuccess {
			failed++
		}
		lat = append(lat, l.ProcessingTime)
	})
	if err != nil {
		return err
	}
	enough := total >= a.Cfg.ErrorRateMinRequests
	rate := 0.0
	if total > 0 {
		rate = float64(failed) / float64(total)
	}
	win := formatDuration(a.Cfg.ErrorRateWindow)
	add(condition{firing: enough && rate >= a.Cfg.ErrorRate, Alert: Alert{
		ConditionKey: "errors:system", AlertType: "error_rate", Severity: SeverityWarning,
		Message:  fmt.Sprintf("error rate %.1f%% over the last %s (%s of %s requests)", rate*100, win, formatCount(failed), formatCount(total)),
		Metadata: map[string]any{"failed": failed, "total": total, "threshold": a.Cfg.ErrorRate, "windowMs": a.Cfg.ErrorRateWindow.Milliseconds()},
	}})
	if a.Cfg.P95LatencyMs > 0 {
		p95 := percentile(lat, 95)
		add(condition{firing: enough && p95 > a.Cfg.P95LatencyMs, Alert: Alert{
			ConditionKey: "latency:p95", AlertType: "latency", Severity: SeverityWarning,
			Message:  fmt.Sprintf("p95 latency %s over the last %s (threshold %s)", formatDuration(time.Duration(p95)*time.Millisecond), win, formatDuration(time.Duration(a.Cfg.P95LatencyMs)*time.Millisecond)),
			Metadata: map[string]any{"p95Ms": p95, "thresholdMs": a.Cfg.P95LatencyMs, "total": total},
		}})
	}
	return nil
}

// percentile is the nearest-rank percentile of v (0 when empty).
func percentile(v []int64, p int) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100
	return s[max(rank, 1)-1]
}
