// Command foldserver serves the fold's pure core (fold.Compute) on
// 127.0.0.1 for the Convex function tests (vitest.global-setup.ts): they
// ingest through the real routes, then fold with the very Go code the fold
// job runs, so no TypeScript twin of the fold exists, not even in tests.
//
// POST /compute?tz=Zone with {usage, requestLogs, activity} (documents as
// llmmeter:foldPending returns them) answers the fold.Apply of their deltas;
// POST /keys with that Apply answers the keys for llmmeter:foldSummaryState;
// POST /summarize with {apply, state} answers the Apply completed with its
// summaries and version, the body for llmmeter:foldApply.
// It prints "listening http://ADDR" once ready and exits when stdin closes.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("POST /compute", compute)
	http.HandleFunc("POST /keys", keys)
	http.HandleFunc("POST /summarize", summarize)
	fmt.Printf("listening http://%s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent went away
		os.Exit(0)
	}()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func compute(w http.ResponseWriter, r *http.Request) {
	loc, err := time.LoadLocation(r.URL.Query().Get("tz"))
	if err != nil {
		http.Error(w, "tz: "+err.Error(), http.StatusBadRequest)
		return
	}
	var p struct {
		Usage       []store.Usage      `json:"usage"`
		RequestLogs []store.RequestLog `json:"requestLogs"`
		Activity    []store.Activity   `json:"activity"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	cal := periods.For(loc)
	// As fold.Folder.Run: an apply touches at most fold.MaxPeriods periods.
	a := fold.Compute(cal, fold.LimitPeriods(cal, fold.Pending{Usage: p.Usage, RequestLogs: p.RequestLogs, Activity: p.Activity}, fold.MaxPeriods))
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

func keys(w http.ResponseWriter, r *http.Request) {
	var a fold.Apply
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(rollup.KeysOf(a.Aggregates))
}

func summarize(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Apply fold.Apply          `json:"apply"`
		State rollup.SummaryState `json:"state"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	fold.Summarize(&body.Apply, body.State)
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(body.Apply)
}
