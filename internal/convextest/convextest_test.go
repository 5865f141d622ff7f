package convextest_test

import (
	"net/http"
	"strings"
	"testing"

	"llmmeter/internal/convextest"
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
