package app

import (
	"context"
	"io"
	"testing"

	"llmmeter/internal/auth"
)

// TestDeleteQuotaLiftsTheLimitAtOnce: an admin deletes an exhausted quota
// through /api/mutation and the user's very next call is served: the
// replica's lease manager is refreshed as after setQuota, not left refusing
// on a lease of a quota that is gone. The quota's leases go with it, and a
// second delete reports that there was nothing to delete.
func TestDeleteQuotaLiftsTheLimitAtOnce(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	u, _, _ := e.app.Store.EnsureUser(ctx, userInput("admin"))
	adminKey, _, err := auth.IssueKey(ctx, e.app.Store, u.ID, "ops", true)
	if err != nil {
		t.Fatal(err)
	}
	call := adminClient(t, e.base, adminKey)
	alice := userOf(t, e)
	if err := call("mutation", "llmmeter:setQuota", map[string]any{"userId": alice, "quotaType": "daily_requests", "limit": 1}, nil); err != nil {
		t.Fatal(err)
	}
	status := func(text string) int {
		res := e.post(chatBody(false, text), e.key)
		io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if a, b := status("first"), status("second"); a != 200 || b != 429 {
		t.Fatalf("under a limit of 1: %d then %d", a, b)
	}
	var out struct{ Deleted bool }
	if err := call("mutation", "llmmeter:deleteQuota", map[string]any{"userId": alice, "quotaType": "daily_requests"}, &out); err != nil || !out.Deleted {
		t.Fatalf("deleteQuota: %+v %v", out, err)
	}
	if s := status("third"); s != 200 {
		t.Fatalf("the call after the quota was deleted answered %d", s)
	}
	if n, l := e.count("userQuotas"), e.count("quotaLeases"); n != 0 || l != 0 {
		t.Fatalf("%d quotas and %d leases left", n, l)
	}
	if err := call("mutation", "llmmeter:deleteQuota", map[string]any{"userId": alice, "quotaType": "daily_requests"}, &out); err != nil || out.Deleted {
		t.Fatalf("second deleteQuota: %+v %v", out, err)
	}

	// A warm lease (room for many calls) is dropped too: the call after the
	// delete waits for a fresh lease instead of drawing on the old one.
	if err := call("mutation", "llmmeter:setQuota", map[string]any{"userId": alice, "quotaType": "daily_requests", "limit": 1000}, nil); err != nil {
		t.Fatal(err)
	}
	status("warm")
	status("warm again")
	waited := e.app.Leases.Stats().Waited
	if err := call("mutation", "llmmeter:deleteQuota", map[string]any{"userId": alice, "quotaType": "daily_requests"}, &out); err != nil || !out.Deleted {
		t.Fatalf("deleteQuota: %+v %v", out, err)
	}
	if s := status("after"); s != 200 {
		t.Fatalf("answered %d", s)
	}
	if w := e.app.Leases.Stats().Waited; w != waited+1 {
		t.Fatalf("calls that waited for a lease: %d, want %d (the deleted quota's lease was used)", w, waited+1)
	}
}
