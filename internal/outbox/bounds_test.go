package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"llmmeter/internal/logtest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/sqlitedb"
	"llmmeter/internal/store"
)

// TestDefaults: defaults fill exactly the zero and negative fields and
// leave the ones set, however small.
func TestDefaults(t *testing.T) {
	want := Delivery{MaxBatchRows: 2000, Linger: 100 * time.Millisecond, MinBackoff: 250 * time.Millisecond,
		MaxBackoff: 30 * time.Second, ResolveEvery: 500 * time.Millisecond, ResolveConcurrency: 8}
	set := Delivery{MaxBatchRows: 1, Linger: 1, MinBackoff: 1, MaxBackoff: 1, ResolveEvery: 1, ResolveConcurrency: 1}
	cases := []struct {
		name string
		in   Delivery
		want Delivery
	}{
		// Zero values take the documented defaults.
		{"zero", Delivery{}, want},
		// Negative values are as unusable as zero ones.
		{"negative", Delivery{MaxBatchRows: -1, Linger: -1, MinBackoff: -1, MaxBackoff: -1, ResolveEvery: -1, ResolveConcurrency: -1}, want},
		// The smallest positive values are the caller's choice and stay.
		{"set", set, set},
		// Only the zero fields change.
		{"mixed", Delivery{MaxBatchRows: 7, MinBackoff: time.Second, ResolveConcurrency: 3},
			Delivery{MaxBatchRows: 7, Linger: want.Linger, MinBackoff: time.Second, MaxBackoff: want.MaxBackoff, ResolveEvery: want.ResolveEvery, ResolveConcurrency: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.in
			d.defaults()
			got := [6]int64{int64(d.MaxBatchRows), int64(d.Linger), int64(d.MinBackoff), int64(d.MaxBackoff), int64(d.ResolveEvery), int64(d.ResolveConcurrency)}
			exp := [6]int64{int64(c.want.MaxBatchRows), int64(c.want.Linger), int64(c.want.MinBackoff), int64(c.want.MaxBackoff), int64(c.want.ResolveEvery), int64(c.want.ResolveConcurrency)}
			if got != exp {
				t.Fatalf("after defaults %v, want %v", got, exp)
			}
		})
	}
}

// TestBackoff: the wait doubles from min per attempt up to max, and is
// drawn from [d/2, d], reaching both ends.
func TestBackoff(t *testing.T) {
	cases := []struct {
		name     string
		min, max time.Duration
		attempt  int
		want     time.Duration // d: the wait lies in [d/2, d]
	}{
		// The first attempt waits min, not 2·min.
		{"first", 2, 16, 1, 2},
		// Each further attempt doubles it ...
		{"second", 2, 16, 2, 4},
		{"third", 2, 16, 3, 8},
		// ... until it reaches max exactly ...
		{"at the cap", 2, 16, 4, 16},
		// ... and stays there, however many attempts.
		{"past the cap", 2, 16, 5, 16},
		{"far past the cap", 2, 16, 1000, 16},
		// A doubling that overshoots max is cut back to it.
		{"overshoot", 3, 16, 4, 16},
		// min above max: max wins from the first attempt.
		{"min above max", 20, 16, 1, 16},
		// Attempt 0 (a caller's zero value) waits min.
		{"attempt zero", 2, 16, 0, 2},
		// The defaults: 250ms doubling to the 30s cap at the 8th attempt.
		{"defaults early", 250 * time.Millisecond, 30 * time.Second, 3, time.Second},
		{"defaults capped", 250 * time.Millisecond, 30 * time.Second, 8, 30 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lo, hi := c.want/2, c.want
			sawLo, sawHi := false, false
			for range 2000 {
				got := backoff(c.min, c.max, c.attempt)
				if got < lo || got > hi {
					t.Fatalf("backoff(%v, %v, %d) = %v, want within [%v, %v]", c.min, c.max, c.attempt, got, lo, hi)
				}
				sawLo = sawLo || got == lo
				sawHi = sawHi || got == hi
			}
			// Both ends are drawn (the jitter spans the whole upper half);
			// only checkable where the range is small.
			if c.want <= 16 && (!sawLo || !sawHi) {
				t.Fatalf("backoff(%v, %v, %d) never drew %v (%t) or %v (%t)", c.min, c.max, c.attempt, lo, sawLo, hi, sawHi)
			}
		})
	}
}

