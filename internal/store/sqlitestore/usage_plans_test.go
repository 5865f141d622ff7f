package sqlitestore

import (
	"context"
	"strings"
	"testing"
)

// TestUsageReadsUseAnIndex: after migration 0016 dropped three usage
// indexes, every shape of usageTracking read the engine makes still
// searches an index (EXPLAIN QUERY PLAN shows SEARCH, never a SCAN of the
// table): user and time (statement, user models, first seen), time and
// generation id (the jobs' raw pages), the pending rows, and look-ups by
// generation id (request explorer's usage, errors' provider, leases).
func TestUsageReadsUseAnIndex(t *testing.T) {
	s := open(t)
	for _, q := range []string{
		`SELECT * FROM usageTracking WHERE userId = 'u' AND timestamp >= 1 AND timestamp < 2 ORDER BY timestamp DESC, rowid DESC LIMIT 10`,
		`SELECT MIN(timestamp) FROM usageTracking WHERE userId = 'u'`,
		`SELECT * FROM usageTracking WHERE timestamp < 5 AND (timestamp, generationId) > (1, 'g') ORDER BY timestamp, generationId LIMIT 10`,
		`SELECT * FROM usageTracking WHERE folded = 0 ORDER BY rowid LIMIT 10`,
		`SELECT costNanoUsd FROM usageTracking WHERE generationId IN ('a', 'b')`,
	} {
		rows, err := s.db.R.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "SEARCH usageTracking USING") || strings.Contains(p, "SCAN usageTracking") {
			t.Errorf("%s\n  plan: %s", q, p)
		}
	}
}
