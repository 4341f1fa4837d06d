package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

// Read-only pages of what the REST API manages: tariffs, station groups, firmware campaigns and
// configuration templates with their drift. They read the same store records (and, for drift, the
// same csms.Service.TemplateDrift) as the API; changes stay with the API for now.

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
}

func (s *Server) listTariffs(w http.ResponseWriter, r *http.Request) error {
	items, more, err := allPages(func(p domain.Page) ([]domain.Tariff, string, error) { return s.store.Tariffs(r.Context(), p) })
	if err != nil {
		return err
	}
	d := tariffsData{More: more}
	for _, t := range items {
		d.Items = append(d.Items, decodeTariff(t))
	}
	return s.render(w, r, http.StatusOK, "tariffs", "Tariffs", "tariffs", d)
}

type tariffPageData struct {
	Tariff      tariffRow
	JSON        string
	Assignments []domain.TariffAssignment
	// Stations are the stations whose default tariff this is (station pricing), up to 1,000.
	Stations []string
}

func (s *Server) tariffPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.store.Tariff(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := tariffPageData{Tariff: decodeTariff(t)}
	var pretty bytes.Buffer
	if json.Indent(&pretty, t.Body, "", "  ") == nil {
		d.JSON = pretty.String()
	} else {
		d.JSON = string(t.Body)
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
	return s.render(w, r, http.StatusOK, "tariff", "Tariff "+t.ID, "tariffs", d)
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
	ctx := r.Context()
	g, err := s.store.StationGroup(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	members, err := s.store.StationGroupMembers(ctx, g.ID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "stationgroup", "Station group "+g.Name, "stationgroups", stationGroupRow{StationGroup: g, Members: members})
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
	// Drifted counts the stations that differ (or never reported).
	Drifted int
}

func (s *Server) configTemplatePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.store.ConfigTemplate(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := templatePageData{Template: t}
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
	}
	return s.render(w, r, http.StatusOK, "template", "Configuration template "+t.ID, "templates", d)
}
