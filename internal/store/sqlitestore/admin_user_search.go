package sqlitestore

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// llmmeter:searchUsers of packages/convex/src/adminUserSearch.ts: the users
// whose name, email or id (externalId, else clerkUserId) starts with the
// query, ignoring the case of ASCII letters, ordered by the key that matched
// (the smallest of a user's matching keys), then by id. Each field is one
// range of at most limit rows of its expression index (migration 0018), so
// the read is O(limit), never O(users); a user among the first limit
// overall is among the first limit of the range of its smallest key.

// maxQueryChars is the longest query, in code points (as Convex counts them).
const maxQueryChars = 200

// searchKeyExprs are the indexed expressions of migration 0018, verbatim:
// a query uses an expression index only when it names the same expression.
var searchKeyExprs = []string{`lower(name)`, `lower(email)`, `lower(COALESCE(externalId, clerkUserId))`}

// searchSQL reads the first rows of expr's index range from a key on: the
// users, each with its key (for the prefix check and the merge).
func searchSQL(expr string) string {
	return `SELECT ` + userViewCols + `, ` + expr + ` FROM users WHERE ` + expr + ` >= ? ORDER BY ` + expr + `, id LIMIT ?`
}

// asciiLower folds ASCII letters only, as SQLite's lower() and Convex's
// asciiLower (lib/userSearch.ts) do.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func searchUsers(ctx context.Context, s *Store, q querier, a args) (any, error) {
	query, _ := a.str("query")
	if query == "" {
		return nil, badRequest("query: must not be empty")
	}
	if utf8.RuneCountInString(query) > maxQueryChars {
		return nil, badRequest("query: at most %d characters", maxQueryChars)
	}
	limit, err := limitOf(a, 20, 50)
	if err != nil {
		return nil, err
	}
	key := asciiLower(query)
	type hit struct {
		u   userView
		key string
	}
	found := map[string]hit{}
	for _, expr := range searchKeyExprs {
		rs, err := q.QueryContext(ctx, searchSQL(expr), key, limit)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var k string
			u, err := scanUserView(rs, &k)
			if err != nil {
				rs.Close()
				return nil, err
			}
			if !strings.HasPrefix(k, key) {
				break // past the prefix: the range is sorted
			}
			if h, ok := found[u.ID]; !ok || k < h.key {
				found[u.ID] = hit{u, k}
			}
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, err
		}
	}
	hits := slices.SortedFunc(maps.Values(found), func(x, y hit) int {
		return cmp.Or(strings.Compare(x.key, y.key), strings.Compare(x.u.ID, y.u.ID))
	})
	out := make([]userView, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		out = append(out, h.u)
	}
	return out, nil
}
