package quotalease

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTakeHolder: the first run has no predecessor; each later run gets
// the name the run before it wrote, and writes a fresh one; a file that
// names no replica is ignored; one that cannot be read fails the start.
func TestTakeHolder(t *testing.T) {
	dir := t.TempDir()
	prev, first, err := TakeHolder(dir)
	if err != nil || prev != "" || !strings.HasPrefix(first, "replica-") {
		t.Fatalf("first run: %q %q %v", prev, first, err)
	}
	prev, second, err := TakeHolder(dir)
	if err != nil || prev != first || second == first {
		t.Fatalf("second run: prev %q (want %q), cur %q, %v", prev, first, second, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, HolderFile)); strings.TrimSpace(string(b)) != second {
		t.Fatalf("file holds %q, want %q", b, second)
	}
	for _, junk := range []string{"", "someone-else", "replica-" + strings.Repeat("x", 121)} {
		os.WriteFile(filepath.Join(dir, HolderFile), []byte(junk), 0o640)
		if prev, _, err := TakeHolder(dir); err != nil || prev != "" {
			t.Fatalf("file %q: prev %q, %v", junk, prev, err)
		}
	}
	os.WriteFile(filepath.Join(dir, HolderFile), []byte("replica-"+strings.Repeat("x", 120)), 0o640)
	if prev, _, _ := TakeHolder(dir); len(prev) != 128 {
		t.Fatalf("a 128-byte name was refused: %q", prev)
	}
	bad := filepath.Join(t.TempDir(), "sub")
	os.MkdirAll(filepath.Join(bad, HolderFile), 0o750) // a directory where the file goes
	if _, _, err := TakeHolder(bad); err == nil {
		t.Fatal("an unreadable holder file was ignored")
	}
}

// releases is a store.LeaseRelease with scripted answers.
type releases struct {
	mu      sync.Mutex
	holders []string
	answers []struct {
		n    int
		more bool
		err  error
	}
}

func (r *releases) ReleaseHolder(_ context.Context, holder string) (int, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holders = append(r.holders, holder)
	a := r.answers[0]
	r.answers = r.answers[1:]
	return a.n, a.more, a.err
}

// TestPredecessorRelease: nothing is released before the predecessor's
// calls are delivered; then every page is, a failed page tried again; a
// predecessor never delivered is given up at Until with an error.
func TestPredecessorRelease(t *testing.T) {
	asked := 0
	rel := &releases{answers: []struct {
		n    int
		more bool
		err  error
	}{{1000, true, nil}, {0, false, errors.New("store down")}, {7, false, nil}}}
	p := Predecessor{Holder: "replica-old", Store: rel, Every: time.Millisecond, Until: time.Minute,
		Delivered: func(context.Context) (bool, error) {
			asked++
			if asked == 2 {
				return false, errors.New("outbox unreadable")
			}
			return asked >= 3, nil
		}}
	n, err := p.Release(context.Background())
	if err != nil || n != 1007 || asked != 3 {
		t.Fatalf("released %d (%v) after %d asks; want 1007 after 3", n, err, asked)
	}
	if len(rel.holders) != 3 || rel.holders[0] != "replica-old" {
		t.Fatalf("release calls %v", rel.holders)
	}

	never := Predecessor{Holder: "replica-old", Store: &releases{}, Every: time.Millisecond, Until: 30 * time.Millisecond,
		Delivered: func(context.Context) (bool, error) { return false, nil }}
	if n, err := never.Release(context.Background()); err == nil || n != 0 || !strings.Contains(err.Error(), "not all delivered") {
		t.Fatalf("never delivered: %d, %v", n, err)
	}
}

// TestPredecessorReleaseDefaults: with Every and Until unset, a delivered
// predecessor's leases are released at once (a zero Every would panic in
// the ticker, a zero Until give up before the first try).
func TestPredecessorReleaseDefaults(t *testing.T) {
	rel := &releases{answers: []struct {
		n    int
		more bool
		err  error
	}{{3, false, nil}}}
	// Delivered answers as a store would: not on a context that has ended.
	p := Predecessor{Holder: "replica-old", Store: rel, Delivered: func(ctx context.Context) (bool, error) { return ctx.Err() == nil, ctx.Err() }}
	if n, err := p.Release(context.Background()); err != nil || n != 3 {
		t.Fatalf("released %d, %v; want 3", n, err)
	}
}
