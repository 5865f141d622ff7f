package bench

import (
	"fmt"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// CallRows are the rows of call number i as the gateway writes them: a
// usage row, a request log and an activity row, for one of 100 users, at
// at plus i milliseconds. The data-path benchmarks feed them to the outbox
// and the store.
func CallRows(i int, at time.Time) store.Batch {
	id := fmt.Sprintf("%012d", i)
	user := fmt.Sprintf("u_%04d", i%100)
	ts := at.UnixMilli() + int64(i)
	return store.Batch{
		Usage: []store.Usage{{GenerationID: "gen-" + id, RequestID: "req_" + id, UserID: user, Model: "openai/gpt-4o-mini", Provider: "OpenAI",
			PromptTokens: 120, CompletionTokens: 40, TotalTokens: 160, Cost: money.Nanos(42_000), CostStatus: store.CostReported,
			FinishReason: "stop", Timestamp: ts, ProcessingTime: 800, Stream: true}},
		RequestLogs: []store.RequestLog{{RequestID: "req_" + id, UserID: user, RequestType: "chat.completions", Method: "POST",
			Endpoint: "/v1/chat/completions", Model: "openai/gpt-4o-mini", GenerationID: "gen-" + id, Status: store.StatusSuccess,
			StatusCode: 200, RequestSize: 300, ResponseSize: 2000, ProcessingTime: 800, TimeToFirstToken: 200, Timestamp: ts}},
		Activity: []store.Activity{{ActivityKey: "req_" + id, UserID: user, ActivityType: store.ActivityChatCompletion,
			Metadata: map[string]any{"model": "openai/gpt-4o-mini", "stream": true}, Timestamp: ts}},
	}
}
