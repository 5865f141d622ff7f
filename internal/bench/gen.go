package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver the stores use

	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// DataVersion keys the cached generated stores: bump it whenever the
// generator or the store's schema changes what a cached file holds.
const DataVersion = "v2"

// Shape of a generated store: Users users calling Models models, rows
// spread evenly over Span ending at End (UTC), one usage row per call.
var (
	GenUsers  = 200
	GenModels = []string{"openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet", "google/gemini-flash-1.5",
		"meta-llama/llama-3.1-70b-instruct", "mistralai/mistral-large", "openai/gpt-4o", "openai/o1-mini",
		"anthropic/claude-3-haiku", "google/gemini-pro-1.5", "deepseek/deepseek-chat"}
	GenSpan = 30 * 24 * time.Hour
	GenEnd  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// GenLogs is how many of the latest calls also get a request-log row
	// (all of them would double the file; llmmeter:requestLogs pages the newest).
	GenLogs = 1_000_000
)

// GenStore returns the path of a store file holding rows calls (usage and
// request-log rows, users, and usageAggregates rolled up from those rows),
// generating it under dir if no cached copy of this DataVersion exists.
// Benchmarks that write (mutations, roll-ups) work on a CopyFile of it, so
// the cache never changes.
func GenStore(ctx context.Context, dir string, rows int, logf func(string, ...any)) (string, error) {
	return cachedFile(dir, fmt.Sprintf("store-%s-%d.db", DataVersion, rows), func(tmp string) error {
		return generate(ctx, tmp, rows, logf)
	}, logf)
}

// CopyFile copies a cached store to dst (for benchmarks that write).
func CopyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o640)
}

func generate(ctx context.Context, file string, n int, logf func(string, ...any)) error {
	// The store's own Open creates the schema and the users.
	st, err := sqlitestore.Open(ctx, file, time.UTC)
	if err != nil {
		return err
	}
	users := make([]string, GenUsers)
	for i := range users {
		u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: fmt.Sprintf("bench-user-%03d", i), Name: fmt.Sprintf("Bench user %d", i), Email: fmt.Sprintf("u%03d@bench.example", i)})
		if err != nil {
			st.Close()
			return err
		}
		users[i] = u.ID
	}
	if err := st.Close(); err != nil {
		return err
	}

	logsFrom := max(0, n-GenLogs) // request logs only for the latest calls
	agg := rollup.NewBatch(periods.For(time.UTC))
	rnd := rand.New(rand.NewPCG(1, 2))
	from := GenEnd.Add(-GenSpan).UnixMilli()
	step := float64(GenSpan.Milliseconds()) / float64(n)
	usage := newBulkTable("usageTracking", "generationId", "requestId", "userId", "conversationId", "messageId", "model", "provider",
		"promptTokens", "completionTokens", "totalTokens", "cachedTokens", "reasoningTokens", "costNanoUsd", "costInCredits", "costInUSD",
		"costStatus", "cancelled", "finishReason", "timestamp", "processingTime", "isByok", "stream")
	logs := newBulkTable("requestLogs", "requestId", "userId", "requestType", "method", "endpoint", "model", "generationId", "status",
		"statusCode", "errorType", "errorMessage", "requestSize", "responseSize", "processingTime", "timeToFirstToken", "userAgent",
		"ipAddress", "timestamp")
	err = bulkLoad(ctx, file, n, 50_000, []*bulkTable{usage, logs}, func(ctx context.Context, tx *sql.Tx, i int) error {
		ts := from + int64(float64(i)*step)
		user := users[rnd.IntN(len(users))]
		model := GenModels[rnd.IntN(len(GenModels))]
		prompt, completion := int64(50+rnd.IntN(2000)), int64(10+rnd.IntN(800))
		cost := (prompt*150 + completion*600) // nanos, gpt-4o-mini-like prices
		proc := int64(200 + rnd.IntN(6000))
		failed := rnd.IntN(50) == 0
		genID, reqID := "gen-"+pad(i), "req_"+pad(i)
		status, code := store.StatusSuccess, 200
		var errType any
		if failed {
			status, code, errType = store.StatusError, 502, "upstream_error"
		}
		agg.AddUsage(store.Usage{GenerationID: genID, RequestID: reqID, UserID: user, Model: model, Provider: "Bench",
			PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion, Cost: money.Nanos(cost),
			CostStatus: store.CostReported, FinishReason: "stop", Timestamp: ts, ProcessingTime: proc, Stream: true})
		usd := float64(cost) / 1e9
		if err := usage.add(ctx, tx, genID, reqID, user, nil, nil, model, "Bench", prompt, completion, prompt+completion, 0, 0, cost, usd, usd,
			"reported", 0, "stop", ts, proc, 0, 1); err != nil {
			return err
		}
		if i < logsFrom {
			return nil
		}
		agg.AddRequestLog(store.RequestLog{RequestID: reqID, UserID: user, RequestType: "chat.completions", Method: "POST", Endpoint: "/v1/chat/completions",
			Model: model, GenerationID: genID, Status: status, StatusCode: code, RequestSize: 300, ResponseSize: 2000,
			ProcessingTime: proc, TimeToFirstToken: 300, Timestamp: ts})
		return logs.add(ctx, tx, reqID, user, "chat.completions", "POST", "/v1/chat/completions", model, genID, status, code, errType, nil,
			300, 2000, proc, 300, "llmbench", "127.0.0.1", ts)
	}, logf)
	if err != nil {
		return err
	}
	st, err = sqlitestore.Open(ctx, file, time.UTC)
	if err != nil {
		return err
	}
	defer st.Close()
	rows := agg.Rows()
	for lo := 0; lo < len(rows); lo += 20_000 {
		if err := st.ReplaceAggregates(ctx, rows[lo:min(lo+20_000, len(rows))], 0); err != nil {
			return err
		}
	}
	// The period summaries the admin reads answer from (overview's active
	// users, topUsers, modelStats), computed from the complete rows as the
	// fold's rebuild does; without them those reads measured empty answers.
	return st.ReplaceSummaries(ctx, rollup.Summarize(rollup.SummaryState{}, rows), 0)
}

func pad(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", max(0, 12-len(s))) + s
}
