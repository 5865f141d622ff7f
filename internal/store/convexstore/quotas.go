package convexstore

import (
	"context"

	"llmmeter/internal/store"
)

var _ store.Quotas = (*Store)(nil)

// refusal is the quota Convex names when it refuses a reservation.
type refusal struct {
	QuotaType        string   `json:"quotaType"`
	Limit            float64  `json:"limit"`
	Used             float64  `json:"used"`
	Remaining        float64  `json:"remaining"`
	ResetDate        int64    `json:"resetDate"`
	LimitNanoUsd     *float64 `json:"limitNanoUsd"`
	UsedNanoUsd      *float64 `json:"usedNanoUsd"`
	RemainingNanoUsd *float64 `json:"remainingNanoUsd"`
}

// Reserve calls /quotas/reserve: Convex admits or refuses atomically, so
// replicas sharing the deployment share one count. Input out of range is
// store.ErrInvalid before any call, as Convex's 400 would be.
func (s *Store) Reserve(ctx context.Context, in store.ReserveInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	var out struct {
		Admitted bool     `json:"admitted"`
		Quota    *refusal `json:"quota"`
	}
	body := map[string]any{"requestId": in.RequestID, "userId": in.UserID, "tokens": in.Tokens,
		"costNanoUsd": int64(in.Cost), "ttlMs": in.TTL.Milliseconds()}
	if err := s.call(ctx, "/quotas/reserve", body, &out); err != nil {
		return err
	}
	if out.Admitted || out.Quota == nil {
		return nil
	}
	q := out.Quota
	e := &store.QuotaExceeded{QuotaType: q.QuotaType, Limit: int64(q.Limit), Used: int64(q.Used), Remaining: int64(q.Remaining), ResetDate: q.ResetDate}
	if store.IsCostQuota(q.QuotaType) && q.LimitNanoUsd != nil && q.UsedNanoUsd != nil {
		e.Limit, e.Used = int64(*q.LimitNanoUsd), int64(*q.UsedNanoUsd)
		if q.RemainingNanoUsd != nil {
			e.Remaining = int64(*q.RemainingNanoUsd)
		}
	}
	return e
}

// Release calls /quotas/release.
func (s *Store) Release(ctx context.Context, requestID string) error {
	return s.call(ctx, "/quotas/release", map[string]string{"requestId": requestID}, nil)
}
