package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
)

type stationFilter struct {
	Q, State, Model, Firmware, Conn string
}

type stationsData struct {
	Filter    stationFilter
	Items     []stationRow
	Total     int
	Models    []string
	Firmwares []string
	States    []string
}

type stationRow struct {
	domain.Station
	State string
}

const maxStationRows = 500

func (s *Server) listStations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := stationFilter{Q: strings.TrimSpace(q.Get("q")), State: q.Get("state"), Model: q.Get("model"),
		Firmware: q.Get("firmware"), Conn: q.Get("conn")}
	all, err := s.allStations(r.Context())
	if err != nil {
		return err
	}
	d := stationsData{Filter: f, States: []string{"online", "offline", "faulted", "unavailable", "pending", "rejected"}}
	models, firmwares := map[string]bool{}, map[string]bool{}
	needle := strings.ToLower(f.Q)
	for _, st := range all {
		if st.Model != "" {
			models[st.Model] = true
		}
		if st.FirmwareVersion != "" {
			firmwares[st.FirmwareVersion] = true
		}
		state := stationState(st)
		switch {
		case needle != "" && !strings.Contains(strings.ToLower(st.ID+" "+st.Name+" "+st.Vendor+" "+st.SerialNumber), needle):
			continue
		case f.State != "" && f.State != state:
			continue
		case f.Model != "" && f.Model != st.Model:
			continue
		case f.Firmware != "" && f.Firmware != st.FirmwareVersion:
			continue
		case f.Conn == "connected" && !st.Connected, f.Conn == "disconnected" && st.Connected:
			continue
		}
		d.Total++
		if len(d.Items) < maxStationRows {
			d.Items = append(d.Items, stationRow{Station: st, State: state})
		}
	}
	for m := range models {
		d.Models = append(d.Models, m)
	}
	for fw := range firmwares {
		d.Firmwares = append(d.Firmwares, fw)
	}
	slices.Sort(d.Models)
	slices.Sort(d.Firmwares)
	return s.render(w, r, http.StatusOK, "stations", "Stations", "stations", d)
}

// opChoices are the values a remote operation's form offers, per OCPP version.
type opChoices struct {
	ResetTypes    []string
	TriggerMsgs   []string
	Availability  []string
	ConfigByParts bool // 2.0.1: component + variable instead of one key
}

