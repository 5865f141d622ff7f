package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// serve sends body to h on a real loopback server, at path (with its query).
func serve(t *testing.T, h http.HandlerFunc, path, body string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// /keys answers the periods and user rows an Apply touches, and
// /summarize completes it with the summaries of those periods and the
// version of the state it was given: the two steps between /compute and
// llmmeter:foldApply.
func TestKeysAndSummarizeServeTheFold(t *testing.T) {
	ts := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC).UnixMilli()
	a := fold.Compute(periods.For(time.UTC), fold.Pending{
		Usage: []store.Usage{{GenerationID: "g1", UserID: "u1", Model: "m/a", TotalTokens: 10, Cost: 7, Timestamp: ts}},
	})
	body, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	status, out := serve(t, keys, "", string(body))
	if status != http.StatusOK {
		t.Fatalf("/keys: %d %s", status, out)
	}
	var k rollup.StateKeys
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// One row: its hour, day, week and month, for the system and for u1.
	if len(k.Periods) != 4 || len(k.Users) != 4 {
		t.Fatalf("keys %+v: want 4 periods and 4 user rows", k)
	}
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC).UnixMilli()
	found := false
	for _, p := range k.Periods {
		found = found || p == rollup.PeriodRef{Period: periods.Daily, PeriodStart: day}
	}
	for _, u := range k.Users {
		if u.UserID != "u1" {
			t.Errorf("user row %+v, want u1's", u)
		}
	}
	if !found {
		t.Errorf("periods %+v lack the day of the row", k.Periods)
	}

	st, err := json.Marshal(rollup.SummaryState{Version: 41})
	if err != nil {
		t.Fatal(err)
	}
	status, out = serve(t, summarize, "", `{"apply":`+string(body)+`,"state":`+string(st)+`}`)
	if status != http.StatusOK {
		t.Fatalf("/summarize: %d %s", status, out)
	}
	var done fold.Apply
	if err := json.Unmarshal([]byte(out), &done); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if done.Version != 41 || len(done.Summaries) != 4 || len(done.Aggregates) != len(a.Aggregates) || done.Usage[0] != "g1" {
		t.Fatalf("summarized apply %+v: want version 41, 4 summaries, the deltas and keys kept", done)
	}
	for _, s := range done.Summaries {
		if s.ActiveUsers != 1 || len(s.Models) != 1 || s.Models[0].Model != "m/a" || s.Models[0].TotalCostNanoUsd != 7 || s.Models[0].TotalTokens != 10 {
			t.Errorf("%s summary %+v: want u1 active and m/a's 7 nano-USD, 10 tokens", s.Period, s)
		}
	}
}

// A body that is not an Apply (or {apply, state}) is a 400 naming it.
func TestKeysAndSummarizeRefuseBadBodies(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{"keys": keys, "summarize": summarize} {
		for _, body := range []string{`{"aggregates":`, `{"aggregates":"none","apply":"none"}`} {
			status, out := serve(t, h, "", body)
			if status != http.StatusBadRequest || !strings.HasPrefix(out, "body: ") {
				t.Errorf("%s %q: %d %q, want 400 starting \"body: \"", name, body, status, out)
			}
		}
	}
}
