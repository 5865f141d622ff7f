package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// TestIngestFoldInTxWithConcurrentFolders: ingests that fold in their own
// transaction (handle a), ingests that leave their rows to the fold (handle
// b, a second process on the same file), batches too wide to fold in one
// apply (folded after the ingest), replays, and two folders running all the
// while on both handles. Afterwards nothing is pending, every aggregate
// equals the sums over the rows stored (nothing skipped, nothing counted
// twice) and every period summary equals one computed from scratch.
func TestIngestFoldInTxWithConcurrentFolders(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "store.db")
	handle := func(foldOnIngest bool) *sqlitestore.Store {
		s, err := sqlitestore.Open(ctx, file, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.SetFoldOnIngest(foldOnIngest)
		return s
	}
	a, b := handle(true), handle(false)
	cal := periods.For(time.UTC)

	// Each folder runs once after each ingest, on its own goroutine, so
	// its reads and applies interleave with the next ingests.
	kicks := []chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*sqlitestore.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A small page, so that one run takes several applies.
			f := fold.Folder{Store: st, Cal: cal, Limit: 9}
			for range kicks[i] {
				if _, err := f.Run(ctx); err != nil && errs[i] == nil {
					errs[i] = err
				}
			}
		}()
	}

	t0 := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	var all store.Batch
	n := 0
	call := func(at time.Time) store.Batch {
		n++
		id := fmt.Sprintf("%06d", n)
		user, model := fmt.Sprintf("u%d", n%7), fmt.Sprintf("m/%d", n%3)
		status := store.StatusSuccess
		if n%5 == 0 {
			status = store.StatusError
		}
		ts := at.UnixMilli()
		return store.Batch{
			Usage: []store.Usage{{GenerationID: "gen-" + id, RequestID: "req_" + id, UserID: user, Model: model, PromptTokens: int64(n),
				CompletionTokens: 2, TotalTokens: int64(n) + 2, Cost: money.Nanos(1000 + n), CostStatus: store.CostReported, Timestamp: ts}},
			RequestLogs: []store.RequestLog{{RequestID: "req_" + id, UserID: user, RequestType: "chat.completions", Method: "POST",
				Endpoint: "/v1/chat/completions", Model: model, GenerationID: "gen-" + id, Status: status, StatusCode: 200,
				ProcessingTime: int64(10 * n), Timestamp: ts}},
			Activity: []store.Activity{{ActivityKey: "act_" + id, UserID: user, ActivityType: "conversation_started", Timestamp: ts}},
		}
	}
	for round := range 12 {
		var bt store.Batch
		wide := round%4 == 3 // one call a day over 15 days: more periods than one apply takes
		for i := range 15 {
			at := t0.Add(time.Duration(round*15+i) * 7 * time.Minute)
			if wide {
				at = t0.Add(time.Duration(i*24+round) * time.Hour)
			}
			bt.Append(call(at))
		}
		st := a
		if round%3 == 1 {
			st = b
		}
		if _, err := st.Ingest(ctx, bt); err != nil {
			t.Fatal(err)
		}
		// A replay on the other handle stores and counts nothing.
		other := b
		if st == b {
			other = a
		}
		if res, err := other.Ingest(ctx, bt); err != nil || res.Inserted != (store.Counts{}) {
			t.Fatalf("replay: %+v, %v", res, err)
		}
		all.Append(bt)
		for _, k := range kicks {
			select {
			case k <- struct{}{}:
			default: // a run is already due
			}
		}
	}
	for _, k := range kicks {
		close(k)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("folder %d: %v", i, err)
		}
	}
	final := fold.Folder{Store: a, Cal: cal}
	if _, err := final.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := a.PendingRows(ctx, 10); err != nil || p.Len() != 0 {
		t.Fatalf("pending after folding: %d rows, %v", p.Len(), err)
	}

	// The fold's pure core over every row at once: what the stored
	// aggregates must add up to whatever the order of the applies.
	wantRows := fold.Compute(cal, fold.Pending{Usage: all.Usage, RequestLogs: all.RequestLogs, Activity: all.Activity}).Aggregates
	byKey := map[rollup.Key]*rollup.Row{}
	for _, r := range wantRows {
		byKey[r.Key] = r
	}
	got := 0
	from, to := t0.Add(-40*24*time.Hour).UnixMilli(), t0.Add(60*24*time.Hour).UnixMilli()
	for _, scope := range []string{rollup.ScopeSystem, rollup.ScopeUser, rollup.ScopeModel} {
		for _, p := range periods.All {
			rows, err := a.Aggregates(ctx, scope, p, from, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got++
				w := byKey[r.Key]
				if w == nil || w.Counters != r.Counters {
					t.Errorf("aggregate %+v: got %+v, want %+v", r.Key, r.Counters, w)
				}
			}
		}
	}
	if got != len(wantRows) {
		t.Errorf("%d aggregate rows stored, want %d", got, len(wantRows))
	}
	st, err := a.SummaryState(ctx, rollup.KeysOf(wantRows))
	if err != nil {
		t.Fatal(err)
	}
	if wantSums := rollup.Summarize(rollup.SummaryState{}, wantRows); !reflect.DeepEqual(st.Summaries, wantSums) {
		t.Errorf("summaries differ from a rebuild:\n got %+v\nwant %+v", st.Summaries, wantSums)
	}
}
