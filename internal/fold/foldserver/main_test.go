package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/fold"
)

// post sends body to /compute?tz=tz on a real loopback server.
func post(t *testing.T, tz, body string) (int, string) {
	t.Helper()
	return serve(t, compute, "/compute?tz="+tz, body)
}

// The rows as llmmeter:foldPending returns them fold in the named zone into
// the Apply body llmmeter:foldApply takes.
func TestComputeServesTheFold(t *testing.T) {
	ts := time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("JST", 9*3600)).UnixMilli() // Dec 31 in UTC
	body := `{"usage":[],"requestLogs":[],"activity":[{"activityKey":"a1","userId":"u1","activityType":"file_uploaded","timestamp":` +
		strconv.FormatInt(ts, 10) + `}]}`
	status, out := post(t, "Asia/Tokyo", body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, out)
	}
	var a fold.Apply
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(a.Activity) != 1 || a.Activity[0] != "a1" || len(a.Usage) != 0 || a.Usage == nil {
		t.Fatalf("keys %+v", a)
	}
	daily := 0
	for _, r := range a.Aggregates {
		if r.Period == "daily" {
			daily++
			if r.PeriodKey != "2026-01-01" || r.FilesUploaded != 1 {
				t.Errorf("daily row %+v: want Tokyo's 2026-01-01 with the upload", r)
			}
		}
	}
	if daily != 2 { // system and user u1
		t.Errorf("%d daily rows, want 2", daily)
	}
}

// A bad zone or body is the caller's mistake: 400 naming which.
func TestComputeRefusesBadInput(t *testing.T) {
	cases := []struct{ tz, body, want string }{
		{"Not/AZone", `{}`, "tz: "},
		{"UTC", `{"usage":`, "body: "},
		{"UTC", `{"activity":"none"}`, "body: "},
	}
	for _, c := range cases {
		status, out := post(t, c.tz, c.body)
		if status != http.StatusBadRequest || !strings.HasPrefix(out, c.want) {
			t.Errorf("tz %q body %q: %d %q, want 400 starting %q", c.tz, c.body, status, out, c.want)
		}
	}
}