// TestReadyBatchPacksUpToMaxRows: ReadyBatch returns the oldest entries
// holding at most maxRows rows together, stops at the first that would not
// fit, and always returns at least one entry.
func TestReadyBatchPacksUpToMaxRows(t *testing.T) {
	cases := []struct {
		name    string
		rows    []int // rows per entry, oldest first
		maxRows int
		want    int // entries returned
	}{
		// Entries that fill maxRows exactly all go.
		{"exact fit", []int{1, 1, 1, 1, 1}, 3, 3},
		// One row short of the next entry: it stays.
		{"next would overflow", []int{2, 2, 2}, 5, 2},
		// Multi-row entries add up to exactly maxRows.
		{"exact fit of larger entries", []int{2, 3, 4}, 5, 2},
		// An entry larger than maxRows still ships, alone.
		{"oversized first", []int{3, 1}, 2, 1},
		// The packing stops at the first entry that does not fit, even if
		// a later, smaller one would (oldest first).
		{"no skipping", []int{1, 3, 1}, 2, 1},
		// Fewer rows than maxRows: everything.
		{"all fit", []int{1, 2}, 10, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, _ := clocked(t)
			ctx := context.Background()
			for i, n := range c.rows {
				var b store.Batch
				for j := range n {
					b.RequestLogs = append(b.RequestLogs, logBatch(fmt.Sprint("e", i, "r", j)).RequestLogs...)
				}
				if err := o.Put(ctx, fmt.Sprint("e", i), Ready, b); err != nil {
					t.Fatal(err)
				}
			}
			es, err := o.ReadyBatch(ctx, c.maxRows)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != c.want {
				t.Fatalf("%d entries, want %d", len(es), c.want)
			}
			for i, e := range es {
				if e.Key != fmt.Sprint("e", i) || e.Batch.Len() != c.rows[i] {
					t.Fatalf("entry %d is %s with %d rows, want the oldest first", i, e.Key, e.Batch.Len())
				}
			}
		})
	}
}

