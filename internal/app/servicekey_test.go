package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"llmmeter/convexclient"
	"llmmeter/internal/auth"
	"llmmeter/internal/convextest"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// headerDoer is go-openai's HTTP client with the end-user headers a chat
// app's server sets on every call it makes for one of its users.
type headerDoer struct{ headers map[string]string }

func (d headerDoer) Do(r *http.Request) (*http.Response, error) {
	for k, v := range d.headers {
		r.Header.Set(k, v)
	}
	return http.DefaultClient.Do(r)
}

func sdkClient(base, key string, headers map[string]string) *openai.Client {
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = base + "/v1"
	cfg.HTTPClient = headerDoer{headers}
	return openai.NewClientWithConfig(cfg)
}

var sdkRequest = openai.ChatCompletionRequest{
	Model:    "openai/gpt-4o-mini",
	Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Say hello"}},
}

// adminCaller calls an engine's admin functions as an admin.
type adminCaller func(kind, path string, args, out any) error

// TestServiceKeyNamesEndUsersEmbedded and ...Convex run one story on each
// engine: a service key's calls belong to the end user it names (header or
// body), who is created on first sight with the display fields given, and
// whose quota applies; without a name they belong to the key's own user;
// bad ids get 400 and non-service credentials 403, storing nothing; every
// row names the key it came through, and admin:requestLogs shows it.
func TestServiceKeyNamesEndUsersEmbedded(t *testing.T) {
	e := start(t)
	u, _, _ := e.app.Store.EnsureUser(context.Background(), userInput("admin"))
	adminKey, _, err := auth.IssueKey(context.Background(), e.app.Store, u.ID, "ops", true)
	if err != nil {
		t.Fatal(err)
	}
	serviceKeyStory(t, e, adminClient(t, e.base, adminKey), func() {}) // the embedded engine folds at ingest
}

func TestServiceKeyNamesEndUsersConvex(t *testing.T) {
	site, _, secret := convextest.Start(t)
	e := start(t, "CONVEX_URL", site, "CONVEX_SITE_URL", site, "CONVEX_INGEST_SECRET", secret)
	onDeployment := adminClient(t, site, convextest.Token(`{"sub":"user_admin","iss":"https://clerk.test","role":"admin"}`))
	serviceKeyStory(t, e, func(kind, path string, args, out any) error {
		err := onDeployment(kind, path, args, out)
		if err == nil && path == "llmmeter:setQuota" {
			// A quota set on the deployment reaches a warm replica at its
			// next lease renewal (within TTL/3); the story goes on at once.
			e.app.Leases.Refresh(args.(map[string]any)["userId"].(string))
		}
		return err
	}, func() { convextest.Fold(t, site, secret, nil) })
}

