package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"llmmeter/internal/money"
)

// Amounts is what a call counts against quotas, in each quota's unit:
// requests (daily_requests), tokens (monthly_tokens) and nano-USD (the cost
// quotas and the system budget).
type Amounts struct {
	Requests int64
	Tokens   int64
	Cost     money.Nanos
}

// Of is the amount in quota type t's unit.
func (a Amounts) Of(t string) int64 {
	switch {
	case t == QuotaDailyRequests:
		return a.Requests
	case t == QuotaMonthlyTokens:
		return a.Tokens
	case IsCostQuota(t):
		return int64(a.Cost)
	}
	return 0
}

// Set is a with the amount in quota type t's unit set to v.
func (a Amounts) Set(t string, v int64) Amounts {
	switch {
	case t == QuotaDailyRequests:
		a.Requests = v
	case t == QuotaMonthlyTokens:
		a.Tokens = v
	case IsCostQuota(t):
		a.Cost = money.Nanos(v)
	}
	return a
}

func (a Amounts) validate(field string) error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{{"requests", a.Requests}, {"tokens", a.Tokens}, {"costNanoUsd", int64(a.Cost)}} {
		if f.v < 0 || f.v > MaxAmount {
			errs = append(errs, fmt.Errorf("%s.%s: %d is not in [0, %d]", field, f.name, f.v, MaxAmount))
		}
	}
	return errors.Join(errs...)
}

// Claim is one call admitted locally against a lease: the store turns it
// into the call's reservation, settled by the call's rows as a Reserve'd
// call is, unless those rows are already ingested.
type Claim struct {
	RequestID string
	Amounts   Amounts
}

// MaxClaims bounds the claims one LeaseInput carries (one reservation
// write each, in one transaction).
const MaxClaims = 256

// LeaseInput moves one holder's allowance for one user's quotas (or, with
// UserID "", the system budget), atomically, per active quota q:
//
//	lease(q) := lease(q) − Σ Claims(q) − Return(q) + grant(q)
//
// where the claims become reservations and grant(q) ≤ Want(q) is what fits:
// with U used, R the other holders' leases plus all reservations and L the
// limit, grant(q) = min(Want(q), L − U − R − lease(q)), refused when that is
// less than Need(q) unless the "alone" rule of store.Quotas admits exactly
// Need(q) (a token or cost quota with R = 0, lease(q) = 0 and U < L). So
// Σ leases + reservations + used ≤ limit holds at every commit, except for
// the one call the alone rule lets over. A lease not renewed within TTL
// expires and its allowance returns.
type LeaseInput struct {
	Holder string // the replica; one lease per (holder, quota)
	UserID string // "" is the system budget
	Claims []Claim
	Return Amounts // unused allowance given back
	Want   Amounts // more allowance wanted (beyond the lease)
	Need   Amounts // the least of Want that admits the waiting call; zero when none waits
	TTL    time.Duration
	// ClaimTTL is how long a claim's reservation holds if its rows never
	// come (the service died and the outbox was lost).
	ClaimTTL time.Duration
}

