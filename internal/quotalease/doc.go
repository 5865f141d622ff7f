// Package quotalease admits calls against quotas without a store round
// trip: each replica (a Manager, one holder) leases an allowance per user
// (and one for the system budget) from the store, admits calls locally
// against it, and renews it asynchronously before it runs out. It is the
// one owner of the lease logic for both engines: sizing, local admission,
// renewal; the stores only grant and settle atomically (store.Leases).
//
// Guarantees:
//   - Strictness. A call is admitted only when every quota of its key has
//     the call's estimate left in the lease, so Σ(leases) + reservations +
//     used ≤ limit holds as the store granted it; near a limit the store
//     grants no more than a call needs, which is the per-call reservation.
//     Token and cost quotas keep the store's "alone" rule: one call may
//     take a quota over its limit, by at most that call's actual use beyond
//     its estimate.
//   - Settlement. Each admitted call becomes a claim, sent with the next
//     renewal; the store turns it into the call's reservation (settled by
//     its rows) or drops it if the rows are already in.
//   - No store call on the hot path in steady state: a warm key is renewed
//     in the background when a third of the TTL has passed or less than
//     half of the sized lease is left. A cold key (first call of a user, or
//     a lease that expired or whose renewal failed) waits for one round
//     trip, bounded by the caller's context (QUOTA_CHECK_TIMEOUT).
//   - A crashed replica stops renewing; the store holds its leases for
//     Hold past their TTL, then their allowance returns. The calls it
//     admitted and had not yet claimed are inside those leases, so they
//     stay covered while a restarted replica delivers their rows; rows
//     that arrive later than that (a replica that never comes back, its
//     calls recovered elsewhere) count only when they arrive.
//
// Not guaranteed: fairness between replicas beyond the sizing rule (a
// lease takes at most half the unheld headroom beyond what waiting calls
// need), and a quota set elsewhere is seen by a warm key only at the next
// read of the store's log of changes (Options.Changes, every PollEvery),
// or without the log at its next renewal (within TTL/3).
package quotalease
