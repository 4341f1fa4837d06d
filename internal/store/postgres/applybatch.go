package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opencpo/opencpo/internal/domain"
)

// Group commit for Apply.
//
// Run alone, every Apply is a transaction of its own: a commit (a WAL flush) and a pool
// connection per message, and at a few thousand messages per second the commits and the
// connections' contention take the CPU. Instead, Apply queues its message for one of a few
// writers. A writer takes whatever is queued (up to maxApplyBatch), runs it on one connection in
// one transaction — each message in a savepoint of its own — and commits once; only then does
// each caller get its answer.
//
// Round trips: the batch's first one is BEGIN, the ledger claim of all its messages (one INSERT …
// ON CONFLICT DO NOTHING), the read of the answers recorded for those claimed before, which
// are replayed without running fn, and the read of its stations' active sessions, from which
// the first message of each station looks its session up. After that a message costs only
// fn's own statements that need an answer (a meter value on a session read ahead needs none:
// its samples and session update go without waiting, see sessionTx): the previous message's
// end (its answer, RELEASE) and its SAVEPOINT are sent with fn's first
// statement, and the last message's end with COMMIT. If fn fails, the transaction is rolled back
// to the message's savepoint and its ledger row deleted: the other messages of the batch stay.
// A later copy of a message of the same batch claims it in a savepoint of its own when its turn
// comes: it finds the first copy's row (same transaction) and replays its answer, or, if the
// first copy failed, runs. If the batch cannot commit, every message of it that did not fail by
// itself gets the error.
//
// Messages are spread over the writers by station, so that copies of one message and the
// messages of one station's sessions meet in one writer and never wait for another writer's
// uncommitted batch. Batches of different writers (or of other nodes on the same database) may
// still wait for one another, on rows that messages of several stations touch or on the ledger
// row of a copy applied by another node, and so deadlock: PostgreSQL then fails one statement
// with 40P01 (or 40001), and the writer rolls that message back to its savepoint and runs it
// again (fn included) in its next batch, up to maxApplyTries times.

const (
	// Messages per transaction. Each message is a subtransaction that writes; PostgreSQL keeps
	// up to 64 of a transaction's in shared memory, beyond which every backend's snapshots must
	// look them up in pg_subtrans (slow for all sessions of the server).
	maxApplyBatch = 64
	maxApplyTries = 5 // runs of one message that fail on a deadlock or serialization error
	// retryPause is the writer's wait before it runs a deadlock's victim again. PostgreSQL
	// detects a deadlock after deadlock_timeout (1 s by default), so the pause is small beside it.
	retryPause = 20 * time.Millisecond
)

// applyWriters is how many writers Apply has for a pool of maxConns connections: each holds one
// connection while it runs a batch.
func applyWriters(maxConns int32) int {
	return int(min(max(maxConns/4, 1), 4))
}

// Statements of the batch's ledger claim.
const (
	// The keys are sorted so that two batches (of two nodes) claiming the same keys take them in
	// the same order.
	qMessageClaimAll = `INSERT INTO station_messages (station_id, action, digest, at)
		SELECT s, a, d, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u (s, a, d)
		ORDER BY s, a, d
		ON CONFLICT DO NOTHING
		RETURNING station_id, action, digest, answer`
	qMessageGetAll = `SELECT m.station_id, m.action, m.digest, m.answer
		FROM unnest($1::text[], $2::text[], $3::text[]) AS u (s, a, d)
		JOIN station_messages m ON m.station_id = u.s AND m.action = u.a AND m.digest = u.d`
	qMessageDelete = `DELETE FROM station_messages WHERE station_id = $1 AND action = $2 AND digest = $3`
	// The active sessions of the batch's stations, read with the claim: most messages (meter
	// values, transaction events) look up one of them, and then need no round trip of their own
	// for it, nor for its samples and its session update (sessionTx). The rows are not locked: FOR UPDATE
	// writes a WAL record per row and cost 20 % more database CPU per message than the plain
	// read saved (bench_test.go). So, as between a message's read and its update before, a
	// change another transaction commits to an active session in between (an operator's stop,
	// the stale-session sweep) is overwritten by the message's update; the window is now the
	// batch's run instead of one round trip.
	qSessionPrefetch = `SELECT id, ` + sessionColumns + ` FROM sessions
		WHERE station_id = ANY($1::text[]) AND status = 'active'`
)

type applyOp struct {
	ctx   context.Context // the caller's: its values reach fn's statements, its cancellation does not
	msg   domain.StationMessage
	fn    func(tx domain.SessionTx) ([]byte, error)
	state atomic.Int32 // opQueued, opStarted or opCancelled
	tries int          // runs that ended in a retryable error

	// Written by the writer before done is closed.
	answer   []byte
	replayed bool
	err      error
	panicked any // fn's panic, raised again in the caller's goroutine
	requeued bool
	done     chan struct{}
}

