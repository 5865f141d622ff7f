// Package outbox is the durable local queue between the gateway's hot path
// and the store: a request's rows are committed to a SQLite file under the
// data directory before the request is answered, then shipped in batches by
// a Delivery loop and deleted only after the store has taken them.
//
// Guarantee: at-least-once delivery of every entry that Put returned nil for,
// across crashes and restarts; with the store's idempotent ingest that is
// exactly once. Entries are keyed (the request id), so putting the same key
// again replaces the entry rather than adding one.
//
// Puts are group-committed: concurrent callers share one transaction, so the
// cost of durability is paid once per batch, not once per request.
//
// When a commit fails (a full disk, an unwritable file), Put reports the
// error at once, so the caller can tell its client the call is not on disk,
// and the outbox keeps the entries in memory (up to MaxStalled) and commits
// them, in order, as soon as a write succeeds again; it retries every
// second. Writable reports the failure until then, so the gateway refuses
// new calls instead of making calls it cannot record.
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"llmmeter/internal/sqlitedb"
	"llmmeter/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// State is where an entry stands.
type State string

const (
	// Ready entries are shipped by the next delivery.
	Ready State = "ready"
	// Pending entries wait for data from elsewhere (OpenRouter's generation
	// record) before they can be shipped; a Resolver completes them.
	Pending State = "pending"
	// Dead entries were refused by the store as invalid; they stay for an
	// operator and are never retried on their own.
	Dead State = "dead"
)

// Entry is one queued request.
type Entry struct {
	ID            int64
	Key           string
	State         State
	Batch         store.Batch
	Attempts      int
	NextAttemptAt int64
	LastError     string
	CreatedAt     int64
	// LastChance asks the Resolver to settle for what it can get now: the
	// service is shutting down (see Delivery.Finish).
	LastChance bool
}

// ErrClosed is returned by Put after Close.
var ErrClosed = errors.New("outbox: closed")

// Outbox is the queue. It is safe for concurrent use.
type Outbox struct {
	db      *sqlitedb.DB
	now     func() time.Time
	puts    chan putReq
	done    chan struct{}
	stopped chan struct{}
	// depth approximates ready+pending entries between two Stats calls,
	// which set it exactly; commits add, deliveries subtract.
	depth atomic.Int64
	// notify has room for one wake-up: a Put signals the delivery loop
	// without blocking when a wake-up is already queued.
	notify chan struct{}

	// stalled holds, in put order, entries whose commit failed; only the
	// commit loop touches it. writeErr mirrors whether it is non-empty.
	stalled  []putReq
	nStalled atomic.Int64
	mu       sync.Mutex
	writeErr error
	// OnLost, when set, is called with the keys of stalled entries dropped
	// because more than MaxStalled waited (their rows are lost).
	OnLost func(keys []string)
}

// MaxStalled bounds the entries kept in memory while commits fail.
const MaxStalled = 10_000

// stalledRetry is how often stalled entries are tried again.
const stalledRetry = time.Second

// ErrUnwritable wraps the commit error that Writable and a failed Put
// report.
var ErrUnwritable = errors.New("outbox: cannot write")

// putReq is one caller's entries, committed in one transaction.
type putReq struct {
	rows []putRow
	errc chan error // nil for PutInFlight
}

type putRow struct {
	key       string
	state     State
	body      []byte
	notBefore int64 // ms; a pending entry is not resolved before it
}

// Item is one entry of a PutAll.
type Item struct {
	Key   string
	State State
	Batch store.Batch
}

