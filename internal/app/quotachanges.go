package app

import (
	"context"
	"encoding/json"

	"llmmeter/internal/store"
)

// quotaChanges runs the embedded engine's admin functions and tells this
// replica's lease manager about a quota an admin just set or deleted, so
// the user's next call is admitted against the quotas as they are now
// rather than against a lease granted under the old ones. (On Convex an admin sets quotas on the deployment,
// and a replica sees them at its next renewal, within TTL/3.)
type quotaChanges struct {
	store.Functions
	refresh func(userID string)
}

func (q quotaChanges) Call(ctx context.Context, kind, path string, args json.RawMessage, c store.Caller) (any, error) {
	v, err := q.Functions.Call(ctx, kind, path, args, c)
	if err == nil && kind == "mutation" && (path == "llmmeter:setQuota" || path == "llmmeter:deleteQuota") {
		var a struct {
			UserID string `json:"userId"`
		}
		json.Unmarshal(args, &a) // the call succeeded, so the arguments are valid
		q.refresh(a.UserID)      // "" is the system budget
	}
	return v, err
}
