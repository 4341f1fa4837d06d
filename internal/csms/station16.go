package csms

import (
	"context"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
)

// handlers16 is the OCPP 1.6 table: every station→CSMS action, core and security whitepaper.
func (s *Service) handlers16() map[string]handler {
	return map[string]handler{
		"BootNotification":                 typed(s.boot16),
		"Heartbeat":                        typed(s.heartbeat16),
		"StatusNotification":               typed(s.status16),
		"DataTransfer":                     typed(s.dataTransfer16),
		"DiagnosticsStatusNotification":    typed(s.diagnosticsStatus16),
		"FirmwareStatusNotification":       typed(s.firmwareStatus16),
		"LogStatusNotification":            typed(s.logStatus16),
		"SignedFirmwareStatusNotification": typed(s.signedFirmwareStatus16),
		"SecurityEventNotification":        s.recordEvent("SecurityEvent", "type", v16.SecurityEventNotificationResponse{}),
		"SignCertificate":                  s.signCertificate(v16.SignCertificateResponse{Status: v16.GenericStatusEnumTypeRejected}),
		"Authorize":                        typed(s.authorize16),
		"StartTransaction":                 typed(s.startTransaction16),
		"StopTransaction":                  typed(s.stopTransaction16),
		"MeterValues":                      typed(s.meterValues16),
	}
}

func (s *Service) boot16(ctx context.Context, c *stationCall, req *v16.BootNotificationRequest) (any, error) {
	status, interval, err := s.boot(ctx, c, domain.BootInfo{
		Vendor: req.ChargePointVendor, Model: req.ChargePointModel,
		SerialNumber: firstNonEmpty(req.ChargePointSerialNumber, req.ChargeBoxSerialNumber), FirmwareVersion: req.FirmwareVersion,
	})
	if err != nil {
		return nil, err
	}
	return v16.BootNotificationResponse{
		Status: v16.BootNotificationResponseStatus(status), CurrentTime: s.now().UTC(), Interval: int(interval / time.Second),
	}, nil
}

func (s *Service) heartbeat16(context.Context, *stationCall, *v16.HeartbeatRequest) (any, error) {
	return v16.HeartbeatResponse{CurrentTime: s.now().UTC()}, nil
}

// connectorStatus16 maps OCPP 1.6 ChargePointStatus to the 2.0.1 connector status names the
// domain uses: every state with a car plugged in is Occupied.
var connectorStatus16 = map[v16.StatusNotificationRequestStatus]domain.ConnectorStatus{
	v16.StatusNotificationRequestStatusAvailable:     domain.ConnectorAvailable,
	v16.StatusNotificationRequestStatusPreparing:     domain.ConnectorOccupied,
	v16.StatusNotificationRequestStatusCharging:      domain.ConnectorOccupied,
	v16.StatusNotificationRequestStatusSuspendedEVSE: domain.ConnectorOccupied,
	v16.StatusNotificationRequestStatusSuspendedEV:   domain.ConnectorOccupied,
	v16.StatusNotificationRequestStatusFinishing:     domain.ConnectorOccupied,
	v16.StatusNotificationRequestStatusReserved:      domain.ConnectorReserved,
	v16.StatusNotificationRequestStatusUnavailable:   domain.ConnectorUnavailable,
	v16.StatusNotificationRequestStatusFaulted:       domain.ConnectorFaulted,
}

func (s *Service) status16(ctx context.Context, c *stationCall, req *v16.StatusNotificationRequest) (any, error) {
	at := s.now().UTC()
	if req.Timestamp != nil {
		at = req.Timestamp.UTC()
	}
	u := domain.StatusUpdate{
		StationID: c.Station.ID, Status: connectorStatus16[req.Status], OCPPStatus: string(req.Status),
		ErrorCode: string(req.ErrorCode), Info: req.Info, VendorErrorCode: req.VendorErrorCode, At: at,
	}
	// 1.6 connector N > 0 is EVSE N with connector 1; connector 0 is the station itself.
	if req.ConnectorId > 0 {
		u.EVSEID, u.ConnectorID = req.ConnectorId, 1
	}
	if err := s.updateStatus16(ctx, c, req, u); err != nil {
		return nil, err
	}
	s.publish(ctx, domain.Event{Kind: domain.EventConnectorStatus, StationID: u.StationID, EVSEID: u.EVSEID,
		ConnectorID: u.ConnectorID, Status: string(u.Status), At: u.At})
	return v16.StatusNotificationResponse{}, nil
}

// updateStatus16 writes a connector's status and, for a state of charging, the charging-state
// mark of the session on it. Both writes go at once, so that they share one group commit
// instead of waiting for two in a row: they touch different rows and each is idempotent, so a
// retry after a failure of either one is harmless. Most notifications (a boot's Available ones)
// carry no charging state and need no second goroutine: a connect storm would have started one
// per connector.
func (s *Service) updateStatus16(ctx context.Context, c *stationCall, req *v16.StatusNotificationRequest, u domain.StatusUpdate) error {
	state, ok := chargingState16[req.Status]
	if !ok || req.ConnectorId <= 0 {
		return s.store.UpdateStatus(ctx, u)
	}
	stateDone := make(chan error, 1)
	go func() { stateDone <- s.recordState16(ctx, c, req, state, u.At) }()
	return errors.Join(s.store.UpdateStatus(ctx, u), <-stateDone)
}

func (s *Service) dataTransfer16(ctx context.Context, c *stationCall, req *v16.DataTransferRequest) (any, error) {
	if err := s.addEvent(ctx, c, "DataTransfer", req.VendorId, req); err != nil {
		return nil, err
	}
	// No vendor extension is installed, so every vendor id is unknown to us (1.6 §4.3).
	return v16.DataTransferResponse{Status: v16.DataTransferResponseStatusUnknownVendorId}, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
