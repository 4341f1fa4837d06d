package api

import (
	"context"
	"encoding/json"

	"github.com/opencpo/opencpo/internal/domain"
)

// addLocations fills in the locationId of station views (one store read for all of them).
func (s *Server) addLocations(ctx context.Context, views []stationJSON) error {
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	locs, err := s.store.StationLocations(ctx, ids)
	if err != nil {
		return err
	}
	for i := range views {
		if loc, ok := locs[views[i].ID]; ok {
			views[i].LocationID = &loc
		}
	}
	return s.addStationGroups(ctx, views)
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
