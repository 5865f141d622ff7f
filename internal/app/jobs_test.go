package app

import (
	"testing"
)

// TestJobsRunInTheService: with the scheduler on, the service catches up at
// start and records the runs in jobRuns, where admins see them.
func TestJobsRunInTheService(t *testing.T) {
	e := start(t, "JOBS_ENABLED", "true")
	waitFor(t, func() bool {
		var runs, health int
		e.db.QueryRow(`SELECT count(*) FROM jobRuns WHERE job = 'health' AND outcome = 'success'`).Scan(&runs)
		e.db.QueryRow(`SELECT count(*) FROM systemHealth`).Scan(&health)
		return runs > 0 && health > 0
	})
}
