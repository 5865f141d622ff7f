package store

import (
	"encoding/json"
	"strings"
	"testing"
)

// The wire carries cost as integer nanos, never as decimal dollars; a
// mistake here would divide every bill by a billion.
func TestUsageWireCostIsIntegerNanos(t *testing.T) {
	u := Usage{GenerationID: "gen-1", Cost: 12345}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"costNanoUsd":12345`) {
		t.Fatalf("wire: %s", b)
	}
	var back Usage
	if err := json.Unmarshal(b, &back); err != nil || back != u {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	var fromConvex Usage
	json.Unmarshal([]byte(`{"generationId":"g","costNanoUsd":7,"_id":"x","costInUSD":7e-9}`), &fromConvex)
	if fromConvex.Cost != 7 {
		t.Fatalf("from a Convex document: %+v", fromConvex)
	}
}
