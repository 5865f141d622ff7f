package convexstore

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"llmmeter/convexclient"
	"llmmeter/internal/store"
)

// TestIngestNamesItsReplica: every /ingest request of one Store names the
// same replica, and two Stores (two processes) name different ones, so
// Convex adds each replica's costs to its own shard of the system budget
// (packages/convex/src/lib/budgetShards.ts) and batches from different
// replicas do not write one document.
func TestIngestNamesItsReplica(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Activity []store.Activity `json:"activity"`
			Replica  string           `json:"replica"`
		}
		if err := json.Unmarshal(b, &body); err != nil || len(body.Activity) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen = append(seen, body.Replica)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"inserted":{"usage":0,"requestLogs":0,"activity":1},"duplicates":{"usage":0,"requestLogs":0,"activity":0}}`))
	}))
	defer srv.Close()
	c, err := convexclient.New(convexclient.Config{SiteURL: srv.URL, Secret: "a-test-secret-of-at-least-32-bytes", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	batch := func(key string) store.Batch {
		return store.Batch{Activity: []store.Activity{{ActivityKey: key, UserID: "u", ActivityType: store.ActivityChatCompletion, Timestamp: 1}}}
	}
	a, b := New(c), New(c)
	for i, s := range []*Store{a, a, b} {
		if _, err := s.Ingest(context.Background(), batch(string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 3 || seen[0] == "" || seen[0] != seen[1] || seen[2] == "" || seen[2] == seen[0] {
		t.Fatalf("replicas named %q: want one name per Store, different between Stores", seen)
	}
}
