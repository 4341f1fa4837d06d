package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// The statements of the hot write path (Apply and its SessionTx) are prepared once on the
// writer connection: preparing them for every message cost about as much writer time as running
// them. stmtID names one of them.
type stmtID int

const (
	qMessageGet stmtID = iota
	qMessagePut
	qSessionInsert
	qSessionSetTransaction
	qSessionByTransaction
	qSessionActiveOn
	qSessionUpdate
	qSessionUpdateHot
	qTokenGet
	qEventInsert
	// The station writes of every (re)connection: a mass reconnect runs them for each station.
	qStationConnect
	qStationDisconnect
	qStationBoot
	qStationTouch
	qStationStatus
	qConnectorStatus
	// qSampleInsert+n-1 inserts n samples (1 ≤ n ≤ maxSampleRows) in one statement.
	qSampleInsert
	numStmts = qSampleInsert + maxSampleRows
)

const maxSampleRows = 8

const sampleInsert = `INSERT INTO meter_samples (session_id, station_id, evse_id, at, measurand, phase, location,
		context, unit, value, signed) VALUES `

const sampleConflict = `
	ON CONFLICT (station_id, evse_id, at, measurand, phase, location, context) DO NOTHING`

// sampleColumns is the number of values per row of sampleInsert.
const sampleColumns = 11

// hotSessionColumns are the columns of a session that no index covers but last_event_at: what a
// message about a running session (meter values, charging state) changes. Setting only these
// leaves the session's other index entries alone; an UPDATE that names an indexed column
// rewrites that index's entry even when the value stays the same.
const hotSessionColumns = `connector_id = ?, id_token_type = ?, auth_status = ?, stopped_at = ?,
	meter_start_wh = ?, meter_start_at = ?, meter_stop_wh = ?, meter_last_wh = ?, meter_last_at = ?,
	energy_wh = ?, stop_reason = ?, reservation_id = ?, charging_state = ?, last_seq_no = ?,
	last_event_at = ?, last_station_at = ?, flag = ?, updated_at = ?`

var stmtText = func() [numStmts]string {
	q := [numStmts]string{
		qMessageGet: `SELECT answer FROM station_messages WHERE station_id = ? AND action = ? AND digest = ?`,
		qMessagePut: `INSERT INTO station_messages (station_id, action, digest, answer, at) VALUES (?, ?, ?, ?, ?)`,
		qSessionInsert: `INSERT INTO sessions (` + sessionColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		qSessionSetTransaction: `UPDATE sessions SET transaction_id = ? WHERE id = ?`,
		qSessionByTransaction:  `SELECT id, ` + sessionColumns + ` FROM sessions WHERE station_id = ? AND transaction_id = ?`,
		qSessionActiveOn: `SELECT id, ` + sessionColumns + ` FROM sessions
		WHERE station_id = ? AND evse_id = ? AND status = 'active'
		ORDER BY started_at DESC, id DESC LIMIT 1`,
		// Every column but created_at, which stays what NewSession stored.
		qSessionUpdate: `UPDATE sessions SET station_id = ?, evse_id = ?, connector_id = ?, transaction_id = ?,
			id_token = ?, id_token_type = ?, auth_status = ?, status = ?, started_at = ?, stopped_at = ?,
			meter_start_wh = ?, meter_start_at = ?, meter_stop_wh = ?, meter_last_wh = ?, meter_last_at = ?,
			energy_wh = ?, stop_reason = ?, remote_start_id = ?, reservation_id = ?, charging_state = ?,
			last_seq_no = ?, last_event_at = ?, last_station_at = ?, flag = ?, updated_at = ?
		WHERE id = ?`,
		// Only if the indexed columns are as given; else (0 rows) UpdateSession runs qSessionUpdate.
		qSessionUpdateHot: `UPDATE sessions SET ` + hotSessionColumns + `
		WHERE id = ? AND station_id = ? AND evse_id = ? AND transaction_id = ? AND id_token = ?
			AND remote_start_id IS ? AND status = ? AND started_at = ?`,
		qTokenGet:    `SELECT ` + tokenColumns + ` FROM tokens WHERE uid = ?`,
		qEventInsert: `INSERT INTO station_events (station_id, kind, type, at, detail) VALUES (?, ?, ?, ?, ?)`,
		qStationConnect: `UPDATE stations SET connected = 1,
				ocpp_version = coalesce(nullif(:version, ''), ocpp_version),
				last_seen_at = max(coalesce(last_seen_at, :at), :at)
			WHERE id = :id`,
		qStationDisconnect: `UPDATE stations SET connected = 0 WHERE id = ?`,
		qStationBoot: `UPDATE stations SET
				vendor = :vendor, model = :model, serial_number = :serial, firmware_version = :firmware,
				ocpp_version = coalesce(nullif(:version, ''), ocpp_version),
				last_seen_at = max(coalesce(last_seen_at, :at), :at),
				updated_at = :now
			WHERE id = :id`,
		qStationTouch: `UPDATE stations SET last_seen_at = max(coalesce(last_seen_at, ?1), ?1) WHERE id = ?2`,
		qStationStatus: `UPDATE stations SET status = :status, ocpp_status = :ocpp_status,
				error_code = :error_code, info = :info, vendor_error_code = :vendor_error_code, status_at = :at
			WHERE id = :station AND (status_at IS NULL OR status_at <= :at)`,
		qConnectorStatus: `INSERT INTO connectors (station_id, evse_id, connector_id,
				status, ocpp_status, error_code, info, vendor_error_code, updated_at)
			VALUES (:station, :evse, :connector, :status, :ocpp_status, :error_code, :info,
				:vendor_error_code, :at)
			ON CONFLICT (station_id, evse_id, connector_id) DO UPDATE SET
				status = excluded.status, ocpp_status = excluded.ocpp_status,
				error_code = excluded.error_code, info = excluded.info,
				vendor_error_code = excluded.vendor_error_code, updated_at = excluded.updated_at
			WHERE excluded.updated_at >= connectors.updated_at`,
	}
	for n := 1; n <= maxSampleRows; n++ {
		row := "(" + strings.Repeat("?, ", sampleColumns-1) + "?)"
		q[qSampleInsert+stmtID(n-1)] = sampleInsert + strings.Repeat(row+", ", n-1) + row + sampleConflict
	}
	return q
}()

