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
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
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
}

type putReq struct {
	key       string
	state     State
	body      []byte
	notBefore int64      // ms; a pending entry is not resolved before it
	errc      chan error // nil for PutAsync
}

// Open opens or creates the outbox in file and starts its committer.
func Open(ctx context.Context, file string) (*Outbox, error) {
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
	go o.commitLoop()
	return o, nil
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
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("outbox: encode %s: %w", key, err)
	}
	req := putReq{key: key, state: state, body: body, errc: make(chan error, 1)}
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
	select {
	case <-o.done:
	case o.puts <- putReq{key: key, state: Pending, body: body, notBefore: notBefore.UnixMilli()}:
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
	for {
		select {
		case r := <-o.puts:
			group = append(group[:0], r)
		case <-o.done:
			// Commit what is already queued, then stop.
			for {
				select {
				case r := <-o.puts:
					o.commit([]putReq{r})
				default:
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

func (o *Outbox) commit(group []putReq) {
	now := o.now().UnixMilli()
	err := o.db.Tx(context.Background(), func(tx *sql.Tx) error {
		stmt, err := tx.Prepare(`INSERT INTO outbox (key, state, body, next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?)
			ON CONFLICT (key) DO UPDATE SET state = excluded.state, body = excluded.body, attempts = 0,
			next_attempt_at = excluded.next_attempt_at, last_error = NULL, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range group {
			if _, err := stmt.Exec(r.key, string(r.state), r.body, r.notBefore, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("outbox: commit: %w", err)
	}
	if err == nil {
		o.depth.Add(int64(len(group))) // replacements overcount until the next Stats
	}
	wake := false
	for _, r := range group {
		if r.errc != nil {
			r.errc <- err
		}
		wake = wake || r.state == Ready
	}
	if err == nil && wake {
		select {
		case o.notify <- struct{}{}:
		default:
		}
	}
}

// List returns up to limit entries in state, oldest first; for Pending only
// those whose next attempt is due at now.
func (o *Outbox) List(ctx context.Context, state State, limit int, now time.Time) ([]Entry, error) {
	return o.list(ctx, state, limit, now, 0)
}

// ReadyBatch returns the oldest ready entries holding at most maxRows rows
// together (at least one entry), decoding no more entries than it returns.
func (o *Outbox) ReadyBatch(ctx context.Context, maxRows int) ([]Entry, error) {
	return o.list(ctx, Ready, maxRows, o.now(), maxRows)
}

func (o *Outbox) list(ctx context.Context, state State, limit int, now time.Time, maxRows int) ([]Entry, error) {
	rows, err := o.db.R.QueryContext(ctx, `SELECT id, key, state, body, attempts, next_attempt_at, COALESCE(last_error,''), created_at
		FROM outbox WHERE state = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?`, string(state), now.UnixMilli(), limit)
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
func (o *Outbox) Delete(ctx context.Context, ids []int64) error {
	var removed int64
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		removed = 0 // the transaction may be retried
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM outbox WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			r, err := stmt.ExecContext(ctx, id)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			removed += n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: delete: %w", err)
	}
	o.depth.Add(-removed)
	return nil
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
}

// Stats reads the current depth.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	rows, err := o.db.R.QueryContext(ctx, `SELECT state, count(*), min(created_at) FROM outbox GROUP BY state`)
	if err != nil {
		return s, fmt.Errorf("outbox: stats: %w", err)
	}
	defer rows.Close()
	now := o.now().UnixMilli()
	for rows.Next() {
		var st string
		var n int
		var oldest int64
		if err := rows.Scan(&st, &n, &oldest); err != nil {
			return s, err
		}
		switch State(st) {
		case Ready:
			s.Ready = n
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
	return s, nil
}
