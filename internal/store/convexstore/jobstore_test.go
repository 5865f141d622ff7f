package convexstore

import "llmmeter/jobs"

// The Convex engine implements jobs.Store. The assertion lives in a test
// file because the engine itself imports only package store, never jobs
// (internal/store's TestEnginesDoNotImportJobs).
var _ jobs.Store = (*Store)(nil)
