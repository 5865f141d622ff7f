package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
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
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("store-%s-%d.db", DataVersion, rows))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := path + ".tmp"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	start := time.Now()
	if err := generate(ctx, tmp, rows, logf); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	logf("generated %s (%d calls) in %s", path, rows, time.Since(start).Round(time.Second))
	return path, nil
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

	// Raw rows go in with multi-row INSERTs, one transaction per chunk,
	// durability off (the file is rebuilt if the run dies).
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Indexes are built once at the end: faster than keeping them up to date.
	indexes, err := dropIndexes(ctx, db, "usageTracking", "requestLogs")
	if err != nil {
		return err
	}
	logsFrom := max(0, n-GenLogs) // request logs only for the latest calls
	agg := rollup.NewBatch(periods.For(time.UTC))
	rnd := rand.New(rand.NewPCG(1, 2))
	from := GenEnd.Add(-GenSpan).UnixMilli()
	step := float64(GenSpan.Milliseconds()) / float64(n)
	const per = 500 // rows per INSERT statement (22 and 18 columns: under SQLite's 32766 variables)
	const chunk = 50_000
	uCols, lCols := 22, 18
	uStmt := "INSERT INTO usageTracking (generationId, requestId, userId, conversationId, messageId, model, provider, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd, costInCredits, costInUSD, costStatus, cancelled, finishReason, timestamp, processingTime, isByok, stream) VALUES " + placeholders(uCols, per)
	lStmt := "INSERT INTO requestLogs (requestId, userId, requestType, method, endpoint, model, generationId, status, statusCode, errorType, errorMessage, requestSize, responseSize, processingTime, timeToFirstToken, userAgent, ipAddress, timestamp) VALUES " + placeholders(lCols, per)
	uArgs := make([]any, 0, uCols*per)
	lArgs := make([]any, 0, lCols*per)
	last := time.Now()
	for lo := 0; lo < n; lo += chunk {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		us, err := tx.PrepareContext(ctx, uStmt)
		if err != nil {
			return err
		}
		ls, err := tx.PrepareContext(ctx, lStmt)
		if err != nil {
			return err
		}
		for i := lo; i < min(lo+chunk, n); i++ {
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
			u := store.Usage{GenerationID: genID, RequestID: reqID, UserID: user, Model: model, Provider: "Bench",
				PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion, Cost: money.Nanos(cost),
				CostStatus: store.CostReported, FinishReason: "stop", Timestamp: ts, ProcessingTime: proc, Stream: true}
			l := store.RequestLog{RequestID: reqID, UserID: user, RequestType: "chat.completions", Method: "POST", Endpoint: "/v1/chat/completions",
				Model: model, GenerationID: genID, Status: status, StatusCode: code, RequestSize: 300, ResponseSize: 2000,
				ProcessingTime: proc, TimeToFirstToken: 300, Timestamp: ts}
			agg.AddUsage(u)
			usd := float64(cost) / 1e9
			uArgs = append(uArgs, genID, reqID, user, nil, nil, model, "Bench", prompt, completion, prompt+completion, 0, 0, cost, usd, usd,
				"reported", 0, "stop", ts, proc, 0, 1)
			if i >= logsFrom {
				agg.AddRequestLog(l)
				lArgs = append(lArgs, reqID, user, "chat.completions", "POST", "/v1/chat/completions", model, genID, status, code, errType, nil,
					300, 2000, proc, 300, "llmbench", "127.0.0.1", ts)
			}
			if len(uArgs) == cap(uArgs) {
				if _, err := us.ExecContext(ctx, uArgs...); err != nil {
					return err
				}
				uArgs = uArgs[:0]
			}
			if len(lArgs) == cap(lArgs) {
				if _, err := ls.ExecContext(ctx, lArgs...); err != nil {
					return err
				}
				lArgs = lArgs[:0]
			}
		}
		us.Close()
		ls.Close()
		// The tail of a chunk that does not fill a statement.
		if k := len(uArgs) / uCols; k > 0 {
			if _, err := tx.ExecContext(ctx, strings.Replace(uStmt, placeholders(uCols, per), placeholders(uCols, k), 1), uArgs...); err != nil {
				return err
			}
			uArgs = uArgs[:0]
		}
		if k := len(lArgs) / lCols; k > 0 {
			if _, err := tx.ExecContext(ctx, strings.Replace(lStmt, placeholders(lCols, per), placeholders(lCols, k), 1), lArgs...); err != nil {
				return err
			}
			lArgs = lArgs[:0]
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if time.Since(last) > 10*time.Second {
			logf("generating: %d of %d calls", min(lo+chunk, n), n)
			last = time.Now()
		}
	}
	logf("generated raw rows; building %d indexes", len(indexes))
	for _, ix := range indexes {
		if _, err := db.ExecContext(ctx, ix); err != nil {
			return err
		}
	}
	if err := db.Close(); err != nil {
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

// dropIndexes drops the secondary indexes of tables and returns the
// statements that recreate them.
func dropIndexes(ctx context.Context, db *sql.DB, tables ...string) ([]string, error) {
	var names, stmts []string
	for _, t := range tables {
		rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, t)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, stmt string
			if err := rows.Scan(&name, &stmt); err != nil {
				rows.Close()
				return nil, err
			}
			names, stmts = append(names, name), append(stmts, stmt)
		}
		rows.Close()
	}
	for _, n := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX `+n); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

func placeholders(cols, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

func pad(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", max(0, 12-len(s))) + s
}