// Operation states. An operation is claimed exactly once: by a writer (started) or by its caller
// giving up before a writer reached it (cancelled).
const (
	opQueued int32 = iota
	opStarted
	opCancelled
)

type applier struct {
	s      *Store
	queues []chan *applyOp

	mu     sync.RWMutex // held for reading while sending on queues; for writing to close them
	closed bool
	wg     sync.WaitGroup
}

func newApplier(s *Store, writers int) *applier {
	a := &applier{s: s}
	for range max(writers, 1) {
		q := make(chan *applyOp, 2*maxApplyBatch)
		a.queues = append(a.queues, q)
		a.wg.Go(func() { a.write(q) })
	}
	return a
}

// close lets the writers finish the messages already queued and stops them.
func (a *applier) close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		for _, q := range a.queues {
			close(q)
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// apply queues one message and waits for its batch's commit. If ctx ends before a writer took
// the message, it is dropped (fn never runs) and ctx's error returned; once taken, apply waits
// for the commit whatever ctx says, for the caller must learn whether the message was applied.
func (a *applier) apply(ctx context.Context, msg domain.StationMessage, fn func(tx domain.SessionTx) ([]byte, error)) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	op := &applyOp{ctx: ctx, msg: msg, fn: fn, done: make(chan struct{})}
	q := a.queues[stationHash(msg.StationID)%uint32(len(a.queues))]

	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return nil, false, errStoreClosed
	}
	select {
	case q <- op:
	case <-ctx.Done():
		a.mu.RUnlock()
		return nil, false, ctx.Err()
	}
	a.mu.RUnlock()

	select {
	case <-op.done:
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opCancelled) {
			return nil, false, ctx.Err()
		}
		<-op.done
	}
	if op.panicked != nil {
		panic(op.panicked)
	}
	if op.err != nil {
		return nil, false, op.err
	}
	return op.answer, op.replayed, nil
}

