package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

// Pages of what the REST API manages: tariffs (which operators can also create and change, as
// OCPI JSON checked by the same pricing.Record as PUT /api/v1/tariffs/{id}), and read-only views
// of station groups, plus firmware campaigns (resume, cancel) and configuration templates with
// their drift (apply), acting through the same csms.Service methods as the API. They read
// the same store records (and, for drift, the same csms.Service.TemplateDrift) as the API.

// maxCatalogRows bounds each of these lists (the API pages further).
const maxCatalogRows = 1000

// allPages reads up to maxCatalogRows items of a paged store list; more tells that there are more.
func allPages[T any](list func(p domain.Page) ([]T, string, error)) (items []T, more bool, err error) {
	cursor := ""
	for {
		page, next, err := list(domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, false, err
		}
		items = append(items, page...)
		if len(items) >= maxCatalogRows {
			return items[:maxCatalogRows], next != "" || len(items) > maxCatalogRows, nil
		}
		if next == "" {
			return items, false, nil
		}
		cursor = next
	}
}

// tariffRow is a stored tariff with its OCPI body decoded.
type tariffRow struct {
	domain.Tariff
	OCPI pricing.Tariff
	// Bad is set when the stored body does not decode (it was validated when stored, so this
	// means a newer or damaged record); the page then shows the JSON only.
	Bad bool
}

func decodeTariff(t domain.Tariff) tariffRow {
	row := tariffRow{Tariff: t}
	if err := json.Unmarshal(t.Body, &row.OCPI); err != nil {
		row.Bad = true
	}
	return row
}

type tariffsData struct {
	Items []tariffRow
	More  bool
	Form  *form
}

func (s *Server) listTariffs(w http.ResponseWriter, r *http.Request) error {
	return s.renderTariffs(w, r, http.StatusOK, nil)
}

func (s *Server) renderTariffs(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	items, more, err := allPages(func(p domain.Page) ([]domain.Tariff, string, error) { return s.store.Tariffs(r.Context(), p) })
	if err != nil {
		return err
	}
	if f == nil {
		f = &form{Values: url.Values{"ocpi": {tariffExample}}, Errors: map[string]string{}}
	}
	d := tariffsData{More: more, Form: f}
	for _, t := range items {
		d.Items = append(d.Items, decodeTariff(t))
	}
	return s.render(w, r, status, "tariffs", "Tariffs", "tariffs", d)
}

// tariffExample prefills the new-tariff form: a valid OCPI tariff to edit.
const tariffExample = `{
  "currency": "EUR",
  "elements": [
    {"price_components": [
      {"type": "ENERGY", "price": 0.30, "vat": 19, "step_size": 1},
      {"type": "PARKING_TIME", "price": 6.00, "vat": 19, "step_size": 60}
    ]}
  ]
}`

// tariffFromForm checks the OCPI JSON typed into a tariff form and returns the record to store;
// problems are put next to the id or the JSON field.
func (s *Server) tariffFromForm(f *form, id string) (domain.Tariff, bool) {
	if err := pricing.CheckTariffID(id); err != nil {
		f.fail("id", clientMessage(err))
	}
	dec := json.NewDecoder(strings.NewReader(f.Get("ocpi")))
	dec.DisallowUnknownFields()
	var t pricing.Tariff
	if err := dec.Decode(&t); err != nil {
		f.fail("ocpi", "this is not an OCPI tariff object: "+jsonProblem(err))
	} else if dec.More() {
		f.fail("ocpi", "enter one JSON object only")
	}
	if !f.ok() {
		return domain.Tariff{}, false
	}
	rec, err := pricing.Record(id, t, s.now())
	if err != nil {
		f.fail("ocpi", clientMessage(err))
		return domain.Tariff{}, false
	}
	return rec, true
}

// jsonProblem says what is wrong with typed JSON in words a person can act on.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("a JSON syntax error at character %d (%s)", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		return fmt.Sprintf("%s must be a %s, not a %s", or(typ.Field, "the value"), typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early (a bracket, brace or quote is not closed)"
	case errors.Is(err, io.EOF):
		return "it is empty"
	}
	return err.Error()
}

// clientMessage is the text of a client-safe domain error.
func clientMessage(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}

