package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"llmmeter/internal/store"
)

// TestUserModelsReadsTheNewestRowsOnly: with one row more than
// maxUserRows in the window, userModels sums the newest maxUserRows and
// says it was truncated; the oldest row (its own model) is left out. A
// window without that row is complete again.
func TestUserModelsReadsTheNewestRowsOnly(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1_700_000_000_000
	rows := make([]store.Usage, 0, maxUserRows+1)
	for i := range maxUserRows + 1 {
		r := usage(fmt.Sprintf("g%d", i), 3)
		r.UserID, r.Timestamp = u.ID, t0+int64(i)
		if i == 0 {
			r.Model = "oldest"
		}
		rows = append(rows, r)
	}
	for i := 0; i < len(rows); i += 500 {
		if _, err := s.Ingest(ctx, store.Batch{Usage: rows[i:min(i+500, len(rows))]}); err != nil {
			t.Fatal(err)
		}
	}
	call := func(from, to int64) (out struct {
		Models []struct {
			Model       string
			Generations int64
			CostNanoUsd int64
		}
		Truncated bool
	}) {
		args, _ := json.Marshal(map[string]any{"userId": u.ID, "from": from, "to": to})
		v, err := s.Call(ctx, "query", "llmmeter:userModels", args, store.Caller{Authenticated: true, IsAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		json.Unmarshal(b, &out)
		return out
	}
	got := call(t0, t0+maxUserRows+1)
	if !got.Truncated || len(got.Models) != 1 || got.Models[0].Model != "m" || got.Models[0].Generations != maxUserRows || got.Models[0].CostNanoUsd != 3*maxUserRows {
		t.Fatalf("whole window: %+v", got)
	}
	got = call(t0+1, t0+maxUserRows+1)
	if got.Truncated || len(got.Models) != 1 || got.Models[0].Generations != maxUserRows {
		t.Fatalf("window without the oldest row: %+v", got)
	}
}
