package quotalease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"llmmeter/internal/store"
)

// Options configure a Manager; Store is required.
type Options struct {
	Store  store.Leases
	Holder string // this replica's name in the store; default a random one
	// TTL is how long a lease is usable here without renewal; default 30s.
	TTL time.Duration
	// Hold is how much longer the store keeps a lease's allowance held
	// when its holder neither renews nor returns it (a crash); default 2
	// min. The calls the holder admitted since its last renewal are
	// unclaimed, so the store cannot tell them from unused allowance; held
	// past TTL, the allowance still covers them while a restarted replica
	// delivers their rows from its outbox (seconds, usually). Returning it
	// at TTL let other replicas lease it first: an outsider saw a daily
	// limit of 119 end 9 over after a kill -9.
	Hold time.Duration
	// ClaimTTL is how long an admitted call's reservation holds if its
	// rows never come; default 30 min.
	ClaimTTL time.Duration
	// Horizon is how much of a key's recent use a lease aims to cover;
	// default 2s.
	Horizon time.Duration
	// Changes, when set, is the store's log of quota changes, read every
	// PollEvery (default 1s) so a quota set elsewhere applies to a warm
	// user at once (see changes.go).
	Changes   store.QuotaChanges
	PollEvery time.Duration
	Now       func() time.Time
	// OnError hears of background renewals that failed (key "" is the
	// system budget); the next call of that key waits for a fresh lease.
	OnError func(key string, err error)
}

// Defaults of Options.
const (
	DefaultTTL      = 30 * time.Second
	DefaultHold     = 2 * time.Minute
	DefaultClaimTTL = 30 * time.Minute
	DefaultHorizon  = 2 * time.Second
)

// Stats count store round trips by kind.
type Stats struct {
	Waited     int64 // calls that waited for a lease (cold, exhausted, expired or refused)
	Background int64 // renewals and returns off the call path
}

// Manager holds one replica's leases; safe for concurrent use.
type Manager struct {
	opt  Options
	mu   sync.Mutex
	keys map[string]*entry
	// changesAt is the store's time at the last poll of quota changes (0:
	// none yet) and seen the changes read since changeOverlap before it;
	// the poller's own, under mu.
	changesAt  int64
	seen       map[string]int64
	bg         sync.WaitGroup
	waited     atomic.Int64
	background atomic.Int64
}

