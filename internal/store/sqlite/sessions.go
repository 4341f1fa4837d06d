package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// sessionColumns are the columns NewSession writes, in the order of sessionArgs; reads select
// "id, " + sessionColumns.
const sessionColumns = `station_id, evse_id, connector_id, transaction_id, id_token, id_token_type,
	auth_status, status, started_at, stopped_at, meter_start_wh, meter_start_at, meter_stop_wh,
	meter_last_wh, meter_last_at, energy_wh, stop_reason, remote_start_id, reservation_id,
	charging_state, last_seq_no, last_event_at, last_station_at, flag, created_at, updated_at`

// Apply runs fn in one write operation of the group commit, after looking msg up in the ledger
// of applied messages: a message applied before gets its stored answer and fn does not run.
// Otherwise fn's effects and the ledger row with its answer commit together. If fn fails,
// nothing it did is kept, no ledger row is written and fn's error is returned unchanged (a
// *domain.Error or *ocpp.CallError stays findable with errors.As).
//
// fn runs on the writer goroutine while every other write waits: it must use only the SessionTx
// it is given (any other write of this store would deadlock), must be quick, and must not keep
// the SessionTx past its return.
func (s *Store) Apply(ctx context.Context, msg domain.StationMessage, fn func(tx domain.SessionTx) ([]byte, error)) ([]byte, bool, error) {
	if msg.StationID == "" || msg.Action == "" || msg.Digest == "" {
		return nil, false, fmt.Errorf("sqlite: apply: %w",
			invalid("a station message needs a station id, an action and a digest"))
	}
	type result struct {
		answer   []byte
		replayed bool
	}
	r, err := writeValue(ctx, s, func(tx *sql.Tx) (result, error) {
		q := s.on(tx)
		var answer []byte
		err := q.queryRow(qMessageGet, msg.StationID, msg.Action, msg.Digest).Scan(&answer)
		if err == nil {
			return result{answer, true}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return result{}, fmt.Errorf("sqlite: apply %s of %q: look up: %w", msg.Action, msg.StationID, err)
		}
		stx := &sessionTx{s: s, q: q}
		answer, err = func() ([]byte, error) {
			defer func() { stx.q = nil }()
			return fn(stx)
		}()
		if err != nil {
			return result{}, err
		}
		if _, err := q.exec(qMessagePut, msg.StationID, msg.Action, msg.Digest, answer, formatTime(s.now())); err != nil {
			return result{}, fmt.Errorf("sqlite: apply %s of %q: record: %w", msg.Action, msg.StationID, err)
		}
		return result{answer, false}, nil
	})
	if err != nil {
		return nil, false, err
	}
	return r.answer, r.replayed, nil
}

// errTxDone is the error of a SessionTx used after its Apply's fn returned.
var errTxDone = errors.New("sqlite: SessionTx used after its Apply returned")

// sessionTx is domain.SessionTx on the write transaction of one Apply. It never touches the
// reader pool or the committer: it runs on the writer goroutine.
type sessionTx struct {
	s *Store
	q *txStmts // nil once fn returned
}

