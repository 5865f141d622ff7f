package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"llmmeter/internal/store"
)

// userStore answers User from a map; other ids are not found, and "u_err"
// fails as a broken connection would.
type userStore struct {
	Store // nil: other methods are not called
	users map[string]store.User
}

func (s userStore) User(_ context.Context, id string) (store.User, error) {
	if id == "u_err" {
		return store.User{}, errors.New("connection reset")
	}
	if u, ok := s.users[id]; ok {
		return u, nil
	}
	return store.User{}, store.ErrNotFound
}

// TestNameUsers: a known user gets its name and email, a user the store
// no longer has (or a row without an id) gets empty strings, and any other
// store error fails the report rather than delivering it unnamed.
func TestNameUsers(t *testing.T) {
	st := userStore{users: map[string]store.User{"u_1": {ID: "u_1", Name: "Ann", Email: "ann@example.com"}}}
	rows := []map[string]any{{"userId": "u_1"}, {"userId": "u_gone", "userName": "stale"}, {}}
	if err := nameUsers(context.Background(), st, rows); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"Ann", "ann@example.com"}, {"", ""}, {"", ""}}
	for i, w := range want {
		if rows[i]["userName"] != w[0] || rows[i]["userEmail"] != w[1] {
			t.Errorf("row %d = %v, want name %q email %q", i, rows[i], w[0], w[1])
		}
	}
	err := nameUsers(context.Background(), st, []map[string]any{{"userId": "u_1"}, {"userId": "u_err"}})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err %v, want the store's error", err)
	}
}