func choicesFor(version string) opChoices {
	if version == domain.OCPP201 {
		return opChoices{ResetTypes: []string{"OnIdle", "Immediate"},
			TriggerMsgs:   []string{"BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "TransactionEvent", "FirmwareStatusNotification", "LogStatusNotification"},
			Availability:  []string{"Operative", "Inoperative"},
			ConfigByParts: true}
	}
	return opChoices{ResetTypes: []string{"Soft", "Hard"},
		TriggerMsgs:  []string{"BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "FirmwareStatusNotification", "DiagnosticsStatusNotification"},
		Availability: []string{"Operative", "Inoperative"}}
}

type stationPageData struct {
	Station  domain.Station
	State    string
	Choices  opChoices
	Active   []domain.Session
	Recent   []domain.Session
	Events   []domain.StationEvent
	Audit    []domain.AuditEntry
	Form     *form
	FormOp   string
	Result   *opResult
	Operable bool
	// Location is where the station stands; nil when it is assigned to none.
	Location *domain.Location
	// EVSELocations are the EVSEs with a location of their own: EVSE id → that location.
	EVSELocations map[int]domain.Location
	// Config is the station's stored configuration (1.6 keys) or device model (2.0.1
	// variables), as last reported.
	Config []domain.ConfigItem
}

// opResult is the outcome of a remote operation, shown on the station page.
type opResult struct {
	Op, Summary, Answer string
	Failed              bool
}

func (s *Server) stationPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderStation(w, r, http.StatusOK, r.PathValue("id"), nil, "", nil)
}

func (s *Server) renderStation(w http.ResponseWriter, r *http.Request, status int, id string, f *form, op string, res *opResult) error {
	ctx := r.Context()
	st, err := s.store.Station(ctx, id)
	if err != nil {
		return err
	}
	d := stationPageData{Station: st, State: stationState(st), Choices: choicesFor(st.OCPPVersion), Form: f, FormOp: op, Result: res,
		Operable: st.Connected && whoOf(ctx).user.Role.CanOperate()}
	if d.Form == nil {
		d.Form = &form{Errors: map[string]string{}}
	}
	if d.Active, _, err = s.store.Sessions(ctx, domain.SessionFilter{StationID: id, Status: domain.SessionActive}, domain.Page{Limit: 50}); err != nil {
		return err
	}
	if d.Recent, _, err = s.store.Sessions(ctx, domain.SessionFilter{StationID: id, Status: domain.SessionCompleted}, domain.Page{Limit: 10}); err != nil {
		return err
	}
	if d.Events, _, err = s.store.StationEvents(ctx, id, domain.Page{Limit: 10}); err != nil {
		return err
	}
	if d.Audit, _, err = s.store.Audit(ctx, id, domain.Page{Limit: 10}); err != nil {
		return err
	}
	if d.Config, err = s.store.StationConfig(ctx, id); err != nil {
		return err
	}
	locs, err := s.store.StationLocations(ctx, []string{id})
	if err != nil {
		return err
	}
	if lid, ok := locs[id]; ok {
		if l, err := s.store.Location(ctx, lid); err == nil {
			d.Location = &l
		}
	}
	own, err := s.store.EVSELocations(ctx, []string{id})
	if err != nil {
		return err
	}
	d.EVSELocations = map[int]domain.Location{}
	for evse, lid := range own[id] {
		if l, err := s.store.Location(ctx, lid); err == nil {
			d.EVSELocations[evse] = l
		}
	}
	return s.render(w, r, status, "station", "Station "+st.ID, "stations", d)
}

// stationOperation runs one remote operation from the station page's forms. A form with
// mistakes is shown again with its values and a message next to each wrong field; a call the
// station answers is shown with its answer.
func (s *Server) stationOperation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, op := r.PathValue("id"), r.PathValue("op")
	st, err := s.store.Station(ctx, id)
	if err != nil {
		return err
	}
	f := newForm(r)
	ch := choicesFor(st.OCPPVersion)
	v201 := st.OCPPVersion == domain.OCPP201
	actor := whoOf(ctx).user.Email
	var (
		action  string
		payload any
	)
	switch op {
	case "reset":
		typ := f.Get("type")
		if !slices.Contains(ch.ResetTypes, typ) {
			f.fail("type", "choose one of "+strings.Join(ch.ResetTypes, ", "))
		}
		action, payload = "Reset", map[string]any{"type": typ}
	case "unlock":
		evse, conn := intField(f, "evse", 1), intField(f, "connector", 1)
		action = "UnlockConnector"
		if v201 {
			payload = map[string]any{"evseId": evse, "connectorId": conn}
		} else {
			payload = map[string]any{"connectorId": evse}
		}
	case "availability":
		typ := f.Get("type")
		if !slices.Contains(ch.Availability, typ) {
			f.fail("type", "choose Operative or Inoperative")
		}
		evse := intField(f, "evse", 0)
		action = "ChangeAvailability"
		if v201 {
			p := map[string]any{"operationalStatus": typ}
			if evse > 0 {
				p["evse"] = map[string]any{"id": evse}
			}
			payload = p
		} else {
			payload = map[string]any{"connectorId": evse, "type": typ}
		}
	case "trigger":
		msg := f.Get("message")
		if !slices.Contains(ch.TriggerMsgs, msg) {
			f.fail("message", "choose a message from the list")
		}
		evse := intField(f, "evse", 0)
		action = "TriggerMessage"
		p := map[string]any{"requestedMessage": msg}
		if evse > 0 {
			if v201 {
				p["evse"] = map[string]any{"id": evse}
			} else {
				p["connectorId"] = evse
			}
		}
		payload = p
	case "config":
		value := f.Get("value")
		if len(value) > 500 {
			f.fail("value", "at most 500 characters")
		}
		if v201 {
			comp, variable := strings.TrimSpace(f.Get("component")), strings.TrimSpace(f.Get("variable"))
			if comp == "" || len(comp) > 50 {
				f.fail("component", "enter the component name (1 to 50 characters), e.g. OCPPCommCtrlr")
			}
			if variable == "" || len(variable) > 50 {
				f.fail("variable", "enter the variable name (1 to 50 characters), e.g. HeartbeatInterval")
			}
			if len(value) > 1000 {
				f.fail("value", "at most 1000 characters")
			}
			action, payload = "SetVariables", map[string]any{"setVariableData": []any{map[string]any{
				"attributeValue": value, "component": map[string]any{"name": comp}, "variable": map[string]any{"name": variable}}}}
		} else {
			key := strings.TrimSpace(f.Get("key"))
			if key == "" || len(key) > 50 {
				f.fail("key", "enter the configuration key (1 to 50 characters), e.g. HeartbeatInterval")
			}
			action, payload = "ChangeConfiguration", map[string]any{"key": key, "value": value}
		}
	case "start":
		token := strings.TrimSpace(f.Get("idToken"))
		if !tokenUIDPattern.MatchString(token) {
			f.fail("idToken", "enter the token uid: 1 to 36 printable characters without spaces")
		}
		evse := intField(f, "evse", 0)
		if !f.ok() {
			return s.renderStation(w, r, http.StatusBadRequest, id, f, op, nil)
		}
		res, err := s.withTimeout(ctx, func(ctx context.Context) (any, error) {
			return s.ops.StartSession(ctx, actor, id, evse, token)
		})
		return s.showResult(w, r, id, f, op, "Remote start", res, err)
	default:
		return errNoPage
	}
	if !f.ok() {
		return s.renderStation(w, r, http.StatusBadRequest, id, f, op, nil)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	res, err := s.withTimeout(ctx, func(ctx context.Context) (any, error) {
		return s.ops.Call(ctx, actor, id, action, body)
	})
	return s.showResult(w, r, id, f, op, action, res, err)
}

func (s *Server) withTimeout(ctx context.Context, fn func(ctx context.Context) (any, error)) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return fn(ctx)
}

