package store

// The outputs the jobs write to the store: health checks, reports with
// their deliveries, and forecasts.

// Health is one health check (systemHealth).
type Health struct {
	CheckedAt           int64          `json:"checkedAt"`
	OpenRouterOK        bool           `json:"openrouterOk"`
	KeyRemainingNanoUsd *int64         `json:"keyRemainingNanoUsd,omitempty"`
	StoreOK             bool           `json:"storeOk"`
	OutboxDepth         int64          `json:"outboxDepth"`
	JobLagMs            int64          `json:"jobLagMs"`
	Details             map[string]any `json:"details"`
}

// Report is a stored report.
type Report struct {
	Kind      string         `json:"kind"` // daily | weekly
	PeriodKey string         `json:"periodKey"`
	Body      map[string]any `json:"body"`
	CSV       string         `json:"csv"`
	CreatedAt int64          `json:"createdAt"`
}

// Forecast is one forecast row.
type Forecast struct {
	Scope           string   `json:"scope"` // system | user
	UserID          string   `json:"userId,omitempty"`
	Month           string   `json:"month"`
	Method          string   `json:"method"`
	CostNanoUsd     int64    `json:"costNanoUsd"`
	CostLowNanoUsd  int64    `json:"costLowNanoUsd"`
	CostHighNanoUsd int64    `json:"costHighNanoUsd"`
	Tokens          int64    `json:"tokens"`
	TokensLow       int64    `json:"tokensLow"`
	TokensHigh      int64    `json:"tokensHigh"`
	BacktestMape    *float64 `json:"backtestMape,omitempty"` // percent: 8.5 means 8.5 %
	// HistoryDays is how many closed days of data the projection rests on
	// (those since the subject's first day with data, at most the job's
	// history window); nil when unknown (runs stored before it was kept).
	HistoryDays *int `json:"historyDays,omitempty"`
}

// ReportDelivery is the outcome of sending one report to one webhook, as
// stored with the report (the Reports page shows them).
type ReportDelivery struct {
	// Target is the webhook's scheme and host and a fingerprint of its
	// whole URL ("https://hooks.slack.com/<secret>#1a2b3c4d"): the path is
	// a secret, and the fingerprint tells two webhooks on one host apart.
	Target   string `json:"target"`
	Status   string `json:"status"`            // delivered | failed
	Attempts int    `json:"attempts"`          // over every try of this report to this webhook
	At       int64  `json:"at"`                // ms, when the last attempt ended
	Error    string `json:"error"`             // "" when delivered; never the URL's path or the secret
	FirstAt  int64  `json:"firstAt,omitempty"` // ms, when the first attempt ended (0: recorded before retries)
}

// UndeliveredReport is a stored report with its deliveries, as the retry
// job reads it.
type UndeliveredReport struct {
	Kind       string           `json:"kind"`
	PeriodKey  string           `json:"periodKey"`
	CreatedAt  int64            `json:"createdAt"`
	Body       map[string]any   `json:"body"`
	Deliveries []ReportDelivery `json:"deliveries"`
	// RetryUntil is the stored retry deadline (see ReportKey; 0: none).
	RetryUntil int64 `json:"retryUntil,omitempty"`
}

// ReportKey names a stored report whose deliveries the retry job still
// has to look at: RetryUntil (ms) is the deadline the jobs computed and
// recorded with the deliveries (the end of the latest retry window of a
// failed delivery not given up), indexed so that the job finds every such
// report, however many newer reports there are.
type ReportKey struct {
	Kind       string `json:"kind"`
	PeriodKey  string `json:"periodKey"`
	RetryUntil int64  `json:"retryUntil"`
}

// ReportKeyPage is a page of ReportKeys; Next is the cursor of the next
// page, "" after the last.
type ReportKeyPage struct {
	Reports []ReportKey
	Next    string
}

// Delivery statuses.
const (
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)
