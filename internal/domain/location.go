package domain

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Location is a site: one address where stations stand (OCPI's Location). A station belongs to
// at most one location, and its EVSEs with it, unless an EVSE is assigned to a location of its
// own (an EVSE's assignment overrides its station's: see EVSERef).
type Location struct {
	ID        string
	Name      string
	Address   Address
	Latitude  float64 // WGS 84, −90..90
	Longitude float64 // WGS 84, −180..180
	TimeZone  string  // IANA name, e.g. Europe/Berlin
	Operator  string  // operator or owner of the site; "" if not given
	// OpeningHours is nil when not given.
	OpeningHours *OpeningHours
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Address is a postal address.
type Address struct {
	Street     string
	City       string
	PostalCode string
	Country    string // ISO 3166-1 alpha-2, upper case
}

// OpeningHours is either open around the clock or a weekly schedule. The stores keep it as the
// JSON these tags give.
type OpeningHours struct {
	TwentyFourSeven bool            `json:"twentyFourSeven,omitempty"`
	Regular         []OpeningPeriod `json:"regular,omitempty"`
}

// OpeningPeriod is one opening period on one day of the week, in the location's time zone.
type OpeningPeriod struct {
	Weekday int    `json:"weekday"` // 1 Monday … 7 Sunday (ISO 8601, as OCPI)
	Begin   string `json:"begin"`   // HH:MM
	End     string `json:"end"`     // HH:MM, after Begin; "24:00" closes at midnight
}

// maxLocationText bounds every free-text field of a location.
const maxLocationText = 255

// Validate checks a location before it is stored. The country code is checked for its form
// here; the API checks it against ISO 3166-1 as well.
func (l Location) Validate() error {
	texts := []struct{ name, v string }{
		{"id", l.ID}, {"name", l.Name}, {"address.street", l.Address.Street}, {"address.city", l.Address.City},
		{"address.postalCode", l.Address.PostalCode}, {"operator", l.Operator}, {"timeZone", l.TimeZone},
	}
	for _, f := range texts {
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) || len(f.v) > maxLocationText {
			return Errorf(ErrInvalid, "%s must be UTF-8 text without NUL characters, at most %d bytes", f.name, maxLocationText)
		}
	}
	switch {
	case l.ID == "":
		return Errorf(ErrInvalid, "the location id is empty")
	case l.Name == "":
		return Errorf(ErrInvalid, "name is required")
	case l.Address.Street == "" || l.Address.City == "" || l.Address.PostalCode == "":
		return Errorf(ErrInvalid, "address needs street, city and postalCode")
	case !isCountryForm(l.Address.Country):
		return Errorf(ErrInvalid, "address.country must be an ISO 3166-1 alpha-2 code such as DE")
	case math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90:
		return Errorf(ErrInvalid, "latitude must be from -90 to 90")
	case math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180:
		return Errorf(ErrInvalid, "longitude must be from -180 to 180")
	}
	if err := ValidateTimeZone(l.TimeZone); err != nil {
		return err
	}
	if l.OpeningHours != nil {
		return l.OpeningHours.Validate()
	}
	return nil
}

func isCountryForm(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}

// ValidateTimeZone accepts IANA time zone names that this machine's time zone database knows.
// "Local" is refused: it means whatever the server's zone is, not a place.
func ValidateTimeZone(name string) error {
	if name == "" || name == "Local" {
		return Errorf(ErrInvalid, "timeZone must be an IANA time zone name such as Europe/Berlin")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return Errorf(ErrInvalid, "timeZone %q is not a known IANA time zone", name)
	}
	return nil
}

// Validate checks opening hours: either around the clock or at least one period; periods in
// HH:MM, each starting before it ends, not overlapping on the same day.
func (o OpeningHours) Validate() error {
	if o.TwentyFourSeven && len(o.Regular) > 0 {
		return Errorf(ErrInvalid, "openingHours is either twentyFourSeven or regularHours, not both")
	}
	if !o.TwentyFourSeven && len(o.Regular) == 0 {
		return Errorf(ErrInvalid, "openingHours needs twentyFourSeven: true or at least one regularHours period")
	}
	if len(o.Regular) > 7*24 {
		return Errorf(ErrInvalid, "openingHours has more than %d periods", 7*24)
	}
	type span struct{ begin, end int }
	byDay := map[int][]span{}
	for i, p := range o.Regular {
		if p.Weekday < 1 || p.Weekday > 7 {
			return Errorf(ErrInvalid, "regularHours[%d].weekday must be 1 (Monday) to 7 (Sunday)", i)
		}
		b, okB := clockMinutes(p.Begin, false)
		e, okE := clockMinutes(p.End, true)
		if !okB || !okE {
			return Errorf(ErrInvalid, "regularHours[%d] times must be HH:MM (00:00 to 23:59; the end may be 24:00)", i)
		}
		if b >= e {
			return Errorf(ErrInvalid, "regularHours[%d] must begin before it ends", i)
		}
		for _, s := range byDay[p.Weekday] {
			if b < s.end && s.begin < e {
				return Errorf(ErrInvalid, "regularHours[%d] overlaps another period on weekday %d", i, p.Weekday)
			}
		}
		byDay[p.Weekday] = append(byDay[p.Weekday], span{b, e})
	}
	return nil
}

// clockMinutes parses HH:MM into minutes after midnight; 24:00 only when allowed (a period end).
func clockMinutes(s string, endOfDay bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	var h, m int
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
		return 0, false
	}
	for _, c := range s[:2] + s[3:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if endOfDay && h == 24 && m == 0 {
		return 24 * 60, true
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// LocationStore keeps locations and which station stands at which location.
type LocationStore interface {
	// CreateLocation inserts l (CreatedAt and UpdatedAt set by the caller); ErrConflict if the id
	// exists.
	CreateLocation(ctx context.Context, l Location) error
	// Location returns one location; ErrNotFound if absent.
	Location(ctx context.Context, id string) (Location, error)
	// Locations lists locations ordered by id.
	Locations(ctx context.Context, p Page) ([]Location, string, error)
	// UpdateLocation reads a location, lets change modify it and writes the result in one
	// transaction; an error from change aborts it and is returned. ErrNotFound if absent.
	// change must be quick and must not call the store.
	UpdateLocation(ctx context.Context, id string, change func(*Location) error) (Location, error)
	// DeleteLocation removes a location. With stations or EVSEs assigned it fails with
	// ErrConflict, unless force, which unassigns them first. ErrNotFound if absent.
	DeleteLocation(ctx context.Context, id string, force bool) error
	// SetStationLocation assigns a station to a location ("" unassigns it). ErrNotFound if the
	// station is absent, ErrInvalid if the location is.
	SetStationLocation(ctx context.Context, stationID, locationID string) error
	// StationLocations returns the location of each of the given stations that has one.
	StationLocations(ctx context.Context, stationIDs []string) (map[string]string, error)
	// LocationStations lists the ids of the stations at a location, ordered by id (at most
	// limit; ErrNotFound if the location is absent).
	LocationStations(ctx context.Context, locationID string, limit int) ([]string, error)
	// SetEVSELocation puts one EVSE at a location of its own, overriding its station's; ""
	// removes the override (the EVSE is where its station is again). ErrNotFound if the station
	// or the EVSE (an EVSE exists once the station reported a connector of it) is absent,
	// ErrInvalid if the location is.
	SetEVSELocation(ctx context.Context, stationID string, evseID int, locationID string) error
	// EVSELocations returns the EVSE-level assignments of the given stations: station id →
	// EVSE id → location id (stations without any are absent).
	EVSELocations(ctx context.Context, stationIDs []string) (map[string]map[int]string, error)
	// LocationEVSEs lists the EVSEs assigned to a location on their own, ordered by station and
	// EVSE id (at most limit; ErrNotFound if the location is absent).
	LocationEVSEs(ctx context.Context, locationID string, limit int) ([]EVSERef, error)
}

// EVSERef names one EVSE of one station.
type EVSERef struct {
	StationID string
	EVSEID    int
}

// StationsAt lists the ids of the stations with something at a location, ordered by id: those
// assigned to it and those with an EVSE assigned to it on its own (at most limit of each).
// assigned tells which are assigned themselves. ErrNotFound if the location is absent.
func StationsAt(ctx context.Context, s LocationStore, locationID string, limit int) (ids []string, assigned map[string]bool, err error) {
	ids, err = s.LocationStations(ctx, locationID, limit)
	if err != nil {
		return nil, nil, err
	}
	assigned = make(map[string]bool, len(ids))
	for _, id := range ids {
		assigned[id] = true
	}
	refs, err := s.LocationEVSEs(ctx, locationID, limit)
	if err != nil {
		return nil, nil, err
	}
	for _, ref := range refs {
		if !slices.Contains(ids, ref.StationID) {
			ids = append(ids, ref.StationID)
		}
	}
	slices.Sort(ids)
	return ids, assigned, nil
}

// EVSELocation returns where an EVSE is: its own assignment if it has one, else its station's
// ("" when neither). own maps EVSE ids to their own assignments (EVSELocations of the station).
func EVSELocation(stationLocation string, own map[int]string, evseID int) string {
	if loc, ok := own[evseID]; ok {
		return loc
	}
	return stationLocation
}