func (x *sessionTx) NewSession(sess domain.Session) (domain.Session, error) {
	if x.q == nil {
		return domain.Session{}, errTxDone
	}
	now := x.s.now()
	for _, t := range []*time.Time{&sess.LastEventAt, &sess.CreatedAt, &sess.UpdatedAt} {
		if t.IsZero() {
			*t = now
		}
	}
	provisional := sess.TransactionID == ""
	if err := validateSession(sess, provisional); err != nil {
		return domain.Session{}, fmt.Errorf("sqlite: new session on %q: %w", sess.StationID, err)
	}
	// A 1.6 session is named by its id, known only after the insert: it is inserted with the
	// empty transaction id (never stored otherwise) and renamed at once.
	var id int64
	err := x.q.queryRow(qSessionInsert, sessionArgs(sess, true)...).Scan(&id)
	if err == nil && provisional {
		sess.TransactionID = strconv.FormatInt(id, 10)
		if _, err = x.q.exec(qSessionSetTransaction, sess.TransactionID, id); err != nil {
			// A 2.0.1 transaction of this station already has this name (it would take a
			// station switching versions). fn may go on after the error: leave no half-made row.
			if _, derr := x.q.tx.Exec(`DELETE FROM sessions WHERE id = ?`, id); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("sqlite: new session on %q: %w", sess.StationID,
			mapErr(err, fmt.Sprintf("transaction %q of station %q exists", sess.TransactionID, sess.StationID), ""))
	}
	sess.ID = id
	return inUTC(sess), nil
}

func (x *sessionTx) SessionByTransaction(stationID, transactionID string) (domain.Session, error) {
	if x.q == nil {
		return domain.Session{}, errTxDone
	}
	sess, err := scanSession(x.q.queryRow(qSessionByTransaction, stationID, transactionID))
	if errors.Is(err, sql.ErrNoRows) {
		err = domain.Errorf(domain.ErrNotFound, "no transaction %q on station %q", transactionID, stationID)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("sqlite: session by transaction %q of %q: %w", transactionID, stationID, err)
	}
	return sess, nil
}

func (x *sessionTx) ActiveSessionOn(stationID string, evseID int) (domain.Session, error) {
	if x.q == nil {
		return domain.Session{}, errTxDone
	}
	sess, err := scanSession(x.q.queryRow(qSessionActiveOn, stationID, evseID))
	if errors.Is(err, sql.ErrNoRows) {
		err = domain.Errorf(domain.ErrNotFound, "no active session on EVSE %d of station %q", evseID, stationID)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("sqlite: active session on %q/%d: %w", stationID, evseID, err)
	}
	return sess, nil
}

// UpdateSession writes every field of sess but CreatedAt; a zero LastEventAt or UpdatedAt
// means now.
func (x *sessionTx) UpdateSession(sess domain.Session) error {
	if x.q == nil {
		return errTxDone
	}
	now := x.s.now()
	for _, t := range []*time.Time{&sess.LastEventAt, &sess.UpdatedAt} {
		if t.IsZero() {
			*t = now
		}
	}
	if err := validateSession(sess, false); err != nil {
		return fmt.Errorf("sqlite: update session %d: %w", sess.ID, err)
	}
	// Most updates (meter values, charging state) leave the indexed columns as they are: try
	// the statement that writes only the others first.
	res, err := x.q.exec(qSessionUpdateHot,
		sess.ConnectorID, sess.IDTokenType, string(sess.AuthStatus), nullTime(sess.StoppedAt),
		nullFloat(sess.MeterStartWh), nullTime(sess.MeterStartAt), nullFloat(sess.MeterStopWh),
		nullFloat(sess.MeterLastWh), nullTime(sess.MeterLastAt), sess.EnergyWh, sess.StopReason,
		nullInt(sess.ReservationID), sess.ChargingState, nullInt(sess.LastSeqNo), formatTime(sess.LastEventAt),
		nullTime(sess.LastStationAt), sess.Flag, formatTime(sess.UpdatedAt),
		sess.ID, sess.StationID, sess.EVSEID, sess.TransactionID, sess.IDToken, nullInt(sess.RemoteStartID),
		string(sess.Status), formatTime(sess.StartedAt))
	n, err := rowsAffected(res, err)
	if err == nil && n == 0 {
		n, err = rowsAffected(x.q.exec(qSessionUpdate, append(sessionArgs(sess, false), sess.ID)...))
		if err == nil && n == 0 {
			err = sessionNotFound(sess.ID)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: update session %d: %w", sess.ID,
			mapErr(err, fmt.Sprintf("transaction %q of station %q exists", sess.TransactionID, sess.StationID), ""))
	}
	return nil
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AddSamples inserts the samples, skipping those already stored (same station, EVSE, time,
// measurand, phase, location and context). A zero At means now. On error none is stored.
func (x *sessionTx) AddSamples(samples []domain.MeterSample) (err error) {
	if x.q == nil {
		return errTxDone
	}
	var now string
	ats := make([]string, len(samples))
	for i, m := range samples {
		at := m.At
		if at.IsZero() {
			at = x.s.now()
		}
		if err := validateSample(m, at); err != nil {
			return fmt.Errorf("sqlite: add samples of %q: sample %d: %w", m.StationID, i, err)
		}
		if m.At.IsZero() {
			if now == "" {
				now = formatTime(at)
			}
			ats[i] = now
		} else {
			ats[i] = formatTime(at)
		}
	}
	// Several rows per statement: a MeterValues message carries a handful of samples. More
	// than one statement needs a savepoint of its own, so that a failure keeps none of them.
	if len(samples) > maxSampleRows {
		if _, err := x.q.tx.Exec(`SAVEPOINT add_samples`); err != nil {
			return fmt.Errorf("sqlite: add samples: %w", err)
		}
		defer func() {
			if err != nil {
				_, rerr := x.q.tx.Exec(`ROLLBACK TO add_samples`)
				err = errors.Join(err, rerr)
			}
			if _, rerr := x.q.tx.Exec(`RELEASE add_samples`); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}()
	}
	args := make([]any, 0, min(len(samples), maxSampleRows)*sampleColumns)
	for i, m := range samples {
		var session, signed any
		if m.SessionID != 0 {
			session = m.SessionID
		}
		if len(m.Signed) > 0 {
			signed = m.Signed
		}
		args = append(args, session, m.StationID, m.EVSEID, ats[i], m.Measurand, m.Phase,
			m.Location, m.Context, m.Unit, m.Value, signed)
		if rows := len(args) / sampleColumns; rows == maxSampleRows || i == len(samples)-1 {
			if _, err := x.q.exec(qSampleInsert+stmtID(rows-1), args...); err != nil {
				return fmt.Errorf("sqlite: add samples of %q: %w", m.StationID,
					mapErr(err, "", "the session of a sample does not exist"))
			}
			args = args[:0]
		}
	}
	return nil
}

func validateSample(m domain.MeterSample, at time.Time) error {
	switch {
	case m.StationID == "":
		return invalid("the station id is empty")
	case m.EVSEID < 0:
		return invalid("EVSE id %d is negative", m.EVSEID)
	case m.SessionID < 0:
		return invalid("session id %d is negative", m.SessionID)
	case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
		return invalid("value %v is not a number", m.Value)
	}
	return checkTime("sample time", at)
}

func (x *sessionTx) Token(uid string) (domain.Token, error) {
	if x.q == nil {
		return domain.Token{}, errTxDone
	}
	t, err := scanToken(x.q.queryRow(qTokenGet, uid), uid)
	if err != nil {
		return domain.Token{}, fmt.Errorf("sqlite: token %q: %w", uid, err)
	}
	return t, nil
}

func (x *sessionTx) AddStationEvent(e domain.StationEvent) error {
	if x.q == nil {
		return errTxDone
	}
	args, err := eventArgs(x.s, e)
	if err == nil {
		_, err = x.q.exec(qEventInsert, args...)
		err = mapErr(err, "", fmt.Sprintf("station %q not found", e.StationID))
	}
	if err != nil {
		return fmt.Errorf("sqlite: add station event %q: %w", e.StationID, err)
	}
	return nil
}

// Session returns one session.
func (s *Store) Session(ctx context.Context, id int64) (domain.Session, error) {
	var sess domain.Session
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		sess, err = scanSession(tx.QueryRowContext(ctx, `SELECT id, `+sessionColumns+` FROM sessions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return sessionNotFound(id)
		}
		return err
	})
	if err != nil {
		return domain.Session{}, fmt.Errorf("sqlite: session %d: %w", id, err)
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
			return nil, "", fmt.Errorf("sqlite: sessions: %w", err)
		}
	}
	if f.Status != "" && f.Status != domain.SessionActive && f.Status != domain.SessionCompleted {
		return nil, "", fmt.Errorf("sqlite: sessions: %w", invalid("status %q is not one of active, completed", f.Status))
	}
	where, args := []string{"id < ?"}, []any{before}
	if f.StationID != "" {
		where, args = append(where, "station_id = ?"), append(args, f.StationID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.RemoteStartID != nil {
		where, args = append(where, "remote_start_id = ?"), append(args, *f.RemoteStartID)
	}
	if f.IDToken != "" {
		where, args = append(where, "id_token = ?"), append(args, f.IDToken)
	}
	query := `SELECT id, ` + sessionColumns + ` FROM sessions WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	sessions, err := s.querySessions(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: sessions: %w", err)
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
		return nil, fmt.Errorf("sqlite: stale sessions: %w", err)
	}
	limit = domain.Page{Limit: limit}.Normalized().Limit
	sessions, err := s.querySessions(ctx, `SELECT id, `+sessionColumns+` FROM sessions
		WHERE status = 'active' AND last_event_at < ? ORDER BY last_event_at, id LIMIT ?`,
		formatTime(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: stale sessions: %w", err)
	}
	return sessions, nil
}

func (s *Store) querySessions(ctx context.Context, query string, args ...any) ([]domain.Session, error) {
	var sessions []domain.Session
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sess, err := scanSession(rows)
			if err != nil {
				return err
			}
			sessions = append(sessions, sess)
		}
		return rows.Err()
	})
	return sessions, err
}

// CloseStale completes an active session that has had no news since before cutoff, as of
// stoppedAt (zero: now), taking its last reading as the stop reading.
func (s *Store) CloseStale(ctx context.Context, id int64, cutoff, stoppedAt time.Time, flag string) error {
	stoppedAt = s.stamp(stoppedAt)
	if err := errors.Join(checkTime("cutoff", cutoff), checkTime("stop time", stoppedAt)); err != nil {
		return fmt.Errorf("sqlite: close stale session %d: %w", id, err)
	}
	now := formatTime(s.now())
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.Exec(`UPDATE sessions SET status = 'completed', stopped_at = ?, flag = ?,
				meter_stop_wh = meter_last_wh, updated_at = ?
			WHERE id = ? AND status = 'active' AND last_event_at < ?`,
			formatTime(stoppedAt), flag, now, id, formatTime(cutoff)))
		if err != nil {
			return fmt.Errorf("sqlite: close stale session %d: %w", id, err)
		}
		if n > 0 {
			return nil
		}
		// Nothing closed: the session has moved on, or there is no such session.
		var one int
		err = tx.QueryRow(`SELECT 1 FROM sessions WHERE id = ?`, id).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = sessionNotFound(id)
		case err == nil:
			err = domain.Errorf(domain.ErrConflict, "session %d is no longer active or has had news since the cutoff", id)
		}
		return fmt.Errorf("sqlite: close stale session %d: %w", id, err)
	})
}