// TestListDoesNotPack: List limits by entries, not rows.
func TestListDoesNotPack(t *testing.T) {
	o, _ := clocked(t)
	ctx := context.Background()
	for i := range 4 {
		if err := o.Put(ctx, fmt.Sprint("e", i), Ready, store.Batch{RequestLogs: append(logBatch("a").RequestLogs, logBatch("b").RequestLogs...)}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := o.List(ctx, Ready, 3, o.now())
	if err != nil || len(es) != 3 {
		t.Fatalf("%d entries, %v; want 3", len(es), err)
	}
}

// TestStats: counts by state, and the age of the oldest ready or pending
// entry; dead entries count but are no part of OldestMs.
func TestStats(t *testing.T) {
	type put struct {
		key   string
		state State
		after time.Duration // clock advance before the put
	}
	cases := []struct {
		name string
		puts []put
		then time.Duration // clock advance before Stats
		want Stats
	}{
		// Nothing: all zero.
		{"empty", nil, time.Second, Stats{}},
		// The pending entry is the oldest.
		{"pending oldest", []put{{"p", Pending, 0}, {"r", Ready, 2 * time.Second}}, time.Second,
			Stats{Ready: 1, Pending: 1, OldestMs: 3000, OldestReadyMs: 1000}},
		// The ready entry is the oldest.
		{"ready oldest", []put{{"r", Ready, 0}, {"p", Pending, 2 * time.Second}}, time.Second,
			Stats{Ready: 1, Pending: 1, OldestMs: 3000, OldestReadyMs: 3000}},
		// An older dead entry is counted but does not age the live ones.
		{"dead oldest", []put{{"d", Dead, 0}, {"r", Ready, 10 * time.Second}, {"r2", Ready, time.Second}}, time.Second,
			Stats{Ready: 2, Dead: 1, OldestMs: 2000, OldestReadyMs: 2000}},
		// Only dead entries: no age.
		{"only dead", []put{{"d", Dead, 0}, {"d2", Dead, 0}}, time.Minute, Stats{Dead: 2}},
		// A clock that went back reports no negative ages.
		{"clock went back", []put{{"r", Ready, 0}}, -time.Minute, Stats{Ready: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, advance := clocked(t)
			ctx := context.Background()
			for _, p := range c.puts {
				advance(p.after)
				if err := o.Put(ctx, p.key, p.state, logBatch(p.key)); err != nil {
					t.Fatal(err)
				}
			}
			advance(c.then)
			st, err := o.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st != c.want {
				t.Fatalf("stats %+v, want %+v", st, c.want)
			}
			if o.Depth() != int64(c.want.Ready+c.want.Pending) {
				t.Fatalf("depth %d after Stats, want %d", o.Depth(), c.want.Ready+c.want.Pending)
			}
		})
	}
}

// TestBacklogThresholds: a ready entry is a backlog from exactly
// backlogAfter on; a dead one at once; the warning repeats from exactly
// backlogWarnEvery after the last one.
func TestBacklogThresholds(t *testing.T) {
	cases := []struct {
		name  string
		state State
		ages  []time.Duration // clock advances, a report after each
		want  []int           // warnings so far after each report
	}{
		// One millisecond short of backlogAfter: the normal flow.
		{"just young", Ready, []time.Duration{backlogAfter - time.Millisecond}, []int{0}},
		// Exactly backlogAfter: a backlog.
		{"just old", Ready, []time.Duration{backlogAfter}, []int{1}},
		// Repeats one millisecond short of a minute stay quiet; at a minute
		// exactly the warning comes again.
		{"repeat", Ready, []time.Duration{backlogAfter, backlogWarnEvery - time.Millisecond, time.Millisecond}, []int{1, 1, 2}},
		// A dead entry warns at once, at any age.
		{"dead", Dead, []time.Duration{0}, []int{1}},
		// A pending entry never does.
		{"pending", Pending, []time.Duration{time.Hour}, []int{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, advance := clocked(t)
			ctx := context.Background()
			var log logtest.Buffer
			d := &Delivery{Outbox: o, Log: zerolog.New(&log)}
			if err := o.Put(ctx, "k", c.state, logBatch("k")); err != nil {
				t.Fatal(err)
			}
			for i, age := range c.ages {
				advance(age)
				d.report(ctx)
				if n := messages(&log, "outbox backlog"); n != c.want[i] {
					t.Fatalf("report %d: %d warnings, want %d", i, n, c.want[i])
				}
			}
		})
	}
}

// TestStallKeepsExactlyMaxStalled: the bound drops exactly the oldest
// entries beyond MaxStalled, keeps the newest in order, and calls OnLost
// only when something was dropped, with every key of a dropped request.
func TestStallKeepsExactlyMaxStalled(t *testing.T) {
	cases := []struct {
		name     string
		n        int // single-row requests stalled one at a time
		lost     int
		lostHook int // OnLost calls
	}{
		// Exactly MaxStalled: nothing is lost, OnLost is not called.
		{"at the bound", MaxStalled, 0, 0},
		// One more: the oldest is lost.
		{"one over", MaxStalled + 1, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &Outbox{}
			var lost []string
			calls := 0
			o.OnLost = func(keys []string) { calls++; lost = append(lost, keys...) }
			for i := range c.n {
				o.stall([]putReq{{rows: []putRow{{key: fmt.Sprint(i)}}}})
			}
			if len(o.stalled) != min(c.n, MaxStalled) || len(lost) != c.lost || calls != c.lostHook {
				t.Fatalf("stalled %d, lost %d in %d calls", len(o.stalled), len(lost), calls)
			}
			for i, k := range lost {
				if k != fmt.Sprint(i) {
					t.Fatalf("lost %v, want the oldest", lost)
				}
			}
			if first := o.stalled[0].rows[0].key; first != fmt.Sprint(c.lost) {
				t.Fatalf("oldest kept is %s, want %d", first, c.lost)
			}
		})
	}

	// A stalled group of two-row requests: a dropped request loses both keys.
	o := &Outbox{}
	var lost []string
	o.OnLost = func(keys []string) { lost = append(lost, keys...) }
	group := make([]putReq, MaxStalled+1)
	for i := range group {
		group[i] = putReq{rows: []putRow{{key: fmt.Sprint(i, "a")}, {key: fmt.Sprint(i, "b")}}, errc: make(chan error, 1)}
	}
	o.stall(group)
	if strings.Join(lost, ",") != "0a,0b" || len(o.stalled) != MaxStalled {
		t.Fatalf("lost %v, stalled %d", lost, len(o.stalled))
	}
	for _, r := range o.stalled {
		if r.errc != nil {
			t.Fatal("a stalled request keeps its caller's channel: a later commit would answer it twice")
		}
	}
}

// TestShipLoopCountsFailures: consecutive failed deliveries count up from
// one (the backoff grows with them), and a success starts the count again.
func TestShipLoopCountsFailures(t *testing.T) {
	o, _ := clocked(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var log logtest.Buffer
	sink := &fakeSink{failFor: 3}
	var failures atomic.Int64
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.New(&log),
		Linger: time.Nanosecond, MinBackoff: time.Nanosecond, MaxBackoff: time.Nanosecond,
		OnFailure: func() { failures.Add(1) }}
	d.defaults()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.shipLoop(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	delivered := func(key string) func() bool {
		return func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return sink.got[key] == 1
		}
	}
	if err := o.Put(ctx, "a", Ready, logBatch("a")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a to be delivered", delivered("a"))
	sink.mu.Lock()
	sink.failFor = 2
	sink.mu.Unlock()
	if err := o.Put(ctx, "b", Ready, logBatch("b")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "b to be delivered", delivered("b"))
	// Before the stop: a cancelled loop may count a failed listing too.
	nFailures := failures.Load()
	stop()
	<-done

	var counts []int
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m struct {
			Message  string `json:"message"`
			Error    string `json:"error"`
			Failures int    `json:"failures"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m.Message == "outbox delivery failed" && m.Error == "store unreachable" {
			counts = append(counts, m.Failures)
		}
	}
	if fmt.Sprint(counts) != "[1 2 3 1 2]" || nFailures != 5 {
		t.Fatalf("failure counts %v, OnFailure %d times; want [1 2 3 1 2] and 5", counts, nFailures)
	}
}

// TestDeliverSplitsInHalves: a refused batch of n is split at n/2, and
// the settled count adds up both halves.
func TestDeliverSplitsInHalves(t *testing.T) {
	o, _ := clocked(t)
	ctx := context.Background()
	for i := range 5 {
		if err := o.Put(ctx, fmt.Sprint("k", i), Ready, logBatch(fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int
	sink := &fakeSink{poison: func(b store.Batch) bool {
		sizes = append(sizes, b.Len())
		for _, l := range b.RequestLogs {
			if l.RequestID == "k4" {
				return true
			}
		}
		return false
	}}
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop()}
	es, err := o.ReadyBatch(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	ids, n, err := d.ship(ctx, es)
	if err != nil || n != 5 {
		t.Fatalf("settled %d, %v; want 5", n, err)
	}
	// The four the store took are the caller's to delete; k4 is dead.
	if want := []int64{es[0].ID, es[1].ID, es[2].ID, es[3].ID}; !slices.Equal(ids, want) {
		t.Fatalf("taken %v, want %v", ids, want)
	}
	if err := o.Delete(ctx, ids); err != nil {
		t.Fatal(err)
	}
	// 5 → 2 (good) + 3 → 1 (good) + 2 → 1 (good) + 1 (bad, dead).
	if fmt.Sprint(sizes) != "[5 2 3 1 2 1 1]" {
		t.Fatalf("batch sizes %v", sizes)
	}

	// A transient error settles nothing and is returned as is.
	sink.failFor = 1
	if err := o.Put(ctx, "t", Ready, logBatch("t")); err != nil {
		t.Fatal(err)
	}
	es, _ = o.ReadyBatch(ctx, 10)
	if ids, n, err := d.ship(ctx, es); ids != nil || n != 0 || err == nil || errors.Is(err, store.ErrInvalid) {
		t.Fatalf("took %v, settled %d, %v", ids, n, err)
	}
}

// failingResolver never resolves.
type failingResolver struct{}

func (failingResolver) Resolve(context.Context, Entry) (store.Batch, error) {
	return store.Batch{}, errors.New("generation record not there yet")
}

// TestResolveSchedulesTheRetry: a failed resolve counts the attempt and
// schedules the next one by the outbox's clock, backing off by the attempts
// made so far, this one included.
func TestResolveSchedulesTheRetry(t *testing.T) {
	cases := []struct {
		name     string
		attempts int           // attempts before this one
		want     time.Duration // the backoff's d: the next attempt is d/2 to d away
	}{
		// The first failure waits MinBackoff.
		{"first", 0, time.Second},
		// The fourth waits 2³·MinBackoff.
		{"fourth", 3, 8 * time.Second},
		// Far on, MaxBackoff.
		{"capped", 20, time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, _ := clocked(t)
			ctx := context.Background()
			if err := o.Put(ctx, "p", Pending, logBatch("p")); err != nil {
				t.Fatal(err)
			}
			for range c.attempts {
				es, _ := o.List(ctx, Pending, 1, o.now().Add(time.Hour))
				if err := o.Retry(ctx, es[0].ID, o.now(), errors.New("earlier")); err != nil {
					t.Fatal(err)
				}
			}
			var log logtest.Buffer
			d := &Delivery{Outbox: o, Resolver: failingResolver{}, Log: zerolog.New(&log),
				MinBackoff: time.Second, MaxBackoff: time.Minute}
			d.defaults()
			es, err := o.List(ctx, Pending, 1, o.now())
			if err != nil || len(es) != 1 || es[0].Attempts != c.attempts {
				t.Fatalf("%+v, %v", es, err)
			}
			d.resolve(ctx, es[0])
			es, err = o.List(ctx, Pending, 1, o.now().Add(time.Hour))
			if err != nil || len(es) != 1 {
				t.Fatalf("%+v, %v", es, err)
			}
			now := o.now().UnixMilli()
			if e := es[0]; e.Attempts != c.attempts+1 || e.LastError != "generation record not there yet" ||
				e.NextAttemptAt < now+(c.want/2).Milliseconds() || e.NextAttemptAt > now+c.want.Milliseconds() {
				t.Fatalf("after the failure: attempts %d, error %q, next in %dms; want %d attempts, next in [%v, %v]",
					e.Attempts, e.LastError, e.NextAttemptAt-now, c.attempts+1, c.want/2, c.want)
			}
			if messages(&log, "outbox: recording a retry failed") != 0 {
				t.Fatalf("a recorded retry logged as failed: %s", log.String())
			}
			// The debug line counts this attempt too.
			if !strings.Contains(log.String(), fmt.Sprintf(`"attempts":%d,"message":"pending entry not resolved yet"`, c.attempts+1)) {
				t.Fatalf("log %s, want attempts %d", log.String(), c.attempts+1)
			}
		})
	}
}

// TestNotifyOnlyForReady: a commit wakes the delivery loop only when it
// holds a ready entry; pending ones wait for the Resolver.
func TestNotifyOnlyForReady(t *testing.T) {
	cases := []struct {
		name  string
		items []Item
		wake  bool
	}{
		// A pending entry alone: nothing to ship.
		{"pending", []Item{{Key: "p", State: Pending, Batch: logBatch("p")}}, false},
		// A ready entry: ship it.
		{"ready", []Item{{Key: "r", State: Ready, Batch: logBatch("r")}}, true},
		// A ready entry after a pending one in the same commit.
		{"pending then ready", []Item{{Key: "p", State: Pending, Batch: logBatch("p")}, {Key: "r", State: Ready, Batch: logBatch("r")}}, true},
		// A ready entry before a pending one: the later row does not undo it.
		{"ready then pending", []Item{{Key: "r", State: Ready, Batch: logBatch("r")}, {Key: "p", State: Pending, Batch: logBatch("p")}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, _ := clocked(t)
			if err := o.PutAll(context.Background(), c.items...); err != nil {
				t.Fatal(err)
			}
			woke := false
			select {
			case <-o.Notify():
				woke = true
			default:
			}
			if woke != c.wake {
				t.Fatalf("woke %t, want %t", woke, c.wake)
			}
		})
	}
}

// gateSink holds its first Ingest until released.
type gateSink struct {
	fakeSink
	started, release chan struct{}
	once             atomic.Bool
}

func (g *gateSink) Ingest(ctx context.Context, b store.Batch) (store.IngestResult, error) {
	if g.once.CompareAndSwap(false, true) {
		close(g.started)
		<-g.release
	}
	return g.fakeSink.Ingest(ctx, b)
}

// TestShipLoopShipsUntilEmpty: after a wake-up the ship loop delivers batch
// after batch until nothing is ready, without waiting for another wake-up
// or its tick. An entry put while a batch is in flight, whose wake-up is
// gone, ships at once: its age never reaches the backlog report.
func TestShipLoopShipsUntilEmpty(t *testing.T) {
	o, advance := clocked(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var log logtest.Buffer
	sink := &gateSink{started: make(chan struct{}), release: make(chan struct{})}
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.New(&log), Linger: time.Nanosecond, MaxBatchRows: 1}
	d.defaults()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.shipLoop(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	if err := o.Put(ctx, "a", Ready, logBatch("a")); err != nil {
		t.Fatal(err)
	}
	<-sink.started // a is in flight; the loop is not listening
	if err := o.Put(ctx, "b", Ready, logBatch("b")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-o.Notify(): // b's wake-up, taken away from the loop
	default:
		t.Fatal("no wake-up for b")
	}
	advance(time.Hour) // any report from now on would see b as a backlog
	close(sink.release)
	waitUntil(t, "a and b to be delivered", func() bool {
		st, err := o.Stats(ctx)
		return err == nil && st.Ready == 0
	})
	if n := messages(&log, "outbox backlog"); n != 0 {
		t.Fatalf("b waited for a tick: %s", log.String())
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.got["a"] != 1 || sink.got["b"] != 1 {
		t.Fatalf("delivered %v", sink.got)
	}
}

// TestFinishWaitsWhileEntriesRemain: Finish returns early only on an empty
// outbox; with one ready entry it cannot ship yet (its next attempt is not
// due) and one pending entry nobody resolves, it keeps at it until its
// context ends and then reports both.
func TestFinishWaitsWhileEntriesRemain(t *testing.T) {
	o, _ := clocked(t)
	ctx := context.Background()
	for _, p := range []struct {
		key   string
		state State
	}{{"r", Ready}, {"p", Pending}} {
		if err := o.Put(ctx, p.key, p.state, logBatch(p.key)); err != nil {
			t.Fatal(err)
		}
	}
	es, err := o.ReadyBatch(ctx, 10)
	if err != nil || len(es) != 1 {
		t.Fatal(es, err)
	}
	if err := o.Retry(ctx, es[0].ID, o.now().Add(time.Hour), errors.New("later")); err != nil {
		t.Fatal(err)
	}
	d := &Delivery{Outbox: o, Sink: &fakeSink{}, Log: zerolog.Nop(), MinBackoff: 10 * time.Millisecond}
	// Short: the outcome does not depend on it, only the test's run time.
	fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	left, err := d.Finish(fctx)
	if err != nil || left.Ready != 1 || left.Pending != 1 {
		t.Fatalf("left %+v, %v; want the ready and the pending entry", left, err)
	}
	if fctx.Err() == nil {
		t.Fatal("Finish returned before its context ended, with entries left")
	}
}

// recordingResolver notes the entries it was asked about and resolves none.
type recordingResolver struct {
	mu   sync.Mutex
	seen map[string]bool // key → LastChance
}

func (r *recordingResolver) Resolve(_ context.Context, e Entry) (store.Batch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[e.Key] = e.LastChance
	return store.Batch{}, errors.New("not yet")
}

// TestResolveAllTriesEveryPendingEntry: the shutdown pass asks about every
// pending entry once, due or not, however far its lease reaches, and
// passes the last-chance flag on; ready and dead entries are not its
// business.
func TestResolveAllTriesEveryPendingEntry(t *testing.T) {
	for _, last := range []bool{false, true} {
		t.Run(fmt.Sprint("lastChance=", last), func(t *testing.T) {
			o, _ := clocked(t)
			ctx := context.Background()
			o.PutInFlight("due", logBatch("due"), time.Now().Add(-time.Minute))
			o.PutInFlight("hour", logBatch("hour"), time.Now().Add(time.Hour))
			o.PutInFlight("year", logBatch("year"), time.Now().Add(365*24*time.Hour))
			if err := o.PutAll(ctx, Item{Key: "ready", State: Ready, Batch: logBatch("ready")}); err != nil {
				t.Fatal(err)
			}
			res := &recordingResolver{seen: map[string]bool{}}
			d := &Delivery{Outbox: o, Resolver: res, Log: zerolog.Nop()}
			d.defaults()
			if err := d.resolveAll(ctx, last); err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{"due": last, "hour": last, "year": last}
			if fmt.Sprint(res.seen) != fmt.Sprint(want) {
				t.Fatalf("resolver saw %v, want %v", res.seen, want)
			}
		})
	}
}

// TestFinishWithStalledEntries: rows stalled in memory by a full disk are
// not an empty outbox. Finish pushes them as soon as the disk has room and
// ships them; while it stays full, Finish keeps trying until its context
// ends and reports them. Before the fix it returned at once an empty
// Stats, and the app logged "outbox delivered" over rows about to be lost.
func TestFinishWithStalledEntries(t *testing.T) {
	cases := []struct {
		name     string
		room     bool // the disk has room again when Finish starts
		stalled  int64
		shipped  int
		ctxEnded bool
		timeout  time.Duration
		notDue   bool // a ready entry whose next attempt is not due stays too
	}{
		// Room again: the stalled entry is committed and shipped at once.
		{"room again", true, 0, 1, false, 30 * time.Second, false},
		// Still full: nothing ships, Finish waits out its context (short:
		// the outcome does not depend on it) and reports the stalled entry.
		{"still full", false, 1, 0, true, 200 * time.Millisecond, false},
		// Still full, with as many ready entries left as stalled ones: the
		// counts add up, they do not cancel out.
		{"still full, one ready left", false, 1, 0, true, 200 * time.Millisecond, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
			defer o.Close()
			ctx := context.Background()
			ready := 0
			if c.notDue {
				if err := o.Put(ctx, "r", Ready, logBatch("r")); err != nil {
					t.Fatal(err)
				}
				es, err := o.ReadyBatch(ctx, 10)
				if err != nil || len(es) != 1 {
					t.Fatal(es, err)
				}
				if err := o.Retry(ctx, es[0].ID, o.now().Add(time.Hour), errors.New("later")); err != nil {
					t.Fatal(err)
				}
				ready = 1
			}
			limitPages(t, o, pageCount(t, o))
			big := logBatch("full")
			big.RequestLogs[0].UserAgent = string(make([]byte, 64<<10))
			if err := o.Put(ctx, "full", Ready, big); !errors.Is(err, ErrUnwritable) || o.Stalled() != 1 {
				t.Fatalf("Put on a full disk: %v, stalled %d", err, o.Stalled())
			}
			if c.room {
				limitPages(t, o, 0)
			}
			sink := &fakeSink{}
			d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop(), MinBackoff: 10 * time.Millisecond}
			fctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			left, err := d.Finish(fctx)
			if err != nil || left.Ready != ready || left.Pending != 0 || left.Stalled != c.stalled || o.Stalled() != c.stalled {
				t.Fatalf("left %+v, %v; stalled %d, want %d", left, err, o.Stalled(), c.stalled)
			}
			if len(sink.got) != c.shipped {
				t.Fatalf("shipped %v", sink.got)
			}
			if ended := fctx.Err() != nil; ended != c.ctxEnded {
				t.Fatalf("context ended %t when Finish returned, want %t", ended, c.ctxEnded)
			}
		})
	}
}

// TestCloseCommitsStalled: entries stalled by a full disk are committed by
// Close when the disk has room again, so a clean stop keeps them.
func TestCloseCommitsStalled(t *testing.T) {
	file := filepath.Join(t.TempDir(), "o.db")
	o := openAt(t, file)
	ctx := context.Background()
	limitPages(t, o, pageCount(t, o))
	big := logBatch("full")
	big.RequestLogs[0].UserAgent = string(make([]byte, 64<<10))
	if err := o.Put(ctx, "full", Ready, big); !errors.Is(err, ErrUnwritable) {
		t.Fatalf("Put on a full disk: %v", err)
	}
	limitPages(t, o, 0)
	o.Close()
	o = openAt(t, file)
	defer o.Close()
	es, err := o.List(ctx, Ready, 10, time.Now())
	if err != nil || len(es) != 1 || es[0].Key != "full" {
		t.Fatalf("after Close and reopen: %+v, %v", es, err)
	}
}

// TestCommitWritesStalledThenGroup: a commit writes the stalled entries
// first, then the group, answers each caller of the group, and clears the
// stalled list. The outbox here has no loops: the test is the only caller.
func TestCommitWritesStalledThenGroup(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "o.db"), migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := &Outbox{db: db, now: time.Now, notify: make(chan struct{}, 1)}
	req := func(keys ...string) putReq {
		r := putReq{errc: make(chan error, 1)}
		for _, k := range keys {
			body, _ := json.Marshal(logBatch(k))
			r.rows = append(r.rows, putRow{key: k, state: Ready, body: body})
		}
		return r
	}
	o.stalled = []putReq{req("s1")}
	o.stalled[0].errc = nil
	o.nStalled.Store(1)
	group := []putReq{req("g1", "g2"), req("g3"), req("g4")}
	o.commit(group)
	for i, r := range group {
		if err := <-r.errc; err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if len(o.stalled) != 0 || o.Stalled() != 0 || o.Writable() != nil || o.Depth() != 5 {
		t.Fatalf("stalled %d/%d, writable %v, depth %d", len(o.stalled), o.Stalled(), o.Writable(), o.Depth())
	}
	es, err := o.List(ctx, Ready, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	if strings.Join(keys, ",") != "s1,g1,g2,g3,g4" {
		t.Fatalf("committed %v, want the stalled entry first", keys)
	}
}
