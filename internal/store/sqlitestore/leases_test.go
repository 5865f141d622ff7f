package sqlitestore

import (
	"context"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// TestLeaseClaimsSettleAndExpire: the embedded engine's side of leases,
// with an injected clock: claims become reservations that keep the running
// total (unless the call's rows are in), a returned lease frees its
// allowance, Reserve counts leases, and a crashed holder's lease expires.
func TestLeaseClaimsSettleAndExpire(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	putQuota(t, s, u.ID, store.QuotaDailyRequests, 10)
	lease := func(holder string, in store.LeaseInput) store.LeasedQuota {
		t.Helper()
		in.Holder, in.UserID, in.TTL, in.ClaimTTL = holder, u.ID, time.Minute, time.Hour
		g, err := s.Lease(ctx, in)
		if err != nil || len(g.Quotas) != 1 {
			t.Fatalf("lease: %+v %v", g, err)
		}
		return g.Quotas[0]
	}
	counters := func() (reserved, open, leases int64) {
		s.db.R.QueryRow(`SELECT reserved FROM userQuotas`).Scan(&reserved)
		s.db.R.QueryRow(`SELECT count(*) FROM quotaReservations`).Scan(&open)
		s.db.R.QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM quotaLeases`).Scan(&leases)
		return
	}
	if q := lease("A", store.LeaseInput{Want: store.Amounts{Requests: 6}}); q.Granted != 6 || q.Lease != 6 {
		t.Fatalf("A: %+v", q)
	}
	// A request whose request log is in (no generation): settled already.
	log := store.RequestLog{RequestID: "done", UserID: u.ID, RequestType: "chat.completions", Method: "POST",
		Endpoint: "/v1/chat/completions", Status: store.StatusError, StatusCode: 502, Timestamp: now.UnixMilli()}
	if _, err := s.Ingest(ctx, store.Batch{RequestLogs: []store.RequestLog{log}}); err != nil {
		t.Fatal(err)
	}
	one := store.Amounts{Requests: 1}
	claims := []store.Claim{{RequestID: "done", Amounts: one}, {RequestID: "r1", Amounts: one}, {RequestID: "r2", Amounts: one}}
	q := lease("A", store.LeaseInput{Claims: claims, Return: store.Amounts{Requests: 1}})
	// 6 − 3 claims − 1 returned = 2 left; two reservations (not "done"); used 1.
	if q.Lease != 2 || q.Others != 2 || q.Used != 1 {
		t.Fatalf("after the claims: %+v", q)
	}
	if r, o, l := counters(); r != 2 || o != 2 || l != 2 {
		t.Fatalf("running total %d, reservations %d, leased %d", r, o, l)
	}
	// Resent (an answer lost): taken once.
	if q := lease("A", store.LeaseInput{Claims: claims}); q.Others != 2 {
		t.Fatalf("claims resent: %+v", q)
	}
	// Reserve counts A's lease (now 0 after the resent claims, by design
	// a lower bound) and the reservations: 10 − 1 used − 2 reserved = 7.
	for i := range 7 {
		if err := s.Reserve(ctx, store.ReserveInput{RequestID: "x" + string(rune('a'+i)), UserID: u.ID, TTL: time.Minute}); err != nil {
			t.Fatalf("reserve %d: %v", i, err)
		}
	}
	if err := s.Reserve(ctx, store.ReserveInput{RequestID: "over", UserID: u.ID, TTL: time.Minute}); err == nil {
		t.Fatal("reserve past the limit")
	}
	// Two minutes on, the seven reservations (TTL 1 min) have expired;
	// a crashed holder takes all that is free, and its lease blocks others
	// only until its TTL.
	now = now.Add(2 * time.Minute)
	if q := lease("crashed", store.LeaseInput{Want: store.Amounts{Requests: 10}}); q.Granted != 7 {
		t.Fatalf("crashed: %+v", q)
	}
	g, err := s.Lease(ctx, store.LeaseInput{Holder: "B", UserID: u.ID, Want: one, Need: one, TTL: time.Minute, ClaimTTL: time.Hour})
	if err != nil || g.Refused == nil || g.Refused.Remaining != 0 || g.Refused.QuotaType != store.QuotaDailyRequests {
		t.Fatalf("B while crashed holds all: %+v %v", g, err)
	}
	now = now.Add(time.Minute)
	if q := lease("B", store.LeaseInput{Want: store.Amounts{Requests: 10}, Need: one}); q.Granted != 7 || q.Others != 2 {
		t.Fatalf("B after the crashed lease expired: %+v", q)
	}
	if _, _, l := counters(); l != 7 {
		t.Fatalf("leased %d, want B's 7 only", l)
	}
}
