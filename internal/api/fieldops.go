package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// FieldOperations are the station operations with a lifecycle: reservations and log uploads.
type FieldOperations interface {
	// Reserve asks a station to hold an EVSE (0: any) for a token until expiresAt.
	Reserve(ctx context.Context, actor, stationID string, evseID int, idToken string, expiresAt time.Time) (domain.Reservation, error)
	// CancelReservation asks the station to drop an open reservation.
	CancelReservation(ctx context.Context, actor string, id int64) (domain.Reservation, error)
	// RequestLog asks a station to upload a log to a signed URL under base.
	RequestLog(ctx context.Context, actor, stationID string, typ domain.LogType, from, to time.Time, base string) (domain.LogRequest, error)
	Campaigns
}

// LogFiles opens uploaded log files (implemented by uploads.Box).
type LogFiles interface {
	Open(l domain.LogRequest) (*os.File, error)
}

type reservationJSON struct {
	ID            string    `json:"id"`
	StationID     string    `json:"stationId"`
	EVSEID        int       `json:"evseId"`
	IDToken       string    `json:"idToken"`
	ExpiresAt     time.Time `json:"expiresAt"`
	Status        string    `json:"status"`
	StationStatus string    `json:"stationStatus,omitempty"`
	TransactionID string    `json:"transactionId,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	CreatedBy     string    `json:"createdBy,omitempty"`
}

func reservationView(r domain.Reservation) reservationJSON {
	return reservationJSON{ID: strconv.FormatInt(r.ID, 10), StationID: r.StationID, EVSEID: r.EVSEID, IDToken: r.IDToken,
		ExpiresAt: r.ExpiresAt.UTC(), Status: string(r.Status), StationStatus: r.StationStatus, TransactionID: r.TransactionID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CreatedBy: r.Actor}
}

type reserveRequest struct {
	StationID string    `json:"stationId"`
	EVSEID    int       `json:"evseId"`
	IDToken   string    `json:"idToken"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// createReservation reserves an EVSE: 201 when the station accepted, 409 (and a rejected
// reservation kept in the list) when it refused.
func (s *Server) createReservation(w http.ResponseWriter, r *http.Request) error {
	var req reserveRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.StationID == "":
		return domain.Errorf(domain.ErrInvalid, "stationId is required")
	case !tokenUIDPattern.MatchString(req.IDToken):
		return domain.Errorf(domain.ErrInvalid, "idToken must be 1 to 36 printable characters without spaces")
	case req.EVSEID < 0:
		return domain.Errorf(domain.ErrInvalid, "evseId must be 0 (any EVSE) or a positive EVSE id")
	case req.ExpiresAt.IsZero():
		return domain.Errorf(domain.ErrInvalid, "expiresAt is required")
	}
	res, err := s.field().Reserve(r.Context(), actorOf(r.Context()), req.StationID, req.EVSEID, req.IDToken, req.ExpiresAt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reservationView(res))
	return nil
}

func (s *Server) listReservations(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	f := domain.ReservationFilter{StationID: r.URL.Query().Get("stationId"), Status: domain.ReservationStatus(r.URL.Query().Get("status"))}
	if f.Status != "" && !f.Status.Valid() {
		return domain.Errorf(domain.ErrInvalid, "status must be one of requested, active, rejected, cancelled, expired, used")
	}
	items, next, err := s.store.Reservations(r.Context(), f, page)
	if err != nil {
		return err
	}
	out := listResponse[reservationJSON]{Items: make([]reservationJSON, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, reservationView(it))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pathID reads a positive integer {id}; anything else names nothing.
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, domain.Errorf(domain.ErrNotFound, "no %s %q", what, r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getReservation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "reservation")
	if err != nil {
		return err
	}
	res, err := s.store.Reservation(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reservationView(res))
	return nil
}

// cancelReservation sends CancelReservation; 200 with the cancelled reservation, 409 when it
// is no longer open.
func (s *Server) cancelReservation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "reservation")
	if err != nil {
		return err
	}
	res, err := s.field().CancelReservation(r.Context(), actorOf(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reservationView(res))
	return nil
}

type logRequestJSON struct {
	ID          string     `json:"id"`
	StationID   string     `json:"stationId"`
	Type        string     `json:"type"`
	From        *time.Time `json:"from"`
	To          *time.Time `json:"to"`
	Status      string     `json:"status"`
	FileName    string     `json:"fileName,omitempty"`
	FileSize    int64      `json:"fileSize,omitempty"`
	ReceivedAt  *time.Time `json:"receivedAt"`
	DownloadURL string     `json:"downloadUrl,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	CreatedBy   string     `json:"createdBy,omitempty"`
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func logRequestView(l domain.LogRequest) logRequestJSON {
	v := logRequestJSON{ID: strconv.FormatInt(l.ID, 10), StationID: l.StationID, Type: string(l.Type), From: timeOrNull(l.From),
		To: timeOrNull(l.To), Status: l.Status, FileName: l.FileName, FileSize: l.FileSize, ReceivedAt: timeOrNull(l.ReceivedAt),
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC(), CreatedBy: l.Actor}
	if !l.ReceivedAt.IsZero() {
		v.DownloadURL = fmt.Sprintf("/api/v1/logs/%d/file", l.ID)
	}
	return v
}

type logRequestBody struct {
	Type string    `json:"type"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// requestLog asks a station for a log file: 202 with the request, which then follows the
// station's status notifications until the file arrives ("received").
func (s *Server) requestLog(w http.ResponseWriter, r *http.Request) error {
	var req logRequestBody
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	typ := domain.LogType(req.Type)
	if !typ.Valid() {
		return domain.Errorf(domain.ErrInvalid, "type must be diagnostics or security")
	}
	l, err := s.field().RequestLog(r.Context(), actorOf(r.Context()), r.PathValue("id"), typ, req.From, req.To, s.publicBase(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, logRequestView(l))
	return nil
}

// publicBase is the server's address as stations reach it: --public-url when set, else the
// address this API call came to.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) listLogRequests(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := s.store.Station(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	items, next, err := s.store.LogRequests(r.Context(), r.PathValue("id"), page)
	if err != nil {
		return err
	}
	out := listResponse[logRequestJSON]{Items: make([]logRequestJSON, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, logRequestView(it))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getLogRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "log request")
	if err != nil {
		return err
	}
	l, err := s.store.LogRequest(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, logRequestView(l))
	return nil
}

// downloadLog serves an uploaded file as an attachment.
func (s *Server) downloadLog(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "log request")
	if err != nil {
		return err
	}
	l, err := s.store.LogRequest(r.Context(), id)
	if err != nil {
		return err
	}
	if s.cfg.LogFiles == nil {
		return domain.Errorf(domain.ErrNotFound, "log uploads are not configured on this server")
	}
	f, err := s.cfg.LogFiles.Open(l)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", l.FileName))
	w.Header().Set("Content-Length", strconv.FormatInt(l.FileSize, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, f)
	return nil
}

// field is the OCPP side's field operations.
func (s *Server) field() FieldOperations { return s.ops }