// showResult renders the station page with the station's answer (or why there is none).
func (s *Server) showResult(w http.ResponseWriter, r *http.Request, id string, f *form, op, action string, res any, err error) error {
	out := &opResult{Op: op}
	status := http.StatusOK
	if err != nil {
		status, out.Summary = explain(err)
		if status == http.StatusInternalServerError {
			return err
		}
		out.Summary = action + " failed: " + out.Summary
		out.Failed = true
	} else {
		answer, _ := json.Marshal(res)
		out.Answer = string(answer)
		out.Summary = action + ": " + answerStatus(res)
	}
	return s.renderStation(w, r, status, id, f, op, out)
}

// answerStatus pulls the status out of a station's answer ("Accepted", "Rejected", …).
func answerStatus(res any) string {
	switch v := res.(type) {
	case json.RawMessage:
		var a struct {
			Status            string `json:"status"`
			SetVariableResult []struct {
				AttributeStatus string `json:"attributeStatus"`
			} `json:"setVariableResult"`
		}
		if json.Unmarshal(v, &a) == nil {
			if a.Status != "" {
				return a.Status
			}
			if len(a.SetVariableResult) > 0 {
				return a.SetVariableResult[0].AttributeStatus
			}
		}
		return "answered"
	case domain.RemoteStart:
		return v.Status
	}
	return fmt.Sprint(res)
}

func intField(f *form, name string, def int) int {
	v := strings.TrimSpace(f.Get(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1000 {
		f.fail(name, "enter a whole number from 0 to 1000")
		return def
	}
	return n
}

// stationRegistration approves or rejects a (pending) station.
func (s *Server) stationRegistration(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	status := domain.RegistrationStatus(r.PostFormValue("status"))
	if !status.Valid() {
		return domain.Errorf(domain.ErrInvalid, "registration status must be Accepted, Pending or Rejected")
	}
	if _, err := s.store.UpdateStation(ctx, id, domain.StationPatch{RegistrationStatus: &status}); err != nil {
		return err
	}
	s.ops.StationChanged(ctx, id)
	s.audit(ctx, whoOf(ctx).user.Email, id, "UpdateStation", map[string]any{"registrationStatus": status})
	s.setFlash(r, fmt.Sprintf("Station %s is now %s.", id, status), false)
	return redirect(w, r, "/stations/"+urlPath(id))
}
