package outbox

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/store"
)

// Sink is where entries are delivered: a store's idempotent Ingest.
type Sink interface {
	Ingest(ctx context.Context, b store.Batch) (store.IngestResult, error)
}

// Resolver completes a pending entry, e.g. from OpenRouter's generation
// record. It returns the entry's final rows, or an error to be asked again
// later (after a backoff). A Resolver decides itself when to stop waiting
// and settle for what it has; Entry.CreatedAt and Attempts tell it how long
// it has tried.
type Resolver interface {
	Resolve(ctx context.Context, e Entry) (store.Batch, error)
}

// Delivery ships ready entries to a Sink and completes pending ones with a
// Resolver. Zero durations and sizes take the defaults noted.
type Delivery struct {
	Outbox   *Outbox
	Sink     Sink
	Resolver Resolver // may be nil: pending entries then wait forever
	Log      zerolog.Logger
	// OnDelivered and OnFailure, when set, observe deliveries (metrics).
	OnDelivered func(rows int)
	OnFailure   func()

	MaxBatchRows int // rows per Ingest call; default 2000
	// Linger is how long a wake-up waits to gather more entries; default
	// 100ms. A store commit (its fsync and the fold of every period the rows
	// touch) costs about as much for one call as for a hundred, so calls
	// trickling in one at a time are shipped together; the admin views lag
	// by as much.
	Linger             time.Duration
	MinBackoff         time.Duration // after a failed Ingest or Resolve; default 250ms
	MaxBackoff         time.Duration // default 30s
	ResolveEvery       time.Duration // how often pending entries are looked at; default 500ms
	ResolveConcurrency int           // default 8

	warnedAt time.Time // last backlog warning; read and written by the ship loop only
}

func (d *Delivery) defaults() {
	if d.MaxBatchRows <= 0 {
		d.MaxBatchRows = 2000
	}
	if d.Linger <= 0 {
		d.Linger = 100 * time.Millisecond
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = 250 * time.Millisecond
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 30 * time.Second
	}
	if d.ResolveEvery <= 0 {
		d.ResolveEvery = 500 * time.Millisecond
	}
	if d.ResolveConcurrency <= 0 {
		d.ResolveConcurrency = 8
	}
}

// Run ships and resolves until ctx ends. It never returns early: failures
// are logged and retried with backoff.
func (d *Delivery) Run(ctx context.Context) {
	d.defaults()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.resolveLoop(ctx)
	}()
	d.shipLoop(ctx)
	wg.Wait()
}

func (d *Delivery) shipLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second) // catches entries put by other processes
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.Outbox.Notify():
			if !sleep(ctx, d.Linger) {
				return
			}
		case <-tick.C:
			d.report(ctx)
		}
		for {
			n, err := d.shipAll(ctx)
			if n > 0 {
				failures = 0
			}
			if err == nil {
				break
			}
			failures++
			if d.OnFailure != nil {
				d.OnFailure()
			}
			wait := backoff(d.MinBackoff, d.MaxBackoff, failures)
			d.Log.Warn().Err(err).Int("failures", failures).Dur("retry_in", wait).Msg("outbox delivery failed")
			if !sleep(ctx, wait) {
				return
			}
		}
	}
}

// Drain ships every ready entry now; it stops at the first failure.
func (d *Delivery) Drain(ctx context.Context) error {
	d.defaults()
	_, err := d.shipAll(ctx)
	return err
}

// Finish is the shutdown drain: it resolves every pending entry (in-flight
// ones too: their requests have ended) and ships everything, until the
// outbox is empty or ctx ends. In its last third it marks entries
// LastChance, so the Resolver settles for an estimate rather than leave a
// billed call on a disk that may be discarded. It returns what is left.
func (d *Delivery) Finish(ctx context.Context) (Stats, error) {
	d.defaults()
	deadline, ok := ctx.Deadline()
	lastChance := time.Time{}
	if ok {
		lastChance = deadline.Add(-time.Until(deadline) / 3)
	}
	for ctx.Err() == nil {
		// Entries stalled by a full disk first, in case it has room again.
		if d.Outbox.Stalled() > 0 {
			d.Outbox.PutAll(ctx)
		}
		last := ok && !time.Now().Before(lastChance)
		if err := d.resolveAll(ctx, last); err != nil {
			if ctx.Err() != nil {
				break // the time ran out mid-pass: report what is left
			}
			return Stats{}, err
		}
		if err := d.Drain(ctx); err != nil {
			return d.Outbox.Stats(context.WithoutCancel(ctx))
		}
		st, err := d.Outbox.Stats(ctx)
		if err != nil && ctx.Err() != nil {
			break // as above
		}
		// Stalled entries are not on disk yet: not empty while they wait.
		if err != nil || st.Ready+st.Pending+int(st.Stalled) == 0 {
			return st, err
		}
		if !sleep(ctx, d.MinBackoff) {
			break
		}
	}
	return d.Outbox.Stats(context.WithoutCancel(ctx))
}

