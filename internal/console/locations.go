package console

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/region"
)

// maxLocationStationsShown bounds the stations read per location for the list, map and page.
const maxLocationStationsShown = 500

type locationsData struct {
	Items []locationRow
	More  bool
	Form  *form
	// Map is what the map script draws: each location with its position and stations.
	Map []mapLocation
}

type locationRow struct {
	domain.Location
	Stations []domain.Station
}

type mapLocation struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Lat      float64      `json:"lat"`
	Lon      float64      `json:"lon"`
	Address  string       `json:"address"`
	Stations []mapStation `json:"stations"`
}

type mapStation struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func (s *Server) listLocations(w http.ResponseWriter, r *http.Request) error {
	return s.renderLocations(w, r, http.StatusOK, nil)
}

func (s *Server) renderLocations(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	ctx := r.Context()
	d := locationsData{Form: f, Map: []mapLocation{}}
	if d.Form == nil {
		d.Form = &form{Values: url.Values{"hours24": {"on"}}, Errors: map[string]string{}}
	}
	cursor := ""
	for {
		items, next, err := s.store.Locations(ctx, domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, l := range items {
			if len(d.Items) == 1000 {
				d.More = true
				break
			}
			sts, err := s.stationsAt(r, l.ID)
			if err != nil {
				return err
			}
			d.Items = append(d.Items, locationRow{Location: l, Stations: sts})
			ml := mapLocation{ID: l.ID, Name: l.Name, Lat: l.Latitude, Lon: l.Longitude,
				Address:  fmt.Sprintf("%s, %s %s, %s", l.Address.Street, l.Address.PostalCode, l.Address.City, l.Address.Country),
				Stations: []mapStation{}}
			for _, st := range sts {
				ml.Stations = append(ml.Stations, mapStation{ID: st.ID, State: stationState(st)})
			}
			d.Map = append(d.Map, ml)
		}
		if next == "" || d.More {
			break
		}
		cursor = next
	}
	return s.render(w, r, status, "locations", "Locations", "locations", d)
}

// stationsAt reads the stations of a location.
func (s *Server) stationsAt(r *http.Request, id string) ([]domain.Station, error) {
	ids, err := s.store.LocationStations(r.Context(), id, maxLocationStationsShown)
	if err != nil {
		return nil, err
	}
	sts := make([]domain.Station, 0, len(ids))
	for _, sid := range ids {
		st, err := s.store.Station(r.Context(), sid)
		if errors.Is(err, domain.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, err
		}
		sts = append(sts, st)
	}
	return sts, nil
}

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func weekdayOf(s string) int {
	for i, d := range weekdays {
		if strings.EqualFold(s, d) {
			return i + 1
		}
	}
	return 0
}

// parseHours reads opening hours as typed: around the clock, or one line per period such as
// "Mon-Fri 08:00-20:00" or "Sat 09:00-14:00". The domain checks the times themselves.
func parseHours(allDay bool, text string) (*domain.OpeningHours, error) {
	text = strings.TrimSpace(text)
	if allDay {
		if text != "" {
			return nil, fmt.Errorf("either open 24/7 or periods, not both")
		}
		return &domain.OpeningHours{TwentyFourSeven: true}, nil
	}
	if text == "" {
		return nil, nil
	}
	h := &domain.OpeningHours{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		days, span, ok := strings.Cut(line, " ")
		begin, end, ok2 := strings.Cut(strings.TrimSpace(span), "-")
		from, to, isRange := strings.Cut(days, "-")
		if !isRange {
			to = from
		}
		a, b := weekdayOf(from), weekdayOf(to)
		if !ok || !ok2 || a == 0 || b == 0 || a > b {
			return nil, fmt.Errorf("line %d: write a day or days and a time span, such as Mon-Fri 08:00-20:00", n+1)
		}
		for d := a; d <= b; d++ {
			h.Regular = append(h.Regular, domain.OpeningPeriod{Weekday: d, Begin: strings.TrimSpace(begin), End: strings.TrimSpace(end)})
		}
	}
	return h, nil
}

// hoursText writes opening hours back the way parseHours reads them.
func hoursText(h *domain.OpeningHours) (allDay bool, text string) {
	if h == nil {
		return false, ""
	}
	if h.TwentyFourSeven {
		return true, ""
	}
	ps := append([]domain.OpeningPeriod(nil), h.Regular...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Weekday < ps[j].Weekday })
	var lines []string
	for _, p := range ps {
		if p.Weekday >= 1 && p.Weekday <= 7 {
			lines = append(lines, fmt.Sprintf("%s %s-%s", weekdays[p.Weekday-1], p.Begin, p.End))
		}
	}
	return false, strings.Join(lines, "\n")
}

