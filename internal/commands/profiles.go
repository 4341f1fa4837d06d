package commands

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Charging profiles in one shape for both versions. Purposes: StationMax (1.6
// ChargePointMaxProfile, 2.0.1 ChargingStationMaxProfile), TxDefault, Tx; the versions' own
// names are accepted too.

type profileInput struct {
	EvseID  *int          `json:"evseId"`
	Profile *profileShape `json:"profile"`
}

type profileShape struct {
	ID            int            `json:"id"`
	StackLevel    int            `json:"stackLevel"`
	Purpose       string         `json:"purpose"`
	Kind          string         `json:"kind"`
	Recurrency    string         `json:"recurrency"`
	ValidFrom     *time.Time     `json:"validFrom"`
	ValidTo       *time.Time     `json:"validTo"`
	TransactionID string         `json:"transactionId"`
	Schedule      *scheduleShape `json:"schedule"`
}

type scheduleShape struct {
	Duration         *int          `json:"duration"`
	StartSchedule    *time.Time    `json:"startSchedule"`
	ChargingRateUnit string        `json:"chargingRateUnit"`
	MinChargingRate  *float64      `json:"minChargingRate"`
	Periods          []periodShape `json:"periods"`
}

type periodShape struct {
	StartPeriod  int     `json:"startPeriod"`
	Limit        float64 `json:"limit"`
	NumberPhases *int    `json:"numberPhases"`
}

var purposes = []string{"StationMax", "TxDefault", "Tx", "ChargePointMaxProfile", "ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"}

func purpose16(p string) string {
	switch p {
	case "StationMax", "ChargePointMaxProfile", "ChargingStationMaxProfile":
		return "ChargePointMaxProfile"
	case "TxDefault", "TxDefaultProfile":
		return "TxDefaultProfile"
	}
	return "TxProfile"
}

func purpose201(p string) string {
	switch p {
	case "StationMax", "ChargePointMaxProfile", "ChargingStationMaxProfile":
		return "ChargingStationMaxProfile"
	case "TxDefault", "TxDefaultProfile":
		return "TxDefaultProfile"
	}
	return "TxProfile"
}

func (in profileInput) check() error {
	if in.EvseID == nil || *in.EvseID < 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"evseId\" is required: 0 for the whole station or an EVSE id")
	}
	p := in.Profile
	if p == nil {
		return required("profile")
	}
	if p.ID < 1 {
		return domain.Errorf(domain.ErrInvalid, "field \"profile.id\" must be a positive profile id")
	}
	if p.StackLevel < 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"profile.stackLevel\" must not be negative")
	}
	if err := oneOf("profile.purpose", p.Purpose, purposes...); err != nil {
		return err
	}
	if err := oneOf("profile.kind", p.Kind, "Absolute", "Recurring", "Relative"); err != nil {
		return err
	}
	if p.Recurrency != "" {
		if err := oneOf("profile.recurrency", p.Recurrency, "Daily", "Weekly"); err != nil {
			return err
		}
	} else if p.Kind == "Recurring" {
		return domain.Errorf(domain.ErrInvalid, "field \"profile.recurrency\" is required for a Recurring profile (Daily or Weekly)")
	}
	if p.TransactionID != "" && purpose16(p.Purpose) != "TxProfile" {
		return domain.Errorf(domain.ErrInvalid, "field \"profile.transactionId\" is only for a Tx profile")
	}
	s := p.Schedule
	if s == nil {
		return required("profile.schedule")
	}
	if err := oneOf("profile.schedule.chargingRateUnit", s.ChargingRateUnit, "W", "A"); err != nil {
		return err
	}
	if len(s.Periods) == 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"profile.schedule.periods\" needs at least one period")
	}
	for i, per := range s.Periods {
		if per.StartPeriod < 0 || (i == 0 && per.StartPeriod != 0) || (i > 0 && per.StartPeriod <= s.Periods[i-1].StartPeriod) {
			return domain.Errorf(domain.ErrInvalid, "field \"profile.schedule.periods[%d].startPeriod\": the first period starts at 0, later ones strictly after the one before", i)
		}
		if per.Limit < 0 {
			return domain.Errorf(domain.ErrInvalid, "field \"profile.schedule.periods[%d].limit\" must not be negative", i)
		}
	}
	return nil
}

func setProfile16(in json.RawMessage) (any, error) {
	var pi profileInput
	if err := decode(in, &pi); err != nil {
		return nil, err
	}
	if err := pi.check(); err != nil {
		return nil, err
	}
	p, s := pi.Profile, pi.Profile.Schedule
	cp := v16.CsChargingProfiles{
		ChargingProfileId: p.ID, StackLevel: p.StackLevel,
		ChargingProfilePurpose: v16.CsChargingProfilesChargingProfilePurpose(purpose16(p.Purpose)),
		ChargingProfileKind:    v16.CsChargingProfilesChargingProfileKind(p.Kind),
		RecurrencyKind:         v16.CsChargingProfilesRecurrencyKind(p.Recurrency),
		ValidFrom:              p.ValidFrom, ValidTo: p.ValidTo,
		ChargingSchedule: v16.ChargingSchedule{Duration: s.Duration, StartSchedule: s.StartSchedule,
			ChargingRateUnit: v16.ChargingScheduleChargingRateUnit(s.ChargingRateUnit), MinChargingRate: s.MinChargingRate},
	}
	if p.TransactionID != "" {
		id, err := strconv.Atoi(p.TransactionID)
		if err != nil {
			return nil, notFor("profile.transactionId", domain.OCPP16, "1.6 transaction ids are integers")
		}
		cp.TransactionId = &id
	}
	for _, per := range s.Periods {
		cp.ChargingSchedule.ChargingSchedulePeriod = append(cp.ChargingSchedule.ChargingSchedulePeriod,
			v16.ChargingSchedulePeriod{StartPeriod: per.StartPeriod, Limit: per.Limit, NumberPhases: per.NumberPhases})
	}
	return v16.SetChargingProfileRequest{ConnectorId: *pi.EvseID, CsChargingProfiles: cp}, nil
}

