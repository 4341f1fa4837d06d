package domain

import (
	"context"
	"time"
)

// ChargingStateMark records that a session's EVSE reported a charging state at a station time:
// the OCPP 2.0.1 ChargingStateEnumType names (ChargingState* below). OCPP 1.6 status
// notifications of the session's connector are recorded in the same vocabulary.
type ChargingStateMark struct {
	SessionID int64
	At        time.Time // the station's timestamp of the message
	State     string
}

// The charging states (OCPP 2.0.1 ChargingStateEnumType).
const (
	ChargingStateCharging      = "Charging"
	ChargingStateEVConnected   = "EVConnected"
	ChargingStateSuspendedEV   = "SuspendedEV"
	ChargingStateSuspendedEVSE = "SuspendedEVSE"
	ChargingStateIdle          = "Idle"
)

// ChargingStateStore reads a session's charging-state timeline. Marks are written inside an
// Apply transaction (SessionTx.AddChargingStates).
type ChargingStateStore interface {
	// ChargingStates lists a session's marks ordered by station time (then by state, for a
	// stable order of marks at one instant).
	ChargingStates(ctx context.Context, sessionID int64) ([]ChargingStateMark, error)
}