// New returns a Manager.
func New(opt Options) *Manager {
	if opt.Holder == "" {
		opt.Holder = NewHolder()
	}
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.Hold <= 0 {
		opt.Hold = DefaultHold
	}
	if opt.ClaimTTL <= 0 {
		opt.ClaimTTL = DefaultClaimTTL
	}
	if opt.Horizon <= 0 {
		opt.Horizon = DefaultHorizon
	}
	if opt.PollEvery <= 0 {
		opt.PollEvery = DefaultPollEvery
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.OnError == nil {
		opt.OnError = func(string, error) {}
	}
	return &Manager{opt: opt, keys: map[string]*entry{}, seen: map[string]int64{}}
}

// Holder is the name this Manager's leases carry in the store.
func (m *Manager) Holder() string { return m.opt.Holder }

// Stats reports the store round trips so far.
func (m *Manager) Stats() Stats {
	return Stats{Waited: m.waited.Load(), Background: m.background.Load()}
}

// Admit admits one call of userID whose use is at most est against the
// user's quotas and the system budget: nil when admitted, a
// *store.QuotaExceeded naming the first quota it would break, an error
// wrapping store.ErrInvalid when est is out of range, else the store's
// error (the call's fate is then the caller's policy).
func (m *Manager) Admit(ctx context.Context, requestID, userID string, est store.Amounts) error {
	if userID == "" || requestID == "" {
		return fmt.Errorf("quotalease: %w: user and request id are required", store.ErrInvalid)
	}
	if err := validAmounts(est); err != nil {
		return err
	}
	// Renewals start only once both keys answered, so the claim of a call
	// the second key refuses is still local and can be undone.
	defer m.renewIfDue(userID)
	if err := m.admitKey(ctx, userID, requestID, est); err != nil {
		return err
	}
	defer m.renewIfDue("")
	if err := m.admitKey(ctx, "", requestID, est); err != nil {
		m.undo(userID, requestID, est)
		return err
	}
	return nil
}

// renewIfDue starts a background renewal of key's lease when one is due.
func (m *Manager) renewIfDue(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.keys[key]; e != nil && e.ready {
		m.maybeRenew(e, m.opt.Now())
	}
}

func validAmounts(a store.Amounts) error {
	for _, v := range []int64{a.Requests, a.Tokens, int64(a.Cost)} {
		if v < 0 || v > store.MaxAmount {
			return fmt.Errorf("quotalease: %w: estimate %d is not in [0, %d]", store.ErrInvalid, v, store.MaxAmount)
		}
	}
	return nil
}

// admitKey admits the call against one key's lease, waiting for a lease
// when the local one cannot.
func (m *Manager) admitKey(ctx context.Context, key, requestID string, est store.Amounts) error {
	m.mu.Lock()
	e := m.entry(key)
	waiting, seen := false, uint64(0)
	defer func() {
		if waiting {
			e.waiting--
		}
		m.mu.Unlock()
	}()
	for {
		now := m.opt.Now()
		e.lastUse = now
		if e.usable(now, m.opt.TTL) && e.fits(est) {
			e.draw(requestID, est)
			return nil
		}
		if !waiting {
			waiting, seen = true, e.gen
			e.waiting++
			m.waited.Add(1)
			if e.ready { // the lease ran dry: size the next ones bigger
				e.boost, e.lastEst = min(max(2*e.boost, 2), maxBoost), est
			}
		} else if e.refused != nil && e.refusedGen > seen && est.Of(e.refused.QuotaType) > e.refused.Remaining {
			// A lease request that ended while this call waited found no
			// room for it either.
			qe := *e.refused
			return &qe
		}
		if e.busy != nil {
			ch := e.busy
			m.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				m.mu.Lock()
				return ctx.Err()
			}
			m.mu.Lock()
			continue
		}
		in := m.prepare(e, now, est, true)
		if err := m.run(ctx, e, in, now); err != nil {
			return err
		}
		if e.refused != nil && e.refusedGen == e.gen && !(e.usable(now, m.opt.TTL) && e.fits(est)) {
			qe := *e.refused
			return &qe
		}
	}
}

// entry returns key's entry, creating it; m.mu is held.
func (m *Manager) entry(key string) *entry {
	e := m.keys[key]
	if e == nil {
		e = &entry{key: key}
		m.keys[key] = e
	}
	return e
}

// undo gives back what a call drew from key's lease when it is refused by
// another key; a claim already sent (by a renewal another call of the same
// key started meanwhile) stays a reservation until it expires.
func (m *Manager) undo(key, requestID string, est store.Amounts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.keys[key]
	if e == nil {
		return
	}
	for i, c := range e.claims {
		if c.RequestID == requestID {
			e.claims = append(e.claims[:i:i], e.claims[i+1:]...)
			for j := range e.quotas {
				e.quotas[j].remaining = store.AddAmounts(e.quotas[j].remaining, est.Of(e.quotas[j].QuotaType))
			}
			return
		}
	}
}

// run sends in for e and applies the answer; m.mu is held, and released
// during the store call. On error nothing is known of what the store did:
// e then holds nothing locally and will send its claims again (the store
// takes a claim once).
func (m *Manager) run(ctx context.Context, e *entry, in store.LeaseInput, sentAt time.Time) error {
	done := make(chan struct{})
	e.busy = done
	m.mu.Unlock()
	t0 := time.Now()
	g, err := m.opt.Store.Lease(ctx, in)
	rtt := time.Since(t0)
	m.mu.Lock()
	e.rtt = rtt
	e.busy = nil
	close(done)
	e.gen++
	if err != nil {
		e.claims = append(in.Claims[:len(in.Claims):len(in.Claims)], e.claims...)
		for i := range e.quotas {
			e.quotas[i].remaining = 0
		}
		e.ready, e.stale = false, false
		return err
	}
	e.apply(g, sentAt)
	if e.stale {
		e.ready, e.stale = false, false
	}
	return nil
}

