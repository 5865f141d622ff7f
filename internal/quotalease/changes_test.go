package quotalease

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// changeLog is a store.QuotaChanges that answers from a script and
// remembers what it was asked.
type changeLog struct {
	mu      sync.Mutex
	answers []store.QuotaChangeList
	err     error
	sinces  []int64
	asked   chan struct{}
}

func (l *changeLog) QuotaChanges(_ context.Context, since int64) (store.QuotaChangeList, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinces = append(l.sinces, since)
	if l.asked != nil {
		select {
		case l.asked <- struct{}{}:
		default:
		}
	}
	if l.err != nil {
		return store.QuotaChangeList{}, l.err
	}
	if len(l.answers) == 0 {
		return store.QuotaChangeList{Now: 1}, nil
	}
	a := l.answers[0]
	l.answers = l.answers[1:]
	return a, nil
}

// TestPollChanges: the first read refreshes every lease (nothing is known
// of what changed before); later reads start changeOverlap before the
// last one's time, refresh only the users named, each change once however
// often the overlap returns it, every lease when more changed than one
// answer holds; changes older than any later read reaches are forgotten;
// a failed read changes nothing.
func TestPollChanges(t *testing.T) {
	log := &changeLog{}
	m := New(Options{Store: &recorder{}, Changes: log})
	m.keys = map[string]*entry{"u1": {key: "u1", ready: true}, "u2": {key: "u2", ready: true}, "": {key: "", ready: true}}
	ready := func() (out [3]bool) {
		for i, k := range []string{"u1", "u2", ""} {
			out[i] = m.keys[k].ready
		}
		return out
	}
	readyAll := func() {
		for _, e := range m.keys {
			e.ready = true
		}
	}
	c1 := store.QuotaChange{ID: "c1", UserID: "u1", At: 99_000}
	c2 := store.QuotaChange{ID: "c2", UserID: "", At: 100_500}
	log.answers = []store.QuotaChangeList{
		{Now: 100_000, Changes: []store.QuotaChange{c1}},
		{Now: 101_000, Changes: []store.QuotaChange{c1}},
		{Now: 102_000, Changes: []store.QuotaChange{c1, c2}},
		{Now: 103_000, More: true},
		{Now: 120_000},
	}
	poll := func() {
		t.Helper()
		if err := m.pollChanges(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	poll()
	if ready() != [3]bool{} || m.changesAt != 100_000 {
		t.Fatalf("first read: ready %v, at %d; want every lease refreshed", ready(), m.changesAt)
	}
	readyAll()
	poll() // c1 again, from the overlap: seen
	if ready() != [3]bool{true, true, true} {
		t.Fatalf("a change seen before refreshed again: %v", ready())
	}
	poll()
	if ready() != [3]bool{true, true, false} {
		t.Fatalf("after the system budget's change: %v", ready())
	}
	readyAll()
	poll()
	if ready() != [3]bool{} {
		t.Fatalf("more changes than an answer holds: %v, want every lease refreshed", ready())
	}
	if want := []int64{0, 95_000, 96_000, 97_000}; len(log.sinces) != 4 || log.sinces[1] != want[1] || log.sinces[2] != want[2] || log.sinces[3] != want[3] || log.sinces[0] != 0 {
		t.Fatalf("read since %v, want %v", log.sinces, want)
	}
	if len(m.seen) != 2 {
		t.Fatalf("seen %v", m.seen)
	}
	poll() // at 120,000 both are older than any later read reaches
	if len(m.seen) != 0 {
		t.Fatalf("seen %v after 20 s, want none", m.seen)
	}
	readyAll()
	log.err = errors.New("store down")
	if err := m.pollChanges(context.Background()); err == nil || m.changesAt != 120_000 || ready() != [3]bool{true, true, true} {
		t.Fatalf("failed read: %v, at %d, ready %v", err, m.changesAt, ready())
	}
}

// TestPollChangesKeepsSeenUntilTheOverlapPasses: a change exactly as old
// as a later read can still return is kept, one a millisecond older goes.
func TestPollChangesKeepsSeenUntilTheOverlapPasses(t *testing.T) {
	edge := 100_000 - 2*changeOverlap.Milliseconds()
	log := &changeLog{answers: []store.QuotaChangeList{{Now: 100_000, Changes: []store.QuotaChange{
		{ID: "old", At: edge}, {ID: "kept", At: edge + 1}}}}}
	m := New(Options{Store: &recorder{}, Changes: log})
	m.keys["u1"] = &entry{key: "u1"}
	if err := m.pollChanges(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.seen["kept"]; !ok || len(m.seen) != 1 {
		t.Fatalf("seen %v, want only kept", m.seen)
	}
}

// TestRunPollsChanges: Run reads the changes every PollEvery, and not at
// all without a log.
func TestRunPollsChanges(t *testing.T) {
	log := &changeLog{asked: make(chan struct{}, 1)}
	m := New(Options{Store: &recorder{}, Changes: log, PollEvery: 10 * time.Millisecond})
	m.keys["u1"] = &entry{key: "u1", ready: true, lastUse: time.Now().Add(time.Hour)} // held, not idle
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	for range 3 {
		select {
		case <-log.asked:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not read the quota changes")
		}
	}
	cancel()
	<-done
	if New(Options{Store: &recorder{}}).opt.PollEvery != DefaultPollEvery || DefaultPollEvery != time.Second {
		t.Fatalf("PollEvery default %v", DefaultPollEvery)
	}
}

// TestPollChangesSkipsAnIdleReplica: with no key held nothing is read (a
// replica with no traffic makes no store call a second); the first read
// once a key exists starts where the last one ended.
func TestPollChangesSkipsAnIdleReplica(t *testing.T) {
	log := &changeLog{answers: []store.QuotaChangeList{{Now: 50_000}, {Now: 60_000}}}
	m := New(Options{Store: &recorder{}, Changes: log})
	m.keys["u1"] = &entry{key: "u1", ready: true}
	if err := m.pollChanges(context.Background()); err != nil {
		t.Fatal(err)
	}
	delete(m.keys, "u1")
	for range 3 {
		if err := m.pollChanges(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(log.sinces) != 1 {
		t.Fatalf("an idle replica read the changes %d times", len(log.sinces))
	}
	m.keys["u2"] = &entry{key: "u2", ready: true}
	if err := m.pollChanges(context.Background()); err != nil || len(log.sinces) != 2 || log.sinces[1] != 45_000 {
		t.Fatalf("read since %v (%v), want 45,000 second", log.sinces, err)
	}
}

// heldLeases is a store whose Lease waits for open, then grants a lease of
// 100 requests on a daily_requests quota.
type heldLeases struct {
	open chan struct{}
}

func (h *heldLeases) Lease(ctx context.Context, in store.LeaseInput) (store.LeaseGrant, error) {
	<-h.open
	return store.LeaseGrant{Quotas: []store.LeasedQuota{{QuotaType: store.QuotaDailyRequests, Limit: 1000, Granted: 100, Lease: 100}}}, nil
}

// TestRefreshDuringARenewal: a key refreshed while its renewal is out
// stays unready when that renewal's answer comes (it may have been read
// before the change), so its next call asks again. The answer used to make
// the key ready on the old quotas until its next renewal.
func TestRefreshDuringARenewal(t *testing.T) {
	h := &heldLeases{open: make(chan struct{})}
	m := New(Options{Store: h})
	m.mu.Lock()
	e := m.entry("u1")
	m.renewAsync(e, m.prepare(e, time.Now(), store.Amounts{}, false), time.Now())
	m.mu.Unlock()
	m.Refresh("u1")
	close(h.open)
	m.bg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.ready || e.stale || len(e.quotas) != 1 {
		t.Fatalf("after a renewal that was out during a refresh: ready %v, stale %v, quotas %v", e.ready, e.stale, e.quotas)
	}
}
