package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/commands"
	"github.com/opencpo/opencpo/internal/domain"
)

// RemoteOperations is what the remote-operation routes need from the OCPP side besides Call.
type RemoteOperations interface {
	// RefreshConfig asks a station for its whole configuration or device model.
	RefreshConfig(ctx context.Context, actor, stationID string) error
	// SyncLocalList brings a station's local authorization list in step with the tokens.
	SyncLocalList(ctx context.Context, actor, stationID string, full bool) (domain.LocalListSync, error)
	// TemplateDrift compares the stations of a template's model with it.
	TemplateDrift(ctx context.Context, templateID string) ([]domain.ConfigDrift, error)
	// ApplyTemplate sends a template's values to the drifted stations of its model.
	ApplyTemplate(ctx context.Context, actor, templateID string, stationIDs []string) ([]domain.TemplateApply, error)
}

// callTimeout reads ?timeout= (the wait for a station's answer).
func (s *Server) callTimeout(r *http.Request) (time.Duration, error) {
	t := r.URL.Query().Get("timeout")
	if t == "" {
		return s.cfg.CallTimeout, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil || d <= 0 || d > maxCallTimeout {
		return 0, domain.Errorf(domain.ErrInvalid, "timeout must be a duration such as 5s, from 1ms to %s", maxCallTimeout)
	}
	return d, nil
}

// ---- commands

type commandInfoJSON struct {
	Name    string            `json:"name"`
	Summary string            `json:"summary"`
	Input   string            `json:"input"` // "neutral": one shape for both versions; "native": the version's OCPP payload
	Actions map[string]string `json:"actions"`
	Via     string            `json:"via,omitempty"`
}

func (s *Server) listCommands(w http.ResponseWriter, r *http.Request) error {
	version := r.URL.Query().Get("ocppVersion")
	if version != "" && version != domain.OCPP16 && version != domain.OCPP201 {
		return domain.Errorf(domain.ErrInvalid, "ocppVersion must be 1.6 or 2.0.1")
	}
	out := listResponse[commandInfoJSON]{Items: []commandInfoJSON{}}
	for _, c := range s.cmds.List() {
		if _, ok := c.Actions[version]; version != "" && !ok {
			continue
		}
		input := "neutral"
		if c.Native {
			input = "native"
		}
		out.Items = append(out.Items, commandInfoJSON{Name: c.Name, Summary: c.Summary, Input: input, Actions: c.Actions, Via: c.Via})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// runCommand sends a typed command: the input is checked and translated for the station's OCPP
// version, sent through the audited call path, and the answer comes back normalised.
func (s *Server) runCommand(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("command")
	c, ok := s.cmds.Lookup(name)
	if !ok {
		return domain.Errorf(domain.ErrNotFound, "there is no command %q (GET /api/v1/commands lists them)", name)
	}
	timeout, err := s.callTimeout(r)
	if err != nil {
		return err
	}
	input, err := readRawObject(w, r)
	if err != nil {
		return err
	}
	stationID := r.PathValue("id")
	st, err := s.store.Station(r.Context(), stationID)
	if err != nil {
		return err
	}
	if st.OCPPVersion == "" {
		return domain.Errorf(domain.ErrOffline, "station %s has never connected", stationID)
	}
	action, payload, err := s.cmds.Build(c, st.OCPPVersion, input)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	result, err := s.ops.Call(ctx, actorOf(r.Context()), stationID, action, payload)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, commands.Normalize(c, stationID, st.OCPPVersion, action, result))
	return nil
}

// ---- configuration

type configItemJSON struct {
	Key       string          `json:"key"`
	Value     string          `json:"value"`
	ReadOnly  bool            `json:"readOnly"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

type configurationJSON struct {
	StationID   string           `json:"stationId"`
	OCPPVersion string           `json:"ocppVersion"`
	Items       []configItemJSON `json:"items"`
}

// getConfiguration answers the configuration (1.6 keys) or device model (2.0.1 variables, keyed
// Component/Variable) the station last reported.
func (s *Server) getConfiguration(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.Station(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	items, err := s.store.StationConfig(r.Context(), st.ID)
	if err != nil {
		return err
	}
	out := configurationJSON{StationID: st.ID, OCPPVersion: st.OCPPVersion, Items: make([]configItemJSON, 0, len(items))}
	for _, it := range items {
		out.Items = append(out.Items, configItemJSON{Key: it.Key, Value: it.Value, ReadOnly: it.ReadOnly,
			Detail: rawOrNull(it.Detail), UpdatedAt: it.UpdatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) refreshConfiguration(w http.ResponseWriter, r *http.Request) error {
	timeout, err := s.callTimeout(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := s.ops.RefreshConfig(ctx, actorOf(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"stationId": r.PathValue("id"), "status": "Accepted"})
	return nil
}

// ---- templates

type templateJSON struct {
	ID        string            `json:"id"`
	Vendor    string            `json:"vendor"`
	Model     string            `json:"model"`
	Values    map[string]string `json:"values"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

func templateView(t domain.ConfigTemplate) templateJSON {
	return templateJSON{ID: t.ID, Vendor: t.Vendor, Model: t.Model, Values: t.Values, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

type templateRequest struct {
	Vendor string            `json:"vendor"`
	Model  string            `json:"model"`
	Values map[string]string `json:"values"`
}

func (s *Server) putTemplate(w http.ResponseWriter, r *http.Request) error {
	var req templateRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	t := domain.ConfigTemplate{ID: r.PathValue("tid"), Vendor: req.Vendor, Model: req.Model, Values: req.Values}
	if err := t.Validate(); err != nil {
		return err
	}
	created, err := s.store.PutConfigTemplate(r.Context(), t)
	if err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "PutConfigTemplate", map[string]any{"id": t.ID, "vendor": t.Vendor, "model": t.Model, "values": t.Values})
	stored, err := s.store.ConfigTemplate(r.Context(), t.ID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, templateView(stored))
	return nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.ConfigTemplate(r.Context(), r.PathValue("tid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateView(t))
	return nil
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.ConfigTemplates(r.Context())
	if err != nil {
		return err
	}
	out := listResponse[templateJSON]{Items: make([]templateJSON, 0, len(ts))}
	for _, t := range ts {
		out.Items = append(out.Items, templateView(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("tid")
	if err := s.store.DeleteConfigTemplate(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteConfigTemplate", map[string]string{"id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type differenceJSON struct {
	Key     string `json:"key"`
	Want    string `json:"want"`
	Have    string `json:"have,omitempty"`
	Missing bool   `json:"missing,omitempty"`
}

type driftJSON struct {
	StationID   string           `json:"stationId"`
	Connected   bool             `json:"connected"`
	Reported    bool             `json:"reported"`
	InStep      bool             `json:"inStep"`
	Differences []differenceJSON `json:"differences"`
}

// templateDrift lists the stations of the template's model and how each differs from it
// (?drifted=true: only those that differ).
func (s *Server) templateDrift(w http.ResponseWriter, r *http.Request) error {
	onlyDrifted := false
	switch r.URL.Query().Get("drifted") {
	case "", "false":
	case "true":
		onlyDrifted = true
	default:
		return domain.Errorf(domain.ErrInvalid, "drifted must be true or false")
	}
	drift, err := s.ops.TemplateDrift(r.Context(), r.PathValue("tid"))
	if err != nil {
		return err
	}
	out := listResponse[driftJSON]{Items: []driftJSON{}}
	for _, d := range drift {
		if onlyDrifted && len(d.Differences) == 0 {
			continue
		}
		v := driftJSON{StationID: d.StationID, Connected: d.Connected, Reported: d.Reported, InStep: len(d.Differences) == 0,
			Differences: []differenceJSON{}}
		for _, diff := range d.Differences {
			v.Differences = append(v.Differences, differenceJSON(diff))
		}
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type applyRequest struct {
	StationIDs []string `json:"stationIds"`
}

type setResultJSON struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

type applyJSON struct {
	StationID string          `json:"stationId"`
	Results   []setResultJSON `json:"results"`
	Error     *errorDetail    `json:"error,omitempty"`
}

// applyTemplate sends the template's values to the drifted stations and answers per station.
func (s *Server) applyTemplate(w http.ResponseWriter, r *http.Request) error {
	var req applyRequest
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &req); err != nil {
			return err
		}
	}
	res, err := s.ops.ApplyTemplate(r.Context(), actorOf(r.Context()), r.PathValue("tid"), req.StationIDs)
	if err != nil {
		return err
	}
	out := listResponse[applyJSON]{Items: []applyJSON{}}
	for _, a := range res {
		v := applyJSON{StationID: a.StationID, Results: []setResultJSON{}}
		for _, sr := range a.Results {
			v.Results = append(v.Results, setResultJSON(sr))
		}
		if a.Err != nil {
			_, d := describe(a.Err)
			v.Error = &d
		}
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ---- local lists

// bulkParallel is how many stations a bulk local-list sync works on at once.
const bulkParallel = 8

type localListJSON struct {
	StationID  string                  `json:"stationId"`
	Version    int                     `json:"version"`
	UpdateType string                  `json:"updateType"`
	SentAt     time.Time               `json:"sentAt"`
	Entries    []domain.LocalListEntry `json:"entries"`
}

func (s *Server) getLocalList(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.Station(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	l, err := s.store.LocalList(r.Context(), st.ID)
	if err != nil {
		return err
	}
	if l.Entries == nil {
		l.Entries = []domain.LocalListEntry{}
	}
	writeJSON(w, http.StatusOK, localListJSON{StationID: l.StationID, Version: l.Version, UpdateType: l.UpdateType, SentAt: l.SentAt.UTC(), Entries: l.Entries})
	return nil
}

type syncRequest struct {
	Full       bool     `json:"full"`
	StationIDs []string `json:"stationIds"`
	// StationGroupID syncs every station of a station group.
	StationGroupID string `json:"stationGroupId"`
}

type syncJSON struct {
	StationID      string       `json:"stationId"`
	Status         string       `json:"status,omitempty"`
	UpdateType     string       `json:"updateType,omitempty"`
	Version        int          `json:"version"`
	Changes        int          `json:"changes"`
	StationVersion int          `json:"stationVersion"`
	Error          *errorDetail `json:"error,omitempty"`
}

func syncView(res domain.LocalListSync) syncJSON {
	return syncJSON{StationID: res.StationID, Status: res.Status, UpdateType: res.UpdateType, Version: res.Version,
		Changes: res.Changes, StationVersion: res.StationVersion}
}

func (s *Server) readSyncRequest(w http.ResponseWriter, r *http.Request) (syncRequest, error) {
	var req syncRequest
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &req); err != nil {
			return req, err
		}
	}
	return req, nil
}

func (s *Server) syncLocalList(w http.ResponseWriter, r *http.Request) error {
	req, err := s.readSyncRequest(w, r)
	if err != nil {
		return err
	}
	if len(req.StationIDs) > 0 || req.StationGroupID != "" {
		return domain.Errorf(domain.ErrInvalid, "stationIds and stationGroupId belong to POST /api/v1/local-list/sync; this route syncs the station in its path")
	}
	timeout, err := s.callTimeout(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	res, err := s.ops.SyncLocalList(ctx, actorOf(r.Context()), r.PathValue("id"), req.Full)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, syncView(res))
	return nil
}

// syncLocalLists syncs several stations (stationIds, or every station of stationGroupId; neither:
// every connected station) and answers per station.
func (s *Server) syncLocalLists(w http.ResponseWriter, r *http.Request) error {
	req, err := s.readSyncRequest(w, r)
	if err != nil {
		return err
	}
	timeout, err := s.callTimeout(r)
	if err != nil {
		return err
	}
	ids := req.StationIDs
	if req.StationGroupID != "" {
		if len(ids) > 0 {
			return domain.Errorf(domain.ErrInvalid, "give stationIds or stationGroupId, not both")
		}
		if ids, err = s.store.StationGroupMembers(r.Context(), req.StationGroupID); err != nil {
			return err
		}
	} else if len(ids) == 0 {
		page := domain.Page{Limit: 500}
		for {
			sts, next, err := s.store.Stations(r.Context(), page)
			if err != nil {
				return err
			}
			for _, st := range sts {
				if st.Connected {
					ids = append(ids, st.ID)
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	sort.Strings(ids)
	// A few stations at a time: each sync waits for two answers, and one slow station must not
	// hold up the rest.
	items := make([]syncJSON, len(ids))
	sem := make(chan struct{}, bulkParallel)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			res, err := s.ops.SyncLocalList(ctx, actorOf(r.Context()), id, req.Full)
			v := syncView(res)
			v.StationID = id
			if err != nil {
				_, d := describe(err)
				v.Error = &d
			}
			items[i] = v
		}()
	}
	wg.Wait()
	out := listResponse[syncJSON]{Items: items}
	writeJSON(w, http.StatusOK, out)
	return nil
}
