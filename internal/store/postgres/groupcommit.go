package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit for the hot single-statement writes (status, heartbeats, connections, audit).
//
// Each of those is one statement. Run alone, each costs a transaction and a WAL flush of its own,
// and at a few thousand per second the round trips and commits take the CPU. The committer's
// workers take whatever writes are waiting and send them as one pipeline — BEGIN, the
// statements, COMMIT — in one round trip and one commit. A write returns once that commit did.
//
// If a statement of a batch fails (an unknown station, a deadlock), the batch is rolled back and
// its writes run again one by one, each in its own transaction, so that each caller gets its own
// result and one bad write takes no other with it. Within a batch the writes are sorted by the
// row they lock, so that two batches never wait for each other in a cycle.

const (
	commitWorkers = 4   // batches in flight at once
	maxBatch      = 256 // writes per batch
)

var errStoreClosed = errors.New("postgres: store closed")

type writeOp struct {
	key  string // the row the statement locks: the batch's sort key
	sql  string
	args []any
	done chan writeResult // buffered: the worker never waits for the caller
}

type writeResult struct {
	rows int64
	err  error
}

type committer struct {
	pool *pgxpool.Pool
	ops  chan *writeOp

	mu     sync.RWMutex // held for reading while sending on ops; for writing to close it
	closed bool
	wg     sync.WaitGroup
}

func newCommitter(pool *pgxpool.Pool) *committer {
	c := &committer{pool: pool, ops: make(chan *writeOp, 4*maxBatch)}
	for range commitWorkers {
		c.wg.Go(c.work)
	}
	return c
}

// close lets the workers finish the writes already submitted and stops them. Writes submitted
// afterwards fail.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.ops)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// exec runs one statement in the next batch and returns its rows affected once the batch has
// committed. If ctx ends first, exec returns ctx's error, but the write may still happen.
func (c *committer) exec(ctx context.Context, key, sql string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	op := &writeOp{key: key, sql: sql, args: args, done: make(chan writeResult, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return 0, errStoreClosed
	}
	select {
	case c.ops <- op:
	case <-ctx.Done():
		c.mu.RUnlock()
		return 0, ctx.Err()
	}
	c.mu.RUnlock()
	select {
	case r := <-op.done:
		return r.rows, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (c *committer) work() {
	batch := make([]*writeOp, 0, maxBatch)
	for op := range c.ops {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < maxBatch {
			select {
			case op, ok := <-c.ops:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		c.run(batch)
		clear(batch)
	}
}

// run commits one batch and tells every caller its result.
func (c *committer) run(batch []*writeOp) {
	// The callers' contexts do not stop a batch that others share: a write once queued is done.
	ctx := context.Background()
	if len(batch) == 1 {
		c.runAlone(ctx, batch[0])
		return
	}
	slices.SortStableFunc(batch, func(a, b *writeOp) int { return cmp.Compare(a.key, b.key) })
	rows, failedStmt, err := c.runTogether(ctx, batch)
	switch {
	case err == nil:
		for i, op := range batch {
			op.done <- writeResult{rows: rows[i]}
		}
	case failedStmt:
		// Nothing of the batch was committed: each write again, alone.
		for _, op := range batch {
			c.runAlone(ctx, op)
		}
	default:
		// The commit itself failed (a lost connection): whether it happened is unknown, and a
		// second run could apply an insert twice. Every caller gets the error.
		for _, op := range batch {
			op.done <- writeResult{err: err}
		}
	}
}

func (c *committer) runAlone(ctx context.Context, op *writeOp) {
	tag, err := c.pool.Exec(ctx, op.sql, op.args...)
	op.done <- writeResult{rows: tag.RowsAffected(), err: err}
}

// runTogether runs the batch in one transaction and one round trip. failedStmt tells an error
// of one of the statements (the transaction was rolled back) from one of BEGIN or COMMIT.
func (c *committer) runTogether(ctx context.Context, batch []*writeOp) (rows []int64, failedStmt bool, err error) {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, op := range batch {
		b.Queue(op.sql, op.args...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	rows = make([]int64, len(batch))
	var first error
	firstAt := -1
	for i := range b.Len() {
		tag, err := br.Exec()
		if err != nil && first == nil {
			first, firstAt = err, i
		}
		if i >= 1 && i <= len(batch) {
			rows[i-1] = tag.RowsAffected()
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first, firstAt = err, b.Len()
	}
	if first == nil {
		return rows, false, nil
	}
	rollback(ctx, conn)
	var pgErr *pgconn.PgError
	return nil, firstAt >= 1 && firstAt <= len(batch) && errors.As(first, &pgErr), first
}
