// Package jobs runs the service's unattended work on robfig/cron/v3:
// roll-ups of usageAggregates, quota resets, alert evaluation and webhook
// notifications, system health checks, daily and weekly reports, month-end
// forecasts and the backfill of estimated costs.
//
// Jobs are values (Job: Name and Run over a Window) wrapped by one
// Scheduler. What it guarantees:
//   - one replica at a time per job: a lease in the store (jobLeases),
//     acquired with a TTL, renewed while the job runs, released after; a
//     crashed holder's lease expires;
//   - every run is recorded in jobRuns (success, failure or skipped, with
//     counts, the window covered and the error);
//   - missed windows are caught up: the windows still due are computed
//     from the stored last successful run and the injected clock (as the
//     Kubernetes CronJob controller does), bounded by MaxCatchUp;
//   - every write is idempotent (replace-upserts, compare-and-set resets,
//     one open alert per condition key), so a rerun is harmless.
//
// What it does not: schedules fire on the wall clock of the process (cron);
// tests drive the scheduler with RunDue and an injected clock instead. The
// jobs run against the engine-neutral Store interface, implemented by
// internal/store/sqlitestore and internal/store/convexstore.
package jobs
