package csms

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/commands"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// The stored configuration follows every call that reads or changes it, whoever made the call
// (a typed command, a raw call, a template apply, the refresh after boot): observeCall looks at
// each successful answer. OCPP 2.0.1 device-model reports arrive later as NotifyReport.

// systemActor is the audit actor of calls the CSMS makes on its own.
const systemActor = "csms"

// fullReports remembers, per station, the requestId of the FullInventory report asked for, so
// that its first NotifyReport replaces what is stored instead of adding to it.
type fullReports struct {
	mu      sync.Mutex
	pending map[string]int
}

func (f *fullReports) expect(stationID string, requestID int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[stationID] = requestID
}

// take reports whether requestID is the full report expected from the station.
func (f *fullReports) take(stationID string, requestID int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.pending[stationID]; ok && id == requestID {
		delete(f.pending, stationID)
		return true
	}
	return false
}

// beforeCall notes what an answer to come needs to be understood.
func (s *Service) beforeCall(stationID, action string, payload json.RawMessage) {
	if action != "GetBaseReport" {
		return
	}
	var req v201.GetBaseReportRequest
	if json.Unmarshal(payload, &req) == nil && req.ReportBase == v201.ReportBaseEnumTypeFullInventory {
		s.reports.expect(stationID, req.RequestId)
	}
}

// observeCall keeps the stored configuration in step with a successful call's answer. Losing
// the update is logged; the call itself succeeded.
func (s *Service) observeCall(ctx context.Context, stationID, action string, payload, result json.RawMessage) {
	ctx = context.WithoutCancel(ctx)
	now := s.now().UTC()
	var (
		items   []domain.ConfigItem
		replace bool
	)
	switch action {
	case "GetConfiguration":
		var req v16.GetConfigurationRequest
		var out v16.GetConfigurationResponse
		if json.Unmarshal(payload, &req) != nil || json.Unmarshal(result, &out) != nil {
			return
		}
		replace = len(req.Key) == 0
		for _, k := range out.ConfigurationKey {
			items = append(items, domain.ConfigItem{Key: k.Key, Value: k.Value, ReadOnly: k.Readonly, UpdatedAt: now})
		}
	case "ChangeConfiguration":
		var req v16.ChangeConfigurationRequest
		var out v16.ChangeConfigurationResponse
		if json.Unmarshal(payload, &req) != nil || json.Unmarshal(result, &out) != nil {
			return
		}
		if out.Status == v16.ChangeConfigurationResponseStatusAccepted || out.Status == v16.ChangeConfigurationResponseStatusRebootRequired {
			items = append(items, domain.ConfigItem{Key: req.Key, Value: req.Value, UpdatedAt: now})
		}
	case "SetVariables":
		var req v201.SetVariablesRequest
		var out v201.SetVariablesResponse
		if json.Unmarshal(payload, &req) != nil || json.Unmarshal(result, &out) != nil {
			return
		}
		for _, r := range out.SetVariableResult {
			if r.AttributeStatus != v201.SetVariableStatusEnumTypeAccepted && r.AttributeStatus != v201.SetVariableStatusEnumTypeRebootRequired {
				continue
			}
			if r.AttributeType != "" && r.AttributeType != v201.AttributeEnumTypeActual {
				continue
			}
			key := domain.DeviceKey(commands.DeviceVariableOf(r.Component, r.Variable))
			for _, d := range req.SetVariableData {
				if domain.DeviceKey(commands.DeviceVariableOf(d.Component, d.Variable)) == key &&
					(d.AttributeType == "" || d.AttributeType == v201.AttributeEnumTypeActual) {
					items = append(items, domain.ConfigItem{Key: key, Value: d.AttributeValue, Detail: variableDetail(d.Component, d.Variable), UpdatedAt: now})
				}
			}
		}
	case "GetVariables":
		var out v201.GetVariablesResponse
		if json.Unmarshal(result, &out) != nil {
			return
		}
		for _, r := range out.GetVariableResult {
			if r.AttributeStatus == v201.GetVariableStatusEnumTypeAccepted && (r.AttributeType == "" || r.AttributeType == v201.AttributeEnumTypeActual) {
				items = append(items, domain.ConfigItem{Key: domain.DeviceKey(commands.DeviceVariableOf(r.Component, r.Variable)),
					Value: r.AttributeValue, Detail: variableDetail(r.Component, r.Variable), UpdatedAt: now})
			}
		}
	default:
		return
	}
	s.storeConfig(ctx, stationID, items, replace)
}

func (s *Service) storeConfig(ctx context.Context, stationID string, items []domain.ConfigItem, replace bool) {
	var err error
	switch {
	case replace:
		err = s.store.ReplaceStationConfig(ctx, stationID, items)
	case len(items) > 0:
		err = s.store.UpsertStationConfig(ctx, stationID, items)
	}
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		s.log.ErrorContext(ctx, "csms: configuration not stored", "station", stationID, "err", err)
	}
}

func variableDetail(comp v201.ComponentType, variable v201.VariableType) []byte {
	b, _ := json.Marshal(map[string]any{"component": comp, "variable": variable})
	return b
}

