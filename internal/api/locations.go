package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/region"
)

// maxLocationStations bounds the stations GET /api/v1/locations/{id} embeds.
const maxLocationStations = 500

type addressJSON struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type coordinatesJSON struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

type periodJSON struct {
	Weekday     int    `json:"weekday"`
	PeriodBegin string `json:"periodBegin"`
	PeriodEnd   string `json:"periodEnd"`
}

type openingHoursJSON struct {
	TwentyFourSeven bool         `json:"twentyFourSeven"`
	RegularHours    []periodJSON `json:"regularHours"`
}

type locationJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Address      addressJSON       `json:"address"`
	Coordinates  coordinatesJSON   `json:"coordinates"`
	TimeZone     string            `json:"timeZone"`
	Operator     string            `json:"operator"`
	OpeningHours *openingHoursJSON `json:"openingHours"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	// Stations is present on GET of one location only.
	Stations *[]stationJSON `json:"stations,omitempty"`
}

func locationView(l domain.Location) locationJSON {
	lat, lon := l.Latitude, l.Longitude
	v := locationJSON{ID: l.ID, Name: l.Name,
		Address:     addressJSON{Street: l.Address.Street, City: l.Address.City, PostalCode: l.Address.PostalCode, Country: l.Address.Country},
		Coordinates: coordinatesJSON{Latitude: &lat, Longitude: &lon},
		TimeZone:    l.TimeZone, Operator: l.Operator, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
	if o := l.OpeningHours; o != nil {
		v.OpeningHours = &openingHoursJSON{TwentyFourSeven: o.TwentyFourSeven, RegularHours: make([]periodJSON, 0, len(o.Regular))}
		for _, p := range o.Regular {
			v.OpeningHours.RegularHours = append(v.OpeningHours.RegularHours, periodJSON{Weekday: p.Weekday, PeriodBegin: p.Begin, PeriodEnd: p.End})
		}
	}
	return v
}

func (o *openingHoursJSON) domain() *domain.OpeningHours {
	if o == nil {
		return nil
	}
	d := &domain.OpeningHours{TwentyFourSeven: o.TwentyFourSeven}
	for _, p := range o.RegularHours {
		d.Regular = append(d.Regular, domain.OpeningPeriod{Weekday: p.Weekday, Begin: p.PeriodBegin, End: p.PeriodEnd})
	}
	return d
}

// validateLocation checks what the domain checks, plus the country against ISO 3166-1 (as the
// CLDR region data of golang.org/x/text knows it).
func validateLocation(l domain.Location) error { return region.CheckLocation(l) }

type createLocationRequest struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Address      *addressJSON      `json:"address"`
	Coordinates  *coordinatesJSON  `json:"coordinates"`
	TimeZone     string            `json:"timeZone"`
	Operator     string            `json:"operator"`
	OpeningHours *openingHoursJSON `json:"openingHours"`
}

func (s *Server) createLocation(w http.ResponseWriter, r *http.Request) error {
	var req createLocationRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.ID == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		req.ID = "loc_" + hex.EncodeToString(b[:])
	} else if !stationIDPattern.MatchString(req.ID) {
		return domain.Errorf(domain.ErrInvalid, "id must be 1 to 48 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
	}
	if req.Address == nil {
		return domain.Errorf(domain.ErrInvalid, "address is required")
	}
	if req.Coordinates == nil || req.Coordinates.Latitude == nil || req.Coordinates.Longitude == nil {
		return domain.Errorf(domain.ErrInvalid, "coordinates.latitude and coordinates.longitude are required")
	}
	now := s.now().UTC()
	l := domain.Location{ID: req.ID, Name: req.Name,
		Address:  domain.Address{Street: req.Address.Street, City: req.Address.City, PostalCode: req.Address.PostalCode, Country: req.Address.Country},
		Latitude: *req.Coordinates.Latitude, Longitude: *req.Coordinates.Longitude,
		TimeZone: req.TimeZone, Operator: req.Operator, OpeningHours: req.OpeningHours.domain(),
		CreatedAt: now, UpdatedAt: now}
	if err := validateLocation(l); err != nil {
		return err
	}
	if err := s.store.CreateLocation(r.Context(), l); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "CreateLocation", req)
	writeJSON(w, http.StatusCreated, locationView(l))
	return nil
}

func (s *Server) listLocations(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Locations(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[locationJSON]{Items: make([]locationJSON, 0, len(items)), NextCursor: next}
	for _, l := range items {
		out.Items = append(out.Items, locationView(l))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// locationStations loads what stands at a location: the stations assigned to it (at most
// maxLocationStations) and the stations with an EVSE assigned to it on its own, each with only
// the EVSEs that are here (an EVSE with a location of its own elsewhere is left out).
func (s *Server) locationStations(ctx context.Context, id string) ([]stationJSON, error) {
	ids, _, err := domain.StationsAt(ctx, s.store, id, maxLocationStations)
	if err != nil {
		return nil, err
	}
	views := make([]stationJSON, 0, len(ids))
	for _, sid := range ids {
		st, err := s.store.Station(ctx, sid)
		if errors.Is(err, domain.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, err
		}
		views = append(views, stationView(st))
	}
	if err := s.addLocations(ctx, views); err != nil {
		return nil, err
	}
	for i := range views {
		here := views[i].EVSEs[:0]
		for _, e := range views[i].EVSEs {
			if e.LocationID != nil && *e.LocationID == id {
				here = append(here, e)
			}
		}
		views[i].EVSEs = here
	}
	return views, nil
}

func (s *Server) getLocation(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	l, err := s.store.Location(r.Context(), id)
	if err != nil {
		return err
	}
	views, err := s.locationStations(r.Context(), id)
	if err != nil {
		return err
	}
	v := locationView(l)
	v.Stations = &views
	writeJSON(w, http.StatusOK, v)
	return nil
}

type patchAddressJSON struct {
	Street     *string `json:"street"`
	City       *string `json:"city"`
	PostalCode *string `json:"postalCode"`
	Country    *string `json:"country"`
}

// patchLocationRequest: absent fields stay; openingHours null removes the opening hours.
type patchLocationRequest struct {
	Name         *string           `json:"name"`
	Address      *patchAddressJSON `json:"address"`
	Coordinates  *coordinatesJSON  `json:"coordinates"`
	TimeZone     *string           `json:"timeZone"`
	Operator     *string           `json:"operator"`
	OpeningHours json.RawMessage   `json:"openingHours"`
}

func (s *Server) patchLocation(w http.ResponseWriter, r *http.Request) error {
	var req patchLocationRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	var hours *openingHoursJSON
	if req.OpeningHours != nil && string(req.OpeningHours) != "null" {
		dec := json.NewDecoder(bytes.NewReader(req.OpeningHours))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hours); err != nil {
			return domain.Errorf(domain.ErrInvalid, "openingHours must be {\"twentyFourSeven\": true} or {\"regularHours\": [...]}, or null")
		}
	}
	id := r.PathValue("id")
	now := s.now().UTC()
	l, err := s.store.UpdateLocation(r.Context(), id, func(l *domain.Location) error {
		set(&l.Name, req.Name)
		set(&l.TimeZone, req.TimeZone)
		set(&l.Operator, req.Operator)
		if a := req.Address; a != nil {
			set(&l.Address.Street, a.Street)
			set(&l.Address.City, a.City)
			set(&l.Address.PostalCode, a.PostalCode)
			set(&l.Address.Country, a.Country)
		}
		if c := req.Coordinates; c != nil {
			set(&l.Latitude, c.Latitude)
			set(&l.Longitude, c.Longitude)
		}
		if req.OpeningHours != nil {
			l.OpeningHours = hours.domain()
		}
		l.UpdatedAt = now
		return validateLocation(*l)
	})
	if err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "UpdateLocation", map[string]any{"id": id, "patch": req})
	writeJSON(w, http.StatusOK, locationView(l))
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) deleteLocation(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	force := false
	switch r.URL.Query().Get("force") {
	case "", "false":
	case "true":
		force = true
	default:
		return domain.Errorf(domain.ErrInvalid, "force must be true or false")
	}
	if err := s.store.DeleteLocation(r.Context(), id, force); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteLocation", map[string]any{"id": id, "force": force})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type availabilityJSON struct {
	LocationID        string         `json:"locationId"`
	Stations          int            `json:"stations"`
	ConnectedStations int            `json:"connectedStations"`
	EVSEs             int            `json:"evses"`
	AvailableEVSEs    int            `json:"availableEvses"`
	Connectors        map[string]int `json:"connectors"`
	OfflineConnectors int            `json:"offlineConnectors"`
}

// locationAvailability counts connector statuses at a location. The last status a disconnected
// station sent says nothing about now, so its connectors count as offline instead.
func (s *Server) locationAvailability(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sts, err := s.locationStations(r.Context(), id)
	if err != nil {
		return err
	}
	out := availabilityJSON{LocationID: id, Stations: len(sts), Connectors: map[string]int{}}
	for _, st := range sts {
		if st.Connected {
			out.ConnectedStations++
		}
		for _, e := range st.EVSEs {
			out.EVSEs++
			available := false
			for _, c := range e.Connectors {
				if !st.Connected {
					out.OfflineConnectors++
					continue
				}
				out.Connectors[c.Status]++
				available = available || c.Status == string(domain.ConnectorAvailable)
			}
			if available {
				out.AvailableEVSEs++
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
