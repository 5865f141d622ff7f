package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// limitPages caps the writer's file size in pages, as a full disk would:
// past it every commit fails with SQLITE_FULL. 0 lifts the cap.
func limitPages(t *testing.T, o *Outbox, pages int) {
	t.Helper()
	if pages == 0 {
		pages = 1 << 30
	}
	if _, err := o.db.W.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
}

func pageCount(t *testing.T, o *Outbox) int {
	t.Helper()
	var n int
	if err := o.db.W.QueryRow(`PRAGMA page_count`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFullDiskPutFailsThenRecovers: a Put whose commit fails reports
// ErrUnwritable at once (so the gateway withholds [DONE]); Writable says so
// until space returns; then the entries are committed by themselves, in put
// order, so a later put of the same key wins.
func TestFullDiskPutFailsThenRecovers(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	if err := o.Put(ctx, "before", Ready, logBatch("before")); err != nil {
		t.Fatal(err)
	}
	if o.Writable() != nil {
		t.Fatal("writable outbox reports an error")
	}
	limitPages(t, o, pageCount(t, o))
	big := logBatch("full")
	big.RequestLogs[0].UserAgent = string(make([]byte, 64<<10)) // more than the free pages
	err := o.Put(ctx, "full", Ready, big)
	if !errors.Is(err, ErrUnwritable) {
		t.Fatalf("Put on a full disk: %v, want ErrUnwritable", err)
	}
	if !errors.Is(o.Writable(), ErrUnwritable) {
		t.Fatalf("Writable = %v while the disk is full", o.Writable())
	}
	// What the gateway then does: rewrite the same key with the error it
	// answered, without waiting. (As big, so it cannot fit either; a small
	// one supersedes the stalled entry at once, see coalesce_test.go.)
	rewrite := logBatch("full-rewritten")
	rewrite.RequestLogs[0].UserAgent = big.RequestLogs[0].UserAgent
	o.PutAsync(Item{Key: "full", State: Ready, Batch: rewrite})
	waitUntil(t, "the rewrite to stall", func() bool { return o.Stalled() == 2 })

	limitPages(t, o, 0)
	waitUntil(t, "the outbox to become writable", func() bool { return o.Writable() == nil })
	got, err := o.List(ctx, Ready, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "before" || got[1].Key != "full" {
		t.Fatalf("entries after recovery: %+v", got)
	}
	if id := got[1].Batch.RequestLogs[0].RequestID; id != "full-rewritten" {
		t.Fatalf("the later put of a key must win, got %q", id)
	}
}

// TestStalledBound: past MaxStalled the oldest stalled entries are dropped
// and OnLost names them, so memory stays bounded through a long outage.
func TestStalledBound(t *testing.T) {
	o := &Outbox{}
	var lost []string
	o.OnLost = func(keys []string) { lost = append(lost, keys...) }
	for i := range MaxStalled + 3 {
		o.stall([]putReq{{rows: []putRow{{key: string(rune('a' + i%26))}}}})
	}
	if len(o.stalled) != MaxStalled || len(lost) != 3 {
		t.Fatalf("stalled %d, lost %d; want %d and 3", len(o.stalled), len(lost), MaxStalled)
	}
	if lost[0] != "a" || lost[2] != "c" {
		t.Fatalf("lost %v, want the oldest first", lost)
	}
}
