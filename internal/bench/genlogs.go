package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
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
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, fmt.Sprintf("logs-%s-%d.db", LogsDataVersion, rows))
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".tmp"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		start := time.Now()
		if err := generateLogs(ctx, tmp, rows, logf); err != nil {
			return "", nil, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return "", nil, err
		}
		logf("generated %s (%d request logs) in %s", path, rows, time.Since(start).Round(time.Second))
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
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	indexes, err := dropIndexes(ctx, db, "requestLogs", "usageTracking")
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	from := GenEnd.Add(-GenSpan).UnixMilli()
	step := float64(GenSpan.Milliseconds()) / float64(n)
	const per, chunk = 500, 100_000
	lCols, uCols := 19, 16
	lStmt := "INSERT INTO requestLogs (requestId, userId, apiKeyId, conversationId, requestType, method, endpoint, model, generationId, status, statusCode, errorType, requestSize, responseSize, processingTime, timeToFirstToken, userAgent, ipAddress, timestamp) VALUES "
	uStmt := "INSERT INTO usageTracking (generationId, requestId, userId, model, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd, costInCredits, costInUSD, costStatus, timestamp, processingTime, stream) VALUES "
	var lArgs, uArgs []any
	flush := func(tx *sql.Tx, stmt string, cols int, a *[]any) error {
		if k := len(*a) / cols; k > 0 {
			if _, err := tx.ExecContext(ctx, stmt+placeholders(cols, k), *a...); err != nil {
				return err
			}
		}
		*a = (*a)[:0]
		return nil
	}
	last := time.Now()
	for lo := 0; lo < n; lo += chunk {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := lo; i < min(lo+chunk, n); i++ {
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
			lArgs = append(lArgs, LogRequestID(i), user, LogKeyID(key), LogConversationID(conv), "chat.completions", "POST", "/v1/chat/completions",
				model, LogGenerationID(i), status, code, errType, 300, 2000, proc, 300, "llmbench", "127.0.0.1", ts)
			if i >= n-LogUsage {
				prompt, completion := int64(50+rnd.IntN(2000)), int64(10+rnd.IntN(800))
				cost := prompt*150 + completion*600
				usd := float64(cost) / 1e9
				uArgs = append(uArgs, LogGenerationID(i), LogRequestID(i), user, model, prompt, completion, prompt+completion, 0, 0, cost, usd, usd,
					"reported", ts, proc, 1)
			}
			if len(lArgs) == lCols*per {
				if err := flush(tx, lStmt, lCols, &lArgs); err != nil {
					return err
				}
			}
			if len(uArgs) == uCols*per {
				if err := flush(tx, uStmt, uCols, &uArgs); err != nil {
					return err
				}
			}
		}
		if err := flush(tx, lStmt, lCols, &lArgs); err != nil {
			return err
		}
		if err := flush(tx, uStmt, uCols, &uArgs); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if time.Since(last) > 10*time.Second {
			logf("generating: %d of %d request logs", min(lo+chunk, n), n)
			last = time.Now()
		}
	}
	logf("generated raw rows; building %d indexes", len(indexes))
	for _, ix := range indexes {
		if _, err := db.ExecContext(ctx, ix); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(ix)[2], err)
		}
	}
	// No ANALYZE: the service never runs it, so the planner sees what it sees there.
	return nil
}
