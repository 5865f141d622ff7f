package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"llmmeter/internal/sqlitedb"
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
	if _, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
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

// putQuota sets a quota through llmmeter:setQuota.
func putQuota(t *testing.T, s *Store, userID, typ string, limit float64) {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"userId": userID, "quotaType": typ, "limit": limit})
	if _, err := s.Call(context.Background(), "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
}

// TestReserveRefusesHostileEstimates: before the fix an estimate of
// MaxInt64 tokens was admitted (prompt + max_tokens wrapped negative) and
// reserved became the float 9.22e18, which no later read could scan. Now an
// estimate out of range is store.ErrInvalid and stores nothing, and sums
// near the bound saturate instead of wrapping.
func TestReserveRefusesHostileEstimates(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "mallory"})
	putQuota(t, s, u.ID, store.QuotaMonthlyTokens, 2000)
	cases := []struct {
		name    string
		in      store.ReserveInput
		invalid bool // ErrInvalid, else *QuotaExceeded
	}{
		// The reported attack: max_tokens = MaxInt64.
		{"MaxInt64 tokens", store.ReserveInput{RequestID: "a", UserID: u.ID, Tokens: math.MaxInt64, TTL: time.Minute}, true},
		// A wrapped estimate arrives negative.
		{"negative tokens", store.ReserveInput{RequestID: "b", UserID: u.ID, Tokens: -5, TTL: time.Minute}, true},
		{"negative cost", store.ReserveInput{RequestID: "c", UserID: u.ID, Cost: -1, TTL: time.Minute}, true},
		{"no TTL", store.ReserveInput{RequestID: "d", UserID: u.ID, Tokens: 1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Reserve(ctx, c.in)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	// In range but over the limit: refused as a quota, not admitted alone
	// with a wrapped sum.
	if err := s.Reserve(ctx, store.ReserveInput{RequestID: "small", UserID: u.ID, Tokens: 500, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var qe *store.QuotaExceeded
	if err := s.Reserve(ctx, store.ReserveInput{RequestID: "huge", UserID: u.ID, Tokens: store.MaxAmount, TTL: time.Minute}); !errors.As(err, &qe) {
		t.Fatalf("MaxAmount beside an open reservation: %v", err)
	}
	var reserved any
	var kind string
	s.db.R.QueryRow(`SELECT reserved, typeof(reserved) FROM userQuotas`).Scan(&reserved, &kind)
	if kind != "integer" || s.count(t, "quotaReservations") != 1 {
		t.Fatalf("reserved %v (%s), %d reservations", reserved, kind, s.count(t, "quotaReservations"))
	}
}

// TestMigrationRepairsAndConstrainsQuotaCounters: a database written before
// 0006 with the corruption the overflow left (reserved stored as 9.22e18, a
// negative reservation) opens, is repaired, and refuses such writes after.
func TestMigrationRepairsAndConstrainsQuotaCounters(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "old.db")
	old := fstest.MapFS{}
	entries, _ := fs.ReadDir(migrations, "migrations")
	for _, e := range entries {
		if e.Name() < "0006" {
			b, _ := fs.ReadFile(migrations, "migrations/"+e.Name())
			old["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	db, err := sqlitedb.Open(ctx, file, old, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO userQuotas (id, userId, quotaType, "limit", used, resetDate, updatedAt, reserved)
			VALUES ('q_tok', 'u1', 'monthly_tokens', 2000, 3345, 4102444800000, 1, 9.223372036854775807e18)`,
		`INSERT INTO userQuotas (id, userId, quotaType, "limit", used, limitNanoUsd, usedNanoUsd, resetDate, updatedAt, reserved)
			VALUES ('q_cost', 'u1', 'monthly_cost_usd', 0.01, -3, 10000000, -3000000000, 4102444800000, 1, -7)`,
		`INSERT INTO quotaReservations VALUES ('r1', 'q_tok', 'u1', 500, 4102444800000)`,
		`INSERT INTO quotaReservations VALUES ('r2', 'q_tok', 'u1', -9223372036854775807, 4102444800000)`,
		`INSERT INTO quotaReservations VALUES ('r3', 'q_tok', 'u1', 9.2e18, 4102444800000)`,
		`INSERT INTO quotaReservations VALUES ('r4', 'q_cost', 'u1', 1000, 4102444800000)`,
	} {
		if _, err := db.W.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, file, nil)
	if err != nil {
		t.Fatalf("migrating a database with bad counters: %v", err)
	}
	defer s.Close()
	type row struct {
		used, reserved int64
		kind           string
		usedNanos      sql.NullInt64
		limit          float64
	}
	read := func(id string) row {
		var r row
		if err := s.db.R.QueryRow(`SELECT CAST(used AS INTEGER), reserved, typeof(reserved), usedNanoUsd, "limit" FROM userQuotas WHERE id = ?`, id).
			Scan(&r.used, &r.reserved, &r.kind, &r.usedNanos, &r.limit); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// The running totals are recomputed from the reservations kept (r1, r4);
	// negative counters become 0.
	if r := read("q_tok"); r.used != 3345 || r.reserved != 500 || r.kind != "integer" || r.limit != 2000 {
		t.Fatalf("token quota after migration: %+v", r)
	}
	if r := read("q_cost"); r.used != 0 || r.reserved != 1000 || r.usedNanos.Int64 != 0 {
		t.Fatalf("cost quota after migration: %+v", r)
	}
	if n := s.count(t, "quotaReservations"); n != 2 {
		t.Fatalf("%d reservations kept, want the two valid ones", n)
	}
	// From now on the schema refuses what the overflow wrote, and the
	// refusal is store.ErrInvalid (the input's fault, not an outage).
	for _, q := range []string{
		`UPDATE userQuotas SET reserved = 9.223372036854775807e18 WHERE id = 'q_tok'`,
		`UPDATE userQuotas SET reserved = -1 WHERE id = 'q_tok'`,
		`UPDATE userQuotas SET used = 1.5 WHERE id = 'q_tok'`,
		`UPDATE userQuotas SET usedNanoUsd = -1 WHERE id = 'q_cost'`,
		`UPDATE quotaReservations SET amount = 9007199254740992 WHERE requestId = 'r1'`,
	} {
		_, err := s.db.W.Exec(q)
		if err == nil || !errors.Is(invalidIfChecked(err), store.ErrInvalid) {
			t.Errorf("%s: %v, want a CHECK failure classed as ErrInvalid", q, err)
		}
	}
	// And the store works on the migrated file.
	if err := s.Reserve(ctx, store.ReserveInput{RequestID: "new", UserID: "u1", Tokens: 1, TTL: time.Minute}); err == nil {
		t.Fatal("a quota over its limit admitted a call")
	}
}

// TestSetQuotaBoundsCostLimits: a cost limit past 2^53 − 1 nanos (about 9
// million USD) is refused as Convex refuses it, instead of overflowing the
// nanos conversion.
func TestSetQuotaBoundsCostLimits(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	args, _ := json.Marshal(map[string]any{"userId": u.ID, "quotaType": store.QuotaMonthlyCostUSD, "limit": 1e10})
	_, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true})
	if err == nil || !strings.Contains(err.Error(), "limit: expected at most 9007199.254740991 USD") {
		t.Fatalf("got %v", err)
	}
	if s.count(t, "userQuotas") != 0 {
		t.Fatal("a quota was stored")
	}
}

// TestSettlementWaitsForTheUsageRow: the gateway ships a request's log at
// once and its usage row when the generation record gives the cost. A
// request log that names a generation must not settle the reservation, or
// the call's cost would be in neither the reservation nor used meanwhile.
func TestSettlementWaitsForTheUsageRow(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	args, _ := json.Marshal(map[string]any{"userId": u.ID, "quotaType": "monthly_tokens", "limit": 1000})
	if _, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, store.ReserveInput{RequestID: "g", UserID: u.ID, Tokens: 300, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	open := func() (n int) {
		s.db.R.QueryRow(`SELECT count(*) FROM quotaReservations WHERE requestId = 'g'`).Scan(&n)
		return n
	}
	ts := now.UnixMilli()
	log := store.RequestLog{RequestID: "g", UserID: u.ID, GenerationID: "gen-g", RequestType: "chat.completions", Method: "POST",
		Endpoint: "/v1/chat/completions", Status: store.StatusSuccess, StatusCode: 200, Timestamp: ts}
	if _, err := s.Ingest(ctx, store.Batch{RequestLogs: []store.RequestLog{log}}); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 1 {
		t.Fatalf("%d reservations after the request log alone, want 1 (still held)", n)
	}
	use := store.Usage{GenerationID: "gen-g", RequestID: "g", UserID: u.ID, Model: "m", TotalTokens: 120, PromptTokens: 100, CompletionTokens: 20,
		Timestamp: ts, CostStatus: store.CostConfirmed}
	if _, err := s.Ingest(ctx, store.Batch{Usage: []store.Usage{use}}); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 0 {
		t.Fatalf("%d reservations after the usage row, want 0", n)
	}
}
