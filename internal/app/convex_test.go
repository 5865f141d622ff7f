package app

import (
	"context"
	"io"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/money"
)

// TestConvexEngineEndToEnd runs client → gateway → simulator with the Convex
// engine against the local test backend (the project's real Convex
// functions), then reads llmmeter:overview and llmmeter:requestLogs through
// Convex's HTTP API and finds exactly the simulator's ledger.
func TestConvexEngineEndToEnd(t *testing.T) {
	site, _, secret := convextest.Start(t)
	be := backend{URL: site, Secret: secret}
	e := start(t, "CONVEX_URL", be.URL, "CONVEX_SITE_URL", be.URL, "CONVEX_INGEST_SECRET", be.Secret)
	texts := []string{"one", "two", "three [sim:no_usage]", "four [sim:midstream after=2]", "five [sim:status code=402]"}
	for i, text := range texts {
		res := e.post(chatBody(i%2 == 0, text), e.key)
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	e.settle()

	ledger := e.sim.Ledger()
	var ledgerCost money.Nanos
	var ledgerTokens int64
	for _, g := range ledger {
		ledgerCost += g.Cost
		ledgerTokens += g.PromptTokens + g.CompletionTokens
	}
	convextest.Fold(t, be.URL, be.Secret, nil) // what the fold job does within seconds
	cc, err := convexclient.New(convexclient.Config{URL: be.URL})
	if err != nil {
		t.Fatal(err)
	}
	admin := convexclient.WithAuth(convextest.Token(`{"sub":"user_admin","iss":"https://clerk.test","role":"admin"}`))
	ctx := context.Background()
	now := time.Now().UnixMilli()
	var ov struct {
		Requests, Successful, Failed, TotalTokens int64
		CostNanoUsd                               int64 `json:"costNanoUsd"` // integer nanos, as every *NanoUsd field
		ActiveUsers                               int64 `json:"activeUsers"`
	}
	from := now - 2*3600_000 // hourly granularity: include the current hour
	if err := cc.Query(ctx, "llmmeter:overview", map[string]int64{"from": from - from%3600_000, "to": now + 3600_000}, &ov, admin); err != nil {
		t.Fatal(err)
	}
	if ov.Requests != int64(len(texts)) || ov.Failed != 2 || money.Nanos(ov.CostNanoUsd) != ledgerCost || ov.TotalTokens != ledgerTokens || ov.ActiveUsers != 1 {
		t.Fatalf("overview %+v; ledger %d generations, $%s, %d tokens", ov, len(ledger), ledgerCost, ledgerTokens)
	}
	var logs struct {
		Page []struct {
			RequestID    string `json:"requestId"`
			GenerationID string `json:"generationId"`
			Status       string `json:"status"`
			StatusCode   int    `json:"statusCode"`
		} `json:"page"`
		IsDone bool `json:"isDone"`
	}
	if err := cc.Query(ctx, "llmmeter:requestLogs", map[string]any{"paginationOpts": map[string]any{"numItems": 50, "cursor": nil}}, &logs, admin); err != nil {
		t.Fatal(err)
	}
	if len(logs.Page) != len(texts) || !logs.IsDone {
		t.Fatalf("request logs: %+v", logs)
	}
	gens := map[string]bool{}
	for _, l := range logs.Page {
		if l.GenerationID != "" {
			gens[l.GenerationID] = true
		}
	}
	for _, g := range ledger {
		if !gens[g.ID] {
			t.Errorf("generation %s has no request log", g.ID)
		}
	}
	t.Logf("Convex engine: %d requests, %d generations, $%s, %d tokens — equal to the ledger", ov.Requests, len(ledger), money.Nanos(ov.CostNanoUsd), ov.TotalTokens)
}
