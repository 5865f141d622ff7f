package auth

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
	"llmmeter/internal/store/sqlitestore"
)

// listBarrier is a store whose ListAPIKeys answers only once n callers
// have asked: the replicas of a first deployment, started together, all
// read an empty key list before any of them creates a key.
type listBarrier struct {
	store.Store
	arrived *sync.WaitGroup
}

func (s *listBarrier) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	keys, err := s.Store.ListAPIKeys(ctx, userID)
	s.arrived.Done()
	s.arrived.Wait()
	return keys, err
}

// TestBootstrapOnceAcrossReplicas: three replicas starting together on an
// empty store each created a bootstrap admin key (three admin keys, each
// printed in a different replica's log), seen by hand with three `llmmeter
// serve` on one Convex test backend. Bootstrap listed the keys and then
// created one; now the create itself checks, in its transaction, that no
// key exists, so exactly one replica prints a key and the store holds one.
func TestBootstrapOnceAcrossReplicas(t *testing.T) {
	const replicas = 3
	run := func(t *testing.T, stores []store.Store) {
		var arrived sync.WaitGroup
		arrived.Add(replicas)
		secrets := make([]string, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				secrets[i], errs[i] = Bootstrap(context.Background(), &listBarrier{Store: stores[i], arrived: &arrived})
			}()
		}
		wg.Wait()
		printed := 0
		for i := range replicas {
			if errs[i] != nil {
				t.Fatalf("replica %d: %v", i, errs[i])
			}
			if secrets[i] != "" {
				printed++
			}
		}
		keys, err := stores[0].ListAPIKeys(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if printed != 1 || len(keys) != 1 || !keys[0].IsAdmin {
			t.Fatalf("%d replicas printed a key, the store holds %d keys (%+v); want one admin key", printed, len(keys), keys)
		}
		// A later start creates none.
		if s, err := Bootstrap(context.Background(), stores[0]); s != "" || err != nil {
			t.Fatalf("bootstrap with a key stored: %q, %v", s, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		run(t, []store.Store{s, s, s})
	})
	t.Run("convex", func(t *testing.T) {
		site, _, secret := convextest.Start(t)
		stores := make([]store.Store, replicas)
		for i := range stores { // one client per replica
			cc, err := convexclient.New(convexclient.Config{URL: site, SiteURL: site, Secret: secret, Timeout: 2 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			stores[i] = convexstore.New(cc)
		}
		run(t, stores)
	})
}