// createTariff stores a new tariff typed as OCPI JSON (an existing id is refused: edit that
// tariff on its page).
func (s *Server) createTariff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r)
	id := strings.TrimSpace(f.Get("id"))
	rec, ok := s.tariffFromForm(f, id)
	if ok {
		if _, err := s.store.Tariff(ctx, id); err == nil {
			f.fail("id", "a tariff "+id+" exists; change it on its page")
			ok = false
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
	}
	if !ok {
		return s.renderTariffs(w, r, http.StatusBadRequest, f)
	}
	if _, err := s.store.PutTariff(ctx, rec); err != nil {
		return err
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "PutTariff", json.RawMessage(rec.Body))
	s.setFlash(r, "Tariff "+id+" created.", false)
	return redirect(w, r, "/tariffs/"+url.PathEscape(id))
}

// updateTariff replaces a tariff with the OCPI JSON typed on its page. Sessions already started
// keep the tariff they were pinned to (docs/tariffs.md).
func (s *Server) updateTariff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.store.Tariff(ctx, id); err != nil {
		return err
	}
	f := newForm(r)
	rec, ok := s.tariffFromForm(f, id)
	if !ok {
		return s.renderTariff(w, r, http.StatusBadRequest, f)
	}
	if _, err := s.store.PutTariff(ctx, rec); err != nil {
		return err
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "PutTariff", json.RawMessage(rec.Body))
	s.setFlash(r, "Tariff "+id+" saved.", false)
	return redirect(w, r, "/tariffs/"+url.PathEscape(id))
}

type tariffPageData struct {
	Tariff      tariffRow
	JSON        string
	Form        *form
	Assignments []domain.TariffAssignment
	// Stations are the stations whose default tariff this is (station pricing), up to 1,000.
	Stations []string
}

func (s *Server) tariffPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderTariff(w, r, http.StatusOK, nil)
}

