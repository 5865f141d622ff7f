package sqlitestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// TestRequestLogsScanBound: a filter outside the chosen index range (here
// the user, with an API key) reads at most 2,000 rows a page, as Convex's
// maximumRowsRead does (packages/convex/test/requestLogsScan.test.ts holds
// Convex to the same): a page that hits the bound comes back short with
// isDone false, and the next page goes on from where the scan stopped.
func TestRequestLogsScanBound(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "scan.db"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for _, name := range []string{"many", "rare"} {
		u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	const key = "k_00000000000000a1"
	row := func(i int, user string) store.RequestLog {
		return store.RequestLog{RequestID: fmt.Sprintf("r%05d", i), UserID: user, APIKeyID: key, RequestType: "chat_completion",
			Method: "POST", Endpoint: "/api/v1/chat/completions", Status: store.StatusSuccess, StatusCode: 200, Timestamp: int64(1e12) + int64(i)}
	}
	// Newest first: 2,500 rows of "many", then the one row of "rare" before them all.
	var b store.Batch
	b.RequestLogs = append(b.RequestLogs, row(0, ids[1]))
	for i := 1; i <= 2500; i++ {
		b.RequestLogs = append(b.RequestLogs, row(i, ids[0]))
	}
	if _, err := st.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	caller := store.Caller{Authenticated: true, UserID: "a", IsAdmin: true}
	rare := ids[1]
	page := func(cursor any) (got []string, done bool, next string) {
		raw, _ := json.Marshal(map[string]any{"apiKeyId": key, "userId": rare, "paginationOpts": map[string]any{"numItems": 10, "cursor": cursor}})
		v, err := st.Call(ctx, "query", "llmmeter:requestLogs", raw, caller)
		if err != nil {
			t.Fatal(err)
		}
		p := v.(map[string]any)
		for _, d := range p["page"].([]map[string]any) {
			got = append(got, d["requestId"].(string))
		}
		return got, p["isDone"].(bool), p["continueCursor"].(string)
	}
	got, done, next := page(nil)
	if len(got) != 0 || done {
		t.Fatalf("first page: %v done=%v, want a short page at the scan bound", got, done)
	}
	// 500 rows of "many" are left, then "rare"'s row: the second page ends the range.
	got, done, _ = page(next)
	if fmt.Sprint(got) != "[r00000]" || !done {
		t.Fatalf("second page: %v done=%v, want [r00000] and the end", got, done)
	}
}
