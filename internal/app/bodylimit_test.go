package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/auth"
)

// bigBody is 60 MB: valid JSON (prefix) padded with spaces, so that a
// service that accepted it would act on it.
const bigBody = 60 << 20

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func padded(prefix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(spaces{}, bigBody-int64(len(prefix))))
}

// postBig sends bigBody to url over tr, with its length declared or not
// (chunked on HTTP/1.1), and returns the answer; a connection closed
// without one fails the test.
func postBig(t *testing.T, tr *http.Transport, url, key, prefix string, chunked bool) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, padded(prefix))
	req.ContentLength = bigBody
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	defer c.CloseIdleConnections()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// TestOversizedBodiesGetA413: every route with a body limit answers a 60 MB
// body with 413 in its own error shape (OpenAI's on the gateway, Convex's
// {code, message} on the admin API) before it closes the connection,
// whether the length is declared or the body chunked, and whoever the
// caller; nothing is stored and nothing goes upstream. An unauthenticated
// 60 MB body to /api/query used to see its connection closed with no
// response at all. A chunked body without a credential on the gateway is
// refused for the credential first (401), also answered.
func TestOversizedBodiesGetA413(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	admin, _, _ := e.app.Store.EnsureUser(ctx, userInput("ops"))
	adminKey, _, err := auth.IssueKey(ctx, e.app.Store, admin.ID, "ops", true)
	if err != nil {
		t.Fatal(err)
	}
	chat := `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`
	setQuota := fmt.Sprintf(`{"path":"llmmeter:setQuota","args":{"userId":%q,"quotaType":"daily_requests","limit":5},"format":"json"}`, userOf(t, e))
	overview := `{"path":"llmmeter:overview","args":{"from":0,"to":1},"format":"json"}`
	export := `{"args":{}}`
	type openAI struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	type convex struct{ Code, Message string }
	for _, c := range []struct {
		name, path, key, prefix string
		want                    int
		code                    string // error.code (gateway) or code (admin API)
	}{
		{"chat with a key", "/v1/chat/completions", e.key, chat, 413, "request_too_large"},
		{"chat without a key", "/v1/chat/completions", "", chat, 413, "request_too_large"},
		{"query anonymous", "/api/query", "", overview, 413, "PayloadTooLarge"},
		{"query with a bad key", "/api/query", "llm_not-a-key", overview, 413, "PayloadTooLarge"},
		{"mutation as admin", "/api/mutation", adminKey, setQuota, 413, "PayloadTooLarge"},
		{"export as admin", "/api/export/requestLogs", adminKey, export, 413, "PayloadTooLarge"},
	} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s chunked=%v", c.name, chunked), func(t *testing.T) {
				want, code := c.want, c.code
				if chunked && c.key != e.key && c.key != adminKey && c.key != "" {
					// A bad credential is refused before the body is read.
					want, code = 401, "Unauthenticated"
				}
				if chunked && c.path == "/v1/chat/completions" && c.key == "" {
					want, code = 401, "missing_api_key"
				}
				status, body := postBig(t, &http.Transport{}, e.base+c.path, c.key, c.prefix, chunked)
				var got string
				if strings.HasPrefix(c.path, "/v1/") {
					var v openAI
					json.Unmarshal(body, &v)
					got = v.Error.Code
					if v.Error.Message == "" || v.Error.Type == "" {
						t.Errorf("not OpenAI's error shape: %s", body)
					}
				} else {
					var v convex
					json.Unmarshal(body, &v)
					got = v.Code
					if v.Message == "" {
						t.Errorf("not the admin API's error shape: %s", body)
					}
				}
				if status != want || got != code {
					t.Fatalf("%d %s, want %d %s", status, body, want, code)
				}
			})
		}
	}
	// The client of the report: it writes its whole request before reading.
	t.Run("query anonymous, written whole before reading", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Minute)) // only a bound against a hang
		fmt.Fprintf(conn, "POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", bigBody)
		if _, err := io.Copy(conn, padded(overview)); err != nil {
			t.Fatalf("sending the body: %v (the service reset the connection)", err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer after the body: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 413 || !strings.Contains(string(body), `"PayloadTooLarge"`) {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
	})

	e.settle()
	for _, table := range []string{"requestLogs", "usageTracking", "userQuotas"} {
		if n := e.count(table); n != 0 {
			t.Errorf("%d rows in %s after refused bodies", n, table)
		}
	}
	if n := len(e.sim.Ledger()); n != 0 {
		t.Errorf("%d calls went upstream", n)
	}
}
