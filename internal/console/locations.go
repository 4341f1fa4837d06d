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
	Stations []placed
}

// placed is a station with something at a location: the station itself (assigned there) and/or
// some of its EVSEs (assigned there on their own).
type placed struct {
	domain.Station
	// Assigned: the station itself is assigned to the location.
	Assigned bool
	// Here are the EVSEs at the location; Partial is set when some of its EVSEs are not.
	Here    []placedEVSE
	Partial bool
	// Elsewhere are the EVSEs of an assigned station that stand at another location.
	Elsewhere []placedEVSE
}

type placedEVSE struct {
	domain.EVSE
	// Own: the EVSE has a location of its own (else it is where its station is).
	Own      bool
	Location string
}

// EVSEIDs lists the ids of the EVSEs here (for the map's popup).
func (p placed) EVSEIDs() []int {
	ids := make([]int, len(p.Here))
	for i, e := range p.Here {
		ids[i] = e.ID
	}
	return ids
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
	// EVSEs lists the EVSEs at this location when not all of the station's are.
	EVSEs []int `json:"evses,omitempty"`
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
				m := mapStation{ID: st.ID, State: stationState(st.Station)}
				if st.Partial {
					m.EVSEs = st.EVSEIDs()
				}
				ml.Stations = append(ml.Stations, m)
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

// stationsAt reads what stands at a location: the stations assigned to it and the stations with
// an EVSE assigned to it on its own, ordered by id, each with the EVSEs that are here (an EVSE's
// own location overrides its station's) and those of an assigned station that are elsewhere.
func (s *Server) stationsAt(r *http.Request, id string) ([]placed, error) {
	ctx := r.Context()
	ids, assigned, err := domain.StationsAt(ctx, s.store, id, maxLocationStationsShown)
	if err != nil {
		return nil, err
	}
	own, err := s.store.EVSELocations(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]placed, 0, len(ids))
	for _, sid := range ids {
		st, err := s.store.Station(ctx, sid)
		if errors.Is(err, domain.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, err
		}
		p := placed{Station: st, Assigned: assigned[sid]}
		stationLoc := ""
		if p.Assigned {
			stationLoc = id
		}
		for _, e := range st.EVSEs {
			loc := domain.EVSELocation(stationLoc, own[sid], e.ID)
			_, isOwn := own[sid][e.ID]
			pe := placedEVSE{EVSE: e, Own: isOwn, Location: loc}
			switch {
			case loc == id:
				p.Here = append(p.Here, pe)
			case p.Assigned:
				p.Elsewhere = append(p.Elsewhere, pe)
			}
		}
		p.Partial = len(p.Here) < len(st.EVSEs)
		out = append(out, p)
	}
	return out, nil
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
	Stations []placed
	Form     *form
	// Unplaced lists stations without a location, offered for assignment.
	Unplaced []string
	Assign   *form
	// AssignEVSE is the form that puts one EVSE here on its own; Delete the deletion form.
	AssignEVSE, Delete *form
	// Names maps the ids of other locations named on the page to their names.
	Names map[string]string
}

func (s *Server) locationPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderLocation(w, r, http.StatusOK, locationForms{})
}

// locationForms are the forms of a location page; nil ones are shown empty (or, for the edit
// form, with the stored values).
type locationForms struct {
	edit, assign, assignEVSE, delete *form
}

