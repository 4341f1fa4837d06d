package domain

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	nan := math.NaN()
	ok := Session{StationID: "CP-1", TransactionID: "1", Status: SessionActive, StartedAt: now}
	tests := []struct {
		name  string
		err   error
		valid bool
	}{
		{"station ok", Station{ID: "CP-1", RegistrationStatus: RegistrationAccepted,
			EVSEs: []EVSE{{ID: 1, Connectors: []Connector{{ID: 1, Status: ConnectorAvailable}}}}}.ValidateNew(), true},
		{"station without id", Station{RegistrationStatus: RegistrationAccepted}.ValidateNew(), false},
		{"station bad status", Station{ID: "CP-1", RegistrationStatus: "Maybe"}.ValidateNew(), false},
		{"station EVSE 0", Station{ID: "CP-1", RegistrationStatus: RegistrationAccepted, EVSEs: []EVSE{{ID: 0}}}.ValidateNew(), false},
		{"station connector twice", Station{ID: "CP-1", RegistrationStatus: RegistrationAccepted, EVSEs: []EVSE{{ID: 1,
			Connectors: []Connector{{ID: 1, Status: ConnectorAvailable}, {ID: 1, Status: ConnectorAvailable}}}}}.ValidateNew(), false},
		{"connector without status", Station{ID: "CP-1", RegistrationStatus: RegistrationAccepted, EVSEs: []EVSE{{ID: 1,
			Connectors: []Connector{{ID: 1}}}}}.ValidateNew(), false},
		{"token ok", Token{UID: "A", Status: TokenAccepted}.Validate(), true},
		{"token without uid", Token{Status: TokenAccepted}.Validate(), false},
		{"token bad status", Token{UID: "A", Status: "Maybe"}.Validate(), false},
		{"session ok", ok.Validate(false), true},
		{"provisional session without transaction id", Session{StationID: "CP-1", Status: SessionActive, StartedAt: now}.Validate(true), true},
		{"session without transaction id", Session{StationID: "CP-1", Status: SessionActive, StartedAt: now}.Validate(false), false},
		{"session without start", Session{StationID: "CP-1", TransactionID: "1", Status: SessionActive}.Validate(false), false},
		{"session bad status", Session{StationID: "CP-1", TransactionID: "1", Status: "paused", StartedAt: now}.Validate(false), false},
		{"session NaN reading", Session{StationID: "CP-1", TransactionID: "1", Status: SessionActive, StartedAt: now, MeterStartWh: &nan}.Validate(false), false},
	}
	for _, tt := range tests {
		if (tt.err == nil) != tt.valid {
			t.Errorf("%s: err = %v, want valid=%v", tt.name, tt.err, tt.valid)
		}
		if tt.err != nil && !errors.Is(tt.err, ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", tt.name, tt.err)
		}
	}
}