// locationFields maps the domain's messages to the form field they are about.
var locationFields = []struct{ prefix, field string }{
	{"name", "name"}, {"address.street", "street"}, {"address.city", "city"}, {"address.postalCode", "postalCode"},
	{"address.country", "country"}, {"address", "street"}, {"latitude", "latitude"}, {"longitude", "longitude"},
	{"timeZone", "timeZone"}, {"operator", "operator"}, {"openingHours", "hours"}, {"regularHours", "hours"},
}

// locationFromForm applies the form to l and checks the result with the same rules as the REST
// API (region.CheckLocation); each problem lands next to its field.
func locationFromForm(f *form, l *domain.Location) {
	l.Name = strings.TrimSpace(f.Get("name"))
	l.Address = domain.Address{Street: strings.TrimSpace(f.Get("street")), City: strings.TrimSpace(f.Get("city")),
		PostalCode: strings.TrimSpace(f.Get("postalCode")), Country: strings.ToUpper(strings.TrimSpace(f.Get("country")))}
	l.TimeZone = strings.TrimSpace(f.Get("timeZone"))
	l.Operator = strings.TrimSpace(f.Get("operator"))
	for _, c := range []struct {
		field string
		dst   *float64
	}{{"latitude", &l.Latitude}, {"longitude", &l.Longitude}} {
		v, err := strconv.ParseFloat(strings.TrimSpace(f.Get(c.field)), 64)
		if err != nil {
			f.fail(c.field, "enter a number in decimal degrees, such as 52.52")
			continue
		}
		*c.dst = v
	}
	hours, err := parseHours(f.Get("hours24") != "", f.Get("hours"))
	if err != nil {
		f.fail("hours", err.Error())
	}
	l.OpeningHours = hours
	if !f.ok() {
		return
	}
	if err := region.CheckLocation(*l); err != nil {
		msg := messageOf(err)
		field := "name"
		for _, lf := range locationFields {
			if strings.HasPrefix(msg, lf.prefix) {
				field = lf.field
				break
			}
		}
		f.fail(field, msg)
	}
}

func (s *Server) createLocation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	now := s.now().UTC()
	l := domain.Location{ID: "loc_" + hex.EncodeToString(b[:]), CreatedAt: now, UpdatedAt: now}
	locationFromForm(f, &l)
	if f.ok() {
		if err := s.store.CreateLocation(ctx, l); err != nil {
			return err
		}
	}
	if !f.ok() {
		return s.renderLocations(w, r, http.StatusBadRequest, f)
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "CreateLocation", locationAudit(l))
	s.setFlash(r, "Location "+l.Name+" created.", false)
	return redirect(w, r, "/locations/"+url.PathEscape(l.ID))
}

func locationAudit(l domain.Location) map[string]any {
	return map[string]any{"id": l.ID, "name": l.Name, "address": l.Address, "latitude": l.Latitude, "longitude": l.Longitude,
		"timeZone": l.TimeZone, "operator": l.Operator, "openingHours": l.OpeningHours}
}

type locationPageData struct {
	Location domain.Location
	Stations []domain.Station
	Form     *form
	// Unplaced lists stations without a location, offered for assignment.
	Unplaced []string
	Assign   *form
}