// MeterSamples lists a session's samples ordered by time (and insertion among equal times).
func (s *Store) MeterSamples(ctx context.Context, sessionID int64, p domain.Page) ([]domain.MeterSample, string, error) {
	p = p.Normalized()
	afterAt, afterID := "", int64(0)
	if p.Cursor != "" {
		pos, err := decodeCursor("sample", p.Cursor)
		if err == nil {
			var idText string
			var ok bool
			afterAt, idText, ok = strings.Cut(pos, " ")
			if ok {
				if _, err = parseTime(afterAt); err == nil {
					afterID, err = strconv.ParseInt(idText, 10, 64)
				}
			}
			if !ok || err != nil {
				err = invalid("invalid cursor")
			}
		}
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: meter samples of session %d: %w", sessionID, err)
		}
	}
	var (
		samples []domain.MeterSample
		lastID  int64
		more    bool
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, station_id, evse_id, at, measurand, phase, location, context,
				unit, value, signed
			FROM meter_samples WHERE session_id = ? AND (at, id) > (?, ?)
			ORDER BY at, id LIMIT ?`, sessionID, afterAt, afterID, p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(samples) == p.Limit {
				more = true
				break
			}
			var (
				m      domain.MeterSample
				at     string
				signed []byte
			)
			if err := rows.Scan(&lastID, &m.StationID, &m.EVSEID, &at, &m.Measurand, &m.Phase, &m.Location,
				&m.Context, &m.Unit, &m.Value, &signed); err != nil {
				return err
			}
			if m.At, err = parseTime(at); err != nil {
				return err
			}
			if len(signed) > 0 {
				m.Signed = signed
			}
			m.SessionID = sessionID
			samples = append(samples, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(samples) == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = ?`, sessionID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return sessionNotFound(sessionID)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: meter samples of session %d: %w", sessionID, err)
	}
	next := ""
	if more {
		next = encodeCursor("sample", formatTime(samples[len(samples)-1].At)+" "+strconv.FormatInt(lastID, 10))
	}
	return samples, next, nil
}

