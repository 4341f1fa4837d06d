package domain

import (
	"context"
	"time"
)

// Tariff is a stored tariff. Body is the OCPI 2.2.1 Tariff object as JSON: the domain does not
// read it (package pricing does), the stores keep it as given.
type Tariff struct {
	ID        string
	Body      []byte
	UpdatedAt time.Time
}

// StationPricing is how one station is priced by default: its tariff ("" none) and the IANA time
// zone its tariff restrictions (time of day, day of week, dates) are read in.
type StationPricing struct {
	StationID string
	TariffID  string
	TimeZone  string // "" reads as UTC
}

// TariffAssignment applies a tariff to all stations (StationID ""), one station (EVSEID 0) or one
// EVSE of a station, optionally only for the tokens of one group (GroupID, the token's groupId)
// and only within [ValidFrom, ValidTo) (zero: unbounded).
type TariffAssignment struct {
	ID        int64
	TariffID  string
	StationID string
	EVSEID    int
	GroupID   string
	ValidFrom time.Time
	ValidTo   time.Time
	CreatedAt time.Time
}

// ValidAt reports whether the assignment's validity window holds at.
func (a TariffAssignment) ValidAt(at time.Time) bool {
	return (a.ValidFrom.IsZero() || !at.Before(a.ValidFrom)) && (a.ValidTo.IsZero() || at.Before(a.ValidTo))
}

// Validate checks an assignment before it is stored.
func (a TariffAssignment) Validate() error {
	switch {
	case a.TariffID == "":
		return Errorf(ErrInvalid, "tariffId is required")
	case a.EVSEID < 0:
		return Errorf(ErrInvalid, "evseId must not be negative")
	case a.EVSEID > 0 && a.StationID == "":
		return Errorf(ErrInvalid, "an EVSE assignment needs a stationId")
	case !a.ValidFrom.IsZero() && !a.ValidTo.IsZero() && !a.ValidFrom.Before(a.ValidTo):
		return Errorf(ErrInvalid, "validTo must be after validFrom")
	}
	return nil
}

// SessionTariff is the tariff pinned on a session when it started: a copy of the tariff body and
// the station's time zone, so that a later edit of the tariff never reprices the session.
// TariffID "" (and no Body) records that no tariff applied.
type SessionTariff struct {
	SessionID int64
	TariffID  string
	Body      []byte
	TimeZone  string
	PinnedAt  time.Time
}

// CDR is the immutable charge detail record of a completed session. Body is the full record as
// JSON (OCPI CDR fields: charging periods, totals); the other fields are copies for filtering
// and export.
type CDR struct {
	ID           string
	SessionID    int64
	StationID    string
	EVSEID       int
	IDToken      string
	StartedAt    time.Time
	StoppedAt    time.Time
	Currency     string // "" when no tariff applied
	TotalExclVat string // decimal text, "" when no tariff applied
	TotalInclVat string
	EnergyWh     float64
	Body         []byte
	CreatedAt    time.Time
}

// CDRFilter selects CDRs: stopped in [From, To) (zero: unbounded), of one station, of one token.
type CDRFilter struct {
	From, To  time.Time
	StationID string
	IDToken   string
}

// TariffStore keeps tariffs, what applies them to stations, and the tariffs pinned on sessions.
type TariffStore interface {
	// PutTariff inserts or replaces a tariff and reports whether it was new.
	PutTariff(ctx context.Context, t Tariff) (created bool, err error)
	// Tariff returns one tariff; ErrNotFound.
	Tariff(ctx context.Context, id string) (Tariff, error)
	// Tariffs lists tariffs ordered by id.
	Tariffs(ctx context.Context, p Page) ([]Tariff, string, error)
	// DeleteTariff removes a tariff; ErrNotFound, or ErrConflict while a station or an
	// assignment uses it.
	DeleteTariff(ctx context.Context, id string) error
	// SetStationPricing sets a station's tariff and time zone; ErrNotFound for an unknown station
	// or tariff.
	SetStationPricing(ctx context.Context, p StationPricing) error
	// StationPricing returns a station's pricing (zero TariffID and TimeZone when never set).
	StationPricing(ctx context.Context, stationID string) (StationPricing, error)
	// AddTariffAssignment stores an assignment and returns it with its id; ErrNotFound for an
	// unknown tariff or station.
	AddTariffAssignment(ctx context.Context, a TariffAssignment) (TariffAssignment, error)
	// TariffAssignments lists assignments ordered by id; stationID "" lists all, otherwise the
	// ones of that station and the all-stations ones.
	TariffAssignments(ctx context.Context, stationID string, p Page) ([]TariffAssignment, string, error)
	// DeleteTariffAssignment removes one; ErrNotFound.
	DeleteTariffAssignment(ctx context.Context, id int64) error
	// PinSessionTariff stores st unless the session already has a pinned tariff, and returns the
	// pinned one (so the first pin wins). ErrNotFound for an unknown session.
	PinSessionTariff(ctx context.Context, st SessionTariff) (SessionTariff, error)
	// SessionTariff returns a session's pinned tariff; ErrNotFound when none was pinned.
	SessionTariff(ctx context.Context, sessionID int64) (SessionTariff, error)
}

// CDRStore keeps charge detail records. A CDR is written once and never changed.
type CDRStore interface {
	// AddCDR stores c unless its session has a CDR already, and returns the stored one.
	AddCDR(ctx context.Context, c CDR) (CDR, error)
	// CDR returns the CDR of a session; ErrNotFound.
	CDR(ctx context.Context, sessionID int64) (CDR, error)
	// CDRs lists CDRs newest session first.
	CDRs(ctx context.Context, f CDRFilter, p Page) ([]CDR, string, error)
}
