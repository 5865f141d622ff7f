package store

// The alert records of the jobs' store (systemAlerts); the lifecycle rule
// is jobs.AlertChange's.

// Severity of an alert.
type Severity string

// Severities.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info < warning < critical (0 for unknown).
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Escalation is one entry of an alert's History: the severity it reached
// and when (the first entry is the opening).
type Escalation struct {
	Severity Severity `json:"severity"`
	At       int64    `json:"at"`
}

// Alert is a row of systemAlerts.
type Alert struct {
	ID             string         `json:"id,omitempty"`
	ConditionKey   string         `json:"conditionKey"`
	AlertType      string         `json:"alertType"`
	Severity       Severity       `json:"severity"`
	Message        string         `json:"message"`
	Metadata       map[string]any `json:"metadata,omitempty"`
	UserID         string         `json:"userId,omitempty"`
	CreatedAt      int64          `json:"createdAt,omitempty"`
	LastNotifiedAt int64          `json:"lastNotifiedAt,omitempty"`
	// History lists the severities the row reached, oldest first.
	History []Escalation `json:"history,omitempty"`
	// AcknowledgedAt: an admin took it; no repeat notifications until it
	// escalates (0: not acknowledged).
	AcknowledgedAt int64 `json:"acknowledgedAt,omitempty"`
	// SilencedUntil: no notification at all before this time (0: none).
	SilencedUntil int64 `json:"silencedUntil,omitempty"`
	// IsResolved is set on a held row (see AlertChange) in OpenAlerts.
	IsResolved bool `json:"isResolved,omitempty"`
}
