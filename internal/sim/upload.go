package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Log and diagnostics uploads: asked for a log, the station answers with a file name, reports
// Uploading, really uploads a generated file by HTTP to the location it was given (1.6
// GetDiagnostics: multipart POST, as many chargers do; GetLog: PUT of the raw file) and reports
// Uploaded or the failure. The upload runs on a helper goroutine; its outcome comes back to the
// station's goroutine.

// uploadTimeout bounds one upload.
const uploadTimeout = time.Minute

// fieldDeadline is the earliest deadline of the field operations, or zero.
func (s *Station) fieldDeadline() time.Time {
	return s.reservationDeadline()
}

// fireField handles a field operations deadline due at t; false if none was.
func (s *Station) fireField(t time.Time) bool {
	return s.fireReservation(t)
}

// logFile is the content the station uploads: a plausible log of its own.
func (s *Station) logFile(kind string, from, to *time.Time) []byte {
	var b bytes.Buffer
	now := s.wall()
	fmt.Fprintf(&b, "# %s log of %s (%s %s, firmware %s)\n", kind, s.cfg.ID, s.cfg.Vendor, s.cfg.Model, s.cfg.FirmwareVersion)
	if from != nil || to != nil {
		fmt.Fprintf(&b, "# window: %v .. %v\n", from, to)
	}
	st := s.stats.snapshot()
	fmt.Fprintf(&b, "%s INFO boot firmware=%s ocpp=%s\n", now.Add(-time.Hour).Format(time.RFC3339), s.cfg.FirmwareVersion, s.cfg.Version)
	for _, e := range s.evses {
		fmt.Fprintf(&b, "%s INFO evse=%d status=%s energyWh=%.0f\n", now.Format(time.RFC3339), e.id, s.proto.status(e), e.energyWh)
	}
	fmt.Fprintf(&b, "%s INFO sent=%d acked=%d sessions=%d\n", now.Format(time.RFC3339), st.MessagesSent, st.MessagesAcked, st.SessionsStarted)
	return b.Bytes()
}

// startUpload uploads body to location on a helper goroutine and then calls done (on the
// station's goroutine) with the outcome.
func (s *Station) startUpload(location, fileName string, body []byte, multipartPost bool, done func(err error)) {
	client := s.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	life := s.life
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := upload(life, client, location, fileName, body, multipartPost)
		if err != nil {
			s.log.Warn("sim: upload failed", "err", err)
		}
		_ = s.do(life, func() { done(err) })
	}()
}

func upload(ctx context.Context, client *http.Client, location, fileName string, body []byte, multipartPost bool) error {
	if !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") {
		return fmt.Errorf("the simulator uploads over HTTP(S) only, not to %q", location)
	}
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	method, contentType, payload := http.MethodPut, "text/plain", io.Reader(bytes.NewReader(body))
	if multipartPost {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			return err
		}
		_, _ = fw.Write(body)
		if err := mw.Close(); err != nil {
			return err
		}
		method, contentType, payload = http.MethodPost, mw.FormDataContentType(), &buf
	}
	req, err := http.NewRequestWithContext(ctx, method, location, payload)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if !multipartPost {
		req.Header.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fileName))
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload answered %s", resp.Status)
	}
	return nil
}

func (s *Station) logFileName(kind string, id int) string {
	return fmt.Sprintf("%s-%s-%d-%s.log", s.cfg.ID, kind, id, s.wall().Format("20060102T150405Z"))
}

func getDiagnostics16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.GetDiagnosticsRequest)
	name := s.logFileName("diagnostics", 0)
	status := func(st v16.DiagnosticsStatusNotificationRequestStatus) {
		m := v16.DiagnosticsStatusNotificationRequest{Status: st}
		s.send(&outMsg{action: "DiagnosticsStatusNotification", build: func() (any, error) { return m, nil }})
	}
	return v16.GetDiagnosticsResponse{FileName: name}, func() {
		status(v16.DiagnosticsStatusNotificationRequestStatusUploading)
		s.startUpload(r.Location, name, s.logFile("diagnostics", r.StartTime, r.StopTime), true, func(err error) {
			if err != nil {
				status(v16.DiagnosticsStatusNotificationRequestStatusUploadFailed)
			} else {
				status(v16.DiagnosticsStatusNotificationRequestStatusUploaded)
			}
		})
	}, nil
}

func getLog16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.GetLogRequest)
	name := s.logFileName(string(r.LogType), r.RequestId)
	status := func(st v16.UploadLogStatusEnumType) {
		m := v16.LogStatusNotificationRequest{Status: st, RequestId: ptr(r.RequestId)}
		s.send(&outMsg{action: "LogStatusNotification", build: func() (any, error) { return m, nil }})
	}
	return v16.GetLogResponse{Status: v16.LogStatusEnumTypeAccepted, Filename: name}, func() {
		status(v16.UploadLogStatusEnumTypeUploading)
		s.startUpload(r.Log.RemoteLocation, name, s.logFile(string(r.LogType), r.Log.OldestTimestamp, r.Log.LatestTimestamp), false, func(err error) {
			if err != nil {
				status(v16.UploadLogStatusEnumTypeUploadFailure)
			} else {
				status(v16.UploadLogStatusEnumTypeUploaded)
			}
		})
	}, nil
}

func getLog201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.GetLogRequest)
	name := s.logFileName(string(r.LogType), r.RequestId)
	status := func(st v201.UploadLogStatusEnumType) {
		m := v201.LogStatusNotificationRequest{Status: st, RequestId: ptr(r.RequestId)}
		s.send(&outMsg{action: "LogStatusNotification", build: func() (any, error) { return m, nil }})
	}
	return v201.GetLogResponse{Status: v201.LogStatusEnumTypeAccepted, Filename: name}, func() {
		status(v201.UploadLogStatusEnumTypeUploading)
		s.startUpload(r.Log.RemoteLocation, name, s.logFile(string(r.LogType), r.Log.OldestTimestamp, r.Log.LatestTimestamp), false, func(err error) {
			if err != nil {
				status(v201.UploadLogStatusEnumTypeUploadFailure)
			} else {
				status(v201.UploadLogStatusEnumTypeUploaded)
			}
		})
	}, nil
}
