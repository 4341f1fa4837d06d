package csms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Firmware campaigns: one firmware rolled out to chosen stations in waves. A background runner
// (FirmwareRunner) starts a campaign at its start time, sends the update to the stations of the
// current wave (UpdateFirmware 1.6, SignedUpdateFirmware 1.6 security extension, UpdateFirmware
// 2.0.1), fails stations that report a failure or stay silent past the station timeout, and once
// a wave is finished either halts the campaign (failure share above the threshold) or goes on
// with the next wave. The stations' FirmwareStatusNotifications move their targets along.

// defaultWaves are the campaign waves when none are given: 1 %, 10 %, the rest.
var defaultWaves = []int{1, 10, 100}

const (
	defaultFailureThreshold = 0.2
	defaultStationTimeout   = 2 * time.Hour
)

// CreateCampaign checks a campaign, picks its stations and stores it; the runner takes over.
func (s *Service) CreateCampaign(ctx context.Context, actor string, spec domain.CampaignSpec) (domain.Campaign, error) {
	u, err := url.Parse(spec.FirmwareURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp" && u.Scheme != "ftps") || u.Host == "" {
		return domain.Campaign{}, domain.Errorf(domain.ErrInvalid, "firmwareUrl must be an absolute http(s) or ftp(s) URL")
	}
	if len(spec.FirmwareURL) > 512 {
		return domain.Campaign{}, domain.Errorf(domain.ErrInvalid, "firmwareUrl is longer than 512 characters (OCPP's limit)")
	}
	if spec.Signed && (spec.SigningCertificate == "" || spec.Signature == "") {
		return domain.Campaign{}, domain.Errorf(domain.ErrInvalid, "a signed update needs signingCertificate and signature")
	}
	if spec.Waves == nil {
		spec.Waves = defaultWaves
	}
	if spec.FailureThreshold == 0 {
		spec.FailureThreshold = defaultFailureThreshold
	}
	if spec.StationTimeout == 0 {
		spec.StationTimeout = defaultStationTimeout
	}
	if spec.StartAt.IsZero() {
		spec.StartAt = s.now().UTC()
	}
	c := domain.Campaign{Name: spec.Name, FirmwareURL: spec.FirmwareURL, Signed: spec.Signed, SigningCertificate: spec.SigningCertificate,
		Signature: spec.Signature, StartAt: spec.StartAt.UTC(), Waves: spec.Waves, FailureThreshold: spec.FailureThreshold,
		StationTimeout: spec.StationTimeout, Status: domain.CampaignScheduled, Actor: actor}
	ids, err := s.campaignStations(ctx, spec)
	if err != nil {
		return domain.Campaign{}, err
	}
	if len(ids) == 0 {
		return domain.Campaign{}, domain.Errorf(domain.ErrInvalid, "no station matches the selection")
	}
	for i, id := range ids {
		c.Targets = append(c.Targets, domain.CampaignTarget{StationID: id, Wave: waveOf(i, len(ids), spec.Waves)})
	}
	// ValidateNew in the store gives the messages for waves, threshold and timeout.
	c, err = s.store.CreateCampaign(ctx, c)
	if err != nil {
		return domain.Campaign{}, err
	}
	s.auditCampaign(ctx, actor, "CreateFirmwareCampaign", c)
	return c, nil
}

// waveOf is the wave of the i-th of n stations: wave w holds the stations up to ceil(waves[w] % of n),
// and at least one station more than the wave before while stations remain.
func waveOf(i, n int, waves []int) int {
	end := 0
	for w, pct := range waves {
		end = max(end+1, int(math.Ceil(float64(pct)*float64(n)/100)))
		if i < end {
			return w
		}
	}
	return len(waves) - 1
}

// campaignStations lists the chosen stations, sorted: the given ids (each must exist), or every
// station whose model and firmware version match the filters.
func (s *Service) campaignStations(ctx context.Context, spec domain.CampaignSpec) ([]string, error) {
	if len(spec.StationIDs) > 0 {
		ids := slices.Clone(spec.StationIDs)
		slices.Sort(ids)
		if len(slices.Compact(ids)) != len(spec.StationIDs) {
			return nil, domain.Errorf(domain.ErrInvalid, "stationIds lists a station twice")
		}
		for _, id := range ids {
			st, err := s.store.Station(ctx, id)
			if errors.Is(err, domain.ErrNotFound) {
				return nil, domain.Errorf(domain.ErrInvalid, "station %q does not exist", id)
			}
			if err != nil {
				return nil, err
			}
			if !matches(st, spec) {
				return nil, domain.Errorf(domain.ErrInvalid, "station %q does not match the model or firmware version given", id)
			}
		}
		return ids, nil
	}
	if spec.Model == "" && spec.FirmwareVersion == "" {
		return nil, domain.Errorf(domain.ErrInvalid, "choose stations by stationIds, model or firmwareVersion")
	}
	var ids []string
	page := domain.Page{Limit: 500}
	for {
		sts, next, err := s.store.Stations(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			if matches(st, spec) && st.RegistrationStatus == domain.RegistrationAccepted {
				ids = append(ids, st.ID)
			}
		}
		if next == "" {
			return ids, nil
		}
		page.Cursor = next
	}
}