// notifyReport201 stores the device model a station reports (after GetBaseReport or
// GetReport) and keeps the report as a station event as before.
func (s *Service) notifyReport201(ctx context.Context, c *stationCall, payload json.RawMessage) (any, error) {
	var req v201.NotifyReportRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	items := make([]domain.ConfigItem, 0, len(req.ReportData))
	for _, rd := range req.ReportData {
		item := domain.ConfigItem{Key: domain.DeviceKey(commands.DeviceVariableOf(rd.Component, rd.Variable)), UpdatedAt: now}
		found := false
		for _, a := range rd.VariableAttribute {
			if a.Type == "" || a.Type == v201.AttributeEnumTypeActual {
				item.Value, item.ReadOnly, found = a.Value, a.Mutability == v201.MutabilityEnumTypeReadOnly, true
				break
			}
		}
		if !found {
			continue
		}
		item.Detail, _ = json.Marshal(map[string]any{"component": rd.Component, "variable": rd.Variable,
			"variableAttribute": rd.VariableAttribute, "variableCharacteristics": rd.VariableCharacteristics})
		items = append(items, item)
	}
	replace := req.SeqNo == 0 && s.reports.take(c.Station.ID, req.RequestId)
	var err error
	switch {
	case replace:
		err = s.store.ReplaceStationConfig(ctx, c.Station.ID, items)
	case len(items) > 0:
		err = s.store.UpsertStationConfig(ctx, c.Station.ID, items)
	}
	if err != nil {
		return nil, err
	}
	return s.recordEvent("NotifyReport", "requestId", v201.NotifyReportResponse{})(ctx, c, payload)
}

// RefreshConfig asks a station for its whole configuration: GetConfiguration in 1.6 (stored
// from the answer), GetBaseReport FullInventory in 2.0.1 (stored as the NotifyReport frames
// arrive).
func (s *Service) RefreshConfig(ctx context.Context, actor, stationID string) error {
	st, err := s.store.Station(ctx, stationID)
	if err != nil {
		return err
	}
	switch st.OCPPVersion {
	case domain.OCPP16:
		_, err = s.Call(ctx, actor, stationID, "GetConfiguration", json.RawMessage(`{}`))
		return err
	case domain.OCPP201:
		req := v201.GetBaseReportRequest{RequestId: commands.NewRequestID(), ReportBase: v201.ReportBaseEnumTypeFullInventory}
		res, err := s.Call(ctx, actor, stationID, "GetBaseReport", mustJSON(req))
		if err != nil {
			return err
		}
		var out v201.GetBaseReportResponse
		if json.Unmarshal(res, &out) == nil && out.Status != v201.GenericDeviceModelStatusEnumTypeAccepted {
			s.reports.take(stationID, req.RequestId)
			return domain.Errorf(domain.ErrConflict, "the station answered %s to GetBaseReport", out.Status)
		}
		return nil
	}
	return domain.Errorf(domain.ErrOffline, "station %s has never connected", stationID)
}

// scheduleRefresh queues a configuration refresh after an accepted boot. It never blocks the
// boot's answer: with the queue full the refresh is skipped (and logged). A station read less
// than RefreshMinAge ago with unchanged firmware is not read again, so that a fleet reconnecting
// (and booting) after a network outage costs no second round of reads.
func (s *Service) scheduleRefresh(ctx context.Context, stationID string, firmwareChanged bool) {
	if !s.cfg.RefreshConfigOnBoot {
		return
	}
	now := s.now()
	s.mu.Lock()
	last, ok := s.refreshed[stationID]
	s.mu.Unlock()
	if ok && !firmwareChanged && now.Sub(last) < s.cfg.RefreshMinAge {
		return
	}
	select {
	case s.refreshQ <- refreshJob{stationID: stationID, due: now.Add(s.cfg.RefreshDelay)}:
	default:
		s.refreshSkips.Add(1)
		last := s.refreshWarned.Load()
		if now.UnixNano()-last >= int64(time.Minute) && s.refreshWarned.CompareAndSwap(last, now.UnixNano()) {
			s.log.WarnContext(ctx, "csms: configuration refresh queue full; refreshes skipped",
				"stations", s.refreshSkips.Swap(0), "latest", stationID)
		}
	}
}

type refreshJob struct {
	stationID string
	due       time.Time
}

// refreshWorkers is how many stations are asked for their configuration at once: enough to
// keep up with a fleet re-admitting, few enough not to crowd out their messages.
const refreshWorkers = 4

// runRefresh works off the refresh queue until ctx ends.
func (s *Service) runRefresh(ctx context.Context) {
	// One pace for all workers: a tick that nobody takes is dropped, so a quiet spell never
	// saves up a burst.
	pace := time.NewTicker(time.Duration(float64(time.Second) / s.cfg.RefreshRate))
	defer pace.Stop()
	var wg sync.WaitGroup
	for range refreshWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-s.refreshQ:
					// The delay lets the boot's answer reach the station before the request.
					if wait := job.due.Sub(s.now()); wait > 0 {
						t := time.NewTimer(wait)
						select {
						case <-ctx.Done():
							t.Stop()
							return
						case <-t.C:
						}
					}
					select {
					case <-ctx.Done():
						return
					case <-pace.C:
					}
					callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err := s.RefreshConfig(callCtx, systemActor, job.stationID)
					cancel()
					if err == nil {
						s.mu.Lock()
						s.refreshed[job.stationID] = s.now()
						s.mu.Unlock()
					}
					if err != nil && ctx.Err() == nil && !errors.Is(err, domain.ErrOffline) {
						s.log.InfoContext(ctx, "csms: configuration refresh after boot failed", "station", job.stationID, "err", err)
					}
				}
			}
		}()
	}
	wg.Wait()
}