func (s *Server) locationPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderLocation(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderLocation(w http.ResponseWriter, r *http.Request, status int, f, assign *form) error {
	ctx := r.Context()
	id := r.PathValue("id")
	l, err := s.store.Location(ctx, id)
	if err != nil {
		return err
	}
	d := locationPageData{Location: l, Form: f, Assign: assign}
	if d.Stations, err = s.stationsAt(r, id); err != nil {
		return err
	}
	if d.Form == nil {
		allDay, text := hoursText(l.OpeningHours)
		v := url.Values{"name": {l.Name}, "street": {l.Address.Street}, "city": {l.Address.City}, "postalCode": {l.Address.PostalCode},
			"country": {l.Address.Country}, "latitude": {strconv.FormatFloat(l.Latitude, 'f', -1, 64)},
			"longitude": {strconv.FormatFloat(l.Longitude, 'f', -1, 64)}, "timeZone": {l.TimeZone}, "operator": {l.Operator}, "hours": {text}}
		if allDay {
			v.Set("hours24", "on")
		}
		d.Form = &form{Values: v, Errors: map[string]string{}}
	}
	if d.Assign == nil {
		d.Assign = &form{Errors: map[string]string{}}
	}
	if whoOf(ctx).user.Role.CanOperate() {
		if d.Unplaced, err = s.unplacedStations(r); err != nil {
			return err
		}
	}
	return s.render(w, r, status, "location", "Location "+l.Name, "locations", d)
}

// unplacedStations lists the ids of stations that stand at no location (up to 500).
func (s *Server) unplacedStations(r *http.Request) ([]string, error) {
	var out []string
	cursor := ""
	for read := 0; read < maxListed && len(out) < 500; {
		items, next, err := s.store.Stations(r.Context(), domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(items))
		for i, st := range items {
			ids[i] = st.ID
		}
		placed, err := s.store.StationLocations(r.Context(), ids)
		if err != nil {
			return nil, err
		}
		for _, sid := range ids {
			if _, ok := placed[sid]; !ok && len(out) < 500 {
				out = append(out, sid)
			}
		}
		read += len(items)
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

func (s *Server) updateLocation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	f := newForm(r)
	errForm := errors.New("form")
	l, err := s.store.UpdateLocation(ctx, id, func(l *domain.Location) error {
		locationFromForm(f, l)
		if !f.ok() {
			return errForm
		}
		l.UpdatedAt = s.now().UTC()
		return nil
	})
	if errors.Is(err, errForm) {
		return s.renderLocation(w, r, http.StatusBadRequest, f, nil)
	}
	if err != nil {
		return err
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "UpdateLocation", locationAudit(l))
	s.setFlash(r, "Location "+l.Name+" saved.", false)
	return redirect(w, r, "/locations/"+url.PathEscape(id))
}

// assignStation puts a station at this location, or (remove) takes it away from it.
func (s *Server) assignStation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.store.Location(ctx, id); err != nil {
		return err
	}
	f := newForm(r)
	stationID := strings.TrimSpace(f.Get("stationId"))
	target := id
	if f.Get("remove") != "" {
		target = ""
		locs, err := s.store.StationLocations(ctx, []string{stationID})
		if err != nil {
			return err
		}
		if locs[stationID] != id {
			f.fail("stationId", "station "+stationID+" is not at this location")
		}
	}
	if stationID == "" {
		f.fail("stationId", "choose a station")
	}
	if f.ok() {
		err := s.store.SetStationLocation(ctx, stationID, target)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			f.fail("stationId", "there is no station "+stationID)
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		return s.renderLocation(w, r, http.StatusBadRequest, nil, f)
	}
	s.audit(ctx, whoOf(ctx).user.Email, stationID, "SetStationLocation", map[string]any{"stationId": stationID, "locationId": target})
	if target == "" {
		s.setFlash(r, "Station "+stationID+" removed from this location.", false)
	} else {
		s.setFlash(r, "Station "+stationID+" assigned to this location.", false)
	}
	return redirect(w, r, "/locations/"+url.PathEscape(id))
}
