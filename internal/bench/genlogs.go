package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// LogsDataVersion keys the cached request-log stores (GenLogStore).
const LogsDataVersion = "v1"

// Shape of a request-log store: GenUsers users, LogKeys API keys (keys 0
// and 1 are service keys whose calls name any user; the others belong to
// one user each), conversations of LogConversation calls, one failure in
// fifty, spread over GenSpan ending at GenEnd; the newest LogUsage calls
// also have a usage row (the first pages' tokens and cost).
var (
	LogKeys         = 40
	LogConversation = 20
	LogUsage        = 100_000
)

// LogKeyID and LogConversationID name the generated keys and conversations.
func LogKeyID(k int) string          { return fmt.Sprintf("k_%016x", k+1) }
func LogConversationID(c int) string { return fmt.Sprintf("conv-%09d", c) }

// LogRequestID and LogGenerationID name the generated rows (call i).
func LogRequestID(i int) string    { return "req_" + pad(i) }
func LogGenerationID(i int) string { return "gen-" + pad(i) }

// GenLogStore returns the path of a store file of rows request logs
// (llmmeter:requestLogs at scale), generating it under dir if no cached copy
// exists. It returns the generated users' ids too.
func GenLogStore(ctx context.Context, dir string, rows int, logf func(string, ...any)) (string, []string, error) {
	path, err := cachedFile(dir, fmt.Sprintf("logs-%s-%d.db", LogsDataVersion, rows), func(tmp string) error {
		return generateLogs(ctx, tmp, rows, logf)
	}, logf)
	if err != nil {
		return "", nil, err
	}
	st, err := sqlitestore.Open(ctx, path, time.UTC)
	if err != nil {
		return "", nil, err
	}
	defer st.Close()
	users, err := logUsers(ctx, st)
	return path, users, err
}

func logUsers(ctx context.Context, st *sqlitestore.Store) ([]string, error) {
	users := make([]string, GenUsers)
	for i := range users {
		u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: fmt.Sprintf("bench-user-%03d", i), Name: fmt.Sprintf("Bench user %d", i)})
		if err != nil {
			return nil, err
		}
		users[i] = u.ID
	}
	return users, nil
}

func generateLogs(ctx context.Context, file string, n int, logf func(string, ...any)) error {
	st, err := sqlitestore.Open(ctx, file, time.UTC)
	if err != nil {
		return err
	}
	users, err := logUsers(ctx, st)
	st.Close()
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	from := GenEnd.Add(-GenSpan).UnixMilli()
	step := float64(GenSpan.Milliseconds()) / float64(n)
	logs := newBulkTable("requestLogs", "requestId", "userId", "apiKeyId", "conversationId", "requestType", "method", "endpoint", "model",
		"generationId", "status", "statusCode", "errorType", "requestSize", "responseSize", "processingTime", "timeToFirstToken", "userAgent",
		"ipAddress", "timestamp")
	usage := newBulkTable("usageTracking", "generationId", "requestId", "userId", "model", "promptTokens", "completionTokens", "totalTokens",
		"cachedTokens", "reasoningTokens", "costNanoUsd", "costInCredits", "costInUSD", "costStatus", "timestamp", "processingTime", "stream")
	// No ANALYZE afterwards: the service never runs it, so the planner sees what it sees there.
	return bulkLoad(ctx, file, n, 100_000, []*bulkTable{logs, usage}, func(ctx context.Context, tx *sql.Tx, i int) error {
		ts := from + int64(float64(i)*step)
		conv := i / LogConversation
		// A conversation is one user's, through one key.
		user := users[conv%len(users)]
		key := conv % LogKeys
		if key >= 2 {
			user = users[key%len(users)]
		}
		model := GenModels[rnd.IntN(len(GenModels))]
		status, code, errType := store.StatusSuccess, 200, any(nil)
		if rnd.IntN(50) == 0 {
			status, code, errType = store.StatusError, 502, "upstream_error"
		}
		proc := int64(200 + rnd.IntN(6000))
		if err := logs.add(ctx, tx, LogRequestID(i), user, LogKeyID(key), LogConversationID(conv), "chat.completions", "POST", "/v1/chat/completions",
			model, LogGenerationID(i), status, code, errType, 300, 2000, proc, 300, "llmbench", "127.0.0.1", ts); err != nil {
			return err
		}
		if i < n-LogUsage {
			return nil
		}
		prompt, completion := int64(50+rnd.IntN(2000)), int64(10+rnd.IntN(800))
		cost := prompt*150 + completion*600
		usd := float64(cost) / 1e9
		return usage.add(ctx, tx, LogGenerationID(i), LogRequestID(i), user, model, prompt, completion, prompt+completion, 0, 0, cost, usd, usd,
			"reported", ts, proc, 1)
	}, logf)
}
