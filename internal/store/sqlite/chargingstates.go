package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/opencpo/opencpo/internal/domain"
)

// AddChargingStates stores charging-state marks of sessions; a mark already stored (same
// session, time and state) is skipped.
func (x *sessionTx) AddChargingStates(marks []domain.ChargingStateMark) error {
	if x.q == nil {
		return errTxDone
	}
	for i, m := range marks {
		err := checkMark(m)
		if err == nil {
			_, err = x.q.tx.Exec(`INSERT INTO session_charging_states (session_id, at, state) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, m.SessionID, formatTime(m.At), m.State)
			err = mapErr(err, "", fmt.Sprintf("session %d not found", m.SessionID))
		}
		if err != nil {
			return fmt.Errorf("sqlite: add charging state %d: %w", i, err)
		}
	}
	return nil
}

func checkMark(m domain.ChargingStateMark) error {
	if m.SessionID == 0 || m.State == "" || m.At.IsZero() {
		return invalid("a charging state needs a session, a time and a state")
	}
	return checkTime("charging state time", m.At)
}

// ChargingStates lists a session's charging-state marks ordered by time, then state.
func (s *Store) ChargingStates(ctx context.Context, sessionID int64) ([]domain.ChargingStateMark, error) {
	var out []domain.ChargingStateMark
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT at, state FROM session_charging_states
			WHERE session_id = ? ORDER BY at, state`, sessionID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := domain.ChargingStateMark{SessionID: sessionID}
			var at string
			if err := rows.Scan(&at, &m.State); err != nil {
				return err
			}
			if m.At, err = parseTime(at); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: charging states of session %d: %w", sessionID, err)
	}
	return out, nil
}
