package convextest

import (
	"context"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/store/convexstore"
)

// Fold folds every row pending on the backend at site, with the Go fold
// and the signed /jobs/fold routes, as the fold job does every ~2 s. The
// services under test run without the scheduler, so a test calls it before
// it reads summaries (admin:overview …). loc is the backend's REPORTING_TZ
// (nil: UTC).
func Fold(t testing.TB, site, secret string, loc *time.Location) {
	t.Helper()
	if loc == nil {
		loc = time.UTC
	}
	c, err := convexclient.New(convexclient.Config{URL: site, SiteURL: site, Secret: secret, Timeout: 2 * time.Minute}) // a busy machine
	if err != nil {
		t.Fatal(err)
	}
	f := fold.Folder{Store: convexstore.New(c), Cal: periods.For(loc), MaxApplies: 10_000}
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatalf("fold: %v", err)
	}
}
