package api

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

// stationIDPattern is the contract's rule for station ids (CONTRACT.md §3).
var stationIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,48}$`)

const (
	minPasswordLen = 16
	maxPasswordLen = 256
)

type stationJSON struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	RegistrationStatus string     `json:"registrationStatus"`
	Connected          bool       `json:"connected"`
	HasPassword        bool       `json:"hasPassword"`
	OCPPVersion        *string    `json:"ocppVersion"`
	Vendor             string     `json:"vendor"`
	Model              string     `json:"model"`
	SerialNumber       string     `json:"serialNumber"`
	FirmwareVersion    string     `json:"firmwareVersion"`
	LastSeenAt         *time.Time `json:"lastSeenAt"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
	EVSEs              []evseJSON `json:"evses"`
	LocationID         *string    `json:"locationId"`
	GroupID            *string    `json:"groupId"` // the station group, which decides its local list
}

type evseJSON struct {
	ID         int             `json:"id"`
	Connectors []connectorJSON `json:"connectors"`
	// LocationID is where the EVSE is: its own location if it has one, else its station's
	// (null when neither); OwnLocation says it is the EVSE's own (docs/locations.md).
	LocationID  *string `json:"locationId"`
	OwnLocation bool    `json:"ownLocation"`
}

type connectorJSON struct {
	ID              int       `json:"id"`
	Status          string    `json:"status"`
	OCPPStatus      string    `json:"ocppStatus"`
	ErrorCode       string    `json:"errorCode"`
	Info            string    `json:"info,omitempty"`
	VendorErrorCode string    `json:"vendorErrorCode,omitempty"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

func stationView(st domain.Station) stationJSON {
	v := stationJSON{
		ID: st.ID, Name: st.Name, RegistrationStatus: string(st.RegistrationStatus), Connected: st.Connected,
		HasPassword: st.PasswordHash != "", Vendor: st.Vendor, Model: st.Model, SerialNumber: st.SerialNumber,
		FirmwareVersion: st.FirmwareVersion, CreatedAt: st.CreatedAt.UTC(), UpdatedAt: st.UpdatedAt.UTC(),
		EVSEs: make([]evseJSON, 0, len(st.EVSEs)),
	}
	if st.OCPPVersion != "" {
		ver := st.OCPPVersion
		v.OCPPVersion = &ver
	}
	if !st.LastSeenAt.IsZero() {
		t := st.LastSeenAt.UTC()
		v.LastSeenAt = &t
	}
	for _, e := range st.EVSEs {
		ev := evseJSON{ID: e.ID, Connectors: make([]connectorJSON, 0, len(e.Connectors))}
		for _, c := range e.Connectors {
			ev.Connectors = append(ev.Connectors, connectorJSON{
				ID: c.ID, Status: string(c.Status), OCPPStatus: c.OCPPStatus, ErrorCode: c.ErrorCode,
				Info: c.Info, VendorErrorCode: c.VendorErrorCode, UpdatedAt: c.UpdatedAt.UTC(),
			})
		}
		v.EVSEs = append(v.EVSEs, ev)
	}
	return v
}

type createStationRequest struct {
	ID                 string  `json:"id"`
	Password           *string `json:"password"`
	Name               string  `json:"name"`
	RegistrationStatus string  `json:"registrationStatus"`
}

func (s *Server) createStation(w http.ResponseWriter, r *http.Request) error {
	var req createStationRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if !stationIDPattern.MatchString(req.ID) {
		return domain.Errorf(domain.ErrInvalid, "id must be 1 to 48 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
	}
	status := domain.RegistrationAccepted
	if req.RegistrationStatus != "" {
		status = domain.RegistrationStatus(req.RegistrationStatus)
		if !status.Valid() {
			return domain.Errorf(domain.ErrInvalid, "registrationStatus must be Accepted, Pending or Rejected")
		}
	}
	now := s.now().UTC()
	st := domain.Station{ID: req.ID, Name: req.Name, RegistrationStatus: status, CreatedAt: now, UpdatedAt: now}
	if req.Password != nil {
		hash, err := hashStationPassword(*req.Password)
		if err != nil {
			return err
		}
		st.PasswordHash = hash
	}
	if err := s.store.CreateStation(r.Context(), st); err != nil {
		return err
	}
	s.auditChange(r.Context(), req.ID, "CreateStation", redactPassword(req))
	created, err := s.store.Station(r.Context(), req.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, stationView(created))
	return nil
}

func hashStationPassword(pw string) (string, error) {
	if len(pw) < minPasswordLen {
		return "", domain.Errorf(domain.ErrInvalid, "password must be at least %d characters", minPasswordLen)
	}
	if len(pw) > maxPasswordLen {
		return "", domain.Errorf(domain.ErrInvalid, "password must be at most %d characters", maxPasswordLen)
	}
	return credential.Hash(pw, credential.StationParams())
}

func (s *Server) listStations(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Stations(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[stationJSON]{Items: make([]stationJSON, 0, len(items)), NextCursor: next}
	for _, st := range items {
		out.Items = append(out.Items, stationView(st))
	}
	if err := s.addLocations(r.Context(), out.Items); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getStation(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.Station(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v := []stationJSON{stationView(st)}
	if err := s.addLocations(r.Context(), v); err != nil {
		return err
	}
	out, err := s.stationWithPricing(r, v[0])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type patchStationRequest struct {
	Name               *string `json:"name"`
	Password           *string `json:"password"`
	RegistrationStatus *string `json:"registrationStatus"`
	// LocationID assigns the station to a location; null unassigns it.
	LocationID optionalString `json:"locationId"`
	// GroupID puts the station in a station group; null takes it out.
	GroupID optionalString `json:"groupId"`
	stationPricingPatch
}

func (s *Server) patchStation(w http.ResponseWriter, r *http.Request) error {
	var req patchStationRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	var patch domain.StationPatch
	patch.Name = req.Name
	if req.RegistrationStatus != nil {
		status := domain.RegistrationStatus(*req.RegistrationStatus)
		if !status.Valid() {
			return domain.Errorf(domain.ErrInvalid, "registrationStatus must be Accepted, Pending or Rejected")
		}
		patch.RegistrationStatus = &status
	}
	if req.Password != nil {
		// An empty password removes Basic auth for the station (security profile 0).
		hash := ""
		if *req.Password != "" {
			var err error
			if hash, err = hashStationPassword(*req.Password); err != nil {
				return err
			}
		}
		patch.PasswordHash = &hash
	}
	id := r.PathValue("id")
	if req.LocationID.Set {
		// First, so that an unknown station (404) or location (400) changes nothing else.
		if err := s.store.SetStationLocation(r.Context(), id, req.LocationID.Value); err != nil {
			return err
		}
	}
	if req.GroupID.Set {
		if err := s.store.SetStationGroup(r.Context(), id, req.GroupID.Value); err != nil {
			return err
		}
	}
	pricingChanged, err := s.applyStationPricing(r, id, req.stationPricingPatch)
	if err != nil {
		return err
	}
	var st domain.Station
	if patch == (domain.StationPatch{}) && (pricingChanged || req.GroupID.Set) {
		st, err = s.store.Station(r.Context(), id)
	} else {
		st, err = s.store.UpdateStation(r.Context(), id, patch)
	}
	if err != nil {
		return err
	}
	s.ops.StationChanged(r.Context(), id)
	audit := redactPassword(req)
	if req.LocationID.Set {
		audit["locationId"] = req.LocationID.orNull()
	}
	if req.GroupID.Set {
		audit["groupId"] = req.GroupID.orNull()
	}
	s.auditChange(r.Context(), id, "UpdateStation", audit)
	v := []stationJSON{stationView(st)}
	if err := s.addLocations(r.Context(), v); err != nil {
		return err
	}
	out, err := s.stationWithPricing(r, v[0])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteStation(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.store.DeleteStation(r.Context(), id); err != nil {
		return err
	}
	s.ops.StationRemoved(r.Context(), id)
	s.auditChange(r.Context(), id, "DeleteStation", map[string]string{"id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type stationEventJSON struct {
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"`
	Type   string          `json:"type"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

func (s *Server) listStationEvents(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := s.store.Station(r.Context(), id); err != nil {
		return err
	}
	items, next, err := s.store.StationEvents(r.Context(), id, page)
	if err != nil {
		return err
	}
	out := listResponse[stationEventJSON]{Items: make([]stationEventJSON, 0, len(items)), NextCursor: next}
	for _, e := range items {
		out.Items = append(out.Items, stationEventJSON{At: e.At.UTC(), Kind: e.Kind, Type: e.Type, Detail: rawOrNull(e.Detail)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// redactPassword returns the request as JSON with any password replaced, for the audit log.
func redactPassword(req any) map[string]any {
	b, _ := json.Marshal(req)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	if _, ok := m["password"]; ok {
		m["password"] = "[redacted]"
	}
	return m
}

// auditChange records a change made through the API. A failure to write the audit entry is
// logged: the change itself already happened and is not undone.
func (s *Server) auditChange(ctx context.Context, stationID, action string, request any) {
	body, err := json.Marshal(request)
	if err != nil {
		body = []byte("{}")
	}
	entry := domain.AuditEntry{At: s.now().UTC(), Actor: actorOf(ctx), StationID: stationID, Action: action,
		Request: body, Response: []byte(`{"status":"ok"}`)}
	if err := s.store.AddAudit(context.WithoutCancel(ctx), entry); err != nil {
		s.log.ErrorContext(ctx, "api: audit entry lost", "action", action, "station", stationID, "err", err)
	}
}
