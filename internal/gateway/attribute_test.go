package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/internal/auth"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/openrouter/openroutertest"
)

// serviceAuth admits every request as a service key of user ownID.
type serviceAuth struct{ ownID string }

func (a serviceAuth) Authenticate(context.Context, *http.Request) (auth.Principal, error) {
	return auth.Principal{UserID: a.ownID, KeyID: "k_svc", IsService: true, Method: "api_key"}, nil
}

// countingStore is a real SQLite store that counts EnsureUser calls and can
// be made to fail them.
type countingStore struct {
	*sqlitestore.Store
	ensures atomic.Int64
	fail    atomic.Bool
}

func (s *countingStore) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	s.ensures.Add(1)
	if s.fail.Load() {
		return store.User{}, false, errors.New("store unreachable")
	}
	return s.Store.EnsureUser(ctx, in)
}

// TestServiceKeyAttribution: the rows, OpenRouter's user and the log line
// of a service key's call belong to the end user it names (header first,
// then the body's user, else the key's own user); a first-seen end user is
// created once with its display fields and then served from the cache; a
// store that cannot create it answers 503 and nothing goes upstream.
func TestServiceKeyAttribution(t *testing.T) {
	sq, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	st := &countingStore{Store: sq}
	own, _, err := sq.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "chat-app"})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) { o.Auth, o.Store = serviceAuth{own.ID}, st })
	call := func(headers map[string]string, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer svc")
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, r)
		return w
	}
	withUser := func(user string) string {
		return strings.Replace(chatBody(false, "hi"), `{`, `{"user":"`+user+`",`, 1)
	}
	ada := map[string]string{headerEndUser: "ada", headerEndUserName: "Ada", headerEndUserEmail: "ada@example.com"}
	for i, c := range []struct {
		headers map[string]string
		body    string
	}{
		{ada, chatBody(true, "hi")},
		{ada, withUser("bob")}, // the header wins over the body
		{nil, withUser("bob")},
		{nil, chatBody(false, "hi")},
	} {
		if w := call(c.headers, c.body); w.Code != 200 {
			t.Fatalf("call %d: %d %s", i, w.Code, w.Body)
		}
	}
	adaU, _, _ := sq.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "ada"})
	bobU, _, _ := sq.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "bob"})
	if adaU.Name != "Ada" || adaU.Email != "ada@example.com" || bobU.Name != "" {
		t.Fatalf("users: %+v %+v", adaU, bobU)
	}
	if n := st.ensures.Load(); n != 2 {
		t.Errorf("%d EnsureUser calls for two end users; the cache should serve repeats", n)
	}
	want := map[string]int{adaU.ID: 2, bobU.ID: 1, own.ID: 1}
	got, upstream := map[string]int{}, map[string]int{}
	for _, e := range h.entries(outbox.Ready) {
		for _, l := range e.Batch.RequestLogs {
			got[l.UserID]++
			if l.APIKeyID != "k_svc" {
				t.Errorf("request log %+v: apiKeyId %q", l, l.APIKeyID)
			}
		}
		for _, u := range e.Batch.Usage {
			if u.APIKeyID != "k_svc" || u.UserID != e.Batch.RequestLogs[0].UserID {
				t.Errorf("usage %+v", u)
			}
		}
		for _, a := range e.Batch.Activity {
			if a.APIKeyID != "k_svc" || a.UserID != e.Batch.RequestLogs[0].UserID {
				t.Errorf("activity %+v", a)
			}
		}
	}
	for _, g := range h.sim.Ledger() {
		upstream[g.User]++
	}
	for u, n := range want {
		if got[u] != n || upstream[u] != n {
			t.Errorf("user %s: %d rows, %d upstream; want %d (rows %v, upstream %v)", u, got[u], upstream[u], n, got, upstream)
		}
	}
	if lines := logLines(t, h.log, "request"); len(lines) != 4 || lines[0]["user"] != adaU.ID || lines[3]["user"] != own.ID {
		t.Errorf("log lines: %v", lines)
	}

	// A body user sent as "" (an app's unset id) is refused rather than
	// charged to the key's own user: 400, nothing upstream, no rows.
	rows := len(h.entries(outbox.Ready))
	before := len(h.sim.Ledger())
	if w := call(nil, withUser("")); w.Code != 400 || !strings.Contains(w.Body.String(), "user must not be empty") ||
		len(h.sim.Ledger()) != before || len(h.entries(outbox.Ready)) != rows {
		t.Fatalf(`"user":"": %d %s`, w.Code, w.Body)
	}

	// A new end user while the store is down: 503, nothing upstream.
	st.fail.Store(true)
	w := call(map[string]string{headerEndUser: "carol"}, chatBody(false, "hi"))
	if typ, code, _ := apiErr(t, w); w.Code != 503 || typ != "server_error" || code != "users_unavailable" || len(h.sim.Ledger()) != before {
		t.Fatalf("store down: %d %s", w.Code, w.Body)
	}
	// A known one is served from the cache all the same.
	if w := call(ada, chatBody(false, "hi")); w.Code != 200 {
		t.Fatalf("cached end user while the store is down: %d %s", w.Code, w.Body)
	}
	// Name and email without anyone named: 400.
	st.fail.Store(false)
	w = call(map[string]string{headerEndUserName: "Nobody"}, chatBody(false, "hi"))
	if typ, _, msg := apiErr(t, w); w.Code != 400 || typ != "invalid_request_error" || !strings.Contains(msg, headerEndUser) {
		t.Fatalf("name of nobody: %d %s", w.Code, w.Body)
	}
}
