package outbox_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
)

// countingSink counts Ingest calls into the real Convex store.
type countingSink struct {
	st    *convexstore.Store
	calls atomic.Int64
}

func (c *countingSink) Ingest(ctx context.Context, b store.Batch) (store.IngestResult, error) {
	c.calls.Add(1)
	return c.st.Ingest(ctx, b)
}

// syncBuffer is a log sink written by the delivery goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeliveryPoisonMetadataKey (issue 14): an activity row whose metadata
// has a field name Convex cannot store ({"café":1}) got a 500 from the
// signed route, and delivery retried its batch forever, holding back every
// row behind it. The route now answers 400, so delivery sets that one
// entry aside as dead (logged by its key, without the row's contents) and
// delivers the others, against the project's real Convex functions.
func TestDeliveryPoisonMetadataKey(t *testing.T) {
	ctx := context.Background()
	site, _, secret := convextest.Start(t)
	c, err := convexclient.New(convexclient.Config{SiteURL: site, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	st := convexstore.New(c)
	u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "poison", Name: "poison"})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	now := time.Now().UnixMilli()
	row := func(key string, meta map[string]any) store.Batch {
		return store.Batch{Activity: []store.Activity{{ActivityKey: key, UserID: u.ID, ActivityType: store.ActivityChatCompletion, Metadata: meta, Timestamp: now}}}
	}
	for _, e := range []struct {
		key string
		b   store.Batch
	}{
		{"req_good_1", row("act-good-1", map[string]any{"model": "m"})},
		{"req_poison", row("act-poison", map[string]any{"café": 1})},
		{"req_good_2", row("act-good-2", nil)},
	} {
		if err := ob.Put(ctx, e.key, outbox.Ready, e.b); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	sink := &countingSink{st: st}
	d := &outbox.Delivery{Outbox: ob, Sink: sink, Log: zerolog.New(logs)}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(runCtx) }()
	defer func() { stop(); <-done }()

	var s outbox.Stats
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s, err = ob.Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Ready == 0 || time.Now().After(deadline) {
			break
		}
	}
	if s.Ready != 0 || s.Dead != 1 {
		t.Fatalf("outbox after delivery: %+v, want nothing ready and the one poison entry dead", s)
	}
	// 1 batch of 3, its halves (1 | 2), the pair's halves (1 | 1): 5 calls at most, then none.
	calls := sink.calls.Load()
	if calls > 5 {
		t.Fatalf("%d Ingest calls for 3 entries", calls)
	}
	// The good rows are stored: ingesting them again finds them.
	res, err := st.Ingest(ctx, store.Batch{Activity: append(row("act-good-1", map[string]any{"model": "m"}).Activity, row("act-good-2", nil).Activity...)})
	if err != nil || res.Duplicates.Activity != 2 {
		t.Fatalf("good rows not stored: %+v %v", res, err)
	}
	// And the poison one is not.
	if _, err := st.Ingest(ctx, row("act-poison", map[string]any{"café": 1})); err == nil || !strings.Contains(err.Error(), "field names must be non-control ASCII") {
		t.Fatalf("the poison row again: %v, want the 400's reason", err)
	}
	out := logs.String()
	if !strings.Contains(out, "req_poison") || !strings.Contains(out, "set aside as dead") {
		t.Fatalf("no dead-entry line in the log:\n%s", out)
	}
	if strings.Contains(out, "café") || strings.Contains(out, "caf\\u00e9") {
		t.Fatalf("the row's metadata reached the log:\n%s", out)
	}
	if got := sink.calls.Load(); got != calls {
		t.Fatalf("delivery kept calling after the entry was set aside: %d then %d", calls, got)
	}
}
