package rollup

import (
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

func TestLatencyBucket(t *testing.T) {
	for _, c := range []struct {
		ms   int64
		want int
	}{{0, 0}, {100, 0}, {101, 1}, {64000, 9}, {64001, 10}} {
		if got := LatencyBucket(c.ms); got != c.want {
			t.Errorf("LatencyBucket(%d) = %d, want %d", c.ms, got, c.want)
		}
	}
}

func TestBatchScopesAndSums(t *testing.T) {
	ts := time.Date(2024, 1, 15, 13, 30, 0, 0, time.UTC).UnixMilli()
	b := NewBatch(periods.For(time.UTC))
	b.AddRequestLog(store.RequestLog{RequestID: "r1", UserID: "u1", Model: "m1", Status: "success", ProcessingTime: 300, Timestamp: ts})
	b.AddRequestLog(store.RequestLog{RequestID: "r2", UserID: "u1", Model: "m2", Status: "error", ProcessingTime: 70000, Timestamp: ts})
	b.AddUsage(store.Usage{GenerationID: "g1", UserID: "u1", Model: "m1", PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12, Cost: 123, Timestamp: ts})
	b.AddActivity(store.Activity{ActivityKey: "a1", UserID: "u2", ActivityType: ActivityConversationStarted, Timestamp: ts})
	// 4 periods × (system + users u1,u2 + models m1,m2) = 20 rows.
	if b.Len() != 20 {
		t.Fatalf("rows = %d", b.Len())
	}
	for _, r := range b.Rows() {
		if r.Scope == ScopeSystem && r.Period == periods.Daily {
			if r.TotalRequests != 2 || r.SuccessfulRequests != 1 || r.FailedRequests != 1 || r.TotalCostNanoUsd != 123 ||
				r.TotalTokens != 12 || r.ConversationsStarted != 1 || r.LatencyBuckets[2] != 1 || r.LatencyBuckets[10] != 1 ||
				len(r.Models) != 2 || r.PeriodKey != "2024-01-15" {
				t.Fatalf("system daily row: %+v", r)
			}
		}
	}
}
