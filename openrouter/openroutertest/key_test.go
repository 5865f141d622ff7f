package openroutertest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

func TestKey(t *testing.T) {
	const key = "sk-or-v1-0e6f44a8b2c9d0e1f2a3b4c5d6e7f8091c4"
	limit := money.Nanos(20000) // $0.00002
	clk := newClock()           // Monday 2024-01-15 13:00 UTC
	srv := newServer(t, openroutertest.Options{APIKey: key, KeyLimit: &limit, Now: clk.Now})

	type keyData struct {
		Label              string       `json:"label"`
		Limit              *json.Number `json:"limit"`
		LimitRemaining     *json.Number `json:"limit_remaining"`
		LimitReset         *string      `json:"limit_reset"`
		IncludeBYOKInLimit *bool        `json:"include_byok_in_limit"`
		Usage              json.Number  `json:"usage"`
		UsageDaily         json.Number  `json:"usage_daily"`
		UsageWeekly        json.Number  `json:"usage_weekly"`
		UsageMonthly       json.Number  `json:"usage_monthly"`
		BYOKUsage          json.Number  `json:"byok_usage"`
		IsFreeTier         *bool        `json:"is_free_tier"`
	}
	getKey := func() keyData {
		var body struct{ Data keyData }
		if st := getJSON(t, srv, "/key", key, &body); st != 200 {
			t.Fatalf("status %d", st)
		}
		return body.Data
	}
	chat := func() int {
		resp := do(t, waitCtx(t), srv.Client(), http.MethodPost, srv.URL+"/chat/completions",
			chatReq("openai/gpt-4o-mini", "hi", false, nil), key)
		resp.Body.Close()
		return resp.StatusCode
	}

	k := getKey()
	if k.Label != "sk-or-v1-0e6...1c4" || k.Usage != "0" || *k.Limit != "0.00002" || *k.LimitRemaining != "0.00002" ||
		k.LimitReset != nil || k.IncludeBYOKInLimit == nil || k.IsFreeTier == nil || k.BYOKUsage != "0" {
		t.Errorf("fresh key %+v", k)
	}

	// Yesterday (Sunday, last week) one call of 5×150+20×600 = 12750 nanos; today another.
	clk.Advance(-24 * time.Hour)
	if st := chat(); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	clk.Advance(24 * time.Hour)
	if st := chat(); st != 200 {
		t.Fatalf("chat: %d", st)
	}
	k = getKey()
	var sum money.Nanos
	for _, g := range srv.Ledger() {
		sum += g.Cost
	}
	checks := []struct {
		name string
		got  json.Number
		want money.Nanos
	}{
		{"usage", k.Usage, sum},                   // the ledger's sum
		{"usage_daily", k.UsageDaily, 12750},      // today only
		{"usage_weekly", k.UsageWeekly, 12750},    // the week began on Monday
		{"usage_monthly", k.UsageMonthly, 25500},  // both in January
		{"limit_remaining", *k.LimitRemaining, 0}, // 20000 − 25500, floored at 0
	}
	for _, c := range checks {
		if v := usdOf(t, c.got); v != c.want {
			t.Errorf("%s = %s (%d nanos), want %d", c.name, c.got, v, c.want)
		}
	}
	if sum != 25500 {
		t.Errorf("ledger sum %d, want 25500", sum)
	}
	// Over the limit: 402.
	if st := chat(); st != http.StatusPaymentRequired {
		t.Errorf("over the limit: status %d, want 402", st)
	}
}