// resolveAll tries every pending entry once, due or not.
func (d *Delivery) resolveAll(ctx context.Context, lastChance bool) error {
	if d.Resolver == nil {
		return nil
	}
	entries, err := d.Outbox.List(ctx, Pending, 1<<20, time.Now().Add(100*365*24*time.Hour))
	if err != nil {
		return err
	}
	sem := make(chan struct{}, d.ResolveConcurrency)
	var wg sync.WaitGroup
	for _, e := range entries {
		e.LastChance = lastChance
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.resolve(ctx, e)
		}()
	}
	wg.Wait()
	return nil
}

// shipAll delivers ready entries, batch after batch, until none is left
// or a delivery fails, and returns how many entries it settled. The steps
// of consecutive batches overlap: while batch n is ingested, batch n+1 is
// read and decoded, and batch n−1's entries are deleted (an outbox commit),
// so the store's writer does not wait for the outbox's. A read
// skips the entries still being ingested or deleted; an entry whose delete
// fails is read again later and ingested again, which the store's
// idempotent ingest makes harmless.
func (d *Delivery) shipAll(ctx context.Context) (int, error) {
	type read struct {
		entries []Entry
		err     error
	}
	var (
		settled  int
		deleting []int64    // the previous batch's ids, being deleted
		deleted  chan error // its outcome; nil when nothing is being deleted
	)
	waitDelete := func() error {
		if deleted == nil {
			return nil
		}
		err := <-deleted
		deleting, deleted = nil, nil
		return err
	}
	cur, err := d.Outbox.readyBatch(ctx, d.MaxBatchRows, nil)
	for err == nil && len(cur) > 0 {
		skip := slices.Clone(deleting)
		for _, e := range cur {
			skip = append(skip, e.ID)
		}
		next := make(chan read, 1)
		go func() {
			es, err := d.Outbox.readyBatch(ctx, d.MaxBatchRows, skip)
			next <- read{es, err}
		}()
		ids, n, shipErr := d.ship(ctx, cur)
		settled += n
		if err := waitDelete(); shipErr == nil {
			shipErr = err
		}
		if len(ids) > 0 {
			done := make(chan error, 1)
			go func() { done <- d.Outbox.Delete(ctx, ids) }()
			deleting, deleted = ids, done
		}
		r := <-next
		if shipErr != nil {
			err = shipErr
			break
		}
		cur, err = r.entries, r.err
		if err == nil && (len(cur) == 0 || rowsOf(cur) < d.MaxBatchRows/2) {
			// Read before this batch's ingest ended: look again for
			// entries put meanwhile, so they need not wait for a wake-up.
			// While entries keep coming, wait Linger first to gather a
			// fuller batch: a store's ingest costs per batch as well as
			// per row (the fold reads and writes every touched key once).
			if len(cur) > 0 && !sleep(ctx, d.Linger) {
				err = ctx.Err()
				break
			}
			cur, err = d.Outbox.readyBatch(ctx, d.MaxBatchRows, deleting)
		}
	}
	if derr := waitDelete(); err == nil {
		err = derr
	}
	return settled, err
}

func rowsOf(entries []Entry) int {
	n := 0
	for _, e := range entries {
		n += e.Batch.Len()
	}
	return n
}

