package convextest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/store/convexstore"
)

func TestStartServesAndResets(t *testing.T) {
	site, api, secret := convextest.Start(t)
	if site == "" || api != site || secret == "" {
		t.Fatalf("Start = %q %q %q", site, api, secret)
	}
	// An unsigned request is refused: the routes are up, signatures checked.
	res, err := http.Post(site+"/ingest", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned /ingest: HTTP %d, want 401", res.StatusCode)
	}
	convextest.Reset(t, site)
}

// SetClock pins the functions' clock: a request signed at the pinned time
// is accepted and one signed at the real time is refused as skewed; Reset
// returns to the real clock.
func TestSetClockPinsTheFunctionsClock(t *testing.T) {
	site, _, secret := convextest.Start(t)
	pinned := time.Date(2024, 1, 15, 13, 0, 0, 0, time.UTC)
	ping := func(now time.Time) error {
		c, err := convexclient.New(convexclient.Config{URL: site, SiteURL: site, Secret: secret, MaxRetries: -1, Timeout: time.Minute,
			Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return convexstore.New(c).Ping(context.Background())
	}
	convextest.SetClock(t, site, pinned.UnixMilli())
	if err := ping(pinned); err != nil {
		t.Fatalf("signed at the pinned time: %v", err)
	}
	var he *convexclient.HTTPError
	if err := ping(time.Now()); !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("signed at the real time while pinned: %v, want HTTP 401", err)
	}
	convextest.Reset(t, site)
	if err := ping(time.Now()); err != nil {
		t.Fatalf("signed at the real time after Reset: %v", err)
	}
}
