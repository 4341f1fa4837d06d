package domain

import (
	"context"
	"time"
)

// TokenStatus is the authorization state of a token. Expired is also what an Accepted token past
// its ExpiresAt authorizes as; an unknown uid authorizes as Invalid.
type TokenStatus string

const (
	TokenAccepted TokenStatus = "Accepted"
	TokenBlocked  TokenStatus = "Blocked"
	TokenExpired  TokenStatus = "Expired"
	TokenInvalid  TokenStatus = "Invalid"
)

// Valid reports whether s is one of the four token states.
func (s TokenStatus) Valid() bool {
	switch s {
	case TokenAccepted, TokenBlocked, TokenExpired, TokenInvalid:
		return true
	}
	return false
}

// Token is an identifier a driver authorizes with: an RFID card, an app token, a key code.
type Token struct {
	UID       string
	Type      string // OCPP 2.0.1 IdTokenEnumType name: ISO14443, ISO15693, eMAID, KeyCode, Local, MacAddress, Central, NoAuthorization
	Status    TokenStatus
	ExpiresAt time.Time // zero: never
	GroupID   string    // 1.6 parentIdTag / 2.0.1 groupIdToken
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StatusAt is how the token authorizes at time now.
func (t Token) StatusAt(now time.Time) TokenStatus {
	if t.Status == TokenAccepted && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return TokenExpired
	}
	return t.Status
}

// TokenPatch changes some fields of a token; nil means unchanged. A non-nil zero ExpiresAt
// removes the expiry.
type TokenPatch struct {
	Type      *string
	Status    *TokenStatus
	ExpiresAt *time.Time
	GroupID   *string
}

// TokenStore keeps tokens.
type TokenStore interface {
	// CreateToken inserts a token; ErrConflict if the uid exists.
	CreateToken(ctx context.Context, t Token) error
	// Token returns one token; ErrNotFound if absent.
	Token(ctx context.Context, uid string) (Token, error)
	// Tokens lists tokens ordered by uid.
	Tokens(ctx context.Context, p Page) ([]Token, string, error)
	UpdateToken(ctx context.Context, uid string, p TokenPatch) (Token, error)
	DeleteToken(ctx context.Context, uid string) error
}

// SessionStatus is where a charging session stands.
type SessionStatus string

const (
	SessionActive    SessionStatus = "active"
	SessionCompleted SessionStatus = "completed"
)

