package app

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/auth"
	"llmmeter/internal/money"
)

// TestEmbeddedAdminAPI reads the admin functions from the service itself
// with the same client that talks to Convex: the ledger comes back exactly;
// a non-admin key and no key get Convex's refusals.
func TestEmbeddedAdminAPI(t *testing.T) {
	e := start(t)
	for _, text := range []string{"a", "b", "c [sim:midstream after=2]"} {
		res := e.post(chatBody(true, text), e.key)
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	e.settle()
	ctx := context.Background()
	u, _, _ := e.app.Store.EnsureUser(ctx, userInput("admin"))
	adminKey, _, err := auth.IssueKey(ctx, e.app.Store, u.ID, "ops", true)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := convexclient.New(convexclient.Config{URL: e.base})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	args := map[string]int64{"from": now - now%3600_000 - 3600_000, "to": now + 3600_000}
	var ov struct {
		Requests, Failed, TotalTokens int64
		CostNanoUsd                   int64 `json:"costNanoUsd"`
	}
	if err := cc.Query(ctx, "llmmeter:overview", args, &ov, convexclient.WithAuth(adminKey)); err != nil {
		t.Fatal(err)
	}
	_, tokens, cost := ledgerTotals(e.sim.Simulator)
	if ov.Requests != 3 || ov.Failed != 1 || ov.TotalTokens != tokens || money.Nanos(ov.CostNanoUsd) != cost {
		t.Fatalf("overview %+v; ledger %d tokens $%s", ov, tokens, cost)
	}
	var fe *convexclient.FunctionError
	if err := cc.Query(ctx, "llmmeter:overview", args, nil, convexclient.WithAuth(e.key)); !errors.As(err, &fe) || fe.Code() != "forbidden" {
		t.Fatalf("non-admin key: %v", err)
	}
	if err := cc.Query(ctx, "llmmeter:overview", args, nil); !errors.As(err, &fe) || fe.Code() != "unauthenticated" {
		t.Fatalf("anonymous: %v", err)
	}
}
