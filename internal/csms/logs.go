package csms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Log and diagnostics uploads: the station is given a single-use signed URL of our own upload
// endpoint (package uploads) and reports its progress in DiagnosticsStatusNotification (1.6,
// which names no request: the station's newest diagnostics request is meant) or
// LogStatusNotification (1.6 security extension and 2.0.1, with the requestId).

// UploadURLs makes the signed URL a station uploads a file to (implemented by uploads.Box).
type UploadURLs interface {
	UploadURL(base, uploadID string, expires time.Time) string
}

// uploadWindow is how long an upload URL stays valid: stations retry failed uploads for a while.
const uploadWindow = 24 * time.Hour

// UseUploads hands the service the signer of upload URLs.
func (s *Service) UseUploads(u UploadURLs) {
	s.mu.Lock()
	s.uploads = u
	s.mu.Unlock()
}

// RequestLog asks a station to upload a log: GetDiagnostics (1.6) or GetLog (1.6 security
// extension for security logs, 2.0.1 for both), with a signed URL under base (the server's
// address as stations reach it). It returns the stored request; a station that refuses leaves
// it "Rejected" and gets ErrConflict.
func (s *Service) RequestLog(ctx context.Context, actor, stationID string, typ domain.LogType, from, to time.Time, base string) (domain.LogRequest, error) {
	if !typ.Valid() {
		return domain.LogRequest{}, domain.Errorf(domain.ErrInvalid, "type must be diagnostics or security")
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return domain.LogRequest{}, domain.Errorf(domain.ErrInvalid, "to must not be before from")
	}
	s.mu.Lock()
	signer := s.uploads
	s.mu.Unlock()
	if signer == nil {
		return domain.LogRequest{}, domain.Errorf(domain.ErrConflict, "log uploads are not configured on this server")
	}
	st, err := s.store.Station(ctx, stationID)
	if err != nil {
		return domain.LogRequest{}, err
	}
	uploadID, err := newUploadID()
	if err != nil {
		return domain.LogRequest{}, err
	}
	l := domain.LogRequest{StationID: stationID, Type: typ, From: from.UTC(), To: to.UTC(), Status: domain.LogRequested,
		UploadID: uploadID, UploadExpiresAt: s.now().UTC().Add(uploadWindow), Actor: actor}
	if from.IsZero() {
		l.From = time.Time{}
	}
	if to.IsZero() {
		l.To = time.Time{}
	}
	url := signer.UploadURL(base, uploadID, l.UploadExpiresAt)
	action, build, err := logPayload(st, l, url)
	if err != nil {
		return domain.LogRequest{}, err
	}
	if err := s.precheck(ctx, st, action, build(1)); err != nil {
		return domain.LogRequest{}, err
	}
	l, err = s.store.CreateLogRequest(ctx, l)
	if err != nil {
		return domain.LogRequest{}, err
	}
	res, callErr := s.Call(ctx, actor, stationID, action, build(int(l.ID)))
	bg := context.WithoutCancel(ctx)
	if callErr != nil {
		if _, err := s.store.SetLogStatus(bg, l.ID, domain.LogFailed); err != nil {
			s.log.ErrorContext(ctx, "csms: log request state lost", "request", l.ID, "err", err)
		}
		return domain.LogRequest{}, callErr
	}
	var out struct {
		Status   string `json:"status"`
		FileName string `json:"fileName"`
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return domain.LogRequest{}, err
	}
	status := out.Status
	if action == "GetDiagnostics" {
		// 1.6 answers with the name of the file it will upload, or nothing when it has none.
		status = "Accepted"
		if out.FileName == "" {
			status = "NoFile"
		}
	}
	l, err = s.store.SetLogStatus(bg, l.ID, status)
	if err != nil {
		return domain.LogRequest{}, err
	}
	if status == "Rejected" || status == "NoFile" {
		return l, domain.Errorf(domain.ErrConflict, "the station answered %s to the log request", status)
	}
	return l, nil
}

