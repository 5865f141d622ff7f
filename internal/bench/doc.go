// Package bench is the end-to-end load generator behind `make bench`
// (cmd/llmbench). In one bounded run it builds the service, starts the
// OpenRouter simulator (`llmmeter simulate`) and the service (`llmmeter
// serve`) as separate processes on 127.0.0.1, with recording, the outbox,
// quotas and info logging all on, and drives the simulator twice per
// scenario: directly, and through the service. The difference is what the
// service adds.
//
// Scenarios: non-streaming calls at fixed offered rates (open loop: a
// request is sent on schedule whether or not earlier ones have answered),
// and streaming at fixed numbers of concurrently open streams (held open by
// a simulator stall after the first token). The service's CPU time and
// resident memory are read from /proc/<pid>.
//
// Guarantees: every loop is bounded in count and in time; only loopback
// addresses are used; the child processes are stopped when Run returns.
// It does not guarantee quiet figures: it measures whatever else the
// machine is doing, and the report says which machine it ran on.
package bench
