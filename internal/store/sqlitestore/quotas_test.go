package sqlitestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// TestReservationsKeepARunningTotal: admission uses the quota's running
// total of open reservations; settling, releasing and expiry lower it.
func TestReservationsKeepARunningTotal(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	args, _ := json.Marshal(map[string]any{"userId": u.ID, "quotaType": "daily_requests", "limit": 3})
	if _, err := s.Call(ctx, "mutation", "admin:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	reserve := func(id string, ttl time.Duration) error {
		return s.Reserve(ctx, store.ReserveInput{RequestID: id, UserID: u.ID, TTL: ttl})
	}
	for i := range 3 {
		if err := reserve(fmt.Sprint("r", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var qe *store.QuotaExceeded
	if err := reserve("r3", time.Minute); !errors.As(err, &qe) || qe.Remaining != 0 {
		t.Fatalf("fourth call: %v", err)
	}
	if err := reserve("r0", time.Minute); err != nil { // a replay is admitted again
		t.Fatalf("replay: %v", err)
	}
	if err := s.Release(ctx, "r0"); err != nil { // a call that never ran
		t.Fatal(err)
	}
	if err := reserve("r4", time.Minute); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	// Two minutes on, every reservation has expired: all three slots are free.
	now = now.Add(2 * time.Minute)
	for i := range 3 {
		if err := reserve(fmt.Sprint("later", i), time.Minute); err != nil {
			t.Fatalf("after expiry, call %d: %v", i, err)
		}
	}
	var reserved, open int
	s.db.R.QueryRow(`SELECT reserved FROM userQuotas`).Scan(&reserved)
	s.db.R.QueryRow(`SELECT count(*) FROM quotaReservations`).Scan(&open)
	if reserved != 3 || open != 3 {
		t.Fatalf("running total %d, open reservations %d", reserved, open)
	}
}
