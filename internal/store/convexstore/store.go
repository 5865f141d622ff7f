// Package convexstore is the Convex engine of store.Store: every call goes
// through the project's signed HTTP actions (convexclient), so the service
// holds only the ingest secret, never a Convex deploy key.
//
// A 400 from Convex (a row it refuses) becomes store.ErrInvalid, so the
// outbox sets that row aside; a 401 (wrong secret, clock skew) and 5xx after
// retries are returned as they are, so delivery backs off and retries.
package convexstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/periods"
	"llmmeter/internal/signature"
	"llmmeter/internal/store"
)

// MaxIngestRows is the Convex backend's bound on rows per /ingest request
// (packages/convex/src/lib/wire.ts MAX_INGEST_ROWS).
const MaxIngestRows = 100

// Store implements store.Store on Convex.
type Store struct {
	c *convexclient.Client
	// replica names this process in every /ingest request, so Convex adds
	// its batches' cost to one shard of the system budget and batches from
	// different replicas write different documents
	// (packages/convex/src/lib/budgetShards.ts).
	replica string
	// cal is the reporting time zone's calendar (WithReportingTZ; default
	// UTC): the periods of what the store computes in Go before it sends
	// it (ConfirmUsage). It must be the deployment's REPORTING_TZ, whose
	// periods Convex checks every summary against.
	cal *periods.Calendar
}

var _ store.Store = (*Store)(nil)

// New returns a Store that calls Convex through c, with a replica name of
// its own (random, per process).
func New(c *convexclient.Client) *Store {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &Store{c: c, replica: hex.EncodeToString(b[:])}
}

// WithReportingTZ sets the reporting time zone (the deployment's
// REPORTING_TZ) and returns s.
func (s *Store) WithReportingTZ(loc *time.Location) *Store {
	s.cal = periods.For(loc)
	return s
}

func (s *Store) calendar() *periods.Calendar {
	if s.cal == nil {
		return periods.For(time.UTC)
	}
	return s.cal
}

// ingestBody is a /ingest request: rows and the sending replica.
type ingestBody struct {
	store.Batch
	Replica string `json:"replica"`
}

// Client is the underlying client.
func (s *Store) Client() *convexclient.Client { return s.c }

// call posts to a route and maps Convex's refusals onto the store's errors.
func (s *Store) call(ctx context.Context, route string, in, out any) error {
	err := s.c.Call(ctx, route, in, out)
	var he *convexclient.HTTPError
	if errors.As(err, &he) {
		switch {
		case he.Status == 400 && strings.Contains(he.Message, signature.Header):
			// The deployment cannot read this service's signature: its
			// functions are older than the service (deploy them first).
			// Not the request's fault, so not ErrInvalid, on which the
			// outbox would set the rows aside for good; retried instead.
			return err
		case he.Status == 400:
			return fmt.Errorf("%w: %s", store.ErrInvalid, he.Message)
		case he.Status == 404:
			return fmt.Errorf("%w: %s", store.ErrNotFound, he.Message)
		}
	}
	return err
}

// Ingest sends b in requests of at most MaxIngestRows rows. Each request is
// idempotent on its own; if a later one fails the earlier ones stay stored,
// which is harmless because retrying the whole batch inserts nothing twice.
func (s *Store) Ingest(ctx context.Context, b store.Batch) (store.IngestResult, error) {
	var total store.IngestResult
	if err := b.Validate(); err != nil {
		return total, err
	}
	for _, part := range split(b, MaxIngestRows) {
		var res store.IngestResult
		if err := s.call(ctx, "/ingest", ingestBody{Batch: part, Replica: s.replica}, &res); err != nil {
			return total, err
		}
		total.Inserted.Usage += res.Inserted.Usage
		total.Inserted.RequestLogs += res.Inserted.RequestLogs
		total.Inserted.Activity += res.Inserted.Activity
		total.Duplicates.Usage += res.Duplicates.Usage
		total.Duplicates.RequestLogs += res.Duplicates.RequestLogs
		total.Duplicates.Activity += res.Duplicates.Activity
	}
	return total, nil
}

// split cuts b into batches of at most n rows, keeping kinds in order.
func split(b store.Batch, n int) []store.Batch {
	var out []store.Batch
	var cur store.Batch
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur)
			cur = store.Batch{}
		}
	}
	for _, u := range b.Usage {
		if cur.Len() == n {
			flush()
		}
		cur.Usage = append(cur.Usage, u)
	}
	for _, l := range b.RequestLogs {
		if cur.Len() == n {
			flush()
		}
		cur.RequestLogs = append(cur.RequestLogs, l)
	}
	for _, a := range b.Activity {
		if cur.Len() == n {
			flush()
		}
		cur.Activity = append(cur.Activity, a)
	}
	flush()
	return out
}

// Ping asks Convex for a user that cannot exist: any answer from the
// deployment proves it and the secret work.
func (s *Store) Ping(ctx context.Context) error {
	var out struct{}
	return s.call(ctx, "/apikeys/lookup", map[string]string{"keyHash": zeroHash}, &out)
}

const zeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Close releases nothing: the client holds no resources of its own.
func (s *Store) Close() error { return nil }
