package csms

import (
	"context"
	"encoding/json"
	"sort"
	"sync"

	"github.com/opencpo/opencpo/internal/commands"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// TemplateDrift compares every station of a template's vendor and model with the template, from
// the configuration the stations last reported.
func (s *Service) TemplateDrift(ctx context.Context, templateID string) ([]domain.ConfigDrift, error) {
	tpl, err := s.store.ConfigTemplate(ctx, templateID)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(tpl.Values))
	for k := range tpl.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []domain.ConfigDrift
	page := domain.Page{Limit: 500}
	for {
		sts, next, err := s.store.Stations(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			if st.Vendor != tpl.Vendor || st.Model != tpl.Model {
				continue
			}
			items, err := s.store.StationConfig(ctx, st.ID)
			if err != nil {
				return nil, err
			}
			have := make(map[string]domain.ConfigItem, len(items))
			for _, it := range items {
				have[it.Key] = it
			}
			d := domain.ConfigDrift{StationID: st.ID, Connected: st.Connected, Reported: len(items) > 0}
			for _, k := range keys {
				it, ok := have[k]
				switch {
				case !ok:
					d.Differences = append(d.Differences, domain.ConfigDifference{Key: k, Want: tpl.Values[k], Missing: true})
				case it.Value != tpl.Values[k]:
					d.Differences = append(d.Differences, domain.ConfigDifference{Key: k, Want: tpl.Values[k], Have: it.Value})
				}
			}
			out = append(out, d)
		}
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}

// ApplyTemplate sends the template's values to every drifted station of its model (or only to
// those in stationIDs, when given): ChangeConfiguration per key in 1.6, one SetVariables in
// 2.0.1. Stations in step are left alone.
func (s *Service) ApplyTemplate(ctx context.Context, actor, templateID string, stationIDs []string) ([]domain.TemplateApply, error) {
	drift, err := s.TemplateDrift(ctx, templateID)
	if err != nil {
		return nil, err
	}
	only := map[string]bool{}
	for _, id := range stationIDs {
		only[id] = true
	}
	var todo []domain.ConfigDrift
	for _, d := range drift {
		if len(d.Differences) > 0 && (len(only) == 0 || only[d.StationID]) {
			todo = append(todo, d)
		}
	}
	// A few stations at a time, so that one slow station does not hold up the rest.
	out := make([]domain.TemplateApply, len(todo))
	sem := make(chan struct{}, applyParallel)
	var wg sync.WaitGroup
	for i, d := range todo {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = domain.TemplateApply{StationID: d.StationID}
			out[i].Results, out[i].Err = s.applyDifferences(ctx, actor, d)
		}()
	}
	wg.Wait()
	return out, nil
}

// applyParallel is how many stations a template apply works on at once.
const applyParallel = 8

func (s *Service) applyDifferences(ctx context.Context, actor string, d domain.ConfigDrift) ([]domain.ConfigSetResult, error) {
	st, err := s.store.Station(ctx, d.StationID)
	if err != nil {
		return nil, err
	}
	if !st.Connected {
		return nil, domain.Errorf(domain.ErrOffline, "station %s is not connected", d.StationID)
	}
	var out []domain.ConfigSetResult
	switch st.OCPPVersion {
	case domain.OCPP16:
		for _, diff := range d.Differences {
			r := domain.ConfigSetResult{Key: diff.Key, Value: diff.Want}
			res, err := s.Call(ctx, actor, d.StationID, "ChangeConfiguration", mustJSON(v16.ChangeConfigurationRequest{Key: diff.Key, Value: diff.Want}))
			if err != nil {
				r.Error = publicMessage(err)
			} else {
				var ans v16.ChangeConfigurationResponse
				_ = json.Unmarshal(res, &ans)
				r.Status = string(ans.Status)
			}
			out = append(out, r)
		}
		return out, nil
	case domain.OCPP201:
		req := v201.SetVariablesRequest{}
		var sent []domain.ConfigSetResult
		for _, diff := range d.Differences {
			dv, err := domain.ParseDeviceKey(diff.Key)
			if err != nil {
				out = append(out, domain.ConfigSetResult{Key: diff.Key, Value: diff.Want, Error: publicMessage(err)})
				continue
			}
			comp, variable := commands.DeviceTypes(dv)
			req.SetVariableData = append(req.SetVariableData, v201.SetVariableDataType{AttributeValue: diff.Want, Component: comp, Variable: variable})
			sent = append(sent, domain.ConfigSetResult{Key: diff.Key, Value: diff.Want})
		}
		if len(sent) == 0 {
			return out, nil
		}
		res, err := s.Call(ctx, actor, d.StationID, "SetVariables", mustJSON(req))
		if err != nil {
			for i := range sent {
				sent[i].Error = publicMessage(err)
			}
			return append(out, sent...), nil
		}
		var ans v201.SetVariablesResponse
		_ = json.Unmarshal(res, &ans)
		status := map[string]string{}
		for _, r := range ans.SetVariableResult {
			status[domain.DeviceKey(commands.DeviceVariableOf(r.Component, r.Variable))] = string(r.AttributeStatus)
		}
		for i := range sent {
			sent[i].Status = status[sent[i].Key]
			if sent[i].Status == "" {
				sent[i].Error = "the station's answer does not mention this variable"
			}
		}
		return append(out, sent...), nil
	}
	return nil, domain.Errorf(domain.ErrOffline, "station %s has never connected", d.StationID)
}
