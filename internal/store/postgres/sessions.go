package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencpo/opencpo/internal/domain"
)

// sessionColumns are the columns NewSession writes, in the order of sessionArgs; reads select
// "id, " + sessionColumns.
const sessionColumns = `station_id, evse_id, connector_id, transaction_id, id_token, id_token_type,
	auth_status, status, started_at, stopped_at, meter_start_wh, meter_start_at, meter_stop_wh,
	meter_last_wh, meter_last_at, energy_wh, stop_reason, remote_start_id, reservation_id,
	charging_state, last_seq_no, last_event_at, last_station_at, flag, created_at, updated_at`

// Statements of Apply and its SessionTx.
const (
	// Claims one message's key (a later copy of a message in the same batch: see applybatch.go,
	// whose qMessageClaimAll claims a batch's messages at once). A copy of the message claimed by
	// another transaction waits here for it: if that commits, the copy inserts nothing and reads
	// the answer; if it rolls back, the copy goes ahead.
	qMessageClaim = `INSERT INTO station_messages (station_id, action, digest, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`
	qMessageGet    = `SELECT answer FROM station_messages WHERE station_id = $1 AND action = $2 AND digest = $3`
	qMessageAnswer = `UPDATE station_messages SET answer = $4 WHERE station_id = $1 AND action = $2 AND digest = $3`

	// A 1.6 session is named by its id: the id is drawn from the sequence first, so that the same
	// INSERT can store it as the transaction id. The casts type the parameters, which a SELECT
	// list does not.
	qSessionInsert = `WITH n AS (SELECT nextval(pg_get_serial_sequence('sessions', 'id')) AS id)
		INSERT INTO sessions (id, ` + sessionColumns + `)
		SELECT n.id, $1::text, $2::integer, $3::integer,
			CASE WHEN $4::text = '' THEN n.id::text ELSE $4::text END,
			$5::text, $6::text, $7::text, $8::text, $9::timestamptz, $10::timestamptz,
			$11::double precision, $12::timestamptz, $13::double precision, $14::double precision,
			$15::timestamptz, $16::double precision, $17::text, $18::bigint, $19::bigint, $20::text,
			$21::bigint, $22::timestamptz, $23::timestamptz, $24::text, $25::timestamptz, $26::timestamptz
		FROM n
		ON CONFLICT (station_id, transaction_id) DO NOTHING
		RETURNING id, transaction_id`
	qSessionByTransaction = `SELECT id, ` + sessionColumns + ` FROM sessions WHERE station_id = $1 AND transaction_id = $2`
	qSessionActiveOn      = `SELECT id, ` + sessionColumns + ` FROM sessions
		WHERE station_id = $1 AND evse_id = $2 AND status = 'active'
		ORDER BY started_at DESC, id DESC LIMIT 1`
	// Every column but created_at, which stays what NewSession stored. PostgreSQL keeps the
	// update HOT (no index writes) when no indexed column changes value, so one statement serves
	// meter values and renames alike.
	qSessionUpdate = `UPDATE sessions SET station_id = $1, evse_id = $2, connector_id = $3, transaction_id = $4,
			id_token = $5, id_token_type = $6, auth_status = $7, status = $8, started_at = $9, stopped_at = $10,
			meter_start_wh = $11, meter_start_at = $12, meter_stop_wh = $13, meter_last_wh = $14, meter_last_at = $15,
			energy_wh = $16, stop_reason = $17, remote_start_id = $18, reservation_id = $19, charging_state = $20,
			last_seq_no = $21, last_event_at = $22, last_station_at = $23, flag = $24, updated_at = $25
		WHERE id = $26`
	qSessionSameKey = ` AND station_id = $1 AND transaction_id = $4`
	// All samples of a call in one statement, whatever their number: one array per column.
	// If a sample names a session that does not exist, nothing is inserted and the statement
	// says so, instead of failing on the foreign key and aborting the transaction: sessions are
	// never deleted, so the check cannot be overtaken by a concurrent change.
	qSampleInsert = `WITH input AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::timestamptz[], $5::text[],
				$6::text[], $7::text[], $8::text[], $9::text[], $10::double precision[], $11::bytea[])
				WITH ORDINALITY AS u (session_id, station_id, evse_id, at, measurand, phase, location, context,
					unit, value, signed, n)),
		missing AS (
			SELECT 1 FROM input
			WHERE session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = input.session_id)
			LIMIT 1),
		ins AS (
			INSERT INTO meter_samples (session_id, station_id, evse_id, at, measurand, phase, location,
				context, unit, value, signed)
			SELECT session_id, station_id, evse_id, at, measurand, phase, location, context, unit, value, signed
			FROM input WHERE NOT EXISTS (SELECT 1 FROM missing) ORDER BY n
			ON CONFLICT (station_id, evse_id, at, measurand, phase, location, context) DO NOTHING)
		SELECT EXISTS (SELECT 1 FROM missing)`
	// qSessionUpdateKnown is the same-key update of a session read in this transaction, sent
	// without waiting for its result: it fails (and aborts the transaction) unless it updated
	// the row. The error's text is built from the row count, so that the planner cannot
	// evaluate it ahead.
	qSessionUpdateKnown = `WITH u AS (` + qSessionUpdate + qSessionSameKey + ` RETURNING 1)
		SELECT CASE count(*) WHEN 1 THEN 1
			ELSE ('the session changed or went meanwhile: rows updated ' || count(*))::integer END FROM u`
	// qSampleInsertKnown is qSampleInsert for samples whose sessions are known to exist.
	qSampleInsertKnown = `INSERT INTO meter_samples (session_id, station_id, evse_id, at, measurand, phase, location,
			context, unit, value, signed)
		SELECT session_id, station_id, evse_id, at, measurand, phase, location, context, unit, value, signed
		FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::timestamptz[], $5::text[],
			$6::text[], $7::text[], $8::text[], $9::text[], $10::double precision[], $11::bytea[])
			WITH ORDINALITY AS u (session_id, station_id, evse_id, at, measurand, phase, location, context,
				unit, value, signed, n)
		ORDER BY n
		ON CONFLICT (station_id, evse_id, at, measurand, phase, location, context) DO NOTHING`
	qTokenGet = `SELECT ` + tokenColumns + ` FROM tokens WHERE uid = $1`
)

