package fold

import (
	"errors"
	"fmt"
	"math"

	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// ErrBeyondBound is returned by Folder.Run when an Apply would store a sum
// larger than the engine holds exactly. Nothing of that Apply is sent: its
// rows stay pending, and the fold job fails on every run (logged, and the
// job_failure health alert fires) until an operator acts. Rounding the sum
// instead would make every later total silently wrong.
var ErrBeyondBound = errors.New("fold: a sum is beyond the largest amount the engine stores exactly")

// Bounded is implemented by an engine whose sums go beyond store.MaxAmount.
// An engine without it is held to store.MaxAmount (2^53 − 1, Convex's
// float64 numbers); the embedded engine stores int64 (math.MaxInt64).
type Bounded interface {
	SumBound() int64
}

// boundOf is the largest sum st stores exactly.
func boundOf(st Store) int64 {
	if b, ok := st.(Bounded); ok {
		return b.SumBound()
	}
	return store.MaxAmount
}

// CheckBound reports (ErrBeyondBound, naming the period, subject and
// field) the first sum of a that would pass bound once applied. Every
// usage row has a model, so a period's system cost and token totals are
// the sums of its summary's model entries, and a user's totals are at most
// those; checking the model sums (with overflow-safe additions) therefore
// bounds every aggregate the apply adds to. Request and activity counts
// pass 2^53 only after some 10^15 rows, yet are checked the same way. A
// negative value is an int64 sum that wrapped in Summarize: beyond too.
func CheckBound(a Apply, bound int64) error {
	for _, s := range a.Summaries {
		var sum [len(fieldNames)]int64
		for _, m := range s.Models {
			for i, v := range fields(m.Counters) {
				if v < 0 || v > bound-sum[i] {
					return beyond(bound, s, "the sum over models", fieldNames[i])
				}
				sum[i] += v
			}
		}
		for _, u := range s.TopUsers {
			for i, v := range [...]int64{u.Requests, u.TotalTokens, u.CostNanoUsd} {
				if v < 0 || v > bound {
					return beyond(bound, s, "user "+u.UserID, [...]string{"requests", "totalTokens", "costNanoUsd"}[i])
				}
			}
		}
	}
	for _, r := range a.Aggregates {
		for i, v := range fields(r.Counters) {
			if v < 0 || v > bound {
				return fmt.Errorf("%w: a delta of %s period %s, %s: %s = %d is outside [0, %d]", ErrBeyondBound, r.Period, r.PeriodKey, r.Scope, fieldNames[i], v, bound)
			}
		}
	}
	return nil
}

func beyond(bound int64, s *rollup.Summary, subject, field string) error {
	what := fmt.Sprint(bound)
	switch bound {
	case store.MaxAmount:
		what = "2^53 − 1, the largest integer a Convex number holds exactly"
	case math.MaxInt64:
		what = "2^63 − 1, SQLite's largest integer"
	}
	return fmt.Errorf("%w: %s period %s, %s: %s would pass %s; not applied, its rows stay pending",
		ErrBeyondBound, s.Period, s.PeriodKey, subject, field, what)
}

var fieldNames = [...]string{"totalRequests", "successfulRequests", "failedRequests", "promptTokens", "completionTokens",
	"totalTokens", "cachedTokens", "reasoningTokens", "totalCostNanoUsd", "totalProcessingTime", "conversationsStarted", "filesUploaded"}

// fields lists c's scalar counters in fieldNames order (latency buckets
// count requests, bounded by totalRequests).
func fields(c rollup.Counters) [len(fieldNames)]int64 {
	return [...]int64{c.TotalRequests, c.SuccessfulRequests, c.FailedRequests, c.PromptTokens, c.CompletionTokens,
		c.TotalTokens, c.CachedTokens, c.ReasoningTokens, c.TotalCostNanoUsd, c.TotalProcessingTime, c.ConversationsStarted, c.FilesUploaded}
}
