package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("sqlite: store is closed")

// maxBatch bounds how many operations share one transaction, so that one commit never holds
// the write lock for long and a slow batch cannot starve readers of fresh data.
const maxBatch = 512

// Operation states. An operation is claimed exactly once: by the writer (started) or by its
// caller giving up before the writer reached it (cancelled).
const (
	opQueued int32 = iota
	opStarted
	opCancelled
)

// slowCommit is how long a group commit may take before it is logged.
const slowCommit = 250 * time.Millisecond

// op is one public write method's work: fn runs inside the shared transaction.
type op struct {
	fn    func(tx *sql.Tx) error
	state atomic.Int32
	err   error      // fn's own error; written by the writer goroutine only
	done  chan error // buffered; receives the final result exactly once
}

// committer owns the single writer connection and the goroutine that uses it. It turns many
// concurrent write calls into few transactions: whatever is queued when the writer gets to it is
// run in one BEGIN IMMEDIATE … COMMIT, each operation inside its own savepoint so that a failing
// operation is undone alone. With synchronous=FULL every COMMIT is an fsync, so N waiting
// writers cost one fsync instead of N.
type committer struct {
	db  *sql.DB
	log *slog.Logger

	mu     sync.RWMutex // guards closed against sends on ops racing with Close
	closed bool
	ops    chan *op

	stopped chan struct{}

	// pause is held by the writer goroutine for each commit. The checkpointer holds it for its
	// RESTART pass, which needs the write lock: asking SQLite for the lock raced the writer's
	// back-to-back BEGIN IMMEDIATEs and lost for the whole busy timeout, while here the writer
	// finishes its batch and waits, and the writes queue behind it.
	pause sync.Mutex

	// Counters for benchmarks and debugging.
	batches atomic.Int64
	applied atomic.Int64
}

func newCommitter(db *sql.DB, log *slog.Logger) *committer {
	c := &committer{
		db:      db,
		log:     log,
		ops:     make(chan *op, 2*maxBatch),
		stopped: make(chan struct{}),
	}
	go c.run()
	return c
}

// do runs fn in the next group commit and returns once the commit is durable, with fn's error,
// the commit's error, or ctx.Err() if ctx ended before the writer started fn (fn then never runs).
// Once fn has started, do waits for the commit whatever ctx says: the caller must learn whether
// its change is in the database.
//
// fn runs at most once, on the writer goroutine, while every other write waits: it must do SQL on
// tx and nothing slow (no network, no locks held by callers), must not keep tx or open rows past
// its return, and must not call do (that would deadlock the writer).
func (c *committer) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan error, 1)}

	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.ops <- o:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()

	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCancelled) {
			return ctx.Err()
		}
		return <-o.done
	}
}

// close stops accepting operations, lets the writer finish everything already queued and waits
// for it to exit.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.ops)
	}
	c.mu.Unlock()
	<-c.stopped
}

func (c *committer) run() {
	defer close(c.stopped)
	batch := make([]*op, 0, maxBatch)
	for {
		o, ok := <-c.ops
		if !ok {
			return
		}
		batch = append(batch[:0], o)
	fill:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-c.ops:
				if !ok {
					break fill // closed: commit what we have, the next receive ends the loop
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		c.pause.Lock()
		c.commit(batch)
		c.pause.Unlock()
		clear(batch) // let finished operations be collected
	}
}

// commit runs one batch in one transaction and answers every caller.
func (c *committer) commit(batch []*op) {
	live := batch[:0]
	for _, o := range batch {
		if o.state.CompareAndSwap(opQueued, opStarted) {
			live = append(live, o)
		}
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	txErr := c.runTx(live)
	if took := time.Since(start); took >= slowCommit {
		// Every caller of the batch waited this long: worth a line for the operator.
		c.log.Warn("sqlite: slow group commit", "ops", len(live), "took", took.Round(time.Millisecond))
	}
	c.batches.Add(1)
	c.applied.Add(int64(len(live)))
	for _, o := range live {
		err := o.err
		if err == nil && txErr != nil {
			err = txErr
		}
		o.done <- err
	}
}

// runTx executes the operations and commits. It returns an error that applies to every operation
// that did not fail on its own: the transaction as a whole was not committed.
func (c *committer) runTx(live []*op) error {
	// Not the callers' contexts: once started, the batch must run to its end.
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock=immediate in the writer's DSN
	if err != nil {
		err = fmt.Errorf("sqlite: begin: %w", err)
		c.log.Error("group commit: begin failed", "ops", len(live), "err", err)
		return err
	}

	// A lone operation needs no savepoint: if it fails, the whole transaction is rolled back.
	if len(live) == 1 {
		o := live[0]
		if o.err = call(o.fn, tx); o.err != nil {
			_ = tx.Rollback()
			return nil
		}
		return c.finish(tx, 1)
	}

	ok := 0
	for _, o := range live {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			return c.abort(tx, fmt.Errorf("sqlite: savepoint: %w", err), len(live))
		}
		if o.err = call(o.fn, tx); o.err != nil {
			// Undo this operation alone. If SQLite already rolled back the whole transaction
			// (it does on SQLITE_FULL, IOERR, NOMEM, BUSY), the savepoint is gone and so is
			// everything before it.
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
				return c.abort(tx, fmt.Errorf("sqlite: rollback to savepoint after %v: %w", o.err, err), len(live))
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
			return c.abort(tx, fmt.Errorf("sqlite: release savepoint: %w", err), len(live))
		}
	}
	if ok == 0 {
		_ = tx.Rollback() // nothing to make durable: save the fsync
		return nil
	}
	return c.finish(tx, len(live))
}

func (c *committer) finish(tx *sql.Tx, n int) error {
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("sqlite: commit: %w", err)
		c.log.Error("group commit: commit failed", "ops", n, "err", err)
		return err
	}
	return nil
}

func (c *committer) abort(tx *sql.Tx, err error, n int) error {
	_ = tx.Rollback()
	c.log.Error("group commit: batch rolled back", "ops", n, "err", err)
	return err
}

// call runs fn, turning a panic into an error so that one broken operation cannot kill the
// writer goroutine and leave every other caller waiting forever.
func call(fn func(tx *sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write operation panicked: %v", r)
		}
	}()
	return fn(tx)
}
