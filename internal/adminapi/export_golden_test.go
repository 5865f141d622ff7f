package adminapi_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"llmmeter/internal/adminapi"
)

var update = flag.Bool("update", false, "rewrite testdata/requestlogs.csv")

// TestRequestLogCSVGolden pins the CSV of a page with awkward fields
// (quotes, commas, line breaks, a leading space, a non-breaking space,
// absent usage, `\.`, text beginning with = + - @ tab or CR, which gets a
// leading ', and negative numbers, which do not) to
// testdata/requestlogs.csv. The portal's Convex-mode writer
// (portal/src/pages/requests/requestLogsCsv.ts) is held to the same file by
// portal/test/requestLogsCsv.test.ts, so the two writers cannot drift.
func TestRequestLogCSVGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/requestlogs_page.json")
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Page []map[string]any }
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&page); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(adminapi.RequestLogColumns)
	for _, row := range page.Page {
		w.Write(adminapi.RequestLogRecord(row))
	}
	w.Flush()
	if *update {
		if err := os.WriteFile("testdata/requestlogs.csv", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/requestlogs.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("CSV differs from testdata/requestlogs.csv (go test -run Golden -update rewrites it):\n%s", buf.String())
	}
}
