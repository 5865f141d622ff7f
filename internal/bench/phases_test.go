package bench

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/metrics"
)

// TestScrapeAdded reads the service's real /metrics text: the phases'
// means over the calls between two scrapes, and a plain "could not be
// read" when the service has no such metric.
func TestScrapeAdded(t *testing.T) {
	m := metrics.New(nil)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	ctx := context.Background()
	before, after := m.AddedLatency.WithLabelValues("before_upstream"), m.AddedLatency.WithLabelValues("after_upstream")
	before.Observe(5) // the warm-up, left out by the difference
	p0 := scrapeAdded(ctx, srv.URL)
	for _, s := range []float64{0.000040, 0.000060} {
		before.Observe(s)
	}
	for _, s := range []float64{0.000500, 0.000700, 0.000900} {
		after.Observe(s)
	}
	d := scrapeAdded(ctx, srv.URL).since(p0)
	if got, ok := d.mean("before_upstream"); !ok || got.Round(time.Microsecond) != 50*time.Microsecond {
		t.Fatalf("before_upstream mean %v (%v), want 50µs", got, ok)
	}
	if got, ok := d.mean("after_upstream"); !ok || got.Round(time.Microsecond) != 700*time.Microsecond {
		t.Fatalf("after_upstream mean %v (%v), want 700µs", got, ok)
	}
	if l := d.line(); !strings.Contains(l, "**50 µs before") || !strings.Contains(l, "**700 µs after") {
		t.Fatalf("line %q", l)
	}

	empty := httptest.NewServer(metrics.New(nil).Handler())
	defer empty.Close()
	none := scrapeAdded(ctx, empty.URL).since(scrapeAdded(ctx, empty.URL))
	if l := none.line(); !strings.Contains(l, "could not be read") {
		t.Fatalf("no samples: %q", l)
	}
	if l := scrapeAdded(ctx, "http://127.0.0.1:1").line(); !strings.Contains(l, "could not be read") {
		t.Fatalf("unreachable: %q", l)
	}
}
