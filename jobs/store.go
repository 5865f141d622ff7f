package jobs

import (
	"context"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// Store is what the jobs need from an engine. Both engines implement it:
// sqlitestore.Store (jobs*.go) and convexstore.Store (jobs*.go). Every write
// is idempotent or compare-and-set, so a retried or repeated call is
// harmless.
//
// Times: the SQLite engine uses the times passed in (the scheduler's clock);
// the Convex engine keeps lease expiry and createdAt on the deployment's
// clock, which is why leases are meant in real time.
type Store interface {
	// AcquireLease takes the job's lease if it is free, expired or already
	// held by holder, until now+ttl.
	AcquireLease(ctx context.Context, l Lease) (bool, error)
	// RenewLease extends holder's unexpired lease to now+ttl.
	RenewLease(ctx context.Context, l Lease) (bool, error)
	// ReleaseLease drops holder's lease (no-op if not held).
	ReleaseLease(ctx context.Context, l Lease) error
	// RecordRun stores one run.
	RecordRun(ctx context.Context, r Run) error
	// Runs lists runs newest first: of one job when job is non-empty,
	// only of one outcome when outcome is non-empty, at most limit.
	Runs(ctx context.Context, job string, outcome Outcome, limit int) ([]Run, error)

	// PendingRows and ApplyFold are the fold's (internal/fold).
	fold.Store

	// FoldVersion is the number of fold applies so far (the rebuild's
	// compare-and-set token).
	FoldVersion(ctx context.Context) (int64, error)
	// RawPage reads a page of raw rows of kind with timestamp in
	// [from, to), ascending; an empty next cursor means done.
	RawPage(ctx context.Context, kind RawKind, from, to int64, cursor string, limit int) (RawPage, error)
	// ReplaceAggregates replaces aggregate rows by exact key if the fold
	// version is still foldVersion, else returns fold.ErrConflict (wrapped)
	// and writes nothing. (Convex replaces in chunks, each checked.)
	ReplaceAggregates(ctx context.Context, rows []*rollup.Row, foldVersion int64) error
	// ReplaceSummaries replaces whole period summaries if the fold version
	// is still foldVersion, else returns fold.ErrConflict (wrapped) and
	// writes nothing. (Convex replaces in chunks, each checked.)
	ReplaceSummaries(ctx context.Context, sums []*rollup.Summary, foldVersion int64) error
	// Aggregates lists the rows of scope and period with periodStart in
	// [from, to) (every shard a row).
	Aggregates(ctx context.Context, scope string, period periods.Period, from, to int64) ([]rollup.Row, error)

	// DueQuotas lists a page of at most limit active quotas with
	// resetDate <= before, oldest first, from cursor ("" for the first
	// page); an empty QuotaPage.Next means there are no more.
	DueQuotas(ctx context.Context, before int64, cursor string, limit int) (QuotaPage, error)
	// ResetQuota sets used to 0 and resetDate to next, only if resetDate
	// still equals expected.
	ResetQuota(ctx context.Context, id string, expected, next int64, now time.Time) (bool, error)

	// OpenAlert inserts a row for a (a.CreatedAt is its time, History
	// starts with it) unless its condition has an open row, which it
	// returns with created false. It releases the condition's held row
	// and carries over the silence of the condition's last row if that
	// has not run out (a silence is for a condition, as Alertmanager's
	// are for label sets, not for one firing).
	OpenAlert(ctx context.Context, a Alert) (row Alert, created bool, err error)
	// EscalateAlert raises the open row id to a's severity, message and
	// metadata, appends {a.Severity, a.CreatedAt} to its History and
	// clears its acknowledgement and lastNotifiedAt, so the escalation is
	// notified; ok is false if the row is no longer open.
	EscalateAlert(ctx context.Context, id string, a Alert) (ok bool, err error)
	// ResolveAlert records that the condition cleared: its open row is
	// resolved and a held row (resolved by an admin) is re-armed, so that
	// the next firing opens a new row.
	ResolveAlert(ctx context.Context, conditionKey string, now time.Time) (int, error)
	// OpenAlerts lists the live rows (at most limit): open alerts, and
	// held ones (IsResolved) whose condition has not cleared since.
	OpenAlerts(ctx context.Context, limit int) ([]Alert, error)
	// AlertNotified records that the alert was notified at at.
	AlertNotified(ctx context.Context, id string, at time.Time) error

	// StoreHealth stores one health check.
	StoreHealth(ctx context.Context, h Health) error
	// StoreReport stores a report, replacing one of the same kind and key,
	// and returns the deliveries recorded with the one it replaced (they
	// stay with the report).
	StoreReport(ctx context.Context, r Report) ([]ReportDelivery, error)
	// RecordReportDelivery replaces the deliveries recorded with the
	// stored report of kind and periodKey (an error if there is none) and
	// its retry deadline (retryUntil, ms; 0: nothing left to retry).
	RecordReportDelivery(ctx context.Context, kind, periodKey string, d []ReportDelivery, retryUntil int64) error
	// ReportDeliveries reads the stored report of kind and periodKey with
	// its deliveries and retry deadline (store.ErrNotFound if none).
	ReportDeliveries(ctx context.Context, kind, periodKey string) (store.UndeliveredReport, error)
	// DueReportDeliveries lists a page of at most limit reports whose
	// retry deadline is at or after since, earliest deadline first, by an
	// index range (cursor: "" first, then the previous page's Next).
	DueReportDeliveries(ctx context.Context, since int64, cursor string, limit int) (store.ReportKeyPage, error)
	// UndeliveredReports lists the reports among the newest limit (by
	// createdAt) that have a failed delivery, newest first: how the retry
	// job found reports before retry deadlines were recorded (read once
	// per process, for the reports recorded without one).
	UndeliveredReports(ctx context.Context, limit int) ([]store.UndeliveredReport, error)
	// StoreForecasts stores one forecast run.
	StoreForecasts(ctx context.Context, createdAt time.Time, rows []Forecast) error
	// ConfirmUsage replaces an estimated usage row's tokens and cost with
	// the generation record's, marks it confirmed and moves aggregates
	// and the token and cost quota counters of the row's current window by
	// the difference, so that Σ rows = quota used = aggregates again.
	// It reports false when the row is absent or already confirmed.
	ConfirmUsage(ctx context.Context, c UsageConfirmation) (bool, error)

	// User reads a user (store.ErrNotFound if there is none); reports
	// name the users they list with it (reportnames.go).
	User(ctx context.Context, id string) (store.User, error)

	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// The records the Store speaks in are package store's, so that the engines
// implement Store without importing jobs; these aliases keep their jobs
// names.
type (
	Lease             = store.JobLease
	Outcome           = store.Outcome
	Counts            = store.RunCounts
	Run               = store.Run
	RawKind           = store.RawKind
	RawPage           = store.RawPage
	QuotaPage         = store.QuotaPage
	Quota             = store.Quota
	Severity          = store.Severity
	Escalation        = store.Escalation
	Alert             = store.Alert
	Health            = store.Health
	Report            = store.Report
	Forecast          = store.Forecast
	UsageConfirmation = store.UsageConfirmation
)

// Run outcomes.
const (
	OutcomeSuccess = store.OutcomeSuccess
	OutcomeFailure = store.OutcomeFailure
	OutcomeSkipped = store.OutcomeSkipped
)

// Raw tables.
const (
	RawUsage       = store.RawUsage
	RawRequestLogs = store.RawRequestLogs
	RawActivity    = store.RawActivity
)

// Severities.
const (
	SeverityInfo     = store.SeverityInfo
	SeverityWarning  = store.SeverityWarning
	SeverityCritical = store.SeverityCritical
)

// Quota types, as the store defines them.
const (
	QuotaDailyRequests        = store.QuotaDailyRequests
	QuotaMonthlyTokens        = store.QuotaMonthlyTokens
	QuotaMonthlyCostUSD       = store.QuotaMonthlyCostUSD
	QuotaSystemMonthlyCostUSD = store.QuotaSystemMonthlyCostUSD
)

// QuotaPeriod is the period a quota type resets on.
func QuotaPeriod(quotaType string) periods.Period { return store.QuotaPeriod(quotaType) }

// AlertChange is what a firing condition does to its live row (decide).
// The rule, one live row per condition key:
//   - no live row: a new row opens (AlertOpened);
//   - an open row of lower severity: it escalates in place (AlertEscalated);
//   - an open row of equal or higher severity: nothing (AlertUnchanged);
//     a severity never falls while the row is open;
//   - a row an admin resolved while the condition still held: nothing
//     (AlertHeld) until the job sees the condition clear (ResolveAlert
//     re-arms it), unless the new severity is higher, which opens a new
//     row (AlertOpened): a resolved warning does not hide a critical.
type AlertChange string

// The changes.
const (
	AlertOpened    AlertChange = "opened"
	AlertEscalated AlertChange = "escalated"
	AlertUnchanged AlertChange = "unchanged"
	AlertHeld      AlertChange = "held"
)

// decide is the rule of AlertChange for a condition firing at sev, given
// its live row (nil: none).
func decide(live *Alert, sev Severity) AlertChange {
	switch {
	case live == nil:
		return AlertOpened
	case sev.Rank() <= live.Severity.Rank() && live.IsResolved:
		return AlertHeld
	case sev.Rank() <= live.Severity.Rank():
		return AlertUnchanged
	case live.IsResolved:
		return AlertOpened
	}
	return AlertEscalated
}

// shouldNotify is the notification rule for a, as in Alertmanager: never
// while silenced; a row never notified (just opened, just escalated, or
// its last notification failed) at once; an acknowledged row not again;
// otherwise again after repeat.
func shouldNotify(a Alert, now time.Time, repeat time.Duration) bool {
	ms := now.UnixMilli()
	switch {
	case a.IsResolved || ms < a.SilencedUntil:
		return false
	case a.LastNotifiedAt == 0:
		return true
	case a.AcknowledgedAt != 0:
		return false
	}
	return ms-a.LastNotifiedAt >= repeat.Milliseconds()
}
