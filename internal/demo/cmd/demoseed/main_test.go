package main

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestSeedsInTheReportingZone: every daily aggregate starts at a midnight
// of the zone given, as the service's own fold would key it. Seeded in
// UTC, a New York service saw each day twice: the seed's UTC days beside
// the New York days it folded afterwards.
func TestSeedsInTheReportingZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := run(io.Discard, dir, ny, 1, 3, 200, 5, false); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "llmmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT DISTINCT periodStart FROM usageAggregates WHERE period = 'daily'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var start int64
		if err := rows.Scan(&start); err != nil {
			t.Fatal(err)
		}
		if at := time.UnixMilli(start).In(ny); at.Hour() != 0 || at.Minute() != 0 {
			t.Fatalf("a daily period starts at %v, not a New York midnight", at)
		}
		n++
	}
	if err := rows.Err(); err != nil || n < 5 {
		t.Fatalf("%d days seeded (%v)", n, err)
	}
}
