package sqlitestore

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"llmmeter/internal/store"
)

// TestSearchUsersReadsIndexRanges: each of llmmeter:searchUsers' reads is
// a range of migration 0018's expression indexes, in index order (no scan
// of users, no sort), so a search costs O(limit) rows whatever the number
// of users.
func TestSearchUsersReadsIndexRanges(t *testing.T) {
	s := open(t)
	for i, expr := range searchKeyExprs {
		index := []string{"users_by_name_key", "users_by_email_key", "users_by_id_key"}[i]
		want := "SEARCH users USING INDEX " + index + " (<expr>>?)"
		if got := queryPlan(t, s, searchSQL(expr), "ali", 20); got != want {
			t.Errorf("%s\n  plan: %s\n  want: %s", expr, got, want)
		}
	}
}

// TestSearchUsersFindsEnsuredUsers: users made by EnsureUser, the path the
// gateway and the CLI create users by (an end user's external id, a Clerk
// user's id), are found with no key written by anyone: the index computes
// it. SQLite's lower() folds ASCII letters only, as Convex's keys do.
func TestSearchUsersFindsEnsuredUsers(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for _, in := range []store.EnsureUserInput{
		{ExternalID: "ALI-7", Name: "Bo", Email: "Bo@Example.com"},
		{ClerkUserID: "user_2ABC", Name: "Alice Smith"},
		{ExternalID: "emile", Name: "Émile"},
	} {
		if _, _, err := s.EnsureUser(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	search := func(query string) []string {
		t.Helper()
		args, _ := json.Marshal(map[string]any{"query": query})
		v, err := s.Call(ctx, "query", "llmmeter:searchUsers", args, store.Caller{Authenticated: true, IsAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range v.([]userView) {
			ids = append(ids, cmpOr(u.ExternalID, u.ClerkUserID))
		}
		return ids
	}
	for _, c := range []struct {
		query string
		want  string
	}{
		{"ali", "ALI-7 user_2ABC"},
		{"USER_2a", "user_2ABC"},
		{"bo@EXAMPLE", "ALI-7"},
		{"émile", ""},
		{"Émi", "emile"},
	} {
		if got := strings.Join(search(c.query), " "); got != c.want {
			t.Errorf("search %q: %q, want %q", c.query, got, c.want)
		}
	}
}

// cmpOr is the first of a and b that is a string.
func cmpOr(a, b any) string {
	if s, ok := a.(string); ok {
		return s
	}
	s, _ := b.(string)
	return s
}