// Apply runs fn in one transaction, after claiming msg in the ledger of applied messages: a
// message applied before gets its stored answer and fn does not run. Otherwise fn's effects and
// the ledger row with its answer commit together. If fn fails, nothing it did is kept, no ledger
// row is written and fn's error is returned unchanged (a *domain.Error or *ocpp.CallError stays
// findable with errors.As).
//
// Messages are applied in batches (see applybatch.go): fn runs on a writer goroutine, in a
// transaction shared with other messages, and Apply returns once that transaction committed. If
// ctx ends before a writer took the message, fn never runs and ctx's error is returned; once fn
// ran, Apply waits for the commit. fn must use only the SessionTx it is given (an Apply of this
// store from inside fn would wait for its own writer forever), must be quick (the whole batch
// waits for it), and must not keep the SessionTx past its return. On a deadlock or serialization
// failure (possible only between nodes or between messages of different stations) fn may run
// again, its first run's effects undone.
func (s *Store) Apply(ctx context.Context, msg domain.StationMessage, fn func(tx domain.SessionTx) ([]byte, error)) ([]byte, bool, error) {
	if msg.StationID == "" || msg.Action == "" || msg.Digest == "" {
		return nil, false, fmt.Errorf("postgres: apply: %w",
			invalid("a station message needs a station id, an action and a digest"))
	}
	if !storable(msg.StationID, msg.Action, msg.Digest) {
		return nil, false, fmt.Errorf("postgres: apply: %w", invalid("text must be UTF-8 without NUL characters"))
	}
	return s.apply.apply(ctx, msg, fn)
}

// rollback ends the connection's transaction, if any. If even that fails, the pool closes the
// connection on release (it is not idle), which ends the transaction on the server.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
}

// errTxDone is the error of a SessionTx used after its Apply's fn returned.
var errTxDone = errors.New("postgres: SessionTx used after its Apply returned")

// sessionTx is domain.SessionTx on the transaction of one Apply.
type sessionTx struct {
	s    *Store
	ctx  context.Context
	conn *pgx.Conn // nil once fn returned

	aborted error // the first error that aborted the transaction (not undone by a savepoint)
	retry   error // the first deadlock or serialization failure

	// pending are statements of the batch (the previous message's end, this one's SAVEPOINT) to
	// send with the next statement, in the same round trip. If one of them fails, broken is its
	// error: the batch's transaction is lost.
	pending []stmt
	broken  error

	// active are the station's active sessions, read and locked as the batch began, when
	// prefetched: SessionByTransaction and ActiveSessionOn answer from them without a round trip
	// until fn writes a session. A lookup they cannot answer goes to the database.
	active     []domain.Session
	prefetched bool
}

