package convexstore

import "llmmeter/jobs"

// The Convex engine implements jobs.Store. The assertion lives in a test
// file because the engine itself imports only package store, never jobs
// (internal/store's TestEnginesDoNotImportJobs).
var _ jobs.Store = (*Store)(nil)

// The fold job writes users' search keys through it (jobs/userkeys.go finds
// it by this interface: a drifted signature would skip the backfill silently).
var _ jobs.UserSearchKeyBackfiller = (*Store)(nil)
