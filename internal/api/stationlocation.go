package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/opencpo/opencpo/internal/domain"
)

// addLocations fills in the locationId of station views and of their EVSEs (two store reads for
// all of them).
func (s *Server) addLocations(ctx context.Context, views []stationJSON) error {
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	locs, err := s.store.StationLocations(ctx, ids)
	if err != nil {
		return err
	}
	own, err := s.store.EVSELocations(ctx, ids)
	if err != nil {
		return err
	}
	for i := range views {
		if loc, ok := locs[views[i].ID]; ok {
			views[i].LocationID = &loc
		}
		setEVSELocations(&views[i], own[views[i].ID])
	}
	return s.addStationGroups(ctx, views)
}

// setEVSELocations fills in where each EVSE of a station view is, from the station's location
// (already in v) and the EVSEs' own assignments.
func setEVSELocations(v *stationJSON, own map[int]string) {
	station := ""
	if v.LocationID != nil {
		station = *v.LocationID
	}
	for j := range v.EVSEs {
		e := &v.EVSEs[j]
		_, e.OwnLocation = own[e.ID]
		if loc := domain.EVSELocation(station, own, e.ID); loc != "" {
			e.LocationID = &loc
		} else {
			e.LocationID = nil
		}
	}
}

type patchEVSERequest struct {
	// LocationID puts the EVSE at a location of its own; null puts it back where its station is.
	LocationID optionalString `json:"locationId"`
}

// patchEVSE changes one EVSE of a station: for now its location.
func (s *Server) patchEVSE(w http.ResponseWriter, r *http.Request) error {
	var req patchEVSERequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	evseID, err := strconv.Atoi(r.PathValue("evseId"))
	if err != nil || evseID < 1 {
		return domain.Errorf(domain.ErrNotFound, "no EVSE %q", r.PathValue("evseId"))
	}
	if !req.LocationID.Set {
		return domain.Errorf(domain.ErrInvalid, "locationId is required (a location id, or null for the station's location)")
	}
	if err := s.store.SetEVSELocation(r.Context(), id, evseID, req.LocationID.Value); err != nil {
		return err
	}
	s.auditChange(r.Context(), id, "UpdateEVSE", map[string]any{"evseId": evseID, "locationId": req.LocationID.orNull()})
	st, err := s.store.Station(r.Context(), id)
	if err != nil {
		return err
	}
	v := []stationJSON{stationView(st)}
	if err := s.addLocations(r.Context(), v); err != nil {
		return err
	}
	for _, e := range v[0].EVSEs {
		if e.ID == evseID {
			writeJSON(w, http.StatusOK, e)
			return nil
		}
	}
	return domain.Errorf(domain.ErrNotFound, "station %q has no EVSE %d", id, evseID)
}

// optionalString is a PATCH field that may be absent (Set false), null (Value "") or a non-empty
// string.
type optionalString struct {
	Set   bool
	Value string
}

func (o *optionalString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = ""
		return nil
	}
	if err := json.Unmarshal(b, &o.Value); err != nil {
		return err
	}
	if o.Value == "" {
		return domain.Errorf(domain.ErrInvalid, "an empty string is not an id; use null to clear it")
	}
	return nil
}

// MarshalJSON writes the value, or null when absent or cleared.
func (o optionalString) MarshalJSON() ([]byte, error) { return json.Marshal(o.orNull()) }

func (o optionalString) orNull() *string {
	if !o.Set || o.Value == "" {
		return nil
	}
	return &o.Value
}
