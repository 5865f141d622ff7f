package jobs

import (
	"context"
	"errors"
	"fmt"

	"llmmeter/internal/store"
)

// nameUsers sets "userName" and "userEmail" beside "userId" on each row of
// a report's byUser, read from the store, so that the CSV and the
// delivered summary name people rather than opaque ids. A user the store
// no longer has keeps empty strings; any other error fails the report.
// The rows are at most ranked's limit (100), one lookup each: both
// engines already answer User, and a report runs once a day or week.
// Names and emails are personal data: they go into the stored report
// only, never into a log.
func nameUsers(ctx context.Context, st Store, rows []map[string]any) error {
	for _, r := range rows {
		id, _ := r["userId"].(string)
		r["userName"], r["userEmail"] = "", ""
		if id == "" {
			continue
		}
		u, err := st.User(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("report user names: %w", err)
		}
		r["userName"], r["userEmail"] = u.Name, u.Email
	}
	return nil
}