// Validate reports every problem at once, under ErrInvalid.
func (in LeaseInput) Validate() error {
	var errs []error
	if in.Holder == "" || len(in.Holder) > 128 {
		errs = append(errs, errors.New("holder: 1 to 128 bytes"))
	}
	if len(in.UserID) > 64 {
		errs = append(errs, errors.New("userId: at most 64 bytes"))
	}
	if len(in.Claims) > MaxClaims {
		errs = append(errs, fmt.Errorf("claims: %d is more than %d", len(in.Claims), MaxClaims))
	}
	for i, c := range in.Claims {
		if c.RequestID == "" || len(c.RequestID) > 256 {
			errs = append(errs, fmt.Errorf("claims[%d].requestId: 1 to 256 bytes", i))
		}
		errs = append(errs, c.Amounts.validate(fmt.Sprintf("claims[%d]", i)))
	}
	errs = append(errs, in.Return.validate("return"), in.Want.validate("want"), in.Need.validate("need"))
	if in.Need.Requests > in.Want.Requests || in.Need.Tokens > in.Want.Tokens || in.Need.Cost > in.Want.Cost {
		errs = append(errs, errors.New("need: more than want"))
	}
	if in.TTL < time.Second || in.TTL > time.Hour {
		errs = append(errs, fmt.Errorf("ttl: %v is not in [1s, 1h]", in.TTL))
	}
	if in.ClaimTTL < time.Second || in.ClaimTTL > time.Hour {
		errs = append(errs, fmt.Errorf("claimTtl: %v is not in [1s, 1h]", in.ClaimTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// LeasedQuota is one quota after a LeaseInput: what was granted and what
// the holder needs to size its next request.
type LeasedQuota struct {
	QuotaType string `json:"quotaType"`
	Granted   int64  `json:"granted"` // added to the holder's lease
	Lease     int64  `json:"lease"`   // the holder's lease now
	Limit     int64  `json:"limit"`
	Used      int64  `json:"used"`
	Others    int64  `json:"others"` // other holders' leases plus reservations
	ResetDate int64  `json:"resetDate"`
}

// Free is what no one holds: limit − used − others − lease, at least 0.
func (q LeasedQuota) Free() int64 { return max(0, q.Limit-q.Used-q.Others-q.Lease) }

// LeaseGrant answers a LeaseInput. Quotas lists every active quota of the
// user (or the system budget), none when there is none. Refused names the
// first quota that could not grant Need; the grants of the others stand.
type LeaseGrant struct {
	Quotas  []LeasedQuota
	Refused *QuotaExceeded
}

// Leases is the store's side of allowance leases (see package quotalease,
// which owns sizing and local admission): it only grants and settles,
// atomically.
type Leases interface {
	Lease(ctx context.Context, in LeaseInput) (LeaseGrant, error)
}

// GrantLease is the grant rule both engines apply (convex/lib/leases.ts
// mirrors it): the holder keeps of its lease what still fits (a limit
// lowered since the lease was granted, by an admin elsewhere or the CLI,
// cuts it), and is granted what of want fits beside that and the others'
// holdings; refused when need does not fit, unless the alone rule of
// Quotas admits exactly need. q carries the holder's lease after its
// claims and return; lease is the holder's lease after this grant.
func GrantLease(q LeasedQuota, want, need int64) (lease, grant int64, refused bool) {
	kept := min(q.Lease, max(0, q.Limit-q.Used-q.Others)) // each term ≤ MaxAmount: no overflow
	free := q.Limit - q.Used - q.Others - kept
	switch {
	case need <= free:
		grant = min(max(want, need), free)
		return kept + grant, grant, false
	case need == 0:
		return kept, 0, false
	case q.QuotaType != QuotaDailyRequests && q.Others == 0 && kept == 0 && q.Used < q.Limit:
		return need, need, false
	}
	return kept, 0, true
}

// QuotaChange records that a quota of UserID ("" for the system budget)
// was set or deleted, at At (ms, the store's clock). Replicas poll them to
// refresh that user's lease at once rather than at its next renewal.
type QuotaChange struct {
	ID     string `json:"id"`
	UserID string `json:"userId"`
	At     int64  `json:"at"`
}

// QuotaChangeList answers QuotaChanges: the changes after since, oldest
// first, at most MaxQuotaChanges; More when there were more (the caller
// then refreshes every user); Now is the store's clock at the read.
type QuotaChangeList struct {
	Changes []QuotaChange `json:"changes"`
	More    bool          `json:"more"`
	Now     int64         `json:"now"`
}

// MaxQuotaChanges bounds one QuotaChangeList.
const MaxQuotaChanges = 256

// QuotaChangeKeep is how long a change is kept for pollers; each recorded
// change sweeps a few older ones.
const QuotaChangeKeep = 24 * time.Hour

// QuotaChanges is the store's log of quota changes (see package
// quotalease, Options.Changes).
type QuotaChanges interface {
	QuotaChanges(ctx context.Context, since int64) (QuotaChangeList, error)
}

// LeaseRelease drops every lease a holder left: a replica restarted on the
// same data directory releases its predecessor's once the predecessor's
// calls are all delivered (quotalease.Predecessor), so their allowance
// need not wait out the lease's hold.
type LeaseRelease interface {
	// ReleaseHolder deletes up to MaxReleasedLeases of holder's leases and
	// says whether any are left.
	ReleaseHolder(ctx context.Context, holder string) (released int, more bool, err error)
}

// MaxReleasedLeases bounds one ReleaseHolder (one delete each, in one
// transaction).
const MaxReleasedLeases = 1000
