package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Firmware updates (1.6 UpdateFirmware and SignedUpdateFirmware, 2.0.1 UpdateFirmware): at the
// retrieve time the station reports Downloading, really downloads the file over HTTP(S),
// reports Downloaded (and SignatureVerified for a signed update), Installing, and then either
// InstallationFailed (StationConfig.FirmwareFailure is the chance of that) or Installed, after
// which it reboots and boots with the new firmware version: the file name of the location
// without its extension (…/opencpo-sim-2.bin → opencpo-sim-2).

// firmwareJob is an update under way.
type firmwareJob struct {
	requestID *int // 1.6 signed, 2.0.1
	signed    bool // 1.6: report with SignedFirmwareStatusNotification
}

const maxFirmwareBytes = 256 << 20

// firmwareStatus reports one step of the update under way; then, when not nil, runs once the
// CSMS answered (or the message was given up on).
func (s *Station) firmwareStatus(job *firmwareJob, status string, then ...func()) {
	var req any
	action := "FirmwareStatusNotification"
	switch {
	case s.cfg.Version == ocpp.V201:
		req = v201.FirmwareStatusNotificationRequest{Status: v201.FirmwareStatusEnumType(status), RequestId: job.requestID}
	case job.signed:
		action = "SignedFirmwareStatusNotification"
		req = v16.SignedFirmwareStatusNotificationRequest{Status: v16.FirmwareStatusEnumType(status), RequestId: job.requestID}
	default:
		if status == "SignatureVerified" {
			return // not a 1.6 core status
		}
		req = v16.FirmwareStatusNotificationRequest{Status: v16.FirmwareStatusNotificationRequestStatus(status)}
	}
	m := &outMsg{action: action, build: func() (any, error) { return req, nil }}
	for _, fn := range then {
		m.onReply = func(json.RawMessage) { fn() }
		m.onFail = func(error) { fn() }
	}
	s.send(m)
}

// startFirmware begins an update; false when one is already under way.
func (s *Station) startFirmware(location string, retrieve time.Time, job *firmwareJob) bool {
	if s.field.firmware != nil {
		return false
	}
	s.field.firmware = job
	client := s.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	life := s.life
	wait := max(retrieve.Sub(s.wall()), 0)
	step := s.realDur(20 * time.Second) // simulated time each stage takes
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		on := func(fn func()) bool { return s.do(life, fn) == nil }
		if !sleepCtx(life, wait) || !on(func() { s.firmwareStatus(job, "Downloading") }) {
			return
		}
		if err := download(life, client, location); err != nil {
			s.log.Warn("sim: firmware download failed", "err", err)
			on(func() { s.firmwareStatus(job, "DownloadFailed"); s.field.firmware = nil })
			return
		}
		if !on(func() {
			s.firmwareStatus(job, "Downloaded")
			if job.signed {
				s.firmwareStatus(job, "SignatureVerified")
			}
		}) || !sleepCtx(life, step) || !on(func() { s.firmwareStatus(job, "Installing") }) || !sleepCtx(life, step) {
			return
		}
		on(func() {
			if s.cfg.FirmwareFailure > 0 && s.netRand.Float64() < s.cfg.FirmwareFailure {
				s.firmwareStatus(job, "InstallationFailed")
				s.field.firmware = nil
				return
			}
			s.cfg.FirmwareVersion = firmwareVersionOf(location, s.cfg.FirmwareVersion)
			// Reboot once the CSMS has heard of it, so that the notification is not lost with
			// the connection; the new version shows in the next BootNotification.
			s.firmwareStatus(job, "Installed", func() {
				s.field.firmware = nil
				s.rebootNow(stopSoftReset)
			})
		})
	}()
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// download fetches the firmware image (and throws it away: the simulator has nothing to flash).
func download(ctx context.Context, client *http.Client, location string) error {
	if !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") {
		return fmt.Errorf("the simulator downloads over HTTP(S) only, not %q", location)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download answered %s", resp.Status)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxFirmwareBytes+1))
	switch {
	case err != nil:
		return err
	case n == 0:
		return fmt.Errorf("the firmware image is empty")
	case n > maxFirmwareBytes:
		return fmt.Errorf("the firmware image is larger than %d bytes", maxFirmwareBytes)
	}
	return nil
}

// firmwareVersionOf names the version a firmware file installs: its file name without the
// extension (at most 50 characters, OCPP's limit), or old if the location has none.
func firmwareVersionOf(location, old string) string {
	u, err := url.Parse(location)
	if err != nil {
		return old
	}
	name := path.Base(u.Path)
	if ext := path.Ext(name); ext != "" {
		name = strings.TrimSuffix(name, ext)
	}
	if name == "" || name == "." || name == "/" {
		return old
	}
	if len(name) > 50 {
		name = name[:50]
	}
	return name
}

func updateFirmware16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.UpdateFirmwareRequest)
	// 1.6 has no way to refuse: an update while one runs is ignored.
	return v16.UpdateFirmwareResponse{}, func() { s.startFirmware(r.Location, r.RetrieveDate, &firmwareJob{}) }, nil
}

func signedUpdateFirmware16(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v16.SignedUpdateFirmwareRequest)
	if s.field.firmware != nil {
		return v16.SignedUpdateFirmwareResponse{Status: v16.UpdateFirmwareStatusEnumTypeRejected}, nil, nil
	}
	return v16.SignedUpdateFirmwareResponse{Status: v16.UpdateFirmwareStatusEnumTypeAccepted}, func() {
		s.startFirmware(r.Firmware.Location, r.Firmware.RetrieveDateTime, &firmwareJob{requestID: ptr(r.RequestId), signed: true})
	}, nil
}

func updateFirmware201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.UpdateFirmwareRequest)
	if s.field.firmware != nil {
		return v201.UpdateFirmwareResponse{Status: v201.UpdateFirmwareStatusEnumTypeRejected}, nil, nil
	}
	job := &firmwareJob{requestID: ptr(r.RequestId), signed: r.Firmware.Signature != ""}
	return v201.UpdateFirmwareResponse{Status: v201.UpdateFirmwareStatusEnumTypeAccepted}, func() {
		s.startFirmware(r.Firmware.Location, r.Firmware.RetrieveDateTime, job)
	}, nil
}
