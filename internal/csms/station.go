package csms

import (
	"context"
	"encoding/json"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// boot stores what a BootNotification reports and decides the answer from the station's
// registration status: the interval is the heartbeat interval when accepted, otherwise how long
// the station waits before booting again.
func (s *Service) boot(ctx context.Context, c *stationCall, b domain.BootInfo) (domain.RegistrationStatus, time.Duration, error) {
	b.StationID = c.Station.ID
	b.OCPPVersion = string(c.Version)
	b.At = s.now().UTC()
	if err := s.store.RecordBoot(ctx, b); err != nil {
		return "", 0, err
	}
	s.rememberBoot(b)
	status := c.Station.RegistrationStatus
	s.publish(ctx, domain.Event{Kind: domain.EventStationBooted, StationID: b.StationID, Status: string(status), At: b.At})
	if status == domain.RegistrationAccepted {
		s.scheduleRefresh(ctx, c.Station.ID, c.Station.FirmwareVersion != b.FirmwareVersion)
		return status, s.cfg.HeartbeatInterval, nil
	}
	return status, s.cfg.BootRetryInterval, nil
}

// rememberBoot brings the cached station up to date with the identity its boot just stored,
// so that the next boot, which may use the cached record (bootFreshness), compares its
// firmware with this one.
func (s *Service) rememberBoot(b domain.BootInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.stations[b.StationID]
	if !ok {
		return
	}
	st := &c.station
	st.Vendor, st.Model, st.SerialNumber, st.FirmwareVersion = b.Vendor, b.Model, b.SerialNumber, b.FirmwareVersion
	if b.OCPPVersion != "" {
		st.OCPPVersion = b.OCPPVersion
	}
	s.stations[b.StationID] = c
}

// recordEvent answers a notification by storing it as a station event; typeField names the
// payload field that says what happened.
func (s *Service) recordEvent(kind, typeField string, answer any) handler {
	return func(ctx context.Context, c *stationCall, payload json.RawMessage) (any, error) {
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(payload, &fields) // the schema check already proved it an object
		var typ string
		_ = json.Unmarshal(fields[typeField], &typ)
		e := domain.StationEvent{StationID: c.Station.ID, Kind: kind, Type: typ, At: s.eventTime(fields), Detail: payload}
		if err := s.store.AddStationEvent(ctx, e); err != nil {
			return nil, err
		}
		return answer, nil
	}
}

// signCertificate answers a certificate signing request. OpenCPO has no certificate authority
// yet (security profile 3 is planned), so it refuses honestly and keeps the request for operators.
func (s *Service) signCertificate(answer any) handler {
	return s.recordEvent("SignCertificate", "certificateType", answer)
}

// eventTime is the station's timestamp of a notification when it gave one, else now.
func (s *Service) eventTime(fields map[string]json.RawMessage) time.Time {
	for _, key := range []string{"timestamp", "generatedAt"} {
		if raw, ok := fields[key]; ok {
			var t time.Time
			if json.Unmarshal(raw, &t) == nil {
				return t.UTC()
			}
		}
	}
	return s.now().UTC()
}

// addEvent stores a typed payload as a station event.
func (s *Service) addEvent(ctx context.Context, c *stationCall, kind, typ string, payload any) error {
	detail, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return s.store.AddStationEvent(ctx, domain.StationEvent{StationID: c.Station.ID, Kind: kind, Type: typ, At: s.now().UTC(), Detail: detail})
}
