package sqlitestore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// TestQuotaChanges: setQuota and deleteQuota log the user ("" for the
// system budget) at the store's time; a read lists the changes after
// since, oldest first, with the store's time; more than one answer holds
// is flagged; each change sweeps at most 8 older than a day.
func TestQuotaChanges(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	call := func(fn string, a map[string]any) {
		t.Helper()
		args, _ := json.Marshal(a)
		if _, err := s.Call(ctx, "mutation", fn, args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := now.UnixMilli()
	call("llmmeter:setQuota", map[string]any{"userId": u.ID, "quotaType": "daily_requests", "limit": 3}) // created
	now = now.Add(time.Millisecond)
	call("llmmeter:setQuota", map[string]any{"userId": u.ID, "quotaType": "daily_requests", "limit": 4}) // updated
	now = now.Add(time.Millisecond)
	call("llmmeter:setQuota", map[string]any{"quotaType": "system_monthly_cost_usd", "limit": 10})
	now = now.Add(time.Millisecond)
	call("llmmeter:deleteQuota", map[string]any{"userId": u.ID, "quotaType": "daily_requests"})
	call("llmmeter:deleteQuota", map[string]any{"userId": u.ID, "quotaType": "daily_requests"}) // none left: no change
	list, err := s.QuotaChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []store.QuotaChange
	for _, c := range list.Changes {
		got = append(got, store.QuotaChange{UserID: c.UserID, At: c.At})
	}
	want := []store.QuotaChange{{UserID: u.ID, At: t0}, {UserID: u.ID, At: t0 + 1}, {UserID: "", At: t0 + 2}, {UserID: u.ID, At: t0 + 3}}
	if len(got) != len(want) || list.More || list.Now != now.UnixMilli() {
		t.Fatalf("changes %+v (more %v, now %d), want %+v", list.Changes, list.More, list.Now, want)
	}
	for i := range want {
		if got[i] != want[i] || list.Changes[i].ID == "" {
			t.Fatalf("change %d: %+v, want %+v", i, list.Changes[i], want[i])
		}
	}
	if l, _ := s.QuotaChanges(ctx, t0+1); len(l.Changes) != 2 || l.Changes[0].At != t0+2 {
		t.Fatalf("since t0+1: %+v", l.Changes)
	}

	// 300 changes: one answer holds 256.
	for range 300 {
		call("llmmeter:setQuota", map[string]any{"quotaType": "system_monthly_cost_usd", "limit": 10})
	}
	if l, _ := s.QuotaChanges(ctx, 0); len(l.Changes) != store.MaxQuotaChanges || !l.More || l.Changes[0].At != t0 {
		t.Fatalf("304 changes: %d listed, more %v", len(l.Changes), l.More)
	}
	// A day and a millisecond later each change sweeps 8 of the old ones.
	now = now.Add(store.QuotaChangeKeep + time.Millisecond)
	call("llmmeter:setQuota", map[string]any{"quotaType": "system_monthly_cost_usd", "limit": 10})
	var n int
	s.db.R.QueryRow(`SELECT count(*) FROM quotaChanges`).Scan(&n)
	if n != 304+1-8 {
		t.Fatalf("%d changes kept, want 297", n)
	}
}
