package convexstore

import (
	"context"
	"fmt"

	"llmmeter/internal/store"
)

var _ store.Leases = (*Store)(nil)

// amounts is store.Amounts on the wire of /quotas/lease (integers; cost in
// nanos, not money.Nanos's USD text).
type amounts struct {
	Requests int64 `json:"requests"`
	Tokens   int64 `json:"tokens"`
	Cost     int64 `json:"costNanoUsd"`
}

func wireAmounts(a store.Amounts) amounts { return amounts{a.Requests, a.Tokens, int64(a.Cost)} }

type claim struct {
	RequestID string  `json:"requestId"`
	Amounts   amounts `json:"amounts"`
}

// leaseBody is the body of /quotas/lease (convex/lib/wire.ts quotaLeaseBody).
type leaseBody struct {
	Holder     string  `json:"holder"`
	UserID     string  `json:"userId,omitempty"` // absent: the system budget
	Claims     []claim `json:"claims"`
	Return     amounts `json:"return"`
	Want       amounts `json:"want"`
	Need       amounts `json:"need"`
	TTLMs      int64   `json:"ttlMs"`
	ClaimTTLMs int64   `json:"claimTtlMs"`
}

// Lease calls /quotas/lease: Convex moves the holder's lease of each active
// quota in one mutation (convex/lib/leases.ts). Input out of range is
// store.ErrInvalid before any call, as Convex's 400 would be.
func (s *Store) Lease(ctx context.Context, in store.LeaseInput) (store.LeaseGrant, error) {
	if err := in.Validate(); err != nil {
		return store.LeaseGrant{}, err
	}
	body := leaseBody{Holder: in.Holder, UserID: in.UserID, Claims: make([]claim, len(in.Claims)),
		Return: wireAmounts(in.Return), Want: wireAmounts(in.Want), Need: wireAmounts(in.Need),
		TTLMs: in.TTL.Milliseconds(), ClaimTTLMs: in.ClaimTTL.Milliseconds()}
	for i, c := range in.Claims {
		body.Claims[i] = claim{c.RequestID, wireAmounts(c.Amounts)}
	}
	var out struct {
		Quotas  []store.LeasedQuota `json:"quotas"`
		Refused *struct {
			QuotaType string `json:"quotaType"`
			Limit     int64  `json:"limit"`
			Used      int64  `json:"used"`
			Remaining int64  `json:"remaining"`
			ResetDate int64  `json:"resetDate"`
		} `json:"refused"`
	}
	if err := s.call(ctx, "/quotas/lease", body, &out); err != nil {
		return store.LeaseGrant{}, err
	}
	g := store.LeaseGrant{Quotas: out.Quotas}
	if r := out.Refused; r != nil {
		g.Refused = &store.QuotaExceeded{QuotaType: r.QuotaType, Limit: r.Limit, Used: r.Used, Remaining: r.Remaining, ResetDate: r.ResetDate}
	}
	return g, nil
}

var _ store.QuotaChanges = (*Store)(nil)

// QuotaChanges calls /quotas/changes (convex/lib/quotaChanges.ts).
func (s *Store) QuotaChanges(ctx context.Context, since int64) (store.QuotaChangeList, error) {
	var out store.QuotaChangeList
	err := s.call(ctx, "/quotas/changes", map[string]int64{"since": since}, &out)
	return out, err
}

var _ store.LeaseRelease = (*Store)(nil)

// ReleaseHolder calls /quotas/lease/release-holder (convex/lib/leases.ts
// releaseHolder), a page of leases per call.
func (s *Store) ReleaseHolder(ctx context.Context, holder string) (int, bool, error) {
	if holder == "" || len(holder) > 128 {
		return 0, false, fmt.Errorf("convexstore: release holder: %w: holder: 1 to 128 bytes", store.ErrInvalid)
	}
	var out struct {
		Released int  `json:"released"`
		More     bool `json:"more"`
	}
	err := s.call(ctx, "/quotas/lease/release-holder", map[string]string{"holder": holder}, &out)
	return out.Released, out.More, err
}
