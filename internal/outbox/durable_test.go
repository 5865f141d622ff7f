package outbox

import (
	"context"
	"path/filepath"
	"testing"
)

// TestCommitsFsync: the outbox's writer runs with synchronous=FULL, so the
// commit that a call's [DONE] waits for has fsynced the WAL (NORMAL, the
// default of the other stores, survives a crash but not a power loss).
// The readers too: every connection the pools open gets it.
func TestCommitsFsync(t *testing.T) {
	o, err := Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var w, r int
	if err := o.db.W.QueryRow(`PRAGMA synchronous`).Scan(&w); err != nil {
		t.Fatal(err)
	}
	if err := o.db.R.QueryRow(`PRAGMA synchronous`).Scan(&r); err != nil {
		t.Fatal(err)
	}
	if w != 2 || r != 2 { // 2 is FULL
		t.Fatalf("PRAGMA synchronous = %d (writer), %d (reader); want 2 (FULL)", w, r)
	}
}