// stationHash is the FNV-1a hash of a station id: the writer of its messages.
func stationHash(id string) uint32 {
	h := uint32(2166136261)
	for i := range len(id) {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return h
}

// write is one writer: it runs batches of what is queued on q until q is closed and drained.
func (a *applier) write(q chan *applyOp) {
	var (
		batch = make([]*applyOp, 0, maxApplyBatch)
		retry []*applyOp
	)
	for {
		if len(retry) > 0 {
			// A deadlock's victim: let the transaction that won take the rows it waited for
			// before running the victim again, or the victim may take them first and lose again.
			time.Sleep(retryPause)
		}
		batch = append(batch[:0], retry...)
		retry = nil
		if len(batch) == 0 {
			op, ok := <-q
			if !ok {
				return
			}
			batch = append(batch, op)
		}
	fill:
		for len(batch) < maxApplyBatch {
			select {
			case op, ok := <-q:
				if !ok {
					break fill // closed: run what we have; the next receive ends the loop
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		live := batch[:0]
		for _, op := range batch {
			if op.requeued || op.state.CompareAndSwap(opQueued, opStarted) {
				op.requeued = false
				live = append(live, op)
			}
		}
		if len(live) > 0 {
			retry = a.run(live)
		}
		clear(batch)
	}
}

// stmt is a statement waiting to go with the next round trip.
type stmt struct {
	sql  string
	args []any
}

var (
	stmtRelease  = stmt{sql: "RELEASE SAVEPOINT apply"}
	stmtRollback = stmt{sql: "ROLLBACK TO SAVEPOINT apply"}
)

// run applies live in one transaction, answers every caller whose message is done and returns
// the messages to run again in the next batch.
func (a *applier) run(live []*applyOp) (retry []*applyOp) {
	// Not the callers' contexts: once started, the batch runs to its end.
	ctx := context.Background()
	requeue := func(op *applyOp) bool {
		if op.tries >= maxApplyTries {
			return false
		}
		op.tries++
		op.requeued = true
		op.answer, op.replayed, op.err, op.panicked = nil, false, nil, nil
		retry = append(retry, op)
		return true
	}
	defer func() {
		for _, op := range live {
			if !op.requeued {
				close(op.done)
			}
		}
	}()
	conn, err := a.s.pool.Acquire(ctx)
	if err != nil {
		for _, op := range live {
			op.err = fmt.Errorf("postgres: apply %s of %q: %w", op.msg.Action, op.msg.StationID, err)
		}
		return nil
	}
	// A connection released inside a transaction (a failed ROLLBACK) is closed by the pool.
	defer conn.Release()

	// fail ends the batch on an error of the transaction itself (not of one message): it is
	// rolled back, the messages already run get the error and those not yet run go again.
	fail := func(done []*applyOp, rest []*applyOp, err error) {
		rollback(ctx, conn)
		for _, op := range done {
			if op.err == nil && !op.requeued && op.panicked == nil {
				op.answer, op.replayed = nil, false
				op.err = fmt.Errorf("postgres: apply %s of %q: %w", op.msg.Action, op.msg.StationID, err)
			}
		}
		for _, op := range rest {
			if !requeue(op) {
				op.err = fmt.Errorf("postgres: apply %s of %q: %w", op.msg.Action, op.msg.StationID, err)
			}
		}
	}

	// First round trip: BEGIN and the claim of every message of the batch (of its first copy, if
	// the batch has several), with the recorded answers of those claimed before.
	type msgKey struct{ station, action, digest string }
	now := pgTime(a.s.now())
	var (
		firstCopy = make(map[msgKey]bool, len(live))
		sts       = make([]string, 0, len(live))
		acts      = make([]string, 0, len(live))
		digs      = make([]string, 0, len(live))
		claimed   = make(map[msgKey]bool, len(live))
		recorded  = make(map[msgKey][]byte)
		isFirst   = make([]bool, len(live))
	)
	var (
		stations = make([]string, 0, len(live))
		active   = make(map[string][]domain.Session, len(live)) // by station
	)
	for i, op := range live {
		k := msgKey{op.msg.StationID, op.msg.Action, op.msg.Digest}
		if !firstCopy[k] {
			firstCopy[k], isFirst[i] = true, true
			sts, acts, digs = append(sts, k.station), append(acts, k.action), append(digs, k.digest)
		}
		if _, ok := active[k.station]; !ok && storable(k.station) {
			active[k.station] = nil
			stations = append(stations, k.station)
		}
	}
	{
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(qMessageClaimAll, sts, acts, digs, now)
		b.Queue(qMessageGetAll, sts, acts, digs)
		b.Queue(qSessionPrefetch, stations)
		br := conn.SendBatch(ctx, b)
		_, err := br.Exec()
		if err == nil {
			err = readKeys(br, func(s, a, d string, _ []byte) { claimed[msgKey{s, a, d}] = true })
		}
		if err == nil {
			err = readKeys(br, func(s, a, d string, answer []byte) { recorded[msgKey{s, a, d}] = answer })
		}
		if err == nil {
			err = readSessions(br, func(sess domain.Session) { active[sess.StationID] = append(active[sess.StationID], sess) })
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fail(nil, live, err)
			return retry
		}
	}

	var tail []stmt // statements still to send: the previous message's end
	wrote := false
	ran := make(map[string]bool, len(stations)) // stations a message of this batch ran fn for
	for i, op := range live {
		key := []any{op.msg.StationID, op.msg.Action, op.msg.Digest}
		k := msgKey{op.msg.StationID, op.msg.Action, op.msg.Digest}
		var pending []stmt
		switch {
		case isFirst[i] && claimed[k]:
			// Claimed: the savepoint goes with fn's first statement.
			pending = append(tail, stmt{sql: "SAVEPOINT apply"})
			tail = nil
		case isFirst[i]:
			answer, ok := recorded[k]
			if !ok {
				// Only if the row went (pruned) between the claim and the read: let the caller retry.
				op.err = fmt.Errorf("postgres: apply %s of %q: read the recorded answer: the ledger row is gone", op.msg.Action, op.msg.StationID)
			} else {
				op.answer, op.replayed = answer, true
			}
			continue
		default:
			// A later copy of a message of this batch: claimed if the first copy failed, else a
			// replay of its answer. SAVEPOINT, the claim and the read in one round trip.
			b := &pgx.Batch{}
			for _, st := range tail {
				b.Queue(st.sql, st.args...)
			}
			b.Queue("SAVEPOINT apply")
			b.Queue(qMessageClaim, append(key, now)...)
			b.Queue(qMessageGet, key...)
			var stored []byte
			n, at, err := sendHead(ctx, conn.Conn(), b, &stored)
			switch {
			case err != nil && at <= len(tail):
				// The previous message's end or the savepoint failed: the transaction is lost.
				fail(live[:i], live[i:], err)
				return retry
			case err != nil:
				tail = []stmt{stmtRollback, stmtRelease}
				if !retryable(err) || !requeue(op) {
					op.err = fmt.Errorf("postgres: apply %s of %q: claim: %w", op.msg.Action, op.msg.StationID, mapErr(err, "", ""))
				}
				continue
			case n == 0:
				tail = []stmt{stmtRelease}
				op.answer, op.replayed = stored, true
				continue
			}
			tail = nil
		}

		stx := &sessionTx{s: a.s, ctx: context.WithoutCancel(op.ctx), conn: conn.Conn(), pending: pending}
		// The prefetched sessions are as the batch began: true for the first message of their
		// station only (a later one would not see what the first wrote).
		if !ran[op.msg.StationID] {
			stx.active, stx.prefetched = active[op.msg.StationID], true
		}
		ran[op.msg.StationID] = true
		answer, err := stx.run(op)
		// Undoing a message: back to its savepoint, and its ledger row goes (claimed before the
		// savepoint when claimed with the batch).
		undo := func() []stmt {
			return append(stx.pending, stmtRollback, stmtRelease, stmt{sql: qMessageDelete, args: key})
		}
		switch {
		case stx.broken != nil:
			// A statement of the batch sent with fn's failed: the transaction is lost.
			fail(live[:i], live[i:], stx.broken)
			return retry
		case op.panicked != nil:
			tail = undo()
		case stx.retry != nil && requeue(op):
			tail = undo()
		case err != nil:
			tail = undo()
			op.err = err
		case stx.aborted != nil:
			// fn went on after a statement that aborted the transaction: nothing it did after
			// that statement happened, so none of it may commit.
			tail = undo()
			op.err = fmt.Errorf("postgres: apply %s of %q: %w", op.msg.Action, op.msg.StationID, mapErr(stx.aborted, "", ""))
		default:
			tail = stx.pending
			if answer != nil {
				// The claimed row's answer is NULL already.
				tail = append(tail, stmt{sql: qMessageAnswer, args: append(key, answer)})
			}
			tail = append(tail, stmtRelease)
			op.answer, wrote = answer, true
		}
	}

	// The last message's end and COMMIT in one round trip. With nothing to keep, ROLLBACK spares
	// the WAL flush.
	end := "ROLLBACK"
	if wrote {
		end = "COMMIT"
	}
	b := &pgx.Batch{}
	for _, st := range tail {
		b.Queue(st.sql, st.args...)
	}
	b.Queue(end)
	br := conn.SendBatch(ctx, b)
	var (
		tag   pgconn.CommandTag
		first error
	)
	for range b.Len() {
		var err error
		tag, err = br.Exec()
		if err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	if first == nil && tag.String() != end {
		first = fmt.Errorf("the transaction ended with %s, not %s", tag.String(), end)
	}
	if first != nil {
		// Whether a failed COMMIT (a lost connection) happened is unknown: no message is run
		// again, every one that did not fail by itself gets the error.
		fail(live, nil, fmt.Errorf("commit: %w", first))
	}
	return retry
}

// sendHead sends a message's first round trip and reads its results: the statements of the
// previous message's end, SAVEPOINT, the claim (its rows affected are returned) and the read of
// the recorded answer (into stored). On error, at is the index of the statement that failed.
func sendHead(ctx context.Context, conn *pgx.Conn, b *pgx.Batch, stored *[]byte) (claimed int64, at int, err error) {
	br := conn.SendBatch(ctx, b)
	n := b.Len()
	at = -1
	for i := range n - 1 {
		tag, e := br.Exec()
		if e != nil {
			err, at = e, i
			break
		}
		if i == n-2 {
			claimed = tag.RowsAffected()
		}
	}
	if err == nil {
		if e := br.QueryRow().Scan(stored); e != nil && (claimed == 0 || !isNoRows(e)) {
			err, at = e, n-1
		}
	}
	if e := br.Close(); e != nil && err == nil {
		err, at = e, n-1
	}
	return claimed, at, err
}

// readKeys reads the next result of br: rows of station, action, digest and answer.
func readKeys(br pgx.BatchResults, f func(station, action, digest string, answer []byte)) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s, a, d string
			answer  []byte
		)
		if err := rows.Scan(&s, &a, &d, &answer); err != nil {
			return err
		}
		f(s, a, d, answer)
	}
	return rows.Err()
}

// readSessions reads the next result of br: session rows.
func readSessions(br pgx.BatchResults, f func(domain.Session)) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return err
		}
		f(sess)
	}
	return rows.Err()
}

// run calls op's fn on x and then retires x. A panic of fn is kept in op, to be raised again in
// the caller's goroutine.
func (x *sessionTx) run(op *applyOp) (answer []byte, err error) {
	defer func() {
		x.conn = nil
		if r := recover(); r != nil {
			op.panicked = r
			answer, err = nil, nil
		}
	}()
	return op.fn(x)
}

// retryable reports whether err is a deadlock or serialization failure: the statement was
// chosen as the victim and running it again later may succeed.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
