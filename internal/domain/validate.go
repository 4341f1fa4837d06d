package domain

import (
	"math"
)

// The checks below are what every store needs before it writes a record; each store adds the
// limits of its own column types (time ranges, text encodings) on top.

// ValidateNew checks a station about to be created.
func (st Station) ValidateNew() error {
	if st.ID == "" {
		return Errorf(ErrInvalid, "the station id is empty")
	}
	if !st.RegistrationStatus.Valid() {
		return Errorf(ErrInvalid, "registration status %q is not one of Accepted, Pending, Rejected", st.RegistrationStatus)
	}
	type key struct{ evse, connector int }
	seen := map[key]bool{}
	for _, e := range st.EVSEs {
		if e.ID <= 0 {
			return Errorf(ErrInvalid, "EVSE id %d is not positive", e.ID)
		}
		for _, c := range e.Connectors {
			if c.ID <= 0 {
				return Errorf(ErrInvalid, "connector id %d of EVSE %d is not positive", c.ID, e.ID)
			}
			if seen[key{e.ID, c.ID}] {
				return Errorf(ErrInvalid, "connector %d of EVSE %d is given twice", c.ID, e.ID)
			}
			seen[key{e.ID, c.ID}] = true
			if c.Status == "" {
				return Errorf(ErrInvalid, "connector %d of EVSE %d has no status", c.ID, e.ID)
			}
		}
	}
	return nil
}

// Validate checks a token before it is stored.
func (t Token) Validate() error {
	if t.UID == "" {
		return Errorf(ErrInvalid, "the token uid is empty")
	}
	if !t.Status.Valid() {
		return Errorf(ErrInvalid, "token status %q is not one of Accepted, Blocked, Expired, Invalid", t.Status)
	}
	return nil
}

// Validate checks a session before it is stored. A provisional session (being inserted, its
// transaction id still to be derived from its id) may lack the transaction id.
func (s Session) Validate(provisional bool) error {
	switch {
	case s.StationID == "":
		return Errorf(ErrInvalid, "the station id is empty")
	case s.TransactionID == "" && !provisional:
		return Errorf(ErrInvalid, "the transaction id is empty")
	case s.EVSEID < 0 || s.ConnectorID < 0:
		return Errorf(ErrInvalid, "EVSE and connector ids must not be negative")
	case s.Status != SessionActive && s.Status != SessionCompleted:
		return Errorf(ErrInvalid, "session status %q is not one of active, completed", s.Status)
	case s.StartedAt.IsZero():
		return Errorf(ErrInvalid, "the start time is missing")
	}
	for _, f := range []*float64{s.MeterStartWh, s.MeterStopWh, s.MeterLastWh, &s.EnergyWh} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return Errorf(ErrInvalid, "meter reading %v is not a number", *f)
		}
	}
	return nil
}