// logPayload builds the request for the station's version; build takes the request id.
func logPayload(st domain.Station, l domain.LogRequest, url string) (string, func(id int) json.RawMessage, error) {
	from, to := optTime(l.From), optTime(l.To)
	switch ocpp.Version(st.OCPPVersion) {
	case ocpp.V16:
		if l.Type == domain.LogDiagnostics {
			return "GetDiagnostics", func(int) json.RawMessage {
				return mustJSON(v16.GetDiagnosticsRequest{Location: url, StartTime: from, StopTime: to})
			}, nil
		}
		return "GetLog", func(id int) json.RawMessage {
			return mustJSON(v16.GetLogRequest{LogType: v16.LogEnumTypeSecurityLog, RequestId: id,
				Log: v16.LogParametersType{RemoteLocation: url, OldestTimestamp: from, LatestTimestamp: to}})
		}, nil
	case ocpp.V201:
		logType := v201.LogEnumTypeDiagnosticsLog
		if l.Type == domain.LogSecurity {
			logType = v201.LogEnumTypeSecurityLog
		}
		return "GetLog", func(id int) json.RawMessage {
			return mustJSON(v201.GetLogRequest{LogType: logType, RequestId: id,
				Log: v201.LogParametersType{RemoteLocation: url, OldestTimestamp: from, LatestTimestamp: to}})
		}, nil
	}
	return "", nil, domain.Errorf(domain.ErrOffline, "station %s has never connected", st.ID)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func newUploadID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// diagnosticsStatus16 follows a 1.6 DiagnosticsStatusNotification: it concerns the station's
// newest diagnostics request. Idle (the answer to a TriggerMessage when nothing is going on)
// says nothing about a request and is only kept as an event.
func (s *Service) diagnosticsStatus16(ctx context.Context, c *stationCall, req *v16.DiagnosticsStatusNotificationRequest) (any, error) {
	if err := s.addEvent(ctx, c, "DiagnosticsStatus", string(req.Status), req); err != nil {
		return nil, err
	}
	if req.Status != v16.DiagnosticsStatusNotificationRequestStatusIdle {
		l, err := s.store.LatestLogRequest(ctx, c.Station.ID, domain.LogDiagnostics)
		switch {
		case errors.Is(err, domain.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			if _, err := s.store.SetLogStatus(ctx, l.ID, string(req.Status)); err != nil {
				return nil, err
			}
		}
	}
	return v16.DiagnosticsStatusNotificationResponse{}, nil
}

// logStatus follows a LogStatusNotification of either version (same shape).
func (s *Service) logStatus(ctx context.Context, c *stationCall, status string, requestID *int, answer any) (any, error) {
	if err := s.addEvent(ctx, c, "LogStatus", status, map[string]any{"status": status, "requestId": requestID}); err != nil {
		return nil, err
	}
	if requestID == nil || status == "Idle" {
		return answer, nil
	}
	l, err := s.store.LogRequest(ctx, int64(*requestID))
	if errors.Is(err, domain.ErrNotFound) || (err == nil && l.StationID != c.Station.ID) {
		return answer, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.store.SetLogStatus(ctx, l.ID, status); err != nil {
		return nil, err
	}
	return answer, nil
}

func (s *Service) logStatus16(ctx context.Context, c *stationCall, req *v16.LogStatusNotificationRequest) (any, error) {
	return s.logStatus(ctx, c, string(req.Status), req.RequestId, v16.LogStatusNotificationResponse{})
}

func (s *Service) logStatus201(ctx context.Context, c *stationCall, req *v201.LogStatusNotificationRequest) (any, error) {
	return s.logStatus(ctx, c, string(req.Status), req.RequestId, v201.LogStatusNotificationResponse{})
}

// sweepFieldOps is the field operations' share of the periodic sweep.
func (s *Service) sweepFieldOps(ctx context.Context) {
	if _, err := s.ExpireReservations(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "csms: reservation expiry", "err", err)
	}
}