// maybeRenew starts a background renewal of e when one is due; m.mu is held.
func (m *Manager) maybeRenew(e *entry, now time.Time) {
	if e.busy == nil && e.renewalDue(now, m.opt.TTL, m.opt.Horizon) {
		m.renewAsync(e, m.prepare(e, now, store.Amounts{}, false), now)
	}
}

// renewAsync runs in off the call path; m.mu is held.
func (m *Manager) renewAsync(e *entry, in store.LeaseInput, now time.Time) {
	m.background.Add(1)
	done := make(chan struct{})
	e.busy = done // taken now, so no second renewal starts meanwhile
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), m.opt.TTL/3)
		defer cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		e.busy = nil
		close(done)
		if err := m.run(ctx, e, in, now); err != nil {
			m.opt.OnError(e.key, err)
		}
	}()
}

// Sweep renews leases that hold claims or allowance, or whose key had no
// quota at its last grant, and are a third of their TTL old, and returns
// the allowance of keys idle for a TTL. Run calls it; tests may call it
// with an injected clock.
func (m *Manager) Sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opt.Now()
	for key, e := range m.keys {
		if e.busy != nil || e.waiting > 0 {
			continue
		}
		idle := now.Sub(e.lastUse) >= m.opt.TTL
		switch {
		case idle && len(e.claims) == 0 && e.held() == 0:
			delete(m.keys, key)
		case idle && len(e.claims) == 0:
			in := m.prepare(e, now, store.Amounts{}, false)
			in.Want, in.Return = store.Amounts{}, e.takeAll()
			m.renewAsync(e, in, now)
		case (len(e.claims) > 0 || e.held() > 0 || e.ready && len(e.quotas) == 0) && now.Sub(e.sentAt) >= m.opt.TTL/3:
			// A key whose grant named no quota holds nothing, yet admits
			// every call locally: it is renewed all the same, so that a
			// quota created since applies from the next call.
			e.boost /= 2 // quiet enough that only age renews it
			m.renewAsync(e, m.prepare(e, now, store.Amounts{}, false), now)
		}
	}
}

// Run sweeps every TTL/6 and reads the quota changes every PollEvery
// until ctx ends, then returns every lease (Close).
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.opt.TTL / 6)
	defer t.Stop()
	var poll <-chan time.Time
	if m.opt.Changes != nil {
		p := time.NewTicker(m.opt.PollEvery)
		defer p.Stop()
		poll = p.C
	}
	for {
		select {
		case <-t.C:
			m.Sweep()
		case <-poll:
			// A failed read is not reported: it fails when the store is
			// out of reach, and the renewals failing then are, every one.
			// Changes apply at the next renewal meanwhile, as without
			// the log.
			pctx, cancel := context.WithTimeout(ctx, m.opt.TTL/3)
			_ = m.pollChanges(pctx)
			cancel()
		case <-ctx.Done():
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := m.Close(closeCtx); err != nil {
				m.opt.OnError("", err)
			}
			return
		}
	}
}

// Close waits for background renewals, then sends every key's claims and
// returns its allowance, so another replica can use it at once. Nothing is
// held afterwards, so a later call waits for a fresh lease, which also sees
// quotas set since (a key without quotas would otherwise go on admitting
// locally until its lease aged out).
func (m *Manager) Close(ctx context.Context) error {
	m.bg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for key, e := range m.keys {
		if e.busy != nil {
			continue
		}
		if len(e.claims) == 0 && e.held() == 0 {
			e.ready = false
			continue
		}
		now := m.opt.Now()
		in := m.prepare(e, now, store.Amounts{}, false)
		in.Want, in.Return = store.Amounts{}, e.takeAll()
		if err := m.run(ctx, e, in, now); err != nil {
			errs = append(errs, fmt.Errorf("quotalease: return the lease of %q: %w", key, err))
		}
		e.ready = false
	}
	return errors.Join(errs...)
}

// Refresh makes the next call of userID ("" for the system budget) wait for
// a fresh lease instead of admitting from the one held: its quotas changed
// (an admin set, raised or lowered one), and a warm lease would otherwise
// apply the old ones until its next renewal (TTL/3). Claims already
// admitted go with that request as always.
func (m *Manager) Refresh(userID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.keys[userID]; e != nil {
		e.refresh()
	}
}