func adminClient(t *testing.T, url, token string) adminCaller {
	cc, err := convexclient.New(convexclient.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return func(kind, path string, args, out any) error {
		if kind == "mutation" {
			return cc.Mutation(context.Background(), path, args, out, convexclient.WithAuth(token))
		}
		return cc.Query(context.Background(), path, args, out, convexclient.WithAuth(token))
	}
}

// fold counts the stored rows in the summaries, as the fold job would
// within seconds (a quota set by admin:setQuota starts from them).
func serviceKeyStory(t *testing.T, e *env, admin adminCaller, fold func()) {
	ctx := context.Background()
	st := e.app.Store
	own, _, err := st.EnsureUser(ctx, userInput("chat-app"))
	if err != nil {
		t.Fatal(err)
	}
	svcKey, svc, err := auth.IssueServiceKey(ctx, st, own.ID, "chat-app")
	if err != nil || !svc.IsService {
		t.Fatalf("service key %+v: %v", svc, err)
	}
	alice, _, _ := st.EnsureUser(ctx, userInput("alice")) // e.key's user
	userKeys, _ := st.ListAPIKeys(ctx, alice.ID)
	if len(userKeys) != 1 || userKeys[0].IsService {
		t.Fatalf("alice's keys: %+v", userKeys)
	}

	// 1. The chat app's server names Ada by header, streaming and plain.
	ada := sdkClient(e.base, svcKey, map[string]string{
		"X-Llmmeter-User": "user_2abc|org:7", "X-Llmmeter-User-Name": "Ada Lovelace", "X-Llmmeter-User-Email": "ada@example.com",
	})
	stream, err := ada.CreateChatCompletionStream(ctx, withStream(sdkRequest))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	stream.Close()
	if _, err := ada.CreateChatCompletion(ctx, sdkRequest); err != nil {
		t.Fatal(err)
	}

	// 2. No header: the body's user names Bob.
	byBody := sdkRequest
	byBody.User = "bob@example.com"
	if _, err := sdkClient(e.base, svcKey, nil).CreateChatCompletion(ctx, byBody); err != nil {
		t.Fatal(err)
	}
	// 3. Nobody named: the service's own user.
	if _, err := sdkClient(e.base, svcKey, nil).CreateChatCompletion(ctx, sdkRequest); err != nil {
		t.Fatal(err)
	}
	// 4. A user key's call, its body's user ignored as before.
	if _, err := sdkClient(e.base, e.key, nil).CreateChatCompletion(ctx, byBody); err != nil {
		t.Fatal(err)
	}
	accepted := 5

	// 5. Refusals store nothing.
	for _, c := range []struct {
		name    string
		key     string
		headers map[string]string
		user    string
		status  int
		typ     string
	}{
		{"space in the id", svcKey, map[string]string{"X-Llmmeter-User": "ada lovelace"}, "", 400, "invalid_request_error"},
		{"129 characters", svcKey, map[string]string{"X-Llmmeter-User": strings.Repeat("a", 129)}, "", 400, "invalid_request_error"},
		{"non-ASCII id", svcKey, map[string]string{"X-Llmmeter-User": "zoë"}, "", 400, "invalid_request_error"},
		{"slash in the body's user", svcKey, nil, "tenant/ada", 400, "invalid_request_error"},
		{"email of nobody", svcKey, map[string]string{"X-Llmmeter-User-Email": "x@example.com"}, "", 400, "invalid_request_error"},
		{"not an email", svcKey, map[string]string{"X-Llmmeter-User": "u1", "X-Llmmeter-User-Email": "not-an-email"}, "", 400, "invalid_request_error"},
		{"user key naming someone", e.key, map[string]string{"X-Llmmeter-User": "user_2abc|org:7"}, "", 403, "permission_error"},
	} {
		req := sdkRequest
		req.User = c.user
		_, err := sdkClient(e.base, c.key, c.headers).CreateChatCompletion(ctx, req)
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != c.status || apiErr.Type != c.typ {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	// 6. Ada exists now, with her display fields; her quota is hers alone.
	// It starts from her two calls as summarised, so they are stored and
	// folded first.
	e.settle()
	fold()
	adaUser, created, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "user_2abc|org:7"})
	if err != nil || created || adaUser.Name != "Ada Lovelace" || adaUser.Email != "ada@example.com" {
		t.Fatalf("Ada: %+v created=%v %v", adaUser, created, err)
	}
	if err := admin("mutation", "llmmeter:setQuota", map[string]any{"userId": adaUser.ID, "quotaType": "daily_requests", "limit": 3}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ada.CreateChatCompletion(ctx, sdkRequest); err != nil {
		t.Fatalf("Ada's third call: %v", err)
	}
	accepted++
	var apiErr *openai.APIError
	if _, err := ada.CreateChatCompletion(ctx, sdkRequest); !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 429 {
		t.Fatalf("Ada's fourth call, over her quota: %v", err)
	}
	if _, err := sdkClient(e.base, svcKey, nil).CreateChatCompletion(ctx, byBody); err != nil {
		t.Fatalf("Bob is not limited by Ada's quota: %v", err)
	}
	accepted++
	e.settle()

	// 7. The rows: whose they are, and which key they came through.
	bob, _, _ := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "bob@example.com"})
	want := map[string]int{adaUser.ID: 3, bob.ID: 2, own.ID: 1, alice.ID: 1}
	wantKey := map[string]string{adaUser.ID: svc.ID, bob.ID: svc.ID, own.ID: svc.ID, alice.ID: userKeys[0].ID}
	// Ada's refused fourth call is listed too (a request log, 429
	// quota_exceeded, hers and through the service key), and nothing else.
	refusals := map[string]int{"requestLogs": 1}
	rows := rawRows(t, st)
	for kind, got := range map[string][][2]string{"usage": rows.usage, "requestLogs": rows.logs, "activity": rows.activity} {
		if len(got) != accepted+refusals[kind] {
			t.Errorf("%s: %d rows, want %d", kind, len(got), accepted+refusals[kind])
		}
		per := map[string]int{}
		for _, r := range got {
			per[r[0]]++
			if wantKey[r[0]] != r[1] {
				t.Errorf("%s row of user %s came through key %q, want %q", kind, r[0], r[1], wantKey[r[0]])
			}
		}
		for u, n := range want {
			if u == adaUser.ID {
				n += refusals[kind]
			}
			if per[u] != n {
				t.Errorf("%s: user %s has %d rows, want %d (all: %v)", kind, u, per[u], n, per)
			}
		}
	}
	// OpenRouter saw the end user, never the body's claim of a user key.
	seen := map[string]int{}
	for _, g := range e.sim.Ledger() {
		seen[g.User]++
	}
	for u, n := range want {
		if seen[u] != n {
			t.Errorf("OpenRouter's user %s: %d generations, want %d (all: %v)", u, seen[u], n, seen)
		}
	}

	// 8. The admin read of request logs names the key.
	var page struct {
		Page []struct {
			UserID   string `json:"userId"`
			APIKeyID string `json:"apiKeyId"`
		} `json:"page"`
	}
	if err := admin("query", "llmmeter:requestLogs", map[string]any{"paginationOpts": map[string]any{"numItems": 50, "cursor": nil}, "userId": adaUser.ID}, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Page) != 4 { // three served, one refused
		t.Fatalf("Ada's request logs: %+v", page)
	}
	for _, l := range page.Page {
		if l.APIKeyID != svc.ID {
			t.Errorf("llmmeter:requestLogs row %+v does not name key %s", l, svc.ID)
		}
	}
}