func (s *Server) renderTariff(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	ctx := r.Context()
	t, err := s.store.Tariff(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := tariffPageData{Tariff: decodeTariff(t), Form: f}
	var pretty bytes.Buffer
	if json.Indent(&pretty, t.Body, "", "  ") == nil {
		d.JSON = pretty.String()
	} else {
		d.JSON = string(t.Body)
	}
	if d.Form == nil {
		d.Form = &form{Values: url.Values{"ocpi": {d.JSON}}, Errors: map[string]string{}}
	}
	assignments, _, err := allPages(func(p domain.Page) ([]domain.TariffAssignment, string, error) {
		return s.store.TariffAssignments(ctx, "", p)
	})
	if err != nil {
		return err
	}
	for _, a := range assignments {
		if a.TariffID == t.ID {
			d.Assignments = append(d.Assignments, a)
		}
	}
	return s.render(w, r, status, "tariff", "Tariff "+t.ID, "tariffs", d)
}

// restrictionText says in a few words when a tariff element applies.
func restrictionText(rs *pricing.TariffRestrictions) string {
	if rs == nil {
		return "always"
	}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if rs.StartTime != "" || rs.EndTime != "" {
		add("%s–%s", or(rs.StartTime, "00:00"), or(rs.EndTime, "24:00"))
	}
	if len(rs.DayOfWeek) > 0 {
		days := make([]string, len(rs.DayOfWeek))
		for i, d := range rs.DayOfWeek {
			days[i] = strings.ToLower(d[:min(3, len(d))])
		}
		add("%s", strings.Join(days, " "))
	}
	if rs.StartDate != "" || rs.EndDate != "" {
		add("dates %s to %s", or(rs.StartDate, "…"), or(rs.EndDate, "…"))
	}
	num := func(n *pricing.Number) string { return n.String() }
	if rs.MinKWh != nil {
		add("from %s kWh", num(rs.MinKWh))
	}
	if rs.MaxKWh != nil {
		add("below %s kWh", num(rs.MaxKWh))
	}
	if rs.MinPower != nil {
		add("from %s kW", num(rs.MinPower))
	}
	if rs.MaxPower != nil {
		add("below %s kW", num(rs.MaxPower))
	}
	if rs.MinCurrent != nil {
		add("from %s A", num(rs.MinCurrent))
	}
	if rs.MaxCurrent != nil {
		add("below %s A", num(rs.MaxCurrent))
	}
	if rs.MinDuration != nil {
		add("after %d s", *rs.MinDuration)
	}
	if rs.MaxDuration != nil {
		add("before %d s", *rs.MaxDuration)
	}
	if rs.Reservation != "" {
		add("%s", strings.ToLower(rs.Reservation))
	}
	if len(parts) == 0 {
		return "always"
	}
	return strings.Join(parts, ", ")
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// componentText says what one price component costs, excl. VAT, in the tariff's currency.
func componentText(c pricing.PriceComponent, currency string) string {
	unit := map[pricing.Dimension]string{pricing.DimensionEnergy: "/kWh", pricing.DimensionTime: "/h charging",
		pricing.DimensionParkingTime: "/h parking", pricing.DimensionFlat: " per session"}[c.Type]
	text := fmt.Sprintf("%s %s%s", c.Price.String(), currency, unit)
	if c.Vat != nil {
		text += fmt.Sprintf(", VAT %s %%", c.Vat.String())
	}
	if c.StepSize > 0 && c.Type != pricing.DimensionFlat { // a flat fee is not stepped
		step := map[pricing.Dimension]string{pricing.DimensionEnergy: "Wh"}[c.Type]
		if step == "" {
			step = "s"
		}
		text += fmt.Sprintf(", billed per %d %s", c.StepSize, step)
	}
	return text
}

type stationGroupRow struct {
	domain.StationGroup
	Members []string
	// Form is the add-a-station form of the group's page.
	Form *form
}

type stationGroupsData struct {
	Items []stationGroupRow
	More  bool
}

func (s *Server) listStationGroups(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	items, more, err := allPages(func(p domain.Page) ([]domain.StationGroup, string, error) { return s.store.StationGroups(ctx, p) })
	if err != nil {
		return err
	}
	d := stationGroupsData{More: more}
	for _, g := range items {
		members, err := s.store.StationGroupMembers(ctx, g.ID)
		if err != nil {
			return err
		}
		d.Items = append(d.Items, stationGroupRow{StationGroup: g, Members: members})
	}
	return s.render(w, r, http.StatusOK, "stationgroups", "Station groups", "stationgroups", d)
}

func (s *Server) stationGroupPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderStationGroup(w, r, http.StatusOK, nil)
}

func (s *Server) renderStationGroup(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	ctx := r.Context()
	g, err := s.store.StationGroup(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	members, err := s.store.StationGroupMembers(ctx, g.ID)
	if err != nil {
		return err
	}
	if f == nil {
		f = &form{Errors: map[string]string{}}
	}
	return s.render(w, r, status, "stationgroup", "Station group "+g.Name, "stationgroups", stationGroupRow{StationGroup: g, Members: members, Form: f})
}

// groupStation puts a station in this group (moving it from any other: a station is in one
// group at most), or (remove) takes it out, as PATCH /api/v1/stations/{id} with groupId does.
// Nothing is sent to the station: its next local-list sync carries the change.
func (s *Server) groupStation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.store.StationGroup(ctx, id); err != nil {
		return err
	}
	f := newForm(r)
	stationID := strings.TrimSpace(f.Get("stationId"))
	target := id
	if stationID == "" {
		f.fail("stationId", "enter a station id")
	}
	if f.ok() && f.Get("remove") != "" {
		target = ""
		groups, err := s.store.StationGroupsOf(ctx, []string{stationID})
		if err != nil {
			return err
		}
		if groups[stationID] != id {
			f.fail("stationId", "station "+stationID+" is not in this group")
		}
	}
	if f.ok() {
		err := s.store.SetStationGroup(ctx, stationID, target)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			f.fail("stationId", "there is no station "+stationID)
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		return s.renderStationGroup(w, r, http.StatusBadRequest, f)
	}
	s.ops.StationChanged(ctx, stationID)
	s.audit(ctx, whoOf(ctx).user.Email, stationID, "UpdateStation", map[string]any{"groupId": nullable(target)})
	if target == "" {
		s.setFlash(r, "Station "+stationID+" taken out of this group.", false)
	} else {
		s.setFlash(r, "Station "+stationID+" is in this group now.", false)
	}
	return redirect(w, r, "/station-groups/"+url.PathEscape(id))
}

// nullable is v, or nil (JSON null) when empty: audit entries write a cleared id as null, as the
// REST API does.
func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// campaignRow is a campaign with its targets counted by state.
type campaignRow struct {
	domain.Campaign
	Counts map[string]int
}

func countTargets(c domain.Campaign) campaignRow {
	row := campaignRow{Campaign: c, Counts: map[string]int{}}
	for _, t := range c.Targets {
		row.Counts[t.Status]++
	}
	return row
}

type campaignsData struct {
	Items []campaignRow
	More  bool
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	items, more, err := allPages(func(p domain.Page) ([]domain.Campaign, string, error) { return s.store.Campaigns(r.Context(), p) })
	if err != nil {
		return err
	}
	d := campaignsData{More: more}
	for _, c := range items {
		d.Items = append(d.Items, countTargets(c))
	}
	return s.render(w, r, http.StatusOK, "campaigns", "Firmware campaigns", "campaigns", d)
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNoPage
	}
	c, err := s.store.Campaign(r.Context(), id)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "campaign", "Firmware campaign "+c.Name, "campaigns", countTargets(c))
}

