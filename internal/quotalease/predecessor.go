package quotalease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"llmmeter/internal/store"
)

// A replica killed rather than shut down leaves its leases in the store,
// held Hold past their TTL so that the calls it admitted and had not yet
// claimed stay covered (Options.Hold). When it restarts on the same data
// directory, its outbox holds those calls and delivers them; once it has,
// the leases cover nothing any more and Predecessor.Release lets them go,
// instead of keeping that allowance from every replica for minutes.

// HolderFile is the file in the data directory naming the replica that
// last ran there.
const HolderFile = "quota-holder"

// NewHolder returns a fresh random holder name.
func NewHolder() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "replica-" + hex.EncodeToString(b[:])
}

// TakeHolder names this run's holder (fresh, random) in dir's HolderFile
// and returns the name it replaced: the predecessor's, "" when there was
// none. A name that could not have been one is ignored.
func TakeHolder(dir string) (prev, cur string, err error) {
	path := filepath.Join(dir, HolderFile)
	if b, err := os.ReadFile(path); err == nil {
		if p := strings.TrimSpace(string(b)); strings.HasPrefix(p, "replica-") && len(p) <= 128 {
			prev = p
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("quotalease: read %s: %w", path, err)
	}
	cur = NewHolder()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cur+"\n"), 0o640); err != nil {
		return "", "", fmt.Errorf("quotalease: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", fmt.Errorf("quotalease: write %s: %w", path, err)
	}
	return prev, cur, nil
}

// Predecessor releases the leases of the replica that ran before.
type Predecessor struct {
	Holder string // its name (TakeHolder's prev)
	Store  store.LeaseRelease
	// Delivered reports whether every call the predecessor made is in
	// the store: nothing it put in the outbox is left to deliver.
	Delivered func(ctx context.Context) (bool, error)
	// Every is how often Delivered is asked (default 1s); Until how long
	// before giving up (default DefaultTTL+DefaultHold: the leases have
	// lapsed by then).
	Every, Until time.Duration
}

// Release waits until Delivered, then deletes the predecessor's leases
// (page by page) and returns how many there were. A failed step is tried
// again every Every; it gives up, with the last error, when ctx ends or
// Until passes, and the leases then lapse at the end of their hold.
func (p Predecessor) Release(ctx context.Context) (int, error) {
	if p.Every <= 0 {
		p.Every = time.Second
	}
	if p.Until <= 0 {
		p.Until = DefaultTTL + DefaultHold
	}
	ctx, cancel := context.WithTimeout(ctx, p.Until)
	defer cancel()
	tick := time.NewTicker(p.Every)
	defer tick.Stop()
	total, delivered := 0, false
	for {
		var err error
		if !delivered {
			delivered, err = p.Delivered(ctx)
		}
		if delivered && err == nil {
			var n int
			var more bool
			n, more, err = p.Store.ReleaseHolder(ctx, p.Holder)
			total += n
			if err == nil && !more {
				return total, nil
			}
			if err == nil {
				continue // the next page at once
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			if err == nil {
				err = errors.New("the previous run's calls are not all delivered")
			}
			return total, fmt.Errorf("quotalease: release the previous run's leases: %w (%w)", err, ctx.Err())
		}
	}
}
