package csms

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// handlers201 is the OCPP 2.0.1 table: every station→CSMS action.
func (s *Service) handlers201() map[string]handler {
	return map[string]handler{
		"BootNotification":                  typed(s.boot201),
		"Heartbeat":                         typed(s.heartbeat201),
		"StatusNotification":                typed(s.status201),
		"NotifyEvent":                       typed(s.notifyEvent201),
		"DataTransfer":                      typed(s.dataTransfer201),
		"SecurityEventNotification":         s.recordEvent("SecurityEvent", "type", v201.SecurityEventNotificationResponse{}),
		"FirmwareStatusNotification":        typed(s.firmwareStatus201),
		"LogStatusNotification":             typed(s.logStatus201),
		"PublishFirmwareStatusNotification": s.recordEvent("PublishFirmwareStatus", "status", v201.PublishFirmwareStatusNotificationResponse{}),
		"ClearedChargingLimit":              s.recordEvent("ClearedChargingLimit", "chargingLimitSource", v201.ClearedChargingLimitResponse{}),
		"NotifyChargingLimit":               s.recordEvent("NotifyChargingLimit", "evseId", v201.NotifyChargingLimitResponse{}),
		"NotifyCustomerInformation":         s.recordEvent("NotifyCustomerInformation", "requestId", v201.NotifyCustomerInformationResponse{}),
		"NotifyDisplayMessages":             s.recordEvent("NotifyDisplayMessages", "requestId", v201.NotifyDisplayMessagesResponse{}),
		"NotifyMonitoringReport":            s.recordEvent("NotifyMonitoringReport", "requestId", v201.NotifyMonitoringReportResponse{}),
		"NotifyReport":                      s.notifyReport201,
		"ReportChargingProfiles":            s.recordEvent("ReportChargingProfiles", "chargingLimitSource", v201.ReportChargingProfilesResponse{}),
		"ReservationStatusUpdate":           typed(s.reservationStatusUpdate201),
		// No smart-charging engine yet: the CSMS declines to compute a schedule for the EV, which
		// the station then handles on its own (ISO 15118 K15).
		"NotifyEVChargingNeeds": s.recordEvent("NotifyEVChargingNeeds", "evseId",
			v201.NotifyEVChargingNeedsResponse{Status: v201.NotifyEVChargingNeedsStatusEnumTypeRejected}),
		"NotifyEVChargingSchedule": s.recordEvent("NotifyEVChargingSchedule", "evseId",
			v201.NotifyEVChargingScheduleResponse{Status: v201.GenericStatusEnumTypeAccepted}),
		"SignCertificate": s.signCertificate(v201.SignCertificateResponse{Status: v201.GenericStatusEnumTypeRejected}),
		// No certificate authority or OCSP responder is configured: answer Failed (2.0.1 M04, M06).
		"Get15118EVCertificate": s.recordEvent("Get15118EVCertificate", "action",
			v201.Get15118EVCertificateResponse{Status: v201.Iso15118EVCertificateStatusEnumTypeFailed}),
		"GetCertificateStatus": s.recordEvent("GetCertificateStatus", "ocspRequestData",
			v201.GetCertificateStatusResponse{Status: v201.GetCertificateStatusEnumTypeFailed}),
		"Authorize":        typed(s.authorize201),
		"TransactionEvent": typed(s.transactionEvent201),
		"MeterValues":      typed(s.meterValues201),
	}
}

func (s *Service) boot201(ctx context.Context, c *stationCall, req *v201.BootNotificationRequest) (any, error) {
	cs := req.ChargingStation
	status, interval, err := s.boot(ctx, c, domain.BootInfo{
		Vendor: cs.VendorName, Model: cs.Model, SerialNumber: cs.SerialNumber, FirmwareVersion: cs.FirmwareVersion,
	})
	if err != nil {
		return nil, err
	}
	return v201.BootNotificationResponse{
		Status: v201.RegistrationStatusEnumType(status), CurrentTime: s.now().UTC(), Interval: int(interval / time.Second),
	}, nil
}

func (s *Service) heartbeat201(context.Context, *stationCall, *v201.HeartbeatRequest) (any, error) {
	return v201.HeartbeatResponse{CurrentTime: s.now().UTC()}, nil
}

func (s *Service) status201(ctx context.Context, c *stationCall, req *v201.StatusNotificationRequest) (any, error) {
	u := domain.StatusUpdate{
		StationID: c.Station.ID, EVSEID: req.EvseId, ConnectorID: req.ConnectorId,
		Status: domain.ConnectorStatus(req.ConnectorStatus), OCPPStatus: string(req.ConnectorStatus),
		ErrorCode: "NoError", At: req.Timestamp.UTC(),
	}
	if err := s.store.UpdateStatus(ctx, u); err != nil {
		return nil, err
	}
	s.publish(ctx, domain.Event{Kind: domain.EventConnectorStatus, StationID: u.StationID, EVSEID: u.EVSEID,
		ConnectorID: u.ConnectorID, Status: string(u.Status), At: u.At})
	return v201.StatusNotificationResponse{}, nil
}

// notifyEvent201 stores every event of a NotifyEvent (a report may span several messages, tbc).
func (s *Service) notifyEvent201(ctx context.Context, c *stationCall, req *v201.NotifyEventRequest) (any, error) {
	for _, ev := range req.EventData {
		detail, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		typ := fmt.Sprintf("%s/%s", ev.Component.Name, ev.Variable.Name)
		e := domain.StationEvent{StationID: c.Station.ID, Kind: "NotifyEvent", Type: typ, At: ev.Timestamp.UTC(), Detail: detail}
		if err := s.store.AddStationEvent(ctx, e); err != nil {
			return nil, err
		}
	}
	return v201.NotifyEventResponse{}, nil
}

func (s *Service) dataTransfer201(ctx context.Context, c *stationCall, req *v201.DataTransferRequest) (any, error) {
	if err := s.addEvent(ctx, c, "DataTransfer", req.VendorId, req); err != nil {
		return nil, err
	}
	return v201.DataTransferResponse{Status: v201.DataTransferStatusEnumTypeUnknownVendorId}, nil
}
