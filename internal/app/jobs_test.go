package app

import (
	"testing"
)

// TestJobsRunInTheService: with the scheduler on, the service catches up at
// start and records the runs in jobRuns, where admins see them.
func TestJobsRunInTheService(t *testing.T) {
	e := start(t, "JOBS_ENABLED", "true")
	waitFor(t, func() bool {
		var n int
		e.db.QueryRow(`SELECT count(DISTINCT job) FROM jobRuns WHERE outcome = 'success'`).Scan(&n)
		return n >= 3
	})
	var health int
	e.db.QueryRow(`SELECT count(*) FROM systemHealth`).Scan(&health)
	if health == 0 {
		t.Fatal("the health job stored nothing")
	}
}
