package store

// The records of the jobs' store (package jobs defines the Store interface
// it needs; both engines implement it with these types, so that the engines
// never import jobs): leases, runs, raw pages, due quotas and usage
// confirmations.

import "time"

// JobLease names a job's lease and its holder (jobs.Lease; not a quota
// lease, which is Leases').
type JobLease struct {
	Job    string
	Holder string
	TTL    time.Duration
	Now    time.Time
}

// Outcome is a run's result.
type Outcome string

// Run outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeSkipped Outcome = "skipped"
)

// RunCounts are a run's counters (rows read, aggregates written, …)
// (jobs.Counts; Counts is the ingest's).
type RunCounts map[string]int64

// Run is one recorded run of a job.
type Run struct {
	ID        string  `json:"id,omitempty"`
	Job       string  `json:"job"`
	StartedAt int64   `json:"startedAt"` // ms; the scheduled time the run covers up to
	EndedAt   int64   `json:"endedAt"`
	Outcome   Outcome `json:"outcome"`
	// WindowFrom and WindowTo (ms) are the window the run covered (for a
	// skipped run, WindowTo is when it was skipped); WindowFrom is 0 when
	// open. Both are 0 in runs recorded before they existed, which kept
	// the window end in Counts["windowTo"]. The scheduler catches up from
	// the WindowTo of the last successful runs.
	WindowFrom int64     `json:"windowFrom,omitempty"`
	WindowTo   int64     `json:"windowTo,omitempty"`
	Counts     RunCounts `json:"counts"`
	Error      string    `json:"error,omitempty"`
}

// RawKind names a raw-row table.
type RawKind string

// Raw tables.
const (
	RawUsage       RawKind = "usageTracking"
	RawRequestLogs RawKind = "requestLogs"
	RawActivity    RawKind = "userActivity"
)

// RawPage is one page of raw rows; only the slice of the requested kind is
// set.
type RawPage struct {
	Usage       []Usage
	RequestLogs []RequestLog
	Activity    []Activity
	// Pending holds the keys (generation id, request id, activity key) of
	// the page's rows the fold has not counted yet.
	Pending map[string]bool
	Next    string // "" when done
}

// QuotaPage is a page of DueQuotas; Next is the cursor of the next page
// ("" at the end).
type QuotaPage struct {
	Quotas []Quota
	Next   string
}

// Quota is a user quota or the system budget (UserID empty).
type Quota struct {
	ID        string
	UserID    string
	QuotaType string
	Limit     float64 // count, or USD for cost quotas
	LimitNano int64   // exact limit of cost quotas
	Used      float64
	ResetDate int64
	IsActive  bool
}

// UsageConfirmation is what the backfill learned from a generation record.
type UsageConfirmation struct {
	GenerationID     string `json:"generationId"`
	PromptTokens     int64  `json:"promptTokens"`
	CompletionTokens int64  `json:"completionTokens"`
	TotalTokens      int64  `json:"totalTokens"`
	CachedTokens     int64  `json:"cachedTokens"`
	ReasoningTokens  int64  `json:"reasoningTokens"`
	CostNanoUsd      int64  `json:"costNanoUsd"`
}
