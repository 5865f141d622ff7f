package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func usage(gen string, cost int64) store.Usage {
	return store.Usage{GenerationID: gen, RequestID: "req-" + gen, UserID: "u1", Model: "m", PromptTokens: 3, CompletionTokens: 4,
		TotalTokens: 7, Cost: money.Nanos(cost), CostStatus: store.CostReported, Timestamp: 1700000000000, ProcessingTime: 12}
}

func (s *Store) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.db.R.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestIsIdempotent(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	b := store.Batch{
		Usage:       []store.Usage{usage("g1", 123), usage("g2", 456)},
		RequestLogs: []store.RequestLog{{RequestID: "r1", RequestType: "chat.completions", Method: "POST", Endpoint: "/v1/chat/completions", Status: "success", StatusCode: 200, Timestamp: 1}},
		Activity:    []store.Activity{{ActivityKey: "r1", UserID: "u1", ActivityType: "chat_completion", Metadata: map[string]any{"model": "m"}, Timestamp: 1}},
	}
	res, err := s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != (store.Counts{Usage: 2, RequestLogs: 1, Activity: 1}) || res.Duplicates != (store.Counts{}) {
		t.Fatalf("first ingest: %+v", res)
	}
	// Replaying the batch, plus one new row, stores only the new row.
	b.Usage = append(b.Usage, usage("g3", 1))
	res, err = s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != (store.Counts{Usage: 1}) || res.Duplicates != (store.Counts{Usage: 2, RequestLogs: 1, Activity: 1}) {
		t.Fatalf("replay: %+v", res)
	}
	if n := s.count(t, "usageTracking"); n != 3 {
		t.Fatalf("usage rows = %d", n)
	}
	var sum int64
	var usd float64
	s.db.R.QueryRow(`SELECT sum(costNanoUsd), max(costInUSD) FROM usageTracking`).Scan(&sum, &usd)
	if sum != 580 || usd != 456e-9 {
		t.Fatalf("sum = %d, max usd = %g", sum, usd)
	}
}

func TestIngestRejectsBadRowsAndStoresNothing(t *testing.T) {
	s := open(t)
	bad := usage("g2", 1)
	bad.PromptTokens = -1
	_, err := s.Ingest(context.Background(), store.Batch{Usage: []store.Usage{usage("g1", 1), bad}})
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "usage[1].promptTokens") {
		t.Fatalf("err = %v", err)
	}
	if n := s.count(t, "usageTracking"); n != 0 {
		t.Fatalf("stored %d rows from a refused batch", n)
	}
}

// EnsureUser stores a found user's name and email where the input gives
// them and they differ (as Convex's ensureUser: a user renamed in Clerk),
// keeps them where the input leaves them empty, and writes nothing when
// nothing changed: every call of a user not in the gateway's cache comes
// here, and a write per call would queue behind ingest for nothing.
func TestEnsureUserUpdatesNameAndEmail(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	// Every UPDATE of a users row is counted.
	if _, err := s.db.W.ExecContext(ctx, `CREATE TABLE userWrites (n INTEGER);
		CREATE TRIGGER countUserWrites AFTER UPDATE ON users BEGIN INSERT INTO userWrites VALUES (1); END`); err != nil {
		t.Fatal(err)
	}
	writes := func() int { return s.count(t, "userWrites") }
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ClerkUserID: "user_ann", Name: "Ann", Email: "ann@old.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name                string
		in                  store.EnsureUserInput
		wantName, wantEmail string
		writes              int
	}{
		// the same name and email: nothing written
		{"unchanged", store.EnsureUserInput{Name: "Ann", Email: "ann@old.example"}, "Ann", "ann@old.example", 0},
		// neither given: the stored ones stay, nothing written
		{"absent", store.EnsureUserInput{}, "Ann", "ann@old.example", 0},
		// a new name alone: the email stays
		{"renamed", store.EnsureUserInput{Name: "Ann Smith"}, "Ann Smith", "ann@old.example", 1},
		// a new email alone: the name stays
		{"new email", store.EnsureUserInput{Email: "ann@new.example"}, "Ann Smith", "ann@new.example", 2},
		// both at once: one write
		{"both", store.EnsureUserInput{Name: "Ann B", Email: "ann@b.example"}, "Ann B", "ann@b.example", 3},
		// a name differing in case only is a change
		{"case", store.EnsureUserInput{Name: "ANN B", Email: "ann@b.example"}, "ANN B", "ann@b.example", 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.in.ClerkUserID = "user_ann"
			got, created, err := s.EnsureUser(ctx, c.in)
			if err != nil || created || got.ID != u.ID || got.Name != c.wantName || got.Email != c.wantEmail {
				t.Fatalf("ensure: %+v %v %v, want name %q email %q", got, created, err, c.wantName, c.wantEmail)
			}
			if stored, err := s.User(ctx, u.ID); err != nil || stored != got {
				t.Fatalf("stored %+v %v, answered %+v", stored, err, got)
			}
			if n := writes(); n != c.writes {
				t.Fatalf("%d writes in all, want %d", n, c.writes)
			}
		})
	}
}

