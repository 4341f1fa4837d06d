package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

type sessionJSON struct {
	ID            string     `json:"id"`
	StationID     string     `json:"stationId"`
	EVSEID        int        `json:"evseId"`
	ConnectorID   int        `json:"connectorId"`
	TransactionID string     `json:"transactionId"`
	IDToken       string     `json:"idToken"`
	IDTokenType   string     `json:"idTokenType,omitempty"`
	AuthStatus    string     `json:"authorizationStatus,omitempty"`
	Status        string     `json:"status"`
	StartedAt     time.Time  `json:"startedAt"`
	StoppedAt     *time.Time `json:"stoppedAt"`
	MeterStartWh  *float64   `json:"meterStartWh"`
	MeterStopWh   *float64   `json:"meterStopWh"`
	EnergyWh      float64    `json:"energyWh"`
	StopReason    string     `json:"stopReason,omitempty"`
	ChargingState string     `json:"chargingState,omitempty"`
	RemoteStartID *int       `json:"remoteStartId,omitempty"`
	ReservationID *int       `json:"reservationId,omitempty"`
	Flag          string     `json:"flag,omitempty"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	// Cost is live while active, final once completed; absent when no tariff applies.
	Cost *pricing.Money `json:"cost,omitempty"`
}

func sessionView(s domain.Session) sessionJSON {
	v := sessionJSON{
		ID: strconv.FormatInt(s.ID, 10), StationID: s.StationID, EVSEID: s.EVSEID, ConnectorID: s.ConnectorID,
		TransactionID: s.TransactionID, IDToken: s.IDToken, IDTokenType: s.IDTokenType, AuthStatus: string(s.AuthStatus),
		Status: string(s.Status), StartedAt: s.StartedAt.UTC(), MeterStartWh: s.MeterStartWh, MeterStopWh: s.MeterStopWh,
		EnergyWh: s.EnergyWh, StopReason: s.StopReason, ChargingState: s.ChargingState, RemoteStartID: s.RemoteStartID,
		ReservationID: s.ReservationID, Flag: s.Flag, UpdatedAt: s.UpdatedAt.UTC(),
	}
	if !s.StoppedAt.IsZero() {
		t := s.StoppedAt.UTC()
		v.StoppedAt = &t
	}
	return v
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := domain.SessionFilter{StationID: q.Get("stationId"), IDToken: q.Get("idToken")}
	switch st := q.Get("status"); st {
	case "":
	case string(domain.SessionActive), string(domain.SessionCompleted):
		f.Status = domain.SessionStatus(st)
	default:
		return domain.Errorf(domain.ErrInvalid, "status must be active or completed")
	}
	if rs := q.Get("remoteStartId"); rs != "" {
		n, err := strconv.Atoi(rs)
		if err != nil {
			return domain.Errorf(domain.ErrInvalid, "remoteStartId must be an integer")
		}
		f.RemoteStartID = &n
	}
	items, next, err := s.store.Sessions(r.Context(), f, page)
	if err != nil {
		return err
	}
	out := listResponse[sessionJSON]{Items: make([]sessionJSON, 0, len(items)), NextCursor: next}
	for _, it := range items {
		v := sessionView(it)
		v.Cost = s.sessionCost(r, it)
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sessionID reads the {id} path value; anything but a positive integer names no session.
func sessionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, domain.Errorf(domain.ErrNotFound, "no session %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	sess, err := s.store.Session(r.Context(), id)
	if err != nil {
		return err
	}
	v := sessionView(sess)
	v.Cost = s.sessionCost(r, sess)
	writeJSON(w, http.StatusOK, v)
	return nil
}

type meterSampleJSON struct {
	At        time.Time `json:"at"`
	Measurand string    `json:"measurand"`
	Phase     string    `json:"phase,omitempty"`
	Location  string    `json:"location"`
	Context   string    `json:"context"`
	Unit      string    `json:"unit"`
	Value     float64   `json:"value"`
	Signed    string    `json:"signedData,omitempty"`
}

func (s *Server) listMeterValues(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := s.store.Session(r.Context(), id); err != nil {
		return err
	}
	items, next, err := s.store.MeterSamples(r.Context(), id, page)
	if err != nil {
		return err
	}
	out := listResponse[meterSampleJSON]{Items: make([]meterSampleJSON, 0, len(items)), NextCursor: next}
	for _, m := range items {
		out.Items = append(out.Items, meterSampleJSON{At: m.At.UTC(), Measurand: m.Measurand, Phase: m.Phase, Location: m.Location,
			Context: m.Context, Unit: m.Unit, Value: m.Value, Signed: string(m.Signed)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type startSessionRequest struct {
	StationID string `json:"stationId"`
	EVSEID    int    `json:"evseId"`
	IDToken   string `json:"idToken"`
}

type commandJSON struct {
	Status        string `json:"status"`
	StationID     string `json:"stationId,omitempty"`
	EVSEID        int    `json:"evseId,omitempty"`
	RemoteStartID int    `json:"remoteStartId,omitempty"`
	TransactionID string `json:"transactionId,omitempty"`
	SessionID     string `json:"sessionId,omitempty"`
}

// startSession asks a station to start charging. 202: the station accepted; the session shows
// up in /sessions (with this remoteStartId) once it starts. 409: the station refused.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request) error {
	var req startSessionRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.StationID == "" {
		return domain.Errorf(domain.ErrInvalid, "stationId is required")
	}
	if !tokenUIDPattern.MatchString(req.IDToken) {
		return domain.Errorf(domain.ErrInvalid, "idToken must be 1 to 36 printable characters without spaces")
	}
	if req.EVSEID < 0 {
		return domain.Errorf(domain.ErrInvalid, "evseId must be 0 (any) or a positive EVSE id")
	}
	res, err := s.ops.StartSession(r.Context(), actorOf(r.Context()), req.StationID, req.EVSEID, req.IDToken)
	if err != nil {
		return err
	}
	if res.Status != "Accepted" {
		return domain.Errorf(domain.ErrConflict, "the station answered %s to the remote start", res.Status)
	}
	writeJSON(w, http.StatusAccepted, commandJSON{Status: res.Status, StationID: req.StationID, EVSEID: req.EVSEID,
		RemoteStartID: res.RemoteStartID, TransactionID: res.TransactionID})
	return nil
}

// stopSession asks the station to stop a session; it completes when the station reports it.
func (s *Server) stopSession(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	status, err := s.ops.StopSession(r.Context(), actorOf(r.Context()), id)
	if err != nil {
		return err
	}
	if status != "Accepted" {
		return domain.Errorf(domain.ErrConflict, "the station answered %s to the remote stop", status)
	}
	writeJSON(w, http.StatusAccepted, commandJSON{Status: status, SessionID: strconv.FormatInt(id, 10)})
	return nil
}
