package postgres

import (
	"context"
	"fmt"

	"github.com/opencpo/opencpo/internal/domain"
)

// AddChargingStates stores charging-state marks of sessions; a mark already stored (same
// session, time and state) is skipped.
func (x *sessionTx) AddChargingStates(marks []domain.ChargingStateMark) error {
	if x.conn == nil {
		return errTxDone
	}
	for i, m := range marks {
		if m.SessionID == 0 || m.State == "" || m.At.IsZero() {
			return fmt.Errorf("postgres: add charging state %d: %w", i, invalid("a charging state needs a session, a time and a state"))
		}
		_, err := x.guarded(`INSERT INTO session_charging_states (session_id, at, state) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, []any{m.SessionID, pgTime(m.At), m.State}, nil)
		if err != nil {
			return fmt.Errorf("postgres: add charging state %d: %w", i,
				mapErr(err, "", fmt.Sprintf("session %d not found", m.SessionID)))
		}
	}
	return nil
}

// ChargingStates lists a session's charging-state marks ordered by time, then state.
func (s *Store) ChargingStates(ctx context.Context, sessionID int64) ([]domain.ChargingStateMark, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, state FROM session_charging_states
		WHERE session_id = $1 ORDER BY at, state`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: charging states of session %d: %w", sessionID, err)
	}
	defer rows.Close()
	var out []domain.ChargingStateMark
	for rows.Next() {
		m := domain.ChargingStateMark{SessionID: sessionID}
		if err := rows.Scan(&m.At, &m.State); err != nil {
			return nil, fmt.Errorf("postgres: charging states of session %d: %w", sessionID, err)
		}
		m.At = m.At.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: charging states of session %d: %w", sessionID, err)
	}
	return out, nil
}
