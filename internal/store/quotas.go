package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/periods"
)

// Quota types, as in the seed's userQuotas.quotaType.
const (
	QuotaDailyRequests  = "daily_requests"
	QuotaMonthlyTokens  = "monthly_tokens"
	QuotaMonthlyCostUSD = "monthly_cost_usd"
	// QuotaSystemMonthlyCostUSD is the system-wide budget (no user).
	QuotaSystemMonthlyCostUSD = "system_monthly_cost_usd"
)

// IsCostQuota reports whether a quota counts nano-USD.
func IsCostQuota(t string) bool { return t == QuotaMonthlyCostUSD || t == QuotaSystemMonthlyCostUSD }

// QuotaPeriod is the period a quota type resets on: daily requests each
// day, the others each month, in the reporting time zone.
func QuotaPeriod(t string) periods.Period {
	if t == QuotaDailyRequests {
		return periods.Daily
	}
	return periods.Monthly
}

// ReserveInput asks to admit one call against every active quota of its
// user and the system budget. Tokens and Cost are upper-bound estimates of
// the call; 0 means unknown.
type ReserveInput struct {
	RequestID string
	UserID    string
	Tokens    int64
	Cost      money.Nanos
	TTL       time.Duration // how long the reservation holds if never settled
}

// Validate reports every problem at once, under ErrInvalid: both engines
// refuse the same inputs (the Convex route's bounds in packages/convex/src/lib/wire.ts),
// so a caller can tell input it must not send from a store outage.
func (in ReserveInput) Validate() error {
	var errs []error
	if in.RequestID == "" || len(in.RequestID) > 256 {
		errs = append(errs, errors.New("requestId: 1 to 256 bytes"))
	}
	if in.UserID == "" || len(in.UserID) > 64 {
		errs = append(errs, errors.New("userId: 1 to 64 bytes"))
	}
	if in.Tokens < 0 || in.Tokens > MaxAmount {
		errs = append(errs, fmt.Errorf("tokens: %d is not in [0, %d]", in.Tokens, MaxAmount))
	}
	if in.Cost < 0 || int64(in.Cost) > MaxAmount {
		errs = append(errs, fmt.Errorf("costNanoUsd: %d is not in [0, %d]", in.Cost, MaxAmount))
	}
	if in.TTL < time.Second || in.TTL > time.Hour {
		errs = append(errs, fmt.Errorf("ttl: %v is not in [1s, 1h]", in.TTL))
	}
	return invalid(errs)
}

// QuotaExceeded refuses a call: the first quota it would break.
// Limit, Used and Remaining are in the quota's unit (requests, tokens or
// nano-USD); ResetDate is when the window starts over (ms).
type QuotaExceeded struct {
	QuotaType string
	Limit     int64
	Used      int64
	Remaining int64
	ResetDate int64
}

func (e *QuotaExceeded) Error() string {
	return fmt.Sprintf("quota %s exceeded: used %d of %d until %s", e.QuotaType, e.Used, e.Limit,
		time.UnixMilli(e.ResetDate).UTC().Format(time.RFC3339))
}

// Quotas admits calls against quotas. The reservation a call holds is
// settled when the store ingests the call's request-log row: its actual
// tokens and cost are counted and the reservation is dropped, in one
// transaction.
//
// The bound (strict mode): a daily_requests quota admits exactly its limit.
// A token or cost quota admits a call when used + reserved + estimate fits,
// or when nothing else is reserved and used < limit; so at most one call in
// flight can take it over its limit, and the overshoot is at most that
// call's tokens or cost (plus what other calls spend beyond their
// estimates when their estimates are not upper bounds).
type Quotas interface {
	Leases
	// Reserve returns nil when admitted, *QuotaExceeded when refused.
	Reserve(ctx context.Context, in ReserveInput) error
	// Release drops a reservation whose call will never be ingested.
	Release(ctx context.Context, requestID string) error
}