type preparedStmts [numStmts]*sql.Stmt

// prepare prepares the hot statements on the writer once the schema has them. Until then (a
// store opened with NoMigrate and not migrated yet) the statements run unprepared.
func (s *Store) prepare(ctx context.Context) error {
	if s.stmts.Load() != nil {
		return nil
	}
	var p preparedStmts
	for i, q := range stmtText {
		st, err := s.writer.PrepareContext(ctx, q)
		if err != nil {
			_ = p.close()
			return fmt.Errorf("sqlite: prepare statement %d: %w", i, err)
		}
		p[i] = st
	}
	if !s.stmts.CompareAndSwap(nil, &p) {
		return p.close() // a concurrent Migrate won
	}
	return nil
}

func (p *preparedStmts) close() error {
	var errs []error
	for _, st := range p {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// txStmts runs the hot statements inside one write transaction. The writer goroutine keeps one
// (Store.wtx) and re-binds it to each new transaction, so that every statement is bound to a
// transaction (tx.Stmt) once per group commit rather than once per use. It is used on the
// writer goroutine only.
type txStmts struct {
	tx    *sql.Tx
	p     *preparedStmts
	bound [numStmts]*sql.Stmt
}

// on returns the statements bound to tx. It must be called on the writer goroutine, from inside a
// write operation.
func (s *Store) on(tx *sql.Tx) *txStmts {
	w := &s.wtx
	if w.tx != tx {
		// The previous transaction has ended and closed its bound statements; keeping tx
		// referenced until the next one also keeps its address from being reused meanwhile.
		*w = txStmts{tx: tx, p: s.stmts.Load()}
	}
	return w
}

func (t *txStmts) stmt(id stmtID) *sql.Stmt {
	if t.p == nil {
		return nil
	}
	st := t.bound[id]
	if st == nil {
		st = t.tx.Stmt(t.p[id])
		t.bound[id] = st
	}
	return st
}

func (t *txStmts) exec(id stmtID, args ...any) (sql.Result, error) {
	if st := t.stmt(id); st != nil {
		return st.Exec(args...)
	}
	return t.tx.Exec(stmtText[id], args...)
}

func (t *txStmts) queryRow(id stmtID, args ...any) *sql.Row {
	if st := t.stmt(id); st != nil {
		return st.QueryRow(args...)
	}
	return t.tx.QueryRow(stmtText[id], args...)
}
