// Package domain is the centre of OpenCPO: the charging network as a CPO sees it (stations,
// EVSEs, connectors, audit records), the error vocabulary every layer speaks, and the small store
// interfaces that the adapters implement. It imports only the standard library.
package domain

import (
	"errors"
	"time"
)

// The error vocabulary. Adapters wrap these with %w; exactly one table maps them to HTTP status
// codes (package api) and one to OCPP CallError codes (package csms).
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid")
	ErrOffline      = errors.New("station offline")
	ErrTimeout      = errors.New("timed out")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	// ErrStationProtocol: a station answered, but not as OCPP allows (e.g. a payload that breaks
	// the schema).
	ErrStationProtocol = errors.New("station protocol error")
)

// OCPP versions a station can speak, as written in the API ("1.6", "2.0.1").
const (
	OCPP16  = "1.6"
	OCPP201 = "2.0.1"
)

// RegistrationStatus is the onboarding state of a station.
type RegistrationStatus string

const (
	RegistrationAccepted RegistrationStatus = "Accepted"
	RegistrationPending  RegistrationStatus = "Pending"
	RegistrationRejected RegistrationStatus = "Rejected"
)

// Valid reports whether s is one of the three registration states.
func (s RegistrationStatus) Valid() bool {
	switch s {
	case RegistrationAccepted, RegistrationPending, RegistrationRejected:
		return true
	}
	return false
}

// ConnectorStatus uses the OCPP 2.0.1 connector status names for both versions.
type ConnectorStatus string

const (
	ConnectorAvailable   ConnectorStatus = "Available"
	ConnectorOccupied    ConnectorStatus = "Occupied"
	ConnectorReserved    ConnectorStatus = "Reserved"
	ConnectorUnavailable ConnectorStatus = "Unavailable"
	ConnectorFaulted     ConnectorStatus = "Faulted"
)

// Station is one charging station (charge point) and its live state.
type Station struct {
	ID                 string
	Name               string
	PasswordHash       string // empty: the station connects without Basic auth
	RegistrationStatus RegistrationStatus
	Connected          bool
	OCPPVersion        string // "" until the first connection
	Vendor             string
	Model              string
	SerialNumber       string
	FirmwareVersion    string
	LastSeenAt         time.Time // zero until first seen
	CreatedAt          time.Time
	UpdatedAt          time.Time
	EVSEs              []EVSE // ordered by id
}

// EVSE is one independently usable charging point of a station. For OCPP 1.6 connector N > 0 is
// EVSE N with a single connector 1.
type EVSE struct {
	ID         int
	Connectors []Connector // ordered by id
}

// Connector is one plug of an EVSE.
type Connector struct {
	ID              int
	Status          ConnectorStatus
	OCPPStatus      string // the status as the station sent it (1.6 names differ)
	ErrorCode       string // 1.6 error code; "NoError" for 2.0.1
	Info            string
	VendorErrorCode string
	UpdatedAt       time.Time // station's timestamp of the last status
}

// StationPatch changes some fields of a station; nil means unchanged.
type StationPatch struct {
	Name               *string
	PasswordHash       *string
	RegistrationStatus *RegistrationStatus
}

// BootInfo is what a BootNotification tells about a station.
type BootInfo struct {
	StationID       string
	Vendor          string
	Model           string
	SerialNumber    string
	FirmwareVersion string
	OCPPVersion     string
	At              time.Time
}

// StatusUpdate is one connector status report (StatusNotification). EVSEID 0 / ConnectorID 0
// addresses the station as a whole (1.6 connector 0).
type StatusUpdate struct {
	StationID       string
	EVSEID          int
	ConnectorID     int
	Status          ConnectorStatus
	OCPPStatus      string
	ErrorCode       string
	Info            string
	VendorErrorCode string
	At              time.Time
}

// StationEvent is a notable report from a station kept for operators: OCPP 2.0.1 NotifyEvent
// items, security events of both versions, status of firmware and log uploads.
type StationEvent struct {
	StationID string
	Kind      string // "NotifyEvent", "SecurityEvent", "FirmwareStatus", "DiagnosticsStatus", "LogStatus", ...
	Type      string // the event's own type or status
	At        time.Time
	Detail    []byte // the OCPP payload item as JSON
}

// AuditEntry records one CSMS-initiated OCPP call or one change made through the API or console.
type AuditEntry struct {
	ID        int64
	At        time.Time
	Actor     string
	StationID string
	Action    string
	Request   []byte // JSON
	Response  []byte // JSON; nil when the call failed
	Error     []byte // JSON {"code":..., "message":...}; nil on success
}

// Page selects one page of a list: at most Limit items after Cursor (an opaque string from a
// previous page's Next).
type Page struct {
	Limit  int
	Cursor string
}

// Normalized returns p with a limit in 1..500 (default 100).
func (p Page) Normalized() Page {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	if p.Limit > 500 {
		p.Limit = 500
	}
	return p
}