func withStream(r openai.ChatCompletionRequest) openai.ChatCompletionRequest {
	r.Stream = true
	return r
}

// rawRows reads every row the engine holds as (userId, apiKeyId) pairs, by
// the jobs' raw-row reader, which both engines implement.
type rowOwners struct{ usage, logs, activity [][2]string }

func rawRows(t *testing.T, s store.Store) rowOwners {
	t.Helper()
	r, ok := s.(interface {
		RawPage(ctx context.Context, kind jobs.RawKind, from, to int64, cursor string, limit int) (jobs.RawPage, error)
	})
	if !ok {
		t.Fatalf("%T reads no raw rows", s)
	}
	var out rowOwners
	to := time.Now().Add(time.Hour).UnixMilli()
	for _, kind := range []jobs.RawKind{jobs.RawUsage, jobs.RawRequestLogs, jobs.RawActivity} {
		pg, err := r.RawPage(context.Background(), kind, time.Now().Add(-time.Hour).UnixMilli(), to, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range pg.Usage {
			out.usage = append(out.usage, [2]string{u.UserID, u.APIKeyID})
		}
		for _, l := range pg.RequestLogs {
			out.logs = append(out.logs, [2]string{l.UserID, l.APIKeyID})
		}
		for _, a := range pg.Activity {
			out.activity = append(out.activity, [2]string{a.UserID, a.APIKeyID})
		}
	}
	return out
}