func matches(st domain.Station, spec domain.CampaignSpec) bool {
	return (spec.Model == "" || st.Model == spec.Model) && (spec.FirmwareVersion == "" || st.FirmwareVersion == spec.FirmwareVersion)
}

// ResumeCampaign continues a halted campaign: the failures of the halted wave are accepted and
// the next wave goes out (or the campaign completes when it was the last).
func (s *Service) ResumeCampaign(ctx context.Context, actor string, id int64) (domain.Campaign, error) {
	c, err := s.store.Campaign(ctx, id)
	if err != nil {
		return domain.Campaign{}, err
	}
	if c.Status != domain.CampaignHalted {
		return domain.Campaign{}, domain.Errorf(domain.ErrConflict, "campaign %d is %s, not halted", id, c.Status)
	}
	to, wave := domain.CampaignRunning, c.Wave+1
	if wave >= len(c.Waves) {
		to, wave = domain.CampaignCompleted, c.Wave
	}
	c, err = s.store.SetCampaignState(ctx, id, []domain.CampaignStatus{domain.CampaignHalted}, to, wave, "")
	if err != nil {
		return domain.Campaign{}, err
	}
	s.auditCampaign(ctx, actor, "ResumeFirmwareCampaign", c)
	return c, nil
}

// CancelCampaign stops a campaign: stations not yet sent the update never get it; stations
// updating go on and are still followed.
func (s *Service) CancelCampaign(ctx context.Context, actor string, id int64) (domain.Campaign, error) {
	c, err := s.store.Campaign(ctx, id)
	if err != nil {
		return domain.Campaign{}, err
	}
	c, err = s.store.SetCampaignState(ctx, id,
		[]domain.CampaignStatus{domain.CampaignScheduled, domain.CampaignRunning, domain.CampaignHalted}, domain.CampaignCancelled, c.Wave, "")
	if err != nil {
		return domain.Campaign{}, err
	}
	s.auditCampaign(ctx, actor, "CancelFirmwareCampaign", c)
	return c, nil
}

// auditCampaign records an operator's change to a campaign (not tied to one station).
func (s *Service) auditCampaign(ctx context.Context, actor, action string, c domain.Campaign) {
	req, _ := json.Marshal(map[string]any{"campaignId": c.ID, "firmwareUrl": c.FirmwareURL, "stations": len(c.Targets)})
	resp, _ := json.Marshal(map[string]any{"status": c.Status, "wave": c.Wave})
	if err := s.store.AddAudit(context.WithoutCancel(ctx), domain.AuditEntry{At: s.now().UTC(), Actor: actor, Action: action,
		Request: req, Response: resp}); err != nil {
		s.log.ErrorContext(ctx, "csms: audit entry lost", "action", action, "err", err)
	}
}

// firmwareFailed are the statuses that end an update in failure.
var firmwareFailed = map[string]bool{
	"DownloadFailed": true, "InstallationFailed": true, "InvalidSignature": true, "InstallVerificationFailed": true,
}

// firmwareStatus moves a station's campaign target along. requestID names the target when the
// station gives one (1.6 signed, 2.0.1); 1.6's plain notification concerns its newest update.
func (s *Service) firmwareStatus(ctx context.Context, c *stationCall, status string, requestID *int) error {
	if err := s.addEvent(ctx, c, "FirmwareStatus", status, map[string]any{"status": status, "requestId": requestID}); err != nil {
		return err
	}
	if status == "Idle" {
		return nil
	}
	var t domain.CampaignTarget
	var err error
	if requestID != nil {
		t, err = s.store.CampaignTarget(ctx, int64(*requestID))
		if err == nil && t.StationID != c.Station.ID {
			err = domain.ErrNotFound
		}
	} else {
		t, err = s.store.UpdatingTarget(ctx, c.Station.ID)
	}
	if errors.Is(err, domain.ErrNotFound) {
		return nil // an update the CSMS did not start through a campaign
	}
	if err != nil {
		return err
	}
	if t.Done() {
		return nil // already decided (a failure reported after a timeout, say)
	}
	t.StationStatus = status
	switch {
	case status == "Installed":
		t.Status = domain.TargetInstalled
	case firmwareFailed[status]:
		t.Status, t.Error = domain.TargetFailed, status
	}
	if err := s.store.UpdateTarget(ctx, t); err != nil && !errors.Is(err, domain.ErrConflict) {
		return err
	}
	return nil
}