func (s *Server) renderLocation(w http.ResponseWriter, r *http.Request, status int, forms locationForms) error {
	ctx := r.Context()
	id := r.PathValue("id")
	l, err := s.store.Location(ctx, id)
	if err != nil {
		return err
	}
	d := locationPageData{Location: l, Form: forms.edit, Assign: forms.assign, AssignEVSE: forms.assignEVSE,
		Delete: forms.delete, Names: map[string]string{}}
	if d.Stations, err = s.stationsAt(r, id); err != nil {
		return err
	}
	for _, p := range d.Stations {
		for _, e := range p.Elsewhere {
			if _, ok := d.Names[e.Location]; ok || e.Location == "" {
				continue
			}
			other, err := s.store.Location(ctx, e.Location)
			if err == nil {
				d.Names[e.Location] = other.Name
			} else if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
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
	for _, f := range []**form{&d.Assign, &d.AssignEVSE, &d.Delete} {
		if *f == nil {
			*f = &form{Errors: map[string]string{}}
		}
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
		return s.renderLocation(w, r, http.StatusBadRequest, locationForms{edit: f})
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
		return s.renderLocation(w, r, http.StatusBadRequest, locationForms{assign: f})
	}
	s.audit(ctx, whoOf(ctx).user.Email, stationID, "SetStationLocation", map[string]any{"stationId": stationID, "locationId": target})
	if target == "" {
		s.setFlash(r, "Station "+stationID+" removed from this location.", false)
	} else {
		s.setFlash(r, "Station "+stationID+" assigned to this location.", false)
	}
	return redirect(w, r, "/locations/"+url.PathEscape(id))
}

// assignEVSE puts one EVSE of a station at this location on its own (overriding its station's
// location), or (remove) takes that away: the EVSE is then where its station is.
func (s *Server) assignEVSE(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.store.Location(ctx, id); err != nil {
		return err
	}
	f := newForm(r)
	stationID := strings.TrimSpace(f.Get("stationId"))
	evseText := strings.TrimSpace(f.Get("evseId"))
	remove := f.Get("remove") != ""
	if stationID == "" {
		f.fail("stationId", "choose a station")
	}
	evseID, err := strconv.Atoi(evseText)
	if err != nil || evseID < 1 {
		f.fail("evseId", "enter the number of the EVSE (1, 2, …)")
	}
	target := id
	if f.ok() && remove {
		target = ""
		own, err := s.store.EVSELocations(ctx, []string{stationID})
		if err != nil {
			return err
		}
		if own[stationID][evseID] != id {
			f.fail("evseId", fmt.Sprintf("EVSE %d of %s is not assigned to this location on its own", evseID, stationID))
		}
	}
	if f.ok() {
		err := s.store.SetEVSELocation(ctx, stationID, evseID, target)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			if _, serr := s.store.Station(ctx, stationID); errors.Is(serr, domain.ErrNotFound) {
				f.fail("stationId", "there is no station "+stationID)
			} else {
				f.fail("evseId", fmt.Sprintf("station %s has no EVSE %d (an EVSE is known once the station reported a connector of it)", stationID, evseID))
			}
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		return s.renderLocation(w, r, http.StatusBadRequest, locationForms{assignEVSE: f})
	}
	s.audit(ctx, whoOf(ctx).user.Email, stationID, "SetEVSELocation", map[string]any{"stationId": stationID, "evseId": evseID, "locationId": target})
	if remove {
		s.setFlash(r, fmt.Sprintf("EVSE %d of %s is where its station is again.", evseID, stationID), false)
	} else {
		s.setFlash(r, fmt.Sprintf("EVSE %d of %s assigned to this location.", evseID, stationID), false)
	}
	return redirect(w, r, "/locations/"+url.PathEscape(id))
}

// deleteLocation deletes a location after the browser's confirmation. With stations or EVSEs
// assigned it asks for the "unassign them" box to be ticked, which unassigns them in the same
// transaction (as the API's ?force=true).
func (s *Server) deleteLocation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	l, err := s.store.Location(ctx, id)
	if err != nil {
		return err
	}
	f := newForm(r)
	force := f.Get("force") != ""
	err = s.store.DeleteLocation(ctx, id, force)
	if errors.Is(err, domain.ErrConflict) {
		f.fail("force", "stations or EVSEs are assigned to this location: tick the box to unassign them and delete it")
		return s.renderLocation(w, r, http.StatusConflict, locationForms{delete: f})
	}
	if err != nil {
		return err
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "DeleteLocation", map[string]any{"id": id, "name": l.Name, "force": force})
	s.setFlash(r, "Location "+l.Name+" deleted.", false)
	return redirect(w, r, "/locations")
}
