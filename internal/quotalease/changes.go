package quotalease

import (
	"context"
	"time"
)

// Quota changes made elsewhere (another replica's admin, Convex's portal,
// the CLI on the embedded store) reach a warm lease only at its next
// renewal, up to TTL/3 later: a quota created for a user with none let 30
// calls a replica through in 9.3 s. The Manager polls the store's log of
// changes (Options.Changes) every PollEvery and refreshes the leases of the
// users named, so such a change applies within about a second.

// changeOverlap is how far back each poll reads before the last one's
// time: a change is stamped when its transaction starts and can commit
// after a poll that read past its stamp (Convex's mutations run at most a
// second). Changes seen already are skipped by id.
const changeOverlap = 5 * time.Second

// DefaultPollEvery is how often the log of quota changes is read.
const DefaultPollEvery = time.Second

// pollChanges reads the changes since the last poll and refreshes the
// leases of the users they name; every lease on the first poll and when
// more changed than one answer holds. It reads nothing while no key is
// held.
func (m *Manager) pollChanges(ctx context.Context) error {
	m.mu.Lock()
	since := max(0, m.changesAt-changeOverlap.Milliseconds())
	idle := len(m.keys) == 0
	m.mu.Unlock()
	if idle {
		// No lease to refresh: a key made later asks the store first
		// anyway. Skipping keeps an idle replica from calling the store
		// every second (on Convex each read is a billed function call).
		return nil
	}
	list, err := m.opt.Changes.QuotaChanges(ctx, since)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	all := list.More || m.changesAt == 0
	for _, c := range list.Changes {
		if _, ok := m.seen[c.ID]; ok {
			continue
		}
		m.seen[c.ID] = c.At
		if e := m.keys[c.UserID]; e != nil && !all {
			e.refresh()
		}
	}
	if all {
		for _, e := range m.keys {
			e.refresh()
		}
	}
	m.changesAt = list.Now
	for id, at := range m.seen {
		if at <= list.Now-2*changeOverlap.Milliseconds() {
			delete(m.seen, id) // older than any later poll reads
		}
	}
	return nil
}