func setProfile201(in json.RawMessage) (any, error) {
	var pi profileInput
	if err := decode(in, &pi); err != nil {
		return nil, err
	}
	if err := pi.check(); err != nil {
		return nil, err
	}
	p, s := pi.Profile, pi.Profile.Schedule
	sched := v201.ChargingScheduleType{Id: p.ID, Duration: s.Duration, StartSchedule: s.StartSchedule,
		ChargingRateUnit: v201.ChargingRateUnitEnumType(s.ChargingRateUnit), MinChargingRate: s.MinChargingRate}
	for _, per := range s.Periods {
		sched.ChargingSchedulePeriod = append(sched.ChargingSchedulePeriod,
			v201.ChargingSchedulePeriodType{StartPeriod: per.StartPeriod, Limit: per.Limit, NumberPhases: per.NumberPhases})
	}
	return v201.SetChargingProfileRequest{EvseId: *pi.EvseID, ChargingProfile: v201.ChargingProfileType{
		Id: p.ID, StackLevel: p.StackLevel,
		ChargingProfilePurpose: v201.ChargingProfilePurposeEnumType(purpose201(p.Purpose)),
		ChargingProfileKind:    v201.ChargingProfileKindEnumType(p.Kind),
		RecurrencyKind:         v201.RecurrencyKindEnumType(p.Recurrency),
		ValidFrom:              p.ValidFrom, ValidTo: p.ValidTo, TransactionId: p.TransactionID,
		ChargingSchedule: []v201.ChargingScheduleType{sched},
	}}, nil
}

type clearProfileInput struct {
	ProfileID  *int   `json:"profileId"`
	EvseID     *int   `json:"evseId"`
	Purpose    string `json:"purpose"`
	StackLevel *int   `json:"stackLevel"`
}

func (c clearProfileInput) check() error {
	if c.ProfileID != nil && *c.ProfileID < 1 {
		return domain.Errorf(domain.ErrInvalid, "field \"profileId\" must be a positive profile id")
	}
	if c.EvseID != nil && *c.EvseID < 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"evseId\" must be 0 (the station) or an EVSE id")
	}
	if c.StackLevel != nil && *c.StackLevel < 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"stackLevel\" must not be negative")
	}
	if c.Purpose != "" {
		return oneOf("purpose", c.Purpose, purposes...)
	}
	return nil
}

func clearProfile16(in json.RawMessage) (any, error) {
	var c clearProfileInput
	if err := decode(in, &c); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	req := v16.ClearChargingProfileRequest{Id: c.ProfileID, ConnectorId: c.EvseID, StackLevel: c.StackLevel}
	if c.Purpose != "" {
		req.ChargingProfilePurpose = v16.ClearChargingProfileRequestChargingProfilePurpose(purpose16(c.Purpose))
	}
	return req, nil
}

func clearProfile201(in json.RawMessage) (any, error) {
	var c clearProfileInput
	if err := decode(in, &c); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	req := v201.ClearChargingProfileRequest{ChargingProfileId: c.ProfileID}
	if c.EvseID != nil || c.Purpose != "" || c.StackLevel != nil {
		crit := &v201.ClearChargingProfileType{EvseId: c.EvseID, StackLevel: c.StackLevel}
		if c.Purpose != "" {
			crit.ChargingProfilePurpose = v201.ChargingProfilePurposeEnumType(purpose201(c.Purpose))
		}
		req.ChargingProfileCriteria = crit
	}
	return req, nil
}

type compositeInput struct {
	EvseID           *int   `json:"evseId"`
	Duration         int    `json:"duration"`
	ChargingRateUnit string `json:"chargingRateUnit"`
}

func (c compositeInput) check() error {
	if c.EvseID == nil || *c.EvseID < 0 {
		return domain.Errorf(domain.ErrInvalid, "field \"evseId\" is required: 0 for the station's grid connection or an EVSE id")
	}
	if c.Duration < 1 {
		return domain.Errorf(domain.ErrInvalid, "field \"duration\" must be a positive number of seconds")
	}
	if c.ChargingRateUnit != "" {
		return oneOf("chargingRateUnit", c.ChargingRateUnit, "W", "A")
	}
	return nil
}

func composite16(in json.RawMessage) (any, error) {
	var c compositeInput
	if err := decode(in, &c); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return v16.GetCompositeScheduleRequest{ConnectorId: *c.EvseID, Duration: c.Duration,
		ChargingRateUnit: v16.GetCompositeScheduleRequestChargingRateUnit(c.ChargingRateUnit)}, nil
}

func composite201(in json.RawMessage) (any, error) {
	var c compositeInput
	if err := decode(in, &c); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return v201.GetCompositeScheduleRequest{EvseId: *c.EvseID, Duration: c.Duration,
		ChargingRateUnit: v201.ChargingRateUnitEnumType(c.ChargingRateUnit)}, nil
}