// Session is one charging transaction, for both OCPP versions.
type Session struct {
	ID            int64 // also the OCPP 1.6 transactionId: unique across the system
	StationID     string
	EVSEID        int
	ConnectorID   int
	TransactionID string // OCPP transaction id: the 1.6 integer as text, or the 2.0.1 string
	IDToken       string
	IDTokenType   string
	AuthStatus    TokenStatus // how the token authorized when the session started
	Status        SessionStatus
	StartedAt     time.Time
	StoppedAt     time.Time // zero while active
	MeterStartWh  *float64  // first energy register reading of the session (by station time)
	MeterStartAt  time.Time
	MeterStopWh   *float64 // the reading the station gave at the stop
	MeterLastWh   *float64 // latest register reading (by station time)
	MeterLastAt   time.Time
	EnergyWh      float64 // energy delivered so far, folded from the readings (see AddReading)
	StopReason    string
	RemoteStartID *int
	ReservationID *int
	ChargingState string    // 2.0.1 chargingState (Charging, EVConnected, SuspendedEV, SuspendedEVSE, Idle)
	LastSeqNo     *int      // 2.0.1: highest seqNo seen in the current numbering
	LastEventAt   time.Time // server time of the last message about the session
	// LastStationAt is the station's timestamp of the newest message applied: state fields
	// (charging state, stop) only follow messages at least as new, whatever the arrival order.
	LastStationAt time.Time
	// Flag says why a session needs an operator's review ("" when it does not): it was closed
	// by the server for lack of news, or superseded by a new session on the same EVSE.
	Flag      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AddReading folds one energy register reading (in Wh, at station time) into the session.
// Readings may arrive late or out of order (offline backlogs): a reading before the first one
// becomes the new start, one between first and latest is already accounted for, and a reading
// below the latest one is a register reset (meter replaced or wrapped), after which counting
// resumes from zero.
func (s *Session) AddReading(wh float64, at time.Time) {
	switch {
	case s.MeterStartWh == nil:
		s.MeterStartWh, s.MeterStartAt = ptr(wh), at
		s.MeterLastWh, s.MeterLastAt = ptr(wh), at
	case at.Before(s.MeterStartAt):
		if *s.MeterStartWh > wh {
			s.EnergyWh += *s.MeterStartWh - wh
		}
		s.MeterStartWh, s.MeterStartAt = ptr(wh), at
	case at.Before(s.MeterLastAt):
		// Already covered by the readings on either side of it.
	default:
		if wh >= *s.MeterLastWh {
			s.EnergyWh += wh - *s.MeterLastWh
		} else {
			s.EnergyWh += wh
		}
		s.MeterLastWh, s.MeterLastAt = ptr(wh), at
	}
}

func ptr[T any](v T) *T { return &v }

// MeterSample is one sampled value of a meter reading.
type MeterSample struct {
	SessionID int64 // 0 when the reading belongs to no session
	StationID string
	EVSEID    int
	At        time.Time
	Measurand string // default Energy.Active.Import.Register
	Phase     string
	Location  string // default Outlet
	Context   string // default Sample.Periodic
	Unit      string // default Wh for energy
	Value     float64
	// Signed is the signed meter data exactly as received (2.0.1 signedMeterValue, 1.6
	// SignedData format), kept for Eichrecht / billing disputes.
	Signed []byte
}

// SessionFilter selects sessions.
type SessionFilter struct {
	StationID     string
	Status        SessionStatus // "" for all
	RemoteStartID *int
	IDToken       string
}

// StationMessage identifies one transactional message from a station for exactly-once
// handling: a retransmission has the same station, action and payload digest.
type StationMessage struct {
	StationID string
	Action    string
	Digest    string // hex SHA-256 of the payload bytes
}

// SessionStore keeps sessions and meter values. The transactional OCPP messages are applied
// through Apply so that their effects and the recorded answer commit together: a retransmitted
// message then gets the same answer and changes nothing.
type SessionStore interface {
	// Apply runs fn in one transaction unless msg was applied before, in which case it returns
	// the stored answer and fn does not run. fn's answer is stored with its effects.
	Apply(ctx context.Context, msg StationMessage, fn func(tx SessionTx) ([]byte, error)) (answer []byte, replayed bool, err error)
	Session(ctx context.Context, id int64) (Session, error)
	Sessions(ctx context.Context, f SessionFilter, p Page) ([]Session, string, error)
	// MeterSamples lists a session's samples ordered by time.
	MeterSamples(ctx context.Context, sessionID int64, p Page) ([]MeterSample, string, error)
	// StaleSessions lists active sessions whose last event is before cutoff.
	StaleSessions(ctx context.Context, cutoff time.Time, limit int) ([]Session, error)
	// CloseStale closes an active session as of stoppedAt with the given flag; ErrConflict if it
	// is no longer active or has seen news since cutoff.
	CloseStale(ctx context.Context, id int64, cutoff, stoppedAt time.Time, flag string) error
	// PruneStationMessages forgets exactly-once ledger entries older than cutoff and returns how
	// many went. A retransmission older than the retention is then applied again.
	PruneStationMessages(ctx context.Context, cutoff time.Time) (int64, error)
}

// SessionTx is the view of the store inside one Apply transaction. A store may send a write
// (UpdateSession, AddSamples) without waiting for its result when it knows the write's target
// exists; should that write fail after all, Apply fails with its error instead of the call, and
// nothing of fn is kept either way.
type SessionTx interface {
	// NewSession inserts a session and returns it with its id; TransactionID is set to the id
	// when empty (OCPP 1.6).
	NewSession(s Session) (Session, error)
	// SessionByTransaction finds a session by station and OCPP transaction id; ErrNotFound.
	SessionByTransaction(stationID, transactionID string) (Session, error)
	// ActiveSessionOn finds the active session on a station's EVSE; ErrNotFound.
	ActiveSessionOn(stationID string, evseID int) (Session, error)
	// UpdateSession writes every field of s (by id).
	UpdateSession(s Session) error
	// AddSamples stores meter samples; a sample identical in station, EVSE, time, measurand,
	// phase, location and context to a stored one is skipped.
	AddSamples(samples []MeterSample) error
	// AddChargingStates stores charging-state marks; one identical in session, time and state
	// to a stored one is skipped.
	AddChargingStates(marks []ChargingStateMark) error
	// Token reads a token inside the transaction; ErrNotFound.
	Token(uid string) (Token, error)
	// AddStationEvent stores a station event (e.g. a stop for an unknown transaction).
	AddStationEvent(e StationEvent) error
}

// RemoteStart is a station's answer to a remote start request.
type RemoteStart struct {
	RemoteStartID int
	Status        string // Accepted or Rejected
	TransactionID string // 2.0.1 stations may name the transaction at once
}