// cachedByTransaction is the prefetched active session with that transaction id.
func (x *sessionTx) cachedByTransaction(stationID, transactionID string) (domain.Session, bool) {
	if !x.prefetched {
		return domain.Session{}, false
	}
	for _, sess := range x.active {
		if sess.StationID == stationID && sess.TransactionID == transactionID {
			return sess, true
		}
	}
	return domain.Session{}, false
}

// prefetchedWithKey reports whether sess is one of the prefetched sessions, with its station
// and transaction id unchanged.
func (x *sessionTx) prefetchedWithKey(sess domain.Session) bool {
	if !x.prefetched {
		return false
	}
	for _, p := range x.active {
		if p.ID == sess.ID {
			return p.StationID == sess.StationID && p.TransactionID == sess.TransactionID
		}
	}
	return false
}

// prefetchedSessions reports whether every session the samples name is a prefetched one (a
// sample without a session names none).
func (x *sessionTx) prefetchedSessions(samples []domain.MeterSample) bool {
	if !x.prefetched {
		return false
	}
	for _, m := range samples {
		if m.SessionID == 0 {
			continue
		}
		found := false
		for _, p := range x.active {
			if p.ID == m.SessionID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// cachedActiveOn is the prefetched active session on the EVSE that qSessionActiveOn would
// return: the latest started (then the highest id).
func (x *sessionTx) cachedActiveOn(stationID string, evseID int) (domain.Session, bool) {
	if !x.prefetched {
		return domain.Session{}, false
	}
	var (
		best  domain.Session
		found bool
	)
	for _, sess := range x.active {
		if sess.StationID != stationID || sess.EVSEID != evseID {
			continue
		}
		if !found || sess.StartedAt.After(best.StartedAt) || (sess.StartedAt.Equal(best.StartedAt) && sess.ID > best.ID) {
			best, found = sess, true
		}
	}
	return best, found
}

// send sends the pending statements and then b's in one round trip, reads the results of the
// pending ones and returns b's to read.
func (x *sessionTx) send(b *pgx.Batch) (pgx.BatchResults, error) {
	if len(x.pending) == 0 {
		return x.conn.SendBatch(x.ctx, b), nil
	}
	full := &pgx.Batch{}
	for _, st := range x.pending {
		full.Queue(st.sql, st.args...)
	}
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	n := len(x.pending)
	x.pending = nil
	br := x.conn.SendBatch(x.ctx, full)
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			x.broken = err
			return nil, fmt.Errorf("postgres: apply: the batch's transaction failed: %w", err)
		}
	}
	return br, nil
}

// queryRow runs a statement that returns one row, after the pending statements.
func (x *sessionTx) queryRow(sql string, args ...any) pgx.Row {
	if len(x.pending) == 0 {
		return x.conn.QueryRow(x.ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := x.send(b)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br: br, row: br.QueryRow()}
}

// exec runs a statement, after the pending statements.
func (x *sessionTx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	if len(x.pending) == 0 {
		return x.conn.Exec(x.ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := x.send(b)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// batchRow is the row of the last statement of a batch: Scan also ends the batch.
type batchRow struct {
	br  pgx.BatchResults
	row pgx.Row
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// seen notes the error of a statement: whether it aborted the transaction (undone: a savepoint
// was rolled back over it) and whether it was a deadlock or serialization failure, after which
// the whole message is run again.
func (x *sessionTx) seen(err error, undone bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return
	}
	if x.retry == nil && retryable(err) {
		x.retry = err
	}
	if x.aborted == nil && !undone {
		x.aborted = err
	}
}

// guarded runs one write of the transaction in a savepoint, so that if it fails (a conflict, a
// missing parent row, a refused value) the transaction is rolled back to before it and fn can go
// on. SAVEPOINT, the statement and RELEASE go in one round trip. scan, if not nil, reads the
// statement's one row; else the statement's rows affected are returned.
func (x *sessionTx) guarded(query string, args []any, scan func(pgx.Row) error) (int64, error) {
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT session_tx")
	b.Queue(query, args...)
	b.Queue("RELEASE SAVEPOINT session_tx")
	br, err := x.send(b)
	if err != nil {
		return 0, err
	}
	_, errSave := br.Exec()
	var n int64
	if scan != nil {
		err = scan(br.QueryRow())
	} else {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		n = tag.RowsAffected()
	}
	_, errRelease := br.Exec()
	errClose := br.Close()
	if errSave != nil {
		x.seen(errSave, false)
		return 0, errSave
	}
	var pgErr *pgconn.PgError
	if err != nil && errors.As(err, &pgErr) {
		// The statement failed and aborted the transaction; undo it alone.
		if _, rerr := x.conn.Exec(x.ctx, "ROLLBACK TO SAVEPOINT session_tx; RELEASE SAVEPOINT session_tx"); rerr != nil {
			x.seen(rerr, false)
			return 0, errors.Join(err, rerr)
		}
		x.seen(err, true)
		return 0, err
	}
	if err == nil {
		err = errRelease
	}
	if err == nil {
		err = errClose
	}
	x.seen(err, false)
	return n, err
}

// storable reports whether s can be stored at all: PostgreSQL text is UTF-8 without NUL. A read
// for a key that cannot be stored finds nothing, without a statement that would fail and abort
// the transaction.
func storable(s ...string) bool {
	for _, v := range s {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}

func (x *sessionTx) NewSession(sess domain.Session) (domain.Session, error) {
	if x.conn == nil {
		return domain.Session{}, errTxDone
	}
	now := x.s.now()
	for _, t := range []*time.Time{&sess.LastEventAt, &sess.CreatedAt, &sess.UpdatedAt} {
		if t.IsZero() {
			*t = now
		}
	}
	if err := validateSession(sess, sess.TransactionID == ""); err != nil {
		return domain.Session{}, fmt.Errorf("postgres: new session on %q: %w", sess.StationID, err)
	}
	x.prefetched = false // the prefetched sessions no longer tell every active one
	// A taken transaction id inserts nothing (ON CONFLICT DO NOTHING, which also waits for a
	// concurrent insert of the same id to commit or not): no error that would abort the
	// transaction, so no savepoint.
	err := x.queryRow(qSessionInsert, sessionArgs(sess, true)...).Scan(&sess.ID, &sess.TransactionID)
	x.seen(err, false)
	if isNoRows(err) {
		err = domain.Errorf(domain.ErrConflict, "transaction %q of station %q exists", sess.TransactionID, sess.StationID)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("postgres: new session on %q: %w", sess.StationID,
			mapErr(err, fmt.Sprintf("transaction %q of station %q exists", sess.TransactionID, sess.StationID), ""))
	}
	return normalized(sess), nil
}

func (x *sessionTx) SessionByTransaction(stationID, transactionID string) (domain.Session, error) {
	if x.conn == nil {
		return domain.Session{}, errTxDone
	}
	var (
		sess domain.Session
		err  = pgx.ErrNoRows
	)
	if cached, ok := x.cachedByTransaction(stationID, transactionID); ok {
		return cached, nil
	}
	if storable(stationID, transactionID) {
		sess, err = scanSession(x.queryRow(qSessionByTransaction, stationID, transactionID))
		x.seen(err, false)
	}
	if isNoRows(err) {
		err = domain.Errorf(domain.ErrNotFound, "no transaction %q on station %q", transactionID, stationID)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("postgres: session by transaction %q of %q: %w", transactionID, stationID, err)
	}
	return sess, nil
}

func (x *sessionTx) ActiveSessionOn(stationID string, evseID int) (domain.Session, error) {
	if x.conn == nil {
		return domain.Session{}, errTxDone
	}
	var (
		sess domain.Session
		err  = pgx.ErrNoRows
	)
	if cached, ok := x.cachedActiveOn(stationID, evseID); ok {
		return cached, nil
	}
	if storable(stationID) && evseID >= math.MinInt32 && evseID <= math.MaxInt32 {
		sess, err = scanSession(x.queryRow(qSessionActiveOn, stationID, evseID))
		x.seen(err, false)
	}
	if isNoRows(err) {
		err = domain.Errorf(domain.ErrNotFound, "no active session on EVSE %d of station %q", evseID, stationID)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("postgres: active session on %q/%d: %w", stationID, evseID, err)
	}
	return sess, nil
}

// UpdateSession writes every field of sess but CreatedAt; a zero LastEventAt or UpdatedAt
// means now.
func (x *sessionTx) UpdateSession(sess domain.Session) error {
	if x.conn == nil {
		return errTxDone
	}
	now := x.s.now()
	for _, t := range []*time.Time{&sess.LastEventAt, &sess.UpdatedAt} {
		if t.IsZero() {
			*t = now
		}
	}
	if err := validateSession(sess, false); err != nil {
		return fmt.Errorf("postgres: update session %d: %w", sess.ID, err)
	}
	args := append(sessionArgs(sess, false), sess.ID)
	if x.prefetchedWithKey(sess) {
		// The row was read in this transaction and keeps its key: the update finds it. It goes
		// with the next round trip; should the row have gone meanwhile, the statement fails and
		// with it the batch's transaction (its COMMIT may be in the same round trip).
		x.prefetched = false // the prefetched copy of sess is stale from here on
		x.pending = append(x.pending, stmt{sql: qSessionUpdateKnown, args: args})
		return nil
	}
	x.prefetched = false
	// Most updates (meter values, charging state) keep the session's station and transaction id:
	// such an update cannot break their uniqueness, so it needs no savepoint. Only if it matches
	// no row (a rename, or no such session) does the full update run, guarded.
	tag, err := x.exec(qSessionUpdate+qSessionSameKey, args...)
	x.seen(err, false)
	if err == nil && tag.RowsAffected() == 0 {
		var n int64
		n, err = x.guarded(qSessionUpdate, args, nil)
		if err == nil && n == 0 {
			err = sessionNotFound(sess.ID)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: update session %d: %w", sess.ID,
			mapErr(err, fmt.Sprintf("transaction %q of station %q exists", sess.TransactionID, sess.StationID), ""))
	}
	return nil
}

// AddSamples inserts the samples, skipping those already stored (same station, EVSE, time,
// measurand, phase, location and context). A zero At means now. On error none is stored.
func (x *sessionTx) AddSamples(samples []domain.MeterSample) error {
	if x.conn == nil {
		return errTxDone
	}
	if len(samples) == 0 {
		return nil
	}
	var (
		now      time.Time
		sessions = make([]*int64, len(samples))
		stations = make([]string, len(samples))
		evses    = make([]int32, len(samples))
		ats      = make([]time.Time, len(samples))
		meas     = make([]string, len(samples))
		phases   = make([]string, len(samples))
		locs     = make([]string, len(samples))
		ctxts    = make([]string, len(samples))
		units    = make([]string, len(samples))
		values   = make([]float64, len(samples))
		signed   = make([][]byte, len(samples))
	)
	for i, m := range samples {
		at := m.At
		if at.IsZero() {
			if now.IsZero() {
				now = x.s.now()
			}
			at = now
		}
		if err := validateSample(m, at); err != nil {
			return fmt.Errorf("postgres: add samples of %q: sample %d: %w", m.StationID, i, err)
		}
		if m.SessionID != 0 {
			id := m.SessionID
			sessions[i] = &id
		}
		stations[i], evses[i], ats[i] = m.StationID, int32(m.EVSEID), pgTime(at)
		meas[i], phases[i], locs[i], ctxts[i], units[i] = m.Measurand, m.Phase, m.Location, m.Context, m.Unit
		values[i] = m.Value
		if len(m.Signed) > 0 {
			signed[i] = m.Signed
		}
	}
	if x.prefetchedSessions(samples) {
		// Every session the samples name was read in this transaction: the insert cannot miss
		// one (should one go meanwhile, the foreign key fails the batch). It goes with the next
		// round trip.
		x.pending = append(x.pending, stmt{sql: qSampleInsertKnown, args: []any{sessions, stations, evses, ats, meas, phases,
			locs, ctxts, units, values, signed}})
		return nil
	}
	var missing bool
	err := x.queryRow(qSampleInsert, sessions, stations, evses, ats, meas, phases, locs, ctxts, units,
		values, signed).Scan(&missing)
	x.seen(err, false)
	if err == nil && missing {
		err = domain.Errorf(domain.ErrNotFound, "the session of a sample does not exist")
	}
	if err != nil {
		return fmt.Errorf("postgres: add samples of %q: %w", samples[0].StationID,
			mapErr(err, "", "the session of a sample does not exist"))
	}
	return nil
}

func validateSample(m domain.MeterSample, at time.Time) error {
	switch {
	case m.StationID == "":
		return invalid("the station id is empty")
	case m.EVSEID < 0 || m.EVSEID > math.MaxInt32:
		return invalid("EVSE id %d is out of range", m.EVSEID)
	case m.SessionID < 0:
		return invalid("session id %d is negative", m.SessionID)
	case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
		return invalid("value %v is not a number", m.Value)
	case !storable(m.StationID, m.Measurand, m.Phase, m.Location, m.Context, m.Unit):
		return invalid("text must be UTF-8 without NUL characters")
	}
	return checkTime("sample time", at)
}

func (x *sessionTx) Token(uid string) (domain.Token, error) {
	if x.conn == nil {
		return domain.Token{}, errTxDone
	}
	if !storable(uid) {
		return domain.Token{}, fmt.Errorf("postgres: token %q: %w", uid, tokenNotFound(uid))
	}
	t, err := scanToken(x.queryRow(qTokenGet, uid), uid)
	x.seen(err, false)
	if err != nil {
		return domain.Token{}, fmt.Errorf("postgres: token %q: %w", uid, err)
	}
	return t, nil
}

func (x *sessionTx) AddStationEvent(e domain.StationEvent) error {
	if x.conn == nil {
		return errTxDone
	}
	args, err := eventArgs(x.s, e)
	if err == nil {
		_, err = x.guarded(eventInsert, args, nil)
		err = mapErr(err, "", fmt.Sprintf("station %q not found", e.StationID))
	}
	if err != nil {
		return fmt.Errorf("postgres: add station event %q: %w", e.StationID, err)
	}
	return nil
}

// Session returns one session.
func (s *Store) Session(ctx context.Context, id int64) (domain.Session, error) {
	if err := ctx.Err(); err != nil {
		return domain.Session{}, fmt.Errorf("postgres: session %d: %w", id, err)
	}
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT id, `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if isNoRows(err) {
		err = sessionNotFound(id)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("postgres: session %d: %w", id, err)
	}
	return sess, nil
}

// Sessions lists the sessions that match every condition of f, newest (highest id) first.
func (s *Store) Sessions(ctx context.Context, f domain.SessionFilter, p domain.Page) ([]domain.Session, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		var err error
		if before, err = decodeIDCursor("session", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("postgres: sessions: %w", err)
		}
	}
	if f.Status != "" && f.Status != domain.SessionActive && f.Status != domain.SessionCompleted {
		return nil, "", fmt.Errorf("postgres: sessions: %w", invalid("status %q is not one of active, completed", f.Status))
	}
	where, args := []string{"id < $1"}, []any{before}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.StationID != "" {
		add("station_id = $%d", f.StationID)
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.RemoteStartID != nil {
		add("remote_start_id = $%d", int64(*f.RemoteStartID))
	}
	if f.IDToken != "" {
		add("id_token = $%d", f.IDToken)
	}
	args = append(args, p.Limit+1)
	query := `SELECT id, ` + sessionColumns + ` FROM sessions WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	sessions, err := s.querySessions(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: sessions: %w", err)
	}
	next := ""
	if len(sessions) > p.Limit {
		sessions = sessions[:p.Limit]
		next = encodeCursor("session", strconv.FormatInt(sessions[len(sessions)-1].ID, 10))
	}
	return sessions, next, nil
}

// StaleSessions lists active sessions whose last event is before cutoff, the longest silent
// first; limit is capped like a page's (1..500, default 100).
func (s *Store) StaleSessions(ctx context.Context, cutoff time.Time, limit int) ([]domain.Session, error) {
	if err := checkTime("cutoff", cutoff); err != nil {
		return nil, fmt.Errorf("postgres: stale sessions: %w", err)
	}
	limit = domain.Page{Limit: limit}.Normalized().Limit
	sessions, err := s.querySessions(ctx, `SELECT id, `+sessionColumns+` FROM sessions
		WHERE status = 'active' AND last_event_at < $1 ORDER BY last_event_at, id LIMIT $2`,
		pgTime(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: stale sessions: %w", err)
	}
	return sessions, nil
}

func (s *Store) querySessions(ctx context.Context, query string, args ...any) ([]domain.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, query, args...)
	defer rows.Close()
	var sessions []domain.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, sess)
	}
	rows.Close()
	return sessions, mapErr(rows.Err(), "", "")
}

// CloseStale completes an active session that has had no news since before cutoff, as of
// stoppedAt (zero: now), taking its last reading as the stop reading.
func (s *Store) CloseStale(ctx context.Context, id int64, cutoff, stoppedAt time.Time, flag string) error {
	stoppedAt = s.stamp(stoppedAt)
	if err := errors.Join(checkTime("cutoff", cutoff), checkTime("stop time", stoppedAt)); err != nil {
		return fmt.Errorf("postgres: close stale session %d: %w", id, err)
	}
	n, err := s.exec(ctx, `UPDATE sessions SET status = 'completed', stopped_at = $1, flag = $2,
			meter_stop_wh = meter_last_wh, updated_at = $3
		WHERE id = $4 AND status = 'active' AND last_event_at < $5`,
		pgTime(stoppedAt), flag, pgTime(s.now()), id, pgTime(cutoff))
	if err == nil && n == 0 {
		// Nothing closed: the session has moved on, or there is no such session.
		var one int
		err = s.pool.QueryRow(ctx, `SELECT 1 FROM sessions WHERE id = $1`, id).Scan(&one)
		switch {
		case isNoRows(err):
			err = sessionNotFound(id)
		case err == nil:
			err = domain.Errorf(domain.ErrConflict, "session %d is no longer active or has had news since the cutoff", id)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: close stale session %d: %w", id, mapErr(err, "", ""))
	}
	return nil
}

// MeterSamples lists a session's samples ordered by time (and insertion among equal times).
func (s *Store) MeterSamples(ctx context.Context, sessionID int64, p domain.Page) ([]domain.MeterSample, string, error) {
	p = p.Normalized()
	query := `SELECT id, station_id, evse_id, at, measurand, phase, location, context, unit, value, signed
		FROM meter_samples WHERE session_id = $1 ORDER BY at, id LIMIT $2`
	args := []any{sessionID, p.Limit + 1}
	if p.Cursor != "" {
		at, id, err := decodeTimeIDCursor("sample", p.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("postgres: meter samples of session %d: %w", sessionID, err)
		}
		query = `SELECT id, station_id, evse_id, at, measurand, phase, location, context, unit, value, signed
			FROM meter_samples WHERE session_id = $1 AND (at, id) > ($3, $4) ORDER BY at, id LIMIT $2`
		args = append(args, at, id)
	}
	var (
		samples []domain.MeterSample
		lastID  int64
		more    bool
	)
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, query, args...)
		defer rows.Close()
		for rows.Next() {
			if len(samples) == p.Limit {
				more = true
				break
			}
			var m domain.MeterSample
			if err := rows.Scan(&lastID, &m.StationID, &m.EVSEID, &m.At, &m.Measurand, &m.Phase, &m.Location,
				&m.Context, &m.Unit, &m.Value, &m.Signed); err != nil {
				return err
			}
			m.At = m.At.UTC()
			if len(m.Signed) == 0 {
				m.Signed = nil
			}
			m.SessionID = sessionID
			samples = append(samples, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(samples) == 0 {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM sessions WHERE id = $1`, sessionID).Scan(&one)
			if isNoRows(err) {
				return sessionNotFound(sessionID)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres: meter samples of session %d: %w", sessionID, err)
	}
	next := ""
	if more {
		next = encodeTimeIDCursor("sample", samples[len(samples)-1].At, lastID)
	}
	return samples, next, nil
}

// pruneChunk bounds the rows one pruning transaction deletes, so that none holds locks or
// produces WAL for long.
const pruneChunk = 5000

// PruneStationMessages deletes the exactly-once ledger's rows recorded before cutoff and
// returns how many it deleted. A message retransmitted after its row is gone is applied again,
// so cutoff must lie well beyond the longest a station keeps retrying a message (hours, not
// minutes). The ledger grows by one row per transactional message: run this periodically (one
// node of a cluster is enough, but several do no harm).
func (s *Store) PruneStationMessages(ctx context.Context, cutoff time.Time) (int64, error) {
	if err := checkTime("cutoff", cutoff); err != nil {
		return 0, fmt.Errorf("postgres: prune station messages: %w", err)
	}
	var total int64
	for {
		n, err := s.exec(ctx, `DELETE FROM station_messages WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM station_messages WHERE at < $1 ORDER BY at LIMIT $2))`, pgTime(cutoff), pruneChunk)
		total += n
		if err != nil {
			return total, fmt.Errorf("postgres: prune station messages: %w", err)
		}
		if n < pruneChunk {
			return total, nil
		}
	}
}

func sessionNotFound(id int64) error {
	return domain.Errorf(domain.ErrNotFound, "session %d not found", id)
}

func validateSession(s domain.Session, provisional bool) error {
	if err := s.Validate(provisional); err != nil {
		return err
	}
	switch {
	case s.EVSEID > math.MaxInt32 || s.ConnectorID > math.MaxInt32:
		return invalid("EVSE and connector ids must be below 2^31")
	case !storable(s.StationID, s.TransactionID, s.IDToken, s.IDTokenType, string(s.AuthStatus), s.StopReason,
		s.ChargingState, s.Flag):
		return invalid("text must be UTF-8 without NUL characters")
	}
	return errors.Join(checkTime("start time", s.StartedAt), checkTime("stop time", s.StoppedAt),
		checkTime("meter start time", s.MeterStartAt), checkTime("meter last time", s.MeterLastAt),
		checkTime("last event time", s.LastEventAt), checkTime("last station time", s.LastStationAt),
		checkTime("creation time", s.CreatedAt), checkTime("update time", s.UpdatedAt))
}

// sessionArgs are the values of sessionColumns for s, without created_at unless withCreated.
func sessionArgs(s domain.Session, withCreated bool) []any {
	args := []any{
		s.StationID, s.EVSEID, s.ConnectorID, s.TransactionID, s.IDToken, s.IDTokenType,
		string(s.AuthStatus), string(s.Status), pgTime(s.StartedAt), nullTime(s.StoppedAt),
		nullFloat(s.MeterStartWh), nullTime(s.MeterStartAt), nullFloat(s.MeterStopWh),
		nullFloat(s.MeterLastWh), nullTime(s.MeterLastAt), s.EnergyWh, s.StopReason,
		nullInt(s.RemoteStartID), nullInt(s.ReservationID), s.ChargingState, nullInt(s.LastSeqNo),
		pgTime(s.LastEventAt), nullTime(s.LastStationAt), s.Flag,
	}
	if withCreated {
		args = append(args, pgTime(s.CreatedAt))
	}
	return append(args, pgTime(s.UpdatedAt))
}

func scanSession(row pgx.Row) (domain.Session, error) {
	var (
		s                                                   domain.Session
		authStatus, status                                  string
		stoppedAt, meterStartAt, meterLastAt, lastStationAt *time.Time
		remoteStart, reservation, seqNo                     *int64
	)
	if err := row.Scan(&s.ID, &s.StationID, &s.EVSEID, &s.ConnectorID, &s.TransactionID, &s.IDToken, &s.IDTokenType,
		&authStatus, &status, &s.StartedAt, &stoppedAt, &s.MeterStartWh, &meterStartAt, &s.MeterStopWh,
		&s.MeterLastWh, &meterLastAt, &s.EnergyWh, &s.StopReason, &remoteStart, &reservation,
		&s.ChargingState, &seqNo, &s.LastEventAt, &lastStationAt, &s.Flag, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return domain.Session{}, err
	}
	s.AuthStatus, s.Status = domain.TokenStatus(authStatus), domain.SessionStatus(status)
	s.RemoteStartID, s.ReservationID, s.LastSeqNo = intPtr(remoteStart), intPtr(reservation), intPtr(seqNo)
	s.StoppedAt, s.MeterStartAt = fromNull(stoppedAt), fromNull(meterStartAt)
	s.MeterLastAt, s.LastStationAt = fromNull(meterLastAt), fromNull(lastStationAt)
	s.StartedAt, s.LastEventAt = s.StartedAt.UTC(), s.LastEventAt.UTC()
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

// normalized returns s with its times as a read would return them: UTC, whole microseconds.
func normalized(s domain.Session) domain.Session {
	for _, t := range []*time.Time{&s.StartedAt, &s.StoppedAt, &s.MeterStartAt, &s.MeterLastAt, &s.LastEventAt,
		&s.LastStationAt, &s.CreatedAt, &s.UpdatedAt} {
		if !t.IsZero() {
			*t = pgTime(*t)
		}
	}
	return s
}

func decodeIDCursor(kind, c string) (int64, error) {
	pos, err := decodeCursor(kind, c)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(pos, 10, 64)
	if err != nil {
		return 0, invalid("invalid cursor")
	}
	return id, nil
}