func (s *Service) firmwareStatus16(ctx context.Context, c *stationCall, req *v16.FirmwareStatusNotificationRequest) (any, error) {
	return v16.FirmwareStatusNotificationResponse{}, s.firmwareStatus(ctx, c, string(req.Status), nil)
}

func (s *Service) signedFirmwareStatus16(ctx context.Context, c *stationCall, req *v16.SignedFirmwareStatusNotificationRequest) (any, error) {
	return v16.SignedFirmwareStatusNotificationResponse{}, s.firmwareStatus(ctx, c, string(req.Status), req.RequestId)
}

func (s *Service) firmwareStatus201(ctx context.Context, c *stationCall, req *v201.FirmwareStatusNotificationRequest) (any, error) {
	return v201.FirmwareStatusNotificationResponse{}, s.firmwareStatus(ctx, c, string(req.Status), req.RequestId)
}

// sendConcurrency is how many updates a tick has out at once.
const sendConcurrency = 16

// RunnerConfig holds the campaign runner's settings.
type RunnerConfig struct {
	Every       time.Duration // how often Tick runs (default 10 s)
	CallTimeout time.Duration // wait for a station's answer to an update (default 30 s)
	Now         func() time.Time
	Log         *slog.Logger
}

// FirmwareRunner drives campaigns forward. Long-lived: NewFirmwareRunner → Run(ctx) → Close.
// Tick is one complete step, so that whatever decides who runs it (a cluster lease) can wrap it.
type FirmwareRunner struct {
	cfg  RunnerConfig
	svc  *Service
	mu   sync.Mutex // one Tick at a time
	stop chan struct{}
	once sync.Once
}

// NewFirmwareRunner returns a runner for the service's campaigns.
func NewFirmwareRunner(cfg RunnerConfig, svc *Service) *FirmwareRunner {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = svc.now
	}
	if cfg.Log == nil {
		cfg.Log = svc.log
	}
	return &FirmwareRunner{cfg: cfg, svc: svc, stop: make(chan struct{})}
}

// Run ticks until ctx ends or Close is called.
func (r *FirmwareRunner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		// In a cluster only the holder of the lease drives campaigns, so no wave goes out twice.
		if !r.svc.holds(ctx, LeaseCampaigns) {
			select {
			case <-ctx.Done():
				return nil
			case <-r.stop:
				return nil
			case <-t.C:
				continue
			}
		}
		if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Log.ErrorContext(ctx, "csms: firmware campaigns", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.stop:
			return nil
		case <-t.C:
		}
	}
}

// Close stops Run.
func (r *FirmwareRunner) Close() error {
	r.once.Do(func() { close(r.stop) })
	return nil
}

