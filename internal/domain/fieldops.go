package domain

import (
	"context"
	"time"
)

// Field operations with a lifecycle: reservations of EVSEs for a token, and log / diagnostics
// uploads a station is asked for. Each is stored when it is requested and follows what the
// station reports afterwards.

// ReservationStatus is where a reservation stands.
type ReservationStatus string

const (
	// ReservationRequested: stored, ReserveNow not answered yet.
	ReservationRequested ReservationStatus = "requested"
	// ReservationActive: the station accepted; the EVSE is held for the token until ExpiresAt.
	ReservationActive ReservationStatus = "active"
	// ReservationRejected: the station refused (Occupied, Faulted, Unavailable, Rejected) or the
	// call failed; StationStatus says which.
	ReservationRejected  ReservationStatus = "rejected"
	ReservationCancelled ReservationStatus = "cancelled"
	ReservationExpired   ReservationStatus = "expired"
	// ReservationUsed: the reserved token started a session that named the reservation.
	ReservationUsed ReservationStatus = "used"
)

// Reservation holds an EVSE (or any EVSE of a station: EVSEID 0) for a token until ExpiresAt.
// Its ID is the OCPP reservationId.
type Reservation struct {
	ID            int64
	StationID     string
	EVSEID        int // 0: any EVSE of the station
	IDToken       string
	IDTokenType   string
	ExpiresAt     time.Time
	Status        ReservationStatus
	StationStatus string // the station's answer to ReserveNow, or its last ReservationStatusUpdate
	TransactionID string // the OCPP transaction id of the session that used it
	Actor         string // who made it
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Open reports whether the reservation still holds (or may hold) its EVSE.
func (r Reservation) Open() bool {
	return r.Status == ReservationRequested || r.Status == ReservationActive
}

// ReservationFilter narrows a reservation list; zero fields match everything.
type ReservationFilter struct {
	StationID string
	Status    ReservationStatus
}

// ReservationStore keeps reservations.
type ReservationStore interface {
	// CreateReservation stores a new reservation and returns it with its id; ErrNotFound if the
	// station does not exist.
	CreateReservation(ctx context.Context, r Reservation) (Reservation, error)
	// Reservation returns one reservation; ErrNotFound if absent.
	Reservation(ctx context.Context, id int64) (Reservation, error)
	// Reservations lists reservations newest first.
	Reservations(ctx context.Context, f ReservationFilter, p Page) ([]Reservation, string, error)
	// SetReservationStatus moves a reservation to status when it is in one of from (any state
	// when from is empty), recording the station's word and the transaction that used it when
	// not empty. It returns the reservation as stored afterwards; ErrConflict (with the
	// reservation unchanged) when its status is not one of from.
	SetReservationStatus(ctx context.Context, id int64, from []ReservationStatus, to ReservationStatus, stationStatus, transactionID string) (Reservation, error)
	// DueReservations lists open reservations whose expiry is at or before cutoff, oldest first.
	DueReservations(ctx context.Context, cutoff time.Time, limit int) ([]Reservation, error)
}

// LogType is the kind of log a station is asked to upload.
type LogType string

const (
	LogDiagnostics LogType = "diagnostics"
	LogSecurity    LogType = "security"
)

// LogRequest is one request to a station to upload a log file. Its ID is the OCPP requestId.
// Status is "requested" until the station answers, then the station's own words: its answer
// (Accepted, Rejected, AcceptedCanceled) and then its upload status (Uploading, Uploaded,
// UploadFailed / UploadFailure, …). "received" means the file arrived.
type LogRequest struct {
	ID        int64
	StationID string
	Type      LogType
	From, To  time.Time // zero: open-ended
	Status    string
	// UploadID names the single-use upload slot in the signed URL the station was given.
	UploadID        string
	UploadExpiresAt time.Time
	FileName        string // as the station named it
	FileSize        int64
	FilePath        string    // where the server keeps it, relative to the data directory
	ReceivedAt      time.Time // zero until the file arrived
	Actor           string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Log request statuses set by the server.
const (
	LogRequested = "requested"
	LogReceived  = "received"
	LogFailed    = "failed" // the request could not be sent or was refused
)

// LogStore keeps log requests and their uploaded files' whereabouts.
type LogStore interface {
	// CreateLogRequest stores a new request and returns it with its id; ErrNotFound if the
	// station does not exist.
	CreateLogRequest(ctx context.Context, l LogRequest) (LogRequest, error)
	LogRequest(ctx context.Context, id int64) (LogRequest, error)
	// LogRequests lists a station's requests newest first.
	LogRequests(ctx context.Context, stationID string, p Page) ([]LogRequest, string, error)
	// LatestLogRequest returns the station's newest request of a type; ErrNotFound if none.
	// (1.6 DiagnosticsStatusNotification names no request.)
	LatestLogRequest(ctx context.Context, stationID string, t LogType) (LogRequest, error)
	// SetLogStatus records a status from the station (or the server). A request whose file
	// has arrived stays "received": a late "Uploading" must not hide the file.
	SetLogStatus(ctx context.Context, id int64, status string) (LogRequest, error)
	// FinishUpload records the file of an upload slot, once: ErrNotFound for an unknown slot,
	// ErrConflict when the slot was already used.
	FinishUpload(ctx context.Context, uploadID, fileName, filePath string, size int64, at time.Time) (LogRequest, error)
	// LogRequestByUpload returns the request of an upload slot; ErrNotFound if none.
	LogRequestByUpload(ctx context.Context, uploadID string) (LogRequest, error)
}

// SecretStore keeps server secrets (keys the server signs with) so that every process on the
// same database uses the same ones.
type SecretStore interface {
	// Secret returns the secret called name, storing candidate first if there is none yet.
	Secret(ctx context.Context, name string, candidate []byte) ([]byte, error)
}

// ValidateNew checks a reservation about to be stored.
func (r Reservation) ValidateNew() error {
	switch {
	case r.StationID == "":
		return Errorf(ErrInvalid, "the station id is empty")
	case r.EVSEID < 0:
		return Errorf(ErrInvalid, "evseId %d is negative", r.EVSEID)
	case r.IDToken == "":
		return Errorf(ErrInvalid, "the token is empty")
	case r.ExpiresAt.IsZero():
		return Errorf(ErrInvalid, "the reservation has no expiry")
	case !r.Status.Valid():
		return Errorf(ErrInvalid, "reservation status %q is unknown", r.Status)
	}
	return nil
}

// Valid reports whether s is a known reservation status.
func (s ReservationStatus) Valid() bool {
	switch s {
	case ReservationRequested, ReservationActive, ReservationRejected, ReservationCancelled, ReservationExpired, ReservationUsed:
		return true
	}
	return false
}

// Valid reports whether t is a known log type.
func (t LogType) Valid() bool { return t == LogDiagnostics || t == LogSecurity }

// ValidateNew checks a log request about to be stored.
func (l LogRequest) ValidateNew() error {
	switch {
	case l.StationID == "":
		return Errorf(ErrInvalid, "the station id is empty")
	case !l.Type.Valid():
		return Errorf(ErrInvalid, "log type %q is not diagnostics or security", l.Type)
	case l.UploadID == "":
		return Errorf(ErrInvalid, "the upload id is empty")
	case l.UploadExpiresAt.IsZero():
		return Errorf(ErrInvalid, "the upload slot has no expiry")
	case l.Status == "":
		return Errorf(ErrInvalid, "the status is empty")
	}
	return nil
}

// CampaignStatus is where a firmware campaign stands.
type CampaignStatus string

const (
	CampaignScheduled CampaignStatus = "scheduled" // waiting for its start time
	CampaignRunning   CampaignStatus = "running"
	CampaignHalted    CampaignStatus = "halted" // a wave failed too often; resume or cancel
	CampaignCancelled CampaignStatus = "cancelled"
	CampaignCompleted CampaignStatus = "completed"
)

// Per-station states of a campaign. While the station works on it, Status is "updating" and
// StationStatus holds its latest FirmwareStatusNotification.
const (
	TargetPending   = "pending"   // not sent yet (a later wave)
	TargetUpdating  = "updating"  // UpdateFirmware accepted; following its notifications
	TargetInstalled = "installed" // the station reported Installed
	TargetFailed    = "failed"    // refused, unreachable, a failure status, or no news in time
	TargetCancelled = "cancelled" // the campaign was cancelled before it was sent
)

// Campaign rolls one firmware out to chosen stations in waves.
type Campaign struct {
	ID          int64
	Name        string
	FirmwareURL string
	// Signed sends SignedUpdateFirmware to OCPP 1.6 stations (security whitepaper) with the
	// certificate and signature; 2.0.1 always sends UpdateFirmware, with them when given.
	Signed             bool
	SigningCertificate string
	Signature          string
	StartAt            time.Time
	// Waves are cumulative percentages of the stations, ending at 100 (e.g. 1, 10, 100).
	Waves []int
	// FailureThreshold halts the campaign when a finished wave's share of failed stations is
	// above it (0..1).
	FailureThreshold float64
	// StationTimeout fails a station that has not reported Installed this long after it was sent.
	StationTimeout time.Duration
	Status         CampaignStatus
	Wave           int    // the wave under way (0-based)
	Reason         string // why it halted
	Actor          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Targets        []CampaignTarget // by wave, then station id
}

// CampaignTarget is one station of a campaign. Its ID is the OCPP requestId of the update.
type CampaignTarget struct {
	ID            int64
	CampaignID    int64
	StationID     string
	Wave          int
	Status        string
	StationStatus string
	Error         string
	SentAt        time.Time
	UpdatedAt     time.Time
}

// Done reports whether the target has reached an end state.
func (t CampaignTarget) Done() bool {
	return t.Status == TargetInstalled || t.Status == TargetFailed || t.Status == TargetCancelled
}

// CampaignStore keeps firmware campaigns and their stations.
type CampaignStore interface {
	// CreateCampaign stores a campaign with its targets; ErrNotFound if a station is unknown.
	CreateCampaign(ctx context.Context, c Campaign) (Campaign, error)
	// Campaign returns a campaign with its targets.
	Campaign(ctx context.Context, id int64) (Campaign, error)
	// Campaigns lists campaigns newest first, without targets.
	Campaigns(ctx context.Context, p Page) ([]Campaign, string, error)
	// ActiveCampaigns lists scheduled and running campaigns (with targets), oldest first.
	ActiveCampaigns(ctx context.Context) ([]Campaign, error)
	// SetCampaignState moves a campaign to status (and wave, reason) when it is in one of
	// from; ErrConflict otherwise. Cancelling also cancels its pending targets.
	SetCampaignState(ctx context.Context, id int64, from []CampaignStatus, to CampaignStatus, wave int, reason string) (Campaign, error)
	// UpdateTarget writes a target's status, station status, error and sent time. A target in
	// an end state (installed, failed, cancelled) is never changed again: ErrConflict. This
	// settles a station's late report racing the runner's timeout: whichever is first stands.
	UpdateTarget(ctx context.Context, t CampaignTarget) error
	// CampaignTarget returns one target; ErrNotFound if absent.
	CampaignTarget(ctx context.Context, id int64) (CampaignTarget, error)
	// UpdatingTarget returns the newest target of a station that is updating; ErrNotFound if none.
	UpdatingTarget(ctx context.Context, stationID string) (CampaignTarget, error)
}

// Valid reports whether s is a known campaign status.
func (s CampaignStatus) Valid() bool {
	switch s {
	case CampaignScheduled, CampaignRunning, CampaignHalted, CampaignCancelled, CampaignCompleted:
		return true
	}
	return false
}

// ValidTargetStatus reports whether s is a known per-station campaign state.
func ValidTargetStatus(s string) bool {
	switch s {
	case TargetPending, TargetUpdating, TargetInstalled, TargetFailed, TargetCancelled:
		return true
	}
	return false
}

// ValidateNew checks a campaign about to be stored.
func (c Campaign) ValidateNew() error {
	switch {
	case c.FirmwareURL == "":
		return Errorf(ErrInvalid, "the firmware URL is empty")
	case c.StartAt.IsZero():
		return Errorf(ErrInvalid, "the campaign has no start time")
	case len(c.Waves) == 0 || c.Waves[len(c.Waves)-1] != 100:
		return Errorf(ErrInvalid, "waves must be cumulative percentages ending at 100")
	case c.FailureThreshold < 0 || c.FailureThreshold > 1:
		return Errorf(ErrInvalid, "the failure threshold must be between 0 and 1")
	case c.StationTimeout <= 0:
		return Errorf(ErrInvalid, "the station timeout must be positive")
	case !c.Status.Valid():
		return Errorf(ErrInvalid, "campaign status %q is unknown", c.Status)
	case len(c.Targets) == 0:
		return Errorf(ErrInvalid, "the campaign has no stations")
	}
	prev := 0
	for _, w := range c.Waves {
		if w <= prev || w > 100 {
			return Errorf(ErrInvalid, "waves must be increasing percentages from 1 to 100")
		}
		prev = w
	}
	return nil
}

// CampaignSpec is what an operator asks for when creating a firmware campaign.
type CampaignSpec struct {
	Name               string
	FirmwareURL        string
	Signed             bool
	SigningCertificate string
	Signature          string
	StartAt            time.Time // zero: now
	StationIDs         []string  // chosen stations; with Model/FirmwareVersion: all stations matching
	Model              string
	FirmwareVersion    string
	Waves              []int   // default 1, 10, 100
	FailureThreshold   float64 // default 0.2
	StationTimeout     time.Duration
}

// FirmwareFile is a firmware image OpenCPO keeps and serves to stations.
type FirmwareFile struct {
	Name      string
	Size      int64
	SHA256    string // empty in lists (computed when stored)
	UpdatedAt time.Time
}
