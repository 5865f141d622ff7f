// Package chatapp_test runs the example chat app's action (convex/chat.ts)
// in the local Convex test backend against the real gateway on loopback,
// with the OpenRouter simulator upstream, and checks that llmmeter's rows
// belong to the chat app's user and conversation.
package chatapp_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/convexclient"
	"llmmeter/internal/app"
	"llmmeter/internal/auth"
	"llmmeter/internal/config"
	"llmmeter/internal/convextest"
	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/openrouter/openroutertest"
)

const (
	clerkSubject = "user_2ada"
	issuer       = "https://clerk.test"
)

type sendResult struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	Status         string `json:"status"`
}

type message struct {
	Role, Content, Status string
}

func TestChatActionIsAccountedToTheChatAppsUser(t *testing.T) {
	ctx := context.Background()
	site, _, secret := convextest.StartWith(t, convextest.Options{FunctionsDir: "examples/chat-app/convex"})

	// The gateway on the Convex engine of the chat app's deployment.
	vars := map[string]string{
		"CONVEX_URL": site, "CONVEX_SITE_URL": site, "CONVEX_INGEST_SECRET": secret,
		"JOBS_ENABLED": "false", "QUOTA_CHECK_TIMEOUT": "30s", "AUTH_CHECK_TIMEOUT": "2m",
	}
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-data-dir", t.TempDir()}, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(ctx, cfg, zerolog.Nop(), app.Options{
		Simulator: &openroutertest.Options{AnswerTokens: 24},
		Stdout:    io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		a.Shutdown(sctx)
	})

	// README steps: a service key for the chat app, then its deployment env.
	owner, _, err := a.Store.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "chat-app"})
	if err != nil {
		t.Fatal(err)
	}
	key, svcKey, err := auth.IssueServiceKey(ctx, a.Store, owner.ID, "chat-app")
	if err != nil {
		t.Fatal(err)
	}
	convextest.SetEnv(t, site, map[string]string{"LLMMETER_GATEWAY_URL": "http://" + a.Addr(), "LLMMETER_SERVICE_KEY": key})

	cc, err := convexclient.New(convexclient.Config{URL: site})
	if err != nil {
		t.Fatal(err)
	}
	ada := convexclient.WithAuth(convextest.Token(`{"sub":"` + clerkSubject + `","iss":"` + issuer + `","name":"Ada Lovelace","email":"ada@example.com"}`))
	admin := convexclient.WithAuth(convextest.Token(`{"sub":"user_admin","iss":"` + issuer + `","role":"admin"}`))

	// Two turns of one conversation, as the chat UI would send them.
	var first, second sendResult
	if err := cc.Action(ctx, "chat:send", map[string]any{"content": "Hello"}, &first, ada); err != nil {
		t.Fatal(err)
	}
	if err := cc.Action(ctx, "chat:send", map[string]any{"content": "And again", "conversationId": first.ConversationID}, &second, ada); err != nil {
		t.Fatal(err)
	}
	if first.Status != "done" || second.Status != "done" || second.ConversationID != first.ConversationID {
		t.Fatalf("turns: %+v %+v", first, second)
	}
	var msgs []message
	if err := cc.Query(ctx, "messages:list", map[string]any{"conversationId": first.ConversationID}, &msgs, ada); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || msgs[1].Role != "assistant" || msgs[1].Status != "done" || strings.TrimSpace(msgs[1].Content) == "" || msgs[3].Status != "done" {
		t.Fatalf("messages: %+v", msgs)
	}
	settle(t, a)
	convextest.Fold(t, site, secret, nil) // what the fold job does within seconds (JOBS_ENABLED=false here)

	// llmmeter's user for Ada: the one the gateway created from X-Llmmeter-User.
	adaUser, created, err := a.Store.EnsureUser(ctx, store.EnsureUserInput{ExternalID: clerkSubject})
	if err != nil || created || adaUser.Name != "Ada Lovelace" || adaUser.Email != "ada@example.com" {
		t.Fatalf("Ada in llmmeter: %+v created=%v %v", adaUser, created, err)
	}

	ledger := a.Sim.Ledger()
	var cost money.Nanos
	var tokens int64
	for _, g := range ledger {
		if g.User != adaUser.ID || !g.Stream {
			t.Errorf("generation %s: OpenRouter's user %q stream=%v, want Ada (%s), streamed", g.ID, g.User, g.Stream, adaUser.ID)
		}
		cost += g.Cost
		tokens += g.PromptTokens + g.CompletionTokens
	}
	if len(ledger) != 2 {
		t.Fatalf("simulator ledger: %d generations, want 2", len(ledger))
	}

	now := time.Now().UnixMilli()
	from := now - 2*3600_000
	var detail struct {
		User   struct{ ID, Name, Email string }
		Totals struct {
			Requests, Successful, TotalTokens int64
			CostNanoUsd                       int64 `json:"costNanoUsd"`
		}
		RecentActivity []struct {
			ActivityType string         `json:"activityType"`
			Metadata     map[string]any `json:"metadata"`
		} `json:"recentActivity"`
	}
	if err := cc.Query(ctx, "llmmeter:userDetail", map[string]any{"userId": adaUser.ID, "from": from - from%3600_000, "to": now + 3600_000}, &detail, admin); err != nil {
		t.Fatal(err)
	}
	if detail.Totals.Requests != 2 || detail.Totals.Successful != 2 || money.Nanos(detail.Totals.CostNanoUsd) != cost || detail.Totals.TotalTokens != tokens {
		t.Fatalf("userDetail totals %+v; ledger $%s %d tokens", detail.Totals, cost, tokens)
	}
	sent := 0
	for _, act := range detail.RecentActivity {
		if act.ActivityType == "message_sent" && act.Metadata["conversationId"] == first.ConversationID {
			sent++
		}
	}
	if sent != 2 {
		t.Fatalf("userDetail activity: %+v, want two message_sent of conversation %s", detail.RecentActivity, first.ConversationID)
	}

	var logs struct {
		Page []struct {
			UserID         string `json:"userId"`
			APIKeyID       string `json:"apiKeyId"`
			ConversationID string `json:"conversationId"`
			MessageID      string `json:"messageId"`
			StatusCode     int    `json:"statusCode"`
		} `json:"page"`
	}
	if err := cc.Query(ctx, "llmmeter:requestLogs", map[string]any{"paginationOpts": map[string]any{"numItems": 10, "cursor": nil}, "userId": adaUser.ID}, &logs, admin); err != nil {
		t.Fatal(err)
	}
	if len(logs.Page) != 2 {
		t.Fatalf("Ada's request logs: %+v", logs.Page)
	}
	wantMessages := map[string]bool{first.MessageID: true, second.MessageID: true}
	for _, l := range logs.Page {
		if l.APIKeyID != svcKey.ID || l.ConversationID != first.ConversationID || !wantMessages[l.MessageID] || l.StatusCode != 200 {
			t.Errorf("request log %+v: want key %s, conversation %s, one of the assistant messages %v", l, svcKey.ID, first.ConversationID, wantMessages)
		}
		delete(wantMessages, l.MessageID)
	}

	// Ada's quota is hers: with daily_requests=2 used up, the next turn is
	// refused by the gateway and the assistant message says so.
	if err := cc.Mutation(ctx, "llmmeter:setQuota", map[string]any{"userId": adaUser.ID, "quotaType": "daily_requests", "limit": 2}, nil, admin); err != nil {
		t.Fatal(err)
	}
	// The gateway holds a lease for Ada; a quota set on the deployment
	// reaches it at the next renewal (within TTL/3). Don't wait for that.
	a.Leases.Refresh(adaUser.ID)
	var third sendResult
	if err := cc.Action(ctx, "chat:send", map[string]any{"content": "Once more", "conversationId": first.ConversationID}, &third, ada); err != nil {
		t.Fatal(err)
	}
	if err := cc.Query(ctx, "messages:list", map[string]any{"conversationId": first.ConversationID}, &msgs, ada); err != nil {
		t.Fatal(err)
	}
	if last := msgs[len(msgs)-1]; third.Status != "failed" || last.Status != "failed" || !strings.Contains(strings.ToLower(last.Content), "quota") {
		t.Fatalf("over quota: %+v, last message %+v", third, last)
	}
	if n := len(a.Sim.Ledger()); n != 2 {
		t.Fatalf("a refused turn went upstream: %d generations", n)
	}
}

// settle waits until the gateway is idle and its outbox has shipped every row to Convex.
func settle(t *testing.T, a *app.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.Sim.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		idle := a.Active() == 0
		st, err := a.Outbox.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if idle && st.Ready+st.Pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("outbox never settled: %+v", st)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