// campaignAction resumes a halted campaign or cancels one (after the browser's confirmation),
// through the same csms.Service methods as the REST API; they write the audit entry under the
// user's email. A campaign in the wrong state is refused with the reason (409).
func (s *Server) campaignAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNoPage
	}
	actor := whoOf(ctx).user.Email
	var c domain.Campaign
	switch r.PathValue("action") {
	case "resume":
		c, err = s.ops.ResumeCampaign(ctx, actor, id)
	case "cancel":
		c, err = s.ops.CancelCampaign(ctx, actor, id)
	default:
		return errNoPage
	}
	if err != nil {
		return err
	}
	s.setFlash(r, fmt.Sprintf("Campaign %s is now %s.", c.Name, c.Status), false)
	return redirect(w, r, fmt.Sprintf("/campaigns/%d", id))
}

type templatesData struct {
	Items []domain.ConfigTemplate
}

func (s *Server) listConfigTemplates(w http.ResponseWriter, r *http.Request) error {
	items, err := s.store.ConfigTemplates(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "templates", "Configuration templates", "templates", templatesData{Items: items})
}

type templatePageData struct {
	Template domain.ConfigTemplate
	Keys     []string
	Drift    []domain.ConfigDrift
	// Drifted counts the stations that differ (or never reported); Applicable those that differ
	// (a station that never reported has nothing to compare, so nothing is sent to it).
	Drifted, Applicable int
	// Applied is the outcome of "apply", shown on the answer to it.
	Applied []appliedRow
}

// appliedRow is one station's outcome of a template apply.
type appliedRow struct {
	domain.TemplateApply
	Error string // the station could not be asked (client-safe text)
}

func (s *Server) configTemplatePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderTemplate(w, r, http.StatusOK, nil)
}

// applyConfigTemplate sends the template's values to every drifted station of its model (after
// the browser's confirmation) through csms.Service.ApplyTemplate, as the REST API's apply; each
// set is audited under the user's email. The page then shows every station's answer per key.
func (s *Server) applyConfigTemplate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.store.ConfigTemplate(ctx, id); err != nil {
		return err
	}
	// Several keys per station, a few stations at a time: allow for several answers in a row.
	callCtx, cancel := context.WithTimeout(ctx, 4*s.cfg.CallTimeout)
	defer cancel()
	results, err := s.ops.ApplyTemplate(callCtx, whoOf(ctx).user.Email, id, nil)
	if err != nil {
		return err
	}
	applied := make([]appliedRow, 0, len(results))
	for _, res := range results {
		row := appliedRow{TemplateApply: res}
		if res.Err != nil {
			_, row.Error = explain(res.Err)
		}
		applied = append(applied, row)
	}
	return s.renderTemplate(w, r, http.StatusOK, applied)
}

func (s *Server) renderTemplate(w http.ResponseWriter, r *http.Request, status int, applied []appliedRow) error {
	ctx := r.Context()
	t, err := s.store.ConfigTemplate(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := templatePageData{Template: t, Applied: applied}
	for k := range t.Values {
		d.Keys = append(d.Keys, k)
	}
	slices.Sort(d.Keys)
	if d.Drift, err = s.ops.TemplateDrift(ctx, t.ID); err != nil {
		return err
	}
	for _, dr := range d.Drift {
		if len(dr.Differences) > 0 || !dr.Reported {
			d.Drifted++
		}
		if len(dr.Differences) > 0 {
			d.Applicable++
		}
	}
	return s.render(w, r, status, "template", "Configuration template "+t.ID, "templates", d)
}
