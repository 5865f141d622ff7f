package sqlitestore

import (
	"context"
	"strings"
	"testing"
)

// TestUsageReadsUseAnIndex: after migration 0017 dropped three usage
// indexes, every shape of usageTracking read the engine makes still
// searches the index range it did (EXPLAIN QUERY PLAN): user and time
// (statement, user models, first seen), time and generation id (the jobs'
// raw pages), the pending rows, and look-ups by generation id (the request
// explorer's usage, the errors' provider, leases).
func TestUsageReadsUseAnIndex(t *testing.T) {
	s := open(t)
	for _, c := range []struct{ query, plan string }{
		{`SELECT * FROM usageTracking WHERE userId = 'u' AND timestamp >= 1 AND timestamp < 2 ORDER BY timestamp DESC, rowid DESC LIMIT 10`,
			"SEARCH usageTracking USING INDEX usageTracking_by_user_id_and_timestamp (userId=? AND timestamp>? AND timestamp<?)"},
		{`SELECT MIN(timestamp) FROM usageTracking WHERE userId = 'u'`,
			"SEARCH usageTracking USING COVERING INDEX usageTracking_by_user_id_and_timestamp (userId=?)"},
		{`SELECT * FROM usageTracking WHERE timestamp < 5 AND (timestamp, generationId) > (1, 'g') ORDER BY timestamp, generationId LIMIT 10`,
			"SEARCH usageTracking USING INDEX usageTracking_by_timestamp_and_generation_id ((timestamp,generationId)>(?,?) AND timestamp<?)"},
		{`SELECT * FROM usageTracking WHERE folded = 0 ORDER BY rowid LIMIT 10`,
			"SEARCH usageTracking USING INDEX usageTracking_unfolded (folded=?)"},
		{`SELECT costNanoUsd FROM usageTracking WHERE generationId IN ('a', 'b')`,
			"SEARCH usageTracking USING INDEX sqlite_autoindex_usageTracking_1 (generationId=?)"},
	} {
		if got := queryPlan(t, s, c.query); got != c.plan {
			t.Errorf("%s\n  plan: %s\n  want: %s", c.query, got, c.plan)
		}
	}
}

// queryPlan is SQLite's plan for query with args (EXPLAIN QUERY PLAN), its
// steps joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.db.R.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}
