// Package faults is the fault matrix of issue 12: the service and the
// OpenRouter simulator each run as their own process (`llmmeter serve`,
// `llmmeter simulate`), a bounded concurrent client drives streaming and
// plain calls, fast and stalled, while a scenario breaks something (kill
// -9, a kill during recovery, Convex refusing, resetting or answering 503
// behind a switchable [Proxy], upstream faults, SIGTERM with a short
// SHUTDOWN_TIMEOUT, a full DATA_DIR); then [Reconcile] compares the
// simulator's ledger (GET /_ledger) with the stored rows.
//
// What it measures per scenario, as one table row ([Result]): generations
// billed and recorded exactly once with equal tokens and nano-USD, one
// request log per call that reached the service with the status its
// client saw, aggregates (llmmeter:overview) equal to the raw rows, and no
// call answered 200 (with [DONE]) and left unrecorded.
//
// `go test ./internal/faults/` runs the short matrix (tens of calls per
// scenario); FAULTS=full (`make faults`) runs the full one and fails on
// any loss; FAULTS_BOTH=1 runs the short one on both engines,
// FAULTS_LOGS=dir keeps the service logs, FAULTS_REPORT=file writes the
// table. The package code is the proxy and the reconciliation; the
// harness is in the tests. The Convex "kill" is the proxy refusing
// connections: the test backend keeps its data in memory, so killing its
// process would lose what the run must reconcile.
package faults