// pruneChunk bounds the rows one pruning write deletes, so that it never holds up the writer
// (and every OCPP message waiting on it) for long.
const pruneChunk = 5000

// PruneStationMessages deletes the exactly-once ledger's rows recorded before cutoff and
// returns how many it deleted. A message retransmitted after its row is gone is applied again,
// so cutoff must lie well beyond the longest a station keeps retrying a message (hours, not
// minutes). The ledger grows by one row per transactional message: run this periodically.
func (s *Store) PruneStationMessages(ctx context.Context, cutoff time.Time) (int64, error) {
	if err := checkTime("cutoff", cutoff); err != nil {
		return 0, fmt.Errorf("sqlite: prune station messages: %w", err)
	}
	c := formatTime(cutoff)
	var total int64
	for {
		n, err := writeValue(ctx, s, func(tx *sql.Tx) (int64, error) {
			res, err := tx.Exec(`DELETE FROM station_messages WHERE (station_id, action, digest) IN (
				SELECT station_id, action, digest FROM station_messages WHERE at < ? ORDER BY at LIMIT ?)`, c, pruneChunk)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlite: prune station messages: %w", err)
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
	return errors.Join(checkTime("start time", s.StartedAt), checkTime("stop time", s.StoppedAt),
		checkTime("meter start time", s.MeterStartAt), checkTime("meter last time", s.MeterLastAt),
		checkTime("last event time", s.LastEventAt), checkTime("last station time", s.LastStationAt),
		checkTime("creation time", s.CreatedAt), checkTime("update time", s.UpdatedAt))
}

// sessionArgs are the values of sessionColumns for s, without created_at unless withCreated.
func sessionArgs(s domain.Session, withCreated bool) []any {
	args := []any{
		s.StationID, s.EVSEID, s.ConnectorID, s.TransactionID, s.IDToken, s.IDTokenType,
		string(s.AuthStatus), string(s.Status), formatTime(s.StartedAt), nullTime(s.StoppedAt),
		nullFloat(s.MeterStartWh), nullTime(s.MeterStartAt), nullFloat(s.MeterStopWh),
		nullFloat(s.MeterLastWh), nullTime(s.MeterLastAt), s.EnergyWh, s.StopReason,
		nullInt(s.RemoteStartID), nullInt(s.ReservationID), s.ChargingState, nullInt(s.LastSeqNo),
		formatTime(s.LastEventAt), nullTime(s.LastStationAt), s.Flag,
	}
	if withCreated {
		args = append(args, formatTime(s.CreatedAt))
	}
	return append(args, formatTime(s.UpdatedAt))
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func nullInt(i *int) any {
	if i == nil {
		return nil
	}
	return int64(*i)
}

func scanSession(row scanner) (domain.Session, error) {
	var (
		s                                                   domain.Session
		authStatus, status, startedAt, lastEventAt          string
		createdAt, updatedAt                                string
		stoppedAt, meterStartAt, meterLastAt, lastStationAt sql.NullString
		meterStart, meterStop, meterLast                    sql.NullFloat64
		remoteStart, reservation, seqNo                     sql.NullInt64
	)
	if err := row.Scan(&s.ID, &s.StationID, &s.EVSEID, &s.ConnectorID, &s.TransactionID, &s.IDToken, &s.IDTokenType,
		&authStatus, &status, &startedAt, &stoppedAt, &meterStart, &meterStartAt, &meterStop,
		&meterLast, &meterLastAt, &s.EnergyWh, &s.StopReason, &remoteStart, &reservation,
		&s.ChargingState, &seqNo, &lastEventAt, &lastStationAt, &s.Flag, &createdAt, &updatedAt); err != nil {
		return domain.Session{}, err
	}
	s.AuthStatus, s.Status = domain.TokenStatus(authStatus), domain.SessionStatus(status)
	s.MeterStartWh, s.MeterStopWh, s.MeterLastWh = floatPtr(meterStart), floatPtr(meterStop), floatPtr(meterLast)
	s.RemoteStartID, s.ReservationID, s.LastSeqNo = intPtr(remoteStart), intPtr(reservation), intPtr(seqNo)
	var errs [8]error
	s.StartedAt, errs[0] = parseTime(startedAt)
	s.StoppedAt, errs[1] = parseNullTime(stoppedAt)
	s.MeterStartAt, errs[2] = parseNullTime(meterStartAt)
	s.MeterLastAt, errs[3] = parseNullTime(meterLastAt)
	s.LastEventAt, errs[4] = parseTime(lastEventAt)
	s.LastStationAt, errs[5] = parseNullTime(lastStationAt)
	s.CreatedAt, errs[6] = parseTime(createdAt)
	s.UpdatedAt, errs[7] = parseTime(updatedAt)
	if err := errors.Join(errs[:]...); err != nil {
		return domain.Session{}, err
	}
	return s, nil
}

func floatPtr(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

func intPtr(i sql.NullInt64) *int {
	if !i.Valid {
		return nil
	}
	v := int(i.Int64)
	return &v
}

// inUTC returns s with its times in UTC, as a read would return them.
func inUTC(s domain.Session) domain.Session {
	for _, t := range []*time.Time{&s.StartedAt, &s.StoppedAt, &s.MeterStartAt, &s.MeterLastAt, &s.LastEventAt,
		&s.LastStationAt, &s.CreatedAt, &s.UpdatedAt} {
		if !t.IsZero() {
			*t = t.UTC()
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