// Tick moves every scheduled or running campaign one step forward.
func (r *FirmwareRunner) Tick(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, err := r.svc.store.ActiveCampaigns(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if err := r.step(ctx, c); err != nil && !errors.Is(err, domain.ErrConflict) {
			errs = append(errs, fmt.Errorf("campaign %d: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (r *FirmwareRunner) step(ctx context.Context, c domain.Campaign) error {
	now := r.cfg.Now().UTC()
	st := r.svc.store
	if c.Status == domain.CampaignScheduled {
		if now.Before(c.StartAt) {
			return nil
		}
		var err error
		if c, err = st.SetCampaignState(ctx, c.ID, []domain.CampaignStatus{domain.CampaignScheduled}, domain.CampaignRunning, 0, ""); err != nil {
			return err
		}
	}
	var wave []domain.CampaignTarget
	for _, t := range c.Targets {
		if t.Wave == c.Wave {
			wave = append(wave, t)
		}
	}
	// Updates go out a few at a time, so that a big wave does not wait on each station in turn.
	sem := make(chan struct{}, sendConcurrency)
	var wg sync.WaitGroup
	for i, t := range wave {
		if t.Status != domain.TargetPending {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			wave[i] = r.send(ctx, c, t)
		}()
	}
	wg.Wait()
	failed, done := 0, 0
	for _, t := range wave {
		switch {
		case t.Status == domain.TargetPending:
			// not recorded as sent (a store error, logged): tried again on the next tick
		case t.Status == domain.TargetUpdating && now.Sub(t.SentAt) > c.StationTimeout:
			t.Status, t.Error = domain.TargetFailed, fmt.Sprintf("no Installed within %s", c.StationTimeout)
			if err := st.UpdateTarget(ctx, t); errors.Is(err, domain.ErrConflict) {
				return nil // the station's word came first; the next tick sees it
			} else if err != nil {
				return err
			}
		}
		if t.Done() {
			done++
		}
		if t.Status == domain.TargetFailed {
			failed++
		}
	}
	if done < len(wave) {
		return nil
	}
	share := 0.0
	if len(wave) > 0 {
		share = float64(failed) / float64(len(wave))
	}
	running := []domain.CampaignStatus{domain.CampaignRunning}
	switch {
	case share > c.FailureThreshold:
		reason := fmt.Sprintf("wave %d: %d of %d stations failed (threshold %.0f%%)", c.Wave+1, failed, len(wave), c.FailureThreshold*100)
		_, err := st.SetCampaignState(ctx, c.ID, running, domain.CampaignHalted, c.Wave, reason)
		return err
	case c.Wave+1 >= len(c.Waves):
		_, err := st.SetCampaignState(ctx, c.ID, running, domain.CampaignCompleted, c.Wave, "")
		return err
	default:
		_, err := st.SetCampaignState(ctx, c.ID, running, domain.CampaignRunning, c.Wave+1, "")
		return err
	}
}

// send asks one station to update and returns its target as stored afterwards. The target is
// marked updating before the call goes out: the station may report its first status before its
// answer to the call is processed here.
func (r *FirmwareRunner) send(ctx context.Context, c domain.Campaign, t domain.CampaignTarget) domain.CampaignTarget {
	now := r.cfg.Now().UTC()
	t.SentAt, t.Status = now, domain.TargetUpdating
	if err := r.svc.store.UpdateTarget(ctx, t); err != nil {
		r.cfg.Log.ErrorContext(ctx, "csms: campaign target not recorded", "campaign", c.ID, "station", t.StationID, "err", err)
		t.Status = domain.TargetPending // try again on the next tick
		return t
	}
	status, err := r.svc.updateFirmware(ctx, c, t, now, r.cfg.CallTimeout)
	switch {
	case err != nil:
		t.Status, t.Error = domain.TargetFailed, publicMessage(err)
	case status != "Accepted":
		t.Status, t.Error, t.StationStatus = domain.TargetFailed, "the station answered "+status, status
	default:
		return t
	}
	if err := r.svc.store.UpdateTarget(ctx, t); err != nil {
		r.cfg.Log.ErrorContext(ctx, "csms: campaign target not recorded", "campaign", c.ID, "station", t.StationID, "err", err)
	}
	return t
}

// updateFirmware sends the update in the station's version and returns its answer (1.6's
// UpdateFirmware has none: Accepted).
func (s *Service) updateFirmware(ctx context.Context, c domain.Campaign, t domain.CampaignTarget, now time.Time, timeout time.Duration) (string, error) {
	st, err := s.store.Station(ctx, t.StationID)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var action string
	var payload json.RawMessage
	switch ocpp.Version(st.OCPPVersion) {
	case ocpp.V16:
		if c.Signed {
			action, payload = "SignedUpdateFirmware", mustJSON(v16.SignedUpdateFirmwareRequest{RequestId: int(t.ID),
				Firmware: v16.FirmwareType{Location: c.FirmwareURL, RetrieveDateTime: now, SigningCertificate: c.SigningCertificate, Signature: c.Signature}})
		} else {
			action, payload = "UpdateFirmware", mustJSON(v16.UpdateFirmwareRequest{Location: c.FirmwareURL, RetrieveDate: now})
		}
	case ocpp.V201:
		action, payload = "UpdateFirmware", mustJSON(v201.UpdateFirmwareRequest{RequestId: int(t.ID),
			Firmware: v201.FirmwareType{Location: c.FirmwareURL, RetrieveDateTime: now, SigningCertificate: c.SigningCertificate, Signature: c.Signature}})
	default:
		return "", domain.Errorf(domain.ErrOffline, "station %s has never connected", st.ID)
	}
	if !st.Connected {
		return "", domain.Errorf(domain.ErrOffline, "station %s is not connected", st.ID)
	}
	res, err := s.Call(ctx, "campaign:"+fmt.Sprint(c.ID), t.StationID, action, payload)
	if err != nil {
		return "", err
	}
	if action == "UpdateFirmware" && ocpp.Version(st.OCPPVersion) == ocpp.V16 {
		return "Accepted", nil
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return "", err
	}
	return out.Status, nil
}
