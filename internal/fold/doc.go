// Package fold turns raw rows that are not folded yet into the summary
// rows the admin reads use (table usageAggregates), for both engines.
//
// Ingest only appends rows and marks them unfolded. A Folder, run under
// the job lease every ~2 s (jobs.JobFold), reads a page of unfolded rows, computes every derived value
// with internal/rollup (period keys in the reporting time zone, per-period
// system, model and user summaries, one row per key, no shards) and hands
// the engine one Apply: the keys of the rows it read and the deltas they
// add. The engine applies it in one transaction that first checks every row
// is still unfolded (compare-and-set) and marks them folded, so each row is
// counted exactly once: a stale or concurrent folder gets ErrConflict,
// nothing of its Apply is written, and it reads the pending rows again.
//
// The embedded engine folds the rows of an ingest in the ingest's own
// transaction with the same Compute and Summarize (its single writer makes
// the read and the write one step); it leaves to a Folder only the rows of
// a batch wider than one apply (MaxPeriods).
//
// What the package does not do: it never reads or replaces stored
// summaries (Rebuild in jobs does, for repair), and it gives no ordering
// between rows beyond "oldest pending first".
package fold