func TestUsersAndKeys(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	u, created, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "alice"})
	if err != nil || !created {
		t.Fatalf("ensure: %v %v", created, err)
	}
	again, created, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "alice"})
	if err != nil || created || again.ID != u.ID {
		t.Fatalf("second ensure: %+v %v %v", again, created, err)
	}
	if _, _, err := s.EnsureUser(ctx, store.EnsureUserInput{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty ensure: %v", err)
	}
	hash := strings.Repeat("ab", 32)
	k, err := s.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, Hash: hash, Prefix: "llm_abc", Name: "ci", IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, store.NewAPIKey{UserID: "nobody", Hash: strings.Repeat("cd", 32), Prefix: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key for unknown user: %v", err)
	}
	got, err := s.APIKeyByHash(ctx, hash)
	if err != nil || got.ID != k.ID || !got.IsAdmin || got.Revoked() {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByHash(ctx, hash); !got.Revoked() {
		t.Fatal("not revoked")
	}
	if err := s.RevokeAPIKey(ctx, "k_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke missing: %v", err)
	}
	list, err := s.ListAPIKeys(ctx, u.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
}

// TestLiveAggregatesEqualRawSums ingests rows in several batches, with a
// replay, and checks every aggregate level against sums over the raw rows.
func TestLiveAggregatesEqualRawSums(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	base := int64(1_700_000_000_000)
	var want money.Nanos
	for batch := range 5 {
		var b store.Batch
		for i := range 40 {
			n := batch*40 + i
			gen := fmt.Sprintf("g%d", n)
			u := usage(gen, int64(1000+n*7))
			u.Timestamp = base + int64(n)*97_000 // spans several hours
			u.UserID = fmt.Sprintf("u%d", n%3)
			u.Model = fmt.Sprintf("m%d", n%2)
			want += u.Cost
			b.Usage = append(b.Usage, u)
			b.RequestLogs = append(b.RequestLogs, store.RequestLog{RequestID: u.RequestID, UserID: u.UserID, Model: u.Model,
				RequestType: "chat.completions", Method: "POST", Endpoint: "/v1/chat/completions", Status: "success", StatusCode: 200,
				ProcessingTime: int64(n), Timestamp: u.Timestamp})
		}
		for range 2 { // the replay adds nothing
			if _, err := s.Ingest(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []string{
		`SELECT sum(totalCostNanoUsd), sum(totalRequests) FROM usageAggregates WHERE scope='system' AND period='hourly'`,
		`SELECT sum(totalCostNanoUsd), sum(totalRequests) FROM usageAggregates WHERE scope='system' AND period='monthly'`,
		`SELECT sum(totalCostNanoUsd), sum(totalRequests) FROM usageAggregates WHERE scope='user' AND period='daily'`,
		`SELECT sum(totalCostNanoUsd), sum(totalRequests) FROM usageAggregates WHERE scope='model' AND period='weekly'`,
	} {
		var cost, reqs int64
		if err := s.db.R.QueryRow(q).Scan(&cost, &reqs); err != nil {
			t.Fatal(err)
		}
		if money.Nanos(cost) != want || reqs != 200 {
			t.Errorf("%s: cost %d requests %d, want %d and 200", q, cost, reqs, want)
		}
	}
	var models string
	var unique int
	s.db.R.QueryRow(`SELECT models, uniqueModels FROM usageAggregates WHERE scope='system' AND period='monthly'`).Scan(&models, &unique)
	if models != `["m0","m1"]` || unique != 2 {
		t.Errorf("models %s unique %d", models, unique)
	}
}