// ship ingests entries as one batch and returns the ids of the entries
// the store took (for the caller to delete) and how many entries it
// settled, those set aside as dead included. A batch the store refuses as
// invalid is split in halves, each shipped the same way, until the refused
// entries stand alone: those are set aside as dead with the store's
// reason, and the rest flow. k bad entries among n cost O(k·log n) calls,
// so one bad row never stalls delivery for others. On a failure the ids
// of the halves already taken are still returned.
func (d *Delivery) ship(ctx context.Context, entries []Entry) ([]int64, int, error) {
	var b store.Batch
	ids := make([]int64, len(entries))
	for i, e := range entries {
		b.Append(e.Batch)
		ids[i] = e.ID
	}
	_, err := d.Sink.Ingest(ctx, b)
	switch {
	case err == nil:
		if d.OnDelivered != nil {
			d.OnDelivered(b.Len())
		}
		return ids, len(ids), nil
	case !errors.Is(err, store.ErrInvalid):
		return nil, 0, err
	case len(entries) == 1:
		d.Log.Error().Err(err).Str("key", entries[0].Key).Msg("outbox entry refused by the store; set aside as dead")
		if err := d.Outbox.Kill(ctx, entries[0].ID, err); err != nil {
			return nil, 0, err
		}
		return nil, 1, nil
	}
	half := len(entries) / 2
	took, n, err := d.ship(ctx, entries[:half])
	if err != nil {
		return took, n, err
	}
	more, m, err := d.ship(ctx, entries[half:])
	return append(took, more...), n + m, err
}

func (d *Delivery) resolveLoop(ctx context.Context) {
	if d.Resolver == nil {
		return
	}
	tick := time.NewTicker(d.ResolveEvery)
	defer tick.Stop()
	sem := make(chan struct{}, d.ResolveConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := map[int64]bool{}
	var mu sync.Mutex
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		entries, err := d.Outbox.List(ctx, Pending, 4*d.ResolveConcurrency, d.Outbox.now())
		if err != nil {
			d.Log.Warn().Err(err).Msg("outbox: listing pending entries failed")
			continue
		}
		for _, e := range entries {
			mu.Lock()
			busy := inflight[e.ID]
			inflight[e.ID] = true
			mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(e Entry) {
				defer func() {
					mu.Lock()
					delete(inflight, e.ID)
					mu.Unlock()
					<-sem
					wg.Done()
				}()
				d.resolve(ctx, e)
			}(e)
		}
	}
}

func (d *Delivery) resolve(ctx context.Context, e Entry) {
	b, err := d.Resolver.Resolve(ctx, e)
	if err == nil {
		err = d.Outbox.Put(ctx, e.Key, Ready, b)
	}
	if err != nil && ctx.Err() == nil {
		next := d.Outbox.now().Add(backoff(d.MinBackoff, d.MaxBackoff, e.Attempts+1))
		if rerr := d.Outbox.Retry(ctx, e.ID, next, err); rerr != nil {
			d.Log.Warn().Err(rerr).Msg("outbox: recording a retry failed")
		}
		d.Log.Debug().Err(err).Str("key", e.Key).Int("attempts", e.Attempts+1).Msg("pending entry not resolved yet")
	}
}

// backoff is exponential from min, capped at max, with full jitter over its
// upper half so that replicas do not retry in step.
func backoff(min, max time.Duration, attempt int) time.Duration {
	d := min
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends, reporting whether the full wait elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

const (
	// backlogAfter is the age at which a ready entry counts as a backlog:
	// in the normal flow one ships within milliseconds.
	backlogAfter = 5 * time.Second
	// backlogWarnEvery spaces the backlog warnings.
	backlogWarnEvery = time.Minute
)

// report refreshes the outbox depth and warns of a real backlog: ready
// entries the store has not taken within backlogAfter, or dead entries
// waiting for an operator. Pending entries wait for OpenRouter's generation
// record by design and are no backlog. The warning repeats at most once per
// backlogWarnEvery (on the outbox's clock), however long the backlog lasts.
func (d *Delivery) report(ctx context.Context) {
	st, err := d.Outbox.Stats(ctx)
	if err != nil || (st.OldestReadyMs < backlogAfter.Milliseconds() && st.Dead == 0) {
		return
	}
	now := d.Outbox.now()
	if !d.warnedAt.IsZero() && now.Sub(d.warnedAt) < backlogWarnEvery {
		return
	}
	d.warnedAt = now
	d.Log.Warn().Int("ready", st.Ready).Int("pending", st.Pending).Int("dead", st.Dead).
		Int64("oldest_ready_ms", st.OldestReadyMs).Msg("outbox backlog")
}
