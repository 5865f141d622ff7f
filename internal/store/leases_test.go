package store

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/money"
)

// TestGrantLeaseContract holds GrantLease to contract/lease_grants.json,
// which convex/leases.test.ts holds grantLease to: one rule, two engines.
func TestGrantLeaseContract(t *testing.T) {
	b, err := os.ReadFile("../../contract/lease_grants.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus struct {
		Cases []struct {
			Name, QuotaType                        string
			Limit, Used, Others, Lease, Want, Need int64
			Grant, LeaseAfter                      int64
			Refused                                bool
		}
	}
	if err := json.Unmarshal(b, &corpus); err != nil || len(corpus.Cases) == 0 {
		t.Fatalf("corpus: %v", err)
	}
	for _, c := range corpus.Cases {
		t.Run(c.Name, func(t *testing.T) {
			q := LeasedQuota{QuotaType: c.QuotaType, Limit: c.Limit, Used: c.Used, Others: c.Others, Lease: c.Lease}
			if l, g, r := GrantLease(q, c.Want, c.Need); l != c.LeaseAfter || g != c.Grant || r != c.Refused {
				t.Fatalf("GrantLease(%+v, %d, %d) = %d, %d, %v; want %d, %d, %v", q, c.Want, c.Need, l, g, r, c.LeaseAfter, c.Grant, c.Refused)
			}
		})
	}
}

// TestLeaseInputAtItsBounds: every field exactly at its bound is valid
// (the bounds are inclusive), and one past each is refused.
func TestLeaseInputAtItsBounds(t *testing.T) {
	top := Amounts{Requests: MaxAmount, Tokens: MaxAmount, Cost: money.Nanos(MaxAmount)}
	claims := make([]Claim, MaxClaims)
	for i := range claims {
		claims[i] = Claim{RequestID: strings.Repeat("r", 255) + string(rune('a'+i%26)), Amounts: top}
	}
	edge := LeaseInput{Holder: strings.Repeat("h", 128), UserID: strings.Repeat("u", 64), Claims: claims,
		Want: top, Need: top, Return: top, TTL: time.Hour, ClaimTTL: time.Second}
	if err := edge.Validate(); err != nil {
		t.Fatalf("an input at every bound was refused: %v", err)
	}
	edge.TTL, edge.ClaimTTL = time.Second, time.Hour
	if err := edge.Validate(); err != nil {
		t.Fatalf("the other ends of the TTLs were refused: %v", err)
	}
	for name, past := range map[string]func(*LeaseInput){
		"holder":   func(in *LeaseInput) { in.Holder += "h" },
		"userId":   func(in *LeaseInput) { in.UserID += "u" },
		"claims":   func(in *LeaseInput) { in.Claims = append(in.Claims, Claim{RequestID: "one more", Amounts: top}) },
		"want":     func(in *LeaseInput) { in.Want.Tokens++ },
		"need":     func(in *LeaseInput) { in.Want.Requests-- }, // need stays at the top: more than want
		"ttl":      func(in *LeaseInput) { in.TTL = time.Hour + 1 },
		"claimTtl": func(in *LeaseInput) { in.ClaimTTL = time.Second - 1 },
	} {
		in := edge
		in.Claims = slices.Clone(edge.Claims)
		past(&in)
		if err := in.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s one past its bound: %v", name, err)
		}
	}
}

// TestLeaseInputValidate: every problem at once, under ErrInvalid.
func TestLeaseInputValidate(t *testing.T) {
	ok := LeaseInput{Holder: "h", UserID: "u", TTL: time.Minute, ClaimTTL: time.Minute,
		Claims: []Claim{{RequestID: "r", Amounts: Amounts{Requests: 1, Tokens: 10, Cost: 5}}},
		Want:   Amounts{Tokens: 10}, Need: Amounts{Tokens: 10}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	bad := LeaseInput{Holder: "", UserID: strings.Repeat("u", 65), TTL: time.Millisecond, ClaimTTL: 2 * time.Hour,
		Claims: []Claim{{RequestID: "", Amounts: Amounts{Tokens: -1}}, {RequestID: "r", Amounts: Amounts{Cost: money.Nanos(MaxAmount + 1)}}},
		Want:   Amounts{Requests: 1}, Need: Amounts{Requests: 2}, Return: Amounts{Tokens: -5}}
	err := bad.Validate()
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid input: %v", err)
	}
	for _, want := range []string{"holder", "userId", "claims[0].requestId", "claims[0].tokens", "claims[1].costNanoUsd", "return.tokens", "need: more than want", "ttl", "claimTtl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not named in %v", want, err)
		}
	}
	many := ok
	many.Claims = make([]Claim, MaxClaims+1)
	for i := range many.Claims {
		many.Claims[i] = Claim{RequestID: "r"}
	}
	if err := many.Validate(); err == nil || !strings.Contains(err.Error(), "claims: 257") {
		t.Fatalf("too many claims: %v", err)
	}
}

// TestAmountsOfAndSet: each quota type reads and writes its own unit.
func TestAmountsOfAndSet(t *testing.T) {
	a := Amounts{Requests: 1, Tokens: 2, Cost: 3}
	for typ, want := range map[string]int64{QuotaDailyRequests: 1, QuotaMonthlyTokens: 2, QuotaMonthlyCostUSD: 3, QuotaSystemMonthlyCostUSD: 3, "other": 0} {
		if got := a.Of(typ); got != want {
			t.Errorf("Of(%s) = %d, want %d", typ, got, want)
		}
	}
	if b := a.Set(QuotaDailyRequests, 7).Set(QuotaMonthlyTokens, 8).Set(QuotaSystemMonthlyCostUSD, 9).Set("other", 10); b != (Amounts{7, 8, 9}) {
		t.Errorf("Set: %+v", b)
	}
}
