package quotalease

import (
	"math"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// entry is one key's lease: a user's quotas, or (key "") the system
// budget. Guarded by Manager.mu.
type entry struct {
	key    string
	quotas []quota // the key's active quotas at the last grant
	ready  bool    // a grant arrived and no request failed since
	// stale: the key's quotas changed while a request was out, so its
	// answer may predate the change and must not make the key ready.
	stale   bool
	sentAt  time.Time
	claims  []store.Claim // admitted calls not yet sent
	busy    chan struct{} // closed when the request in flight ends
	waiting int           // calls waiting for a lease
	gen     uint64        // requests ended
	// refused is the last refusal, by the request that ended as gen
	// refusedGen.
	refused    *store.QuotaExceeded
	refusedGen uint64
	rate       rates // use per second, smoothed
	// boost grows (doubling) each time calls find a known lease empty, and
	// sizes leases as boost × the last call's estimate until the smoothed
	// rate catches up with a burst; an idle renewal halves it.
	boost     int64
	lastEst   store.Amounts
	drawn     store.Amounts
	rateSince time.Time
	lastUse   time.Time
	rtt       time.Duration // how long the last lease request took
}

// quota is one quota's share of the lease.
type quota struct {
	store.LeasedQuota       // the store's view at the last grant
	remaining         int64 // what the lease still admits locally
}

// rates are a key's use per second, per unit.
type rates struct{ requests, tokens, cost float64 }

func (r rates) of(t string) float64 {
	switch {
	case t == store.QuotaDailyRequests:
		return r.requests
	case t == store.QuotaMonthlyTokens:
		return r.tokens
	}
	return r.cost
}

// usable: the lease is known and certainly still held by the store, which
// counts its TTL from when it received the request (after sentAt); a tenth
// of the TTL is left as margin.
func (e *entry) usable(now time.Time, ttl time.Duration) bool {
	return e.ready && now.Before(e.sentAt.Add(ttl-ttl/10))
}

// fits: every quota of the key has est left.
func (e *entry) fits(est store.Amounts) bool {
	for _, q := range e.quotas {
		if est.Of(q.QuotaType) > q.remaining {
			return false
		}
	}
	return true
}

func (e *entry) draw(requestID string, est store.Amounts) {
	for i := range e.quotas {
		e.quotas[i].remaining -= est.Of(e.quotas[i].QuotaType)
	}
	if len(e.quotas) > 0 {
		e.claims = append(e.claims, store.Claim{RequestID: requestID, Amounts: est})
	}
	e.drawn = add(e.drawn, est)
}

func add(a, b store.Amounts) store.Amounts {
	return store.Amounts{Requests: store.AddAmounts(a.Requests, b.Requests), Tokens: store.AddAmounts(a.Tokens, b.Tokens),
		Cost: money.Nanos(store.AddAmounts(int64(a.Cost), int64(b.Cost)))}
}

func scale(a store.Amounts, n int) store.Amounts {
	k := int64(max(n, 1))
	return store.Amounts{Requests: store.MulAmounts(a.Requests, k), Tokens: store.MulAmounts(a.Tokens, k),
		Cost: money.Nanos(store.MulAmounts(int64(a.Cost), k))}
}

// held is what the lease still admits locally, all quotas together (0 or
// not is all that matters).
func (e *entry) held() int64 {
	var sum int64
	for _, q := range e.quotas {
		sum = store.AddAmounts(sum, q.remaining)
	}
	return sum
}

// takeAll empties the local lease and returns it, to give back.
func (e *entry) takeAll() store.Amounts {
	var a store.Amounts
	for i := range e.quotas {
		a = a.Set(e.quotas[i].QuotaType, e.quotas[i].remaining)
		e.quotas[i].remaining = 0
	}
	return a
}

// renewalDue: a third of the TTL has passed, some quota is below half of
// what the key uses in a horizon (or empty), or the claims pile up.
func (e *entry) renewalDue(now time.Time, ttl, horizon time.Duration) bool {
	if now.Sub(e.sentAt) >= ttl/3 || len(e.claims) >= store.MaxClaims/2 {
		return true
	}
	// The use since the last request counts at once: a lease sized for a
	// slower rate is topped up before it runs dry, not after.
	cur := e.current(now)
	for _, q := range e.quotas {
		t := max(e.targetOf(q.QuotaType, horizon), target(cur.of(q.QuotaType), max(horizon, 4*e.rtt)))
		if q.remaining == 0 || q.remaining < t/2 {
			return true
		}
	}
	return false
}

// maxBoost bounds the slow start: a lease is at most this many calls'
// estimates beyond what the rate asks (and half the headroom in any case).
const maxBoost = 1 << 16

// targetOf is what e's lease of quota type t aims to cover: the use of a
// horizon, or of four lease requests if the store is slower than that, so
// the lease outlasts the renewal that tops it up.
func (e *entry) targetOf(t string, horizon time.Duration) int64 {
	return max(target(e.rate.of(t), max(horizon, 4*e.rtt)), store.MulAmounts(e.lastEst.Of(t), e.boost))
}

// target is the use a lease aims to cover: rate over horizon, rounded up.
func target(rate float64, horizon time.Duration) int64 {
	t := math.Ceil(rate * horizon.Seconds())
	if t >= float64(store.MaxAmount) {
		return store.MaxAmount
	}
	return int64(t)
}

// observeRate folds the use since the last request into the rate: up at
// once to what was just seen, down by halves. A window is at least
// minRateWindow, so a burst right after a grant does not read as a huge
// rate.
func (e *entry) observeRate(now time.Time) {
	if e.rateSince.IsZero() {
		e.rateSince = now
		return
	}
	inst := e.current(now)
	e.rate = rates{max(inst.requests, (e.rate.requests+inst.requests)/2), max(inst.tokens, (e.rate.tokens+inst.tokens)/2),
		max(inst.cost, (e.rate.cost+inst.cost)/2)}
	e.drawn, e.rateSince = store.Amounts{}, now
}

// current is the rate of the use since the last request.
func (e *entry) current(now time.Time) rates {
	secs := max(now.Sub(e.rateSince).Seconds(), minRateWindow.Seconds())
	return rates{float64(e.drawn.Requests) / secs, float64(e.drawn.Tokens) / secs, float64(e.drawn.Cost) / secs}
}

// minRateWindow is the shortest window a rate is measured over.
const minRateWindow = 50 * time.Millisecond

// want sizes one quota's request. In the background: top the lease up to
// the target. For a waiting call: what it needs (times the calls waiting
// with it, which may be alike), or its need plus the target. Either way the
// part beyond need is at most half the headroom no one held at the last
// grant, so near the limit a lease shrinks to the call itself.
func want(q quota, t int64, need int64, waiting int, sync bool) int64 {
	share := q.Free() / 2
	if !sync {
		return min(max(0, t-q.remaining), share)
	}
	return max(store.MulAmounts(need, int64(max(waiting, 1))), store.AddAmounts(need, min(t, share)))
}

// prepare builds the next request of e and takes its claims; for a
// waiting call (sync) it also gives back the local lease, so the store
// sees the holder's whole position and the alone rule can apply.
func (m *Manager) prepare(e *entry, now time.Time, est store.Amounts, sync bool) store.LeaseInput {
	// The store holds the lease Hold past the TTL this replica uses it for
	// (see Options.Hold).
	in := store.LeaseInput{Holder: m.opt.Holder, UserID: e.key, TTL: m.opt.TTL + m.opt.Hold, ClaimTTL: m.opt.ClaimTTL}
	n := min(len(e.claims), store.MaxClaims)
	in.Claims = append([]store.Claim(nil), e.claims[:n]...)
	e.claims = append(e.claims[:0:0], e.claims[n:]...)
	e.observeRate(now)
	if sync {
		in.Need, in.Want = est, est
		waiting := e.waiting
		in.Return = e.takeAll()
		for _, q := range e.quotas {
			in.Want = in.Want.Set(q.QuotaType, want(q, e.targetOf(q.QuotaType, m.opt.Horizon), est.Of(q.QuotaType), waiting, true))
		}
		if len(e.quotas) == 0 { // cold: no view yet, so take what the waiting calls need
			in.Want = scale(est, waiting)
		}
		return in
	}
	for _, q := range e.quotas {
		in.Want = in.Want.Set(q.QuotaType, want(q, e.targetOf(q.QuotaType, m.opt.Horizon), 0, 0, false))
	}
	return in
}

// apply takes a grant: the store's view of each active quota, and what
// was added to the lease.
func (e *entry) apply(g store.LeaseGrant, sentAt time.Time) {
	var unsent store.Amounts // drawn while the request was out: inside the store's lease
	for _, c := range e.claims {
		unsent = add(unsent, c.Amounts)
	}
	next := make([]quota, 0, len(g.Quotas))
	for _, lq := range g.Quotas {
		q := quota{LeasedQuota: lq, remaining: lq.Granted}
		for _, old := range e.quotas {
			if old.QuotaType == lq.QuotaType {
				q.remaining = store.AddAmounts(old.remaining, lq.Granted)
			}
		}
		// Never more than the store holds for us: if the lease expired
		// there while the request was slow, the local one goes with it.
		q.remaining = min(q.remaining, max(0, lq.Lease-unsent.Of(lq.QuotaType)))
		next = append(next, q)
	}
	e.quotas, e.ready, e.sentAt = next, true, sentAt
	if g.Refused != nil {
		e.refused, e.refusedGen = g.Refused, e.gen
	}
}

// refresh makes the key's next call wait for a fresh lease (its quotas
// changed), including when a request is out: the answer of a request sent
// before the change would otherwise make the key ready on the old quotas
// until its next renewal.
func (e *entry) refresh() {
	e.ready = false
	if e.busy != nil {
		e.stale = true
	}
}
