package domain

import (
	"context"
	"time"
)

// StationStore keeps stations, their EVSEs and connectors. Every method is one transaction.
// Writes that arrive in bursts (status, last seen) are grouped by the implementation into shared
// commits, but each call returns only once its own change is durable.
type StationStore interface {
	// CreateStation inserts a new station; ErrConflict if the id exists.
	CreateStation(ctx context.Context, s Station) error
	// Station returns one station with its EVSEs and connectors; ErrNotFound if absent.
	Station(ctx context.Context, id string) (Station, error)
	// StationRecord returns one station without its EVSEs (identity, registration, password
	// hash, state), in the cheapest read the store has: what admitting a connection needs.
	// ErrNotFound if absent.
	StationRecord(ctx context.Context, id string) (Station, error)
	// Stations lists stations ordered by id, with EVSEs; next is "" on the last page.
	Stations(ctx context.Context, p Page) (items []Station, next string, err error)
	// UpdateStation applies a patch and returns the result; ErrNotFound if absent.
	UpdateStation(ctx context.Context, id string, p StationPatch) (Station, error)
	// DeleteStation removes a station and everything that hangs off it; ErrNotFound if absent.
	DeleteStation(ctx context.Context, id string) error
	// RecordBoot stores the identity a station reported. ErrNotFound if absent.
	RecordBoot(ctx context.Context, b BootInfo) error
	// SetConnected records a connection (with its OCPP version) or a disconnection.
	SetConnected(ctx context.Context, id string, connected bool, ocppVersion string, at time.Time) error
	// MarkAllDisconnected clears the connected flag of every station (start-up after a crash).
	MarkAllDisconnected(ctx context.Context) error
	// TouchStation moves last-seen forward (never backwards).
	TouchStation(ctx context.Context, id string, at time.Time) error
	// TouchStations moves the last-seen time of many stations forward at once (never
	// backwards); ids that name no station are skipped.
	TouchStations(ctx context.Context, seen map[string]time.Time) error
	// UpdateStatus upserts one connector's status (creating the EVSE and connector if new).
	// A status with an older timestamp than the stored one is ignored. EVSE 0 updates no
	// connector but is still accepted.
	UpdateStatus(ctx context.Context, u StatusUpdate) error
	// AddStationEvent stores a station event.
	AddStationEvent(ctx context.Context, e StationEvent) error
	// StationEvents lists a station's events, newest first.
	StationEvents(ctx context.Context, stationID string, p Page) ([]StationEvent, string, error)
}

// AuditStore keeps the audit log.
type AuditStore interface {
	AddAudit(ctx context.Context, e AuditEntry) error
	// Audit lists entries newest first, optionally of one station ("" for all).
	Audit(ctx context.Context, stationID string, p Page) ([]AuditEntry, string, error)
}

// Store is everything the server keeps.
type Store interface {
	StationStore
	NodeStore
	AuditStore
	TokenStore
	SessionStore
	ChargingStateStore
	APITokenStore
	LocationStore
	ConfigStore
	LocalListStore
	ReservationStore
	LogStore
	SecretStore
	CampaignStore
	TariffStore
	CDRStore
	UserStore
	ConsoleSessionStore
	LoginThrottleStore
	StationGroupStore
	Close() error
}
