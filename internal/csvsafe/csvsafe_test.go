package csvsafe_test

import (
	"encoding/json"
	"os"
	"testing"

	"llmmeter/internal/csvsafe"
)

// TestText holds the rule to testdata/cells.json, the table the portal's
// csvSafeText is held to as well (portal/test/csvSafe.test.ts).
func TestText(t *testing.T) {
	raw, err := os.ReadFile("testdata/cells.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases [][2]string
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		if got := csvsafe.Text(c[0]); got != c[1] {
			t.Errorf("Text(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}