// Open opens or creates the outbox in file and starts its committer.
func Open(ctx context.Context, file string) (*Outbox, error) {
	// A commit that someone waits on (Put: the client is about to be told
	// [DONE] or given a plain body) fsyncs the WAL (commit, TxFull), so those
	// rows survive a power loss too, not only a crash; calls ending together
	// share that one commit and fsync. Commits nobody waits on (in-flight
	// entries, deletes after delivery) stay at NORMAL: they survive a kill,
	// and the next fsync makes them durable as well. A delete lost to a power
	// cut only means an entry is delivered again, which the store's
	// idempotent ingest absorbs.
	db, err := sqlitedb.Open(ctx, file, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// Whoever wrote the pending entries is gone: make them all due now.
	if _, err := db.W.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = 0 WHERE state = ?`, string(Pending)); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: recover pending entries: %w", err)
	}
	o := &Outbox{
		db: db, now: time.Now,
		puts:    make(chan putReq, 1024),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		notify:  make(chan struct{}, 1),
	}
	if _, err := o.Stats(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Checkpoints run on a clock (see checkpoint), not inside the commit
	// that crosses the WAL's threshold: that one can hold the commit for
	// tens of milliseconds, during which in-flight entries wait and a kill
	// loses them.
	if _, err := db.W.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	go o.commitLoop()
	return o, nil
}

// checkpointEvery is how often the WAL is copied back into the file.
const checkpointEvery = 500 * time.Millisecond

// checkpoint copies the WAL back into the file, between two commits of the
// committer. SQLite starts the WAL over at the next write only if no
// commit came between the checkpoint's start and that write: a checkpoint
// beside a writer that never pauses never qualified, and the WAL grew by
// every commit without end (169 MB in 3 s of eight steady writers), each
// commit's fdatasync paying for a longer file. Here nothing can come in
// between, so the WAL stays near one interval's commits (longer only while
// a delivery read holds an older snapshot: a passive checkpoint never
// waits for readers). It holds the next commit for one fsync and the few
// pages a small table changed.
func (o *Outbox) checkpoint() {
	o.db.W.Exec(`PRAGMA wal_checkpoint(PASSIVE)`) // best effort; the next tick tries again
}

// Close stops the committer after it has committed what was already put,
// and closes the file.
func (o *Outbox) Close() error {
	select {
	case <-o.done:
	default:
		close(o.done)
	}
	<-o.stopped
	return o.db.Close()
}

// Notify returns a channel that receives after Puts of ready entries.
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// Put stores b under key in state, replacing any entry with that key, and
// returns once the entry is durable.
func (o *Outbox) Put(ctx context.Context, key string, state State, b store.Batch) error {
	return o.PutAll(ctx, Item{Key: key, State: state, Batch: b})
}

// PutAll stores items as Put would, all in one transaction: either every
// item is durable or none is. A request whose rows go out as two entries
// (one ready, one pending) replaces its in-flight entry with both at once,
// so a crash in between can neither lose nor double a row.
func (o *Outbox) PutAll(ctx context.Context, items ...Item) error {
	req := putReq{rows: make([]putRow, len(items)), errc: make(chan error, 1)}
	for i, it := range items {
		body, err := json.Marshal(it.Batch)
		if err != nil {
			return fmt.Errorf("outbox: encode %s: %w", it.Key, err)
		}
		req.rows[i] = putRow{key: it.Key, state: it.State, body: body}
	}
	select {
	case <-o.done:
		return ErrClosed
	case o.puts <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return o.wait(ctx, req)
}

// PutInFlight records, without waiting, that a request is under way: a
// pending entry that the Resolver leaves alone until notBefore. If the
// process dies before the request ends, the entry survives and is resolved
// after the restart (Open makes every pending entry due at once); if the
// request ends, its final Put replaces the entry. Puts of one key are
// committed in the order they were made.
func (o *Outbox) PutInFlight(key string, b store.Batch, notBefore time.Time) {
	body, err := json.Marshal(b)
	if err != nil {
		return // rows of our own making always encode
	}
	o.enqueue(putReq{rows: []putRow{{key: key, state: Pending, body: body, notBefore: notBefore.UnixMilli()}}})
}

// PutAsync queues items as PutAll would, without waiting for the commit.
// Puts of one key are committed in the order they were made.
func (o *Outbox) PutAsync(items ...Item) {
	req := putReq{rows: make([]putRow, 0, len(items))}
	for _, it := range items {
		body, err := json.Marshal(it.Batch)
		if err != nil {
			continue // rows of our own making always encode
		}
		req.rows = append(req.rows, putRow{key: it.Key, state: it.State, body: body})
	}
	o.enqueue(req)
}

func (o *Outbox) enqueue(req putReq) {
	select {
	case <-o.done:
	case o.puts <- req:
	}
}

func (o *Outbox) wait(ctx context.Context, req putReq) error {
	// Once queued, the entry is committed even if ctx ends; wait for it so the
	// caller knows the outcome unless it gave up.
	select {
	case err := <-req.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *Outbox) commitLoop() {
	defer close(o.stopped)
	const maxGroup = 512
	group := make([]putReq, 0, maxGroup)
	retry := time.NewTicker(stalledRetry)
	defer retry.Stop()
	ckpt := time.NewTicker(checkpointEvery)
	defer ckpt.Stop()
	for {
		select {
		case r := <-o.puts:
			group = append(group[:0], r)
		case <-retry.C:
			if len(o.stalled) > 0 {
				o.commit(nil)
			}
			continue
		case <-ckpt.C:
			o.checkpoint()
			continue
		case <-o.done:
			// Commit what is already queued, then stop.
			for {
				select {
				case r := <-o.puts:
					o.commit([]putReq{r})
				default:
					if len(o.stalled) > 0 {
						o.commit(nil)
					}
					return
				}
			}
		}
	gather:
		for len(group) < maxGroup {
			select {
			case r := <-o.puts:
				group = append(group, r)
			default:
				break gather
			}
		}
		o.commit(group)
	}
}

// commit writes the stalled entries, then group, in one transaction. On
// failure the group's callers get the error and every entry joins (or stays
// in) stalled, to be tried again.
func (o *Outbox) commit(group []putReq) {
	all := group
	if len(o.stalled) > 0 {
		all = append(append(make([]putReq, 0, len(o.stalled)+len(group)), o.stalled...), group...)
	}
	now := o.now().UnixMilli()
	tx := o.db.Tx
	if waited(group) {
		tx = o.db.TxFull
	}
	err := tx(context.Background(), func(tx *sql.Tx) error {
		stmt, err := tx.Prepare(`INSERT INTO outbox (key, state, body, next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?)
			ON CONFLICT (key) DO UPDATE SET state = excluded.state, body = excluded.body, attempts = 0,
			next_attempt_at = excluded.next_attempt_at, last_error = NULL, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		last := lastWrites(all)
		for i, req := range all {
			for j, r := range req.rows {
				if last != nil && last[r.key] != [2]int{i, j} {
					continue
				}
				if _, err := stmt.Exec(r.key, string(r.state), r.body, r.notBefore, now, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	wake, n := false, 0
	for _, req := range all {
		for _, r := range req.rows {
			wake = wake || r.state == Ready
		}
		n += len(req.rows)
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrUnwritable, err)
		o.stall(group)
	} else {
		o.stalled = nil
		o.depth.Add(int64(n)) // replacements overcount until the next Stats
	}
	o.nStalled.Store(int64(len(o.stalled)))
	o.mu.Lock()
	o.writeErr = err
	o.mu.Unlock()
	if err == nil && wake {
		// Before the callers hear back: once Put returns, the wake-up is there.
		select {
		case o.notify <- struct{}{}:
		default:
		}
	}
	for _, req := range group {
		if req.errc != nil {
			req.errc <- err
		}
	}
}

// lastWrites maps each key written more than once in all to its last
// write, the one that stands: a short call's in-flight entry and its final
// one often meet in one group, and the upsert leaves the same row whether
// the first is written or not (both carry this commit's time). nil when no
// key repeats.
func lastWrites(all []putReq) map[string][2]int {
	n := 0
	for _, req := range all {
		n += len(req.rows)
	}
	if n < 2 {
		return nil
	}
	last := make(map[string][2]int, n)
	for i, req := range all {
		for j, r := range req.rows {
			last[r.key] = [2]int{i, j}
		}
	}
	if len(last) == n {
		return nil
	}
	return last
}

// waited reports whether a caller waits on the group's commit.
func waited(group []putReq) bool {
	for _, r := range group {
		if r.errc != nil {
			return true
		}
	}
	return false
}

// DurableCommits is how many commits have fsynced (those a Put waited on).
func (o *Outbox) DurableCommits() int64 { return o.db.FullCommits() }

// stall keeps a failed group for the next attempt, dropping the oldest
// entries past MaxStalled.
func (o *Outbox) stall(group []putReq) {
	for _, r := range group {
		if len(r.rows) == 0 {
			continue // an empty PutAll (Finish's nudge) holds nothing to keep
		}
		r.errc = nil // answered now; a later commit answers no one
		o.stalled = append(o.stalled, r)
	}
	if over := len(o.stalled) - MaxStalled; over > 0 {
		if o.OnLost != nil {
			var keys []string
			for _, r := range o.stalled[:over] {
				for _, row := range r.rows {
					keys = append(keys, row.key)
				}
			}
			o.OnLost(keys)
		}
		o.stalled = append([]putReq(nil), o.stalled[over:]...)
	}
}

// Stalled is the number of entries waiting in memory for a commit to
// succeed: rows not yet durable.
func (o *Outbox) Stalled() int64 { return o.nStalled.Load() }

// Writable is nil while commits succeed; after a failed commit it is the
// error (wrapping ErrUnwritable) until a later commit succeeds.
func (o *Outbox) Writable() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writeErr
}

// List returns up to limit entries in state, oldest first; for Pending only
// those whose next attempt is due at now.
func (o *Outbox) List(ctx context.Context, state State, limit int, now time.Time) ([]Entry, error) {
	return o.list(ctx, state, limit, now, 0)
}

// ReadyBatch returns the oldest ready entries holding at most maxRows rows
// together (at least one entry), decoding no more entries than it returns.
func (o *Outbox) ReadyBatch(ctx context.Context, maxRows int) ([]Entry, error) {
	return o.readyBatch(ctx, maxRows, nil)
}

// readyBatch is ReadyBatch passing over the entries skip (those a delivery
// still has in hand).
func (o *Outbox) readyBatch(ctx context.Context, maxRows int, skip []int64) ([]Entry, error) {
	return o.list(ctx, Ready, maxRows, o.now(), maxRows, skip...)
}

func (o *Outbox) list(ctx context.Context, state State, limit int, now time.Time, maxRows int, skip ...int64) ([]Entry, error) {
	q := `SELECT id, key, state, body, attempts, next_attempt_at, COALESCE(last_error,''), created_at
		FROM outbox WHERE state = ? AND next_attempt_at <= ?`
	args := []any{string(state), now.UnixMilli()}
	if len(skip) > 0 {
		q += ` AND id NOT IN (SELECT value FROM json_each(?))`
		args = append(args, idList(skip))
	}
	rows, err := o.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	total := 0
	for rows.Next() {
		var e Entry
		var body []byte
		if err := rows.Scan(&e.ID, &e.Key, &e.State, &body, &e.Attempts, &e.NextAttemptAt, &e.LastError, &e.CreatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &e.Batch); err != nil {
			return nil, fmt.Errorf("outbox: decode entry %d: %w", e.ID, err)
		}
		if maxRows > 0 && len(out) > 0 && total+e.Batch.Len() > maxRows {
			break
		}
		total += e.Batch.Len()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Depth is the approximate number of ready and pending entries.
func (o *Outbox) Depth() int64 { return o.depth.Load() }

// Delete removes delivered entries. The depth counter goes down by the
// entries actually removed, and only once the removal is committed: a
// failed delete leaves the entries, and the count, as they were.
//
// The ids go in as one JSON array, one statement for the whole delivery
// batch (up to 2,000 entries) instead of one execution per entry.
func (o *Outbox) Delete(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var removed int64
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))`, idList(ids))
		if err != nil {
			return err
		}
		removed, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("outbox: delete: %w", err)
	}
	o.depth.Add(-removed)
	return nil
}

// idList is ids as a JSON array, one statement argument for json_each.
func idList(ids []int64) string {
	b := make([]byte, 0, 12*len(ids))
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// Retry records a failed attempt on entry id and when to try it next.
func (o *Outbox) Retry(ctx context.Context, id int64, next time.Time, cause error) error {
	_, err := o.db.W.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`,
		next.UnixMilli(), cause.Error(), o.now().UnixMilli(), id)
	return err
}

// Kill sets entry id aside as dead with the store's reason.
func (o *Outbox) Kill(ctx context.Context, id int64, cause error) error {
	_, err := o.db.W.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?`,
		string(Dead), cause.Error(), o.now().UnixMilli(), id)
	return err
}

// Stats is the outbox's depth by state and the age of its oldest live entry.
type Stats struct {
	Ready, Pending, Dead int
	OldestMs             int64 // age of the oldest ready or pending entry, 0 if none
	// OldestReadyMs is how long the oldest ready entry has been ready (not
	// since its in-flight entry was put, which can be a long stream ago), 0
	// if none.
	OldestReadyMs int64
	// Stalled is the number of puts waiting in memory for a commit to
	// succeed (see Outbox.Stalled): not on disk, lost if the process ends.
	Stalled int64
}

// Stats reads the current depth.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	rows, err := o.db.R.QueryContext(ctx, `SELECT state, count(*), min(created_at), min(updated_at) FROM outbox GROUP BY state`)
	if err != nil {
		return s, fmt.Errorf("outbox: stats: %w", err)
	}
	defer rows.Close()
	now := o.now().UnixMilli()
	for rows.Next() {
		var st string
		var n int
		var oldest, oldestUpdate int64
		if err := rows.Scan(&st, &n, &oldest, &oldestUpdate); err != nil {
			return s, err
		}
		switch State(st) {
		case Ready:
			s.Ready, s.OldestReadyMs = n, max(now-oldestUpdate, 0)
		case Pending:
			s.Pending = n
		case Dead:
			s.Dead = n
			continue
		}
		if age := now - oldest; age > s.OldestMs {
			s.OldestMs = age
		}
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	o.depth.Store(int64(s.Ready + s.Pending))
	s.Stalled = o.Stalled()
	return s, nil
}
