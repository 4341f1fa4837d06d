package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var locationTests = []suiteTest{
	{"LocationCRUD", testLocationCRUD},
	{"LocationInvalid", testLocationInvalid},
	{"LocationsPaging", testLocationsPaging},
	{"UpdateLocationAborts", testUpdateLocationAborts},
	{"StationLocations", testStationLocations},
	{"DeleteLocationWithStations", testDeleteLocationWithStations},
	{"EVSELocations", testEVSELocations},
}

func sampleLocation(id string) domain.Location {
	return domain.Location{
		ID: id, Name: "Depot " + id,
		Address:  domain.Address{Street: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		Latitude: 52.520008, Longitude: 13.404954, TimeZone: "Europe/Berlin", Operator: "Stadtwerke",
		OpeningHours: &domain.OpeningHours{Regular: []domain.OpeningPeriod{
			{Weekday: 1, Begin: "08:00", End: "12:00"}, {Weekday: 1, Begin: "13:00", End: "24:00"},
		}},
		CreatedAt: at(0), UpdatedAt: at(0),
	}
}

// sameLocation compares everything but the times.
func sameLocation(t *testing.T, what string, got, want domain.Location) {
	t.Helper()
	g, w := got, want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func testLocationCRUD(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := sampleLocation("L1")
	if err := s.CreateLocation(ctx, in); err != nil {
		t.Fatalf("CreateLocation: %v", err)
	}
	wantErr(t, "CreateLocation twice", s.CreateLocation(ctx, in), domain.ErrConflict)
	around := sampleLocation("L2")
	around.OpeningHours = &domain.OpeningHours{TwentyFourSeven: true}
	around.Operator = ""
	around.CreatedAt, around.UpdatedAt = time.Time{}, time.Time{} // zero: the store's clock
	if err := s.CreateLocation(ctx, around); err != nil {
		t.Fatalf("CreateLocation(L2): %v", err)
	}
	none := sampleLocation("L3")
	none.OpeningHours = nil
	if err := s.CreateLocation(ctx, none); err != nil {
		t.Fatalf("CreateLocation(L3): %v", err)
	}

	got, err := s.Location(ctx, "L1")
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	sameLocation(t, "Location(L1)", got, in)
	wantTime(t, "CreatedAt", got.CreatedAt, in.CreatedAt)
	got2, err := s.Location(ctx, "L2")
	if err != nil {
		t.Fatalf("Location(L2): %v", err)
	}
	sameLocation(t, "Location(L2)", got2, around)
	wantStamped(t, "L2.CreatedAt", got2.CreatedAt)
	got3, err := s.Location(ctx, "L3")
	if err != nil {
		t.Fatalf("Location(L3): %v", err)
	}
	sameLocation(t, "Location(L3)", got3, none)
	_, err = s.Location(ctx, "nope")
	wantErr(t, "Location(nope)", err, domain.ErrNotFound)

	updated, err := s.UpdateLocation(ctx, "L1", func(l *domain.Location) error {
		l.Name = "Renamed"
		l.OpeningHours = nil
		l.UpdatedAt = at(time.Hour)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateLocation: %v", err)
	}
	want := in
	want.Name, want.OpeningHours = "Renamed", nil
	sameLocation(t, "UpdateLocation result", updated, want)
	got, _ = s.Location(ctx, "L1")
	sameLocation(t, "Location after update", got, want)
	wantTime(t, "UpdatedAt", got.UpdatedAt, at(time.Hour))
	wantTime(t, "CreatedAt after update", got.CreatedAt, in.CreatedAt)
	_, err = s.UpdateLocation(ctx, "nope", func(*domain.Location) error { return nil })
	wantErr(t, "UpdateLocation(nope)", err, domain.ErrNotFound)

	if err := s.DeleteLocation(ctx, "L1", false); err != nil {
		t.Fatalf("DeleteLocation: %v", err)
	}
	_, err = s.Location(ctx, "L1")
	wantErr(t, "Location after delete", err, domain.ErrNotFound)
	wantErr(t, "DeleteLocation again", s.DeleteLocation(ctx, "L1", false), domain.ErrNotFound)
	wantErr(t, "DeleteLocation(force) of none", s.DeleteLocation(ctx, "L1", true), domain.ErrNotFound)
}

func testLocationInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	bad := map[string]func(*domain.Location){
		"empty id":        func(l *domain.Location) { l.ID = "" },
		"empty name":      func(l *domain.Location) { l.Name = "" },
		"no city":         func(l *domain.Location) { l.Address.City = "" },
		"country form":    func(l *domain.Location) { l.Address.Country = "de" },
		"latitude":        func(l *domain.Location) { l.Latitude = 90.5 },
		"longitude":       func(l *domain.Location) { l.Longitude = -181 },
		"time zone":       func(l *domain.Location) { l.TimeZone = "Mars/Olympus" },
		"empty hours":     func(l *domain.Location) { l.OpeningHours = &domain.OpeningHours{} },
		"end before":      func(l *domain.Location) { l.OpeningHours.Regular[0].End = "07:00" },
		"bad clock":       func(l *domain.Location) { l.OpeningHours.Regular[0].Begin = "8:00" },
		"overlap":         func(l *domain.Location) { l.OpeningHours.Regular[1].Begin = "11:00" },
		"weekday":         func(l *domain.Location) { l.OpeningHours.Regular[0].Weekday = 0 },
		"both kinds":      func(l *domain.Location) { l.OpeningHours.TwentyFourSeven = true },
		"not UTF-8":       func(l *domain.Location) { l.Name = "\xff" },
		"NUL":             func(l *domain.Location) { l.Address.Street = "a\x00b" },
		"very long field": func(l *domain.Location) { l.Operator = string(make([]byte, 300)) },
	}
	for name, mutate := range bad {
		l := sampleLocation("L-" + name)
		mutate(&l)
		wantErr(t, "CreateLocation("+name+")", s.CreateLocation(ctx, l), domain.ErrInvalid)
	}
	if err := s.CreateLocation(ctx, sampleLocation("OK")); err != nil {
		t.Fatalf("CreateLocation: %v", err)
	}
	_, err := s.UpdateLocation(ctx, "OK", func(l *domain.Location) error { l.Latitude = 100; return nil })
	wantErr(t, "UpdateLocation(latitude 100)", err, domain.ErrInvalid)
	got, _ := s.Location(ctx, "OK")
	sameLocation(t, "Location after a refused update", got, sampleLocation("OK"))
}

func testLocationsPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("loc-%02d", 6-i)
		if err := s.CreateLocation(ctx, sampleLocation(id)); err != nil {
			t.Fatalf("CreateLocation: %v", err)
		}
		want = append(want, id)
	}
	slices.Sort(want)
	var got []string
	cursor := ""
	for range 10 {
		items, next, err := s.Locations(ctx, domain.Page{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("Locations: %v", err)
		}
		for _, l := range items {
			got = append(got, l.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids = %v, want %v", got, want)
	}
	_, _, err := s.Locations(ctx, domain.Page{Limit: 3, Cursor: "garbage!"})
	wantErr(t, "Locations(bad cursor)", err, domain.ErrInvalid)
}

func testUpdateLocationAborts(t *testing.T, s domain.Store) {
	ctx := t.Context()
	if err := s.CreateLocation(ctx, sampleLocation("L1")); err != nil {
		t.Fatalf("CreateLocation: %v", err)
	}
	stop := domain.Errorf(domain.ErrConflict, "changed my mind")
	_, err := s.UpdateLocation(ctx, "L1", func(l *domain.Location) error { l.Name = "X"; return stop })
	if !errors.Is(err, domain.ErrConflict) {
		t.Errorf("UpdateLocation with a failing change = %v, want the change's error", err)
	}
	got, _ := s.Location(ctx, "L1")
	if got.Name != sampleLocation("L1").Name {
		t.Errorf("name after an aborted update = %q", got.Name)
	}
}

func testStationLocations(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for _, id := range []string{"CP-1", "CP-2", "CP-3"} {
		mustCreate(t, s, id)
	}
	for _, id := range []string{"A", "B"} {
		if err := s.CreateLocation(ctx, sampleLocation(id)); err != nil {
			t.Fatalf("CreateLocation: %v", err)
		}
	}
	for _, a := range [][2]string{{"CP-1", "A"}, {"CP-2", "A"}, {"CP-3", "B"}, {"CP-3", "A"}} {
		if err := s.SetStationLocation(ctx, a[0], a[1]); err != nil {
			t.Fatalf("SetStationLocation(%s, %s): %v", a[0], a[1], err)
		}
	}
	wantErr(t, "SetStationLocation(unknown station)", s.SetStationLocation(ctx, "CP-9", "A"), domain.ErrNotFound)
	wantErr(t, "SetStationLocation(unknown location)", s.SetStationLocation(ctx, "CP-1", "Z"), domain.ErrInvalid)

	got, err := s.StationLocations(ctx, []string{"CP-1", "CP-2", "CP-3", "CP-9"})
	if err != nil {
		t.Fatalf("StationLocations: %v", err)
	}
	if want := map[string]string{"CP-1": "A", "CP-2": "A", "CP-3": "A"}; !reflect.DeepEqual(got, want) {
		t.Errorf("StationLocations = %v, want %v", got, want)
	}
	ids, err := s.LocationStations(ctx, "A", 100)
	if err != nil || !slices.Equal(ids, []string{"CP-1", "CP-2", "CP-3"}) {
		t.Errorf("LocationStations(A) = %v, %v", ids, err)
	}
	if ids, err := s.LocationStations(ctx, "A", 2); err != nil || len(ids) != 2 {
		t.Errorf("LocationStations(A, limit 2) = %v, %v", ids, err)
	}
	if ids, err := s.LocationStations(ctx, "B", 100); err != nil || len(ids) != 0 {
		t.Errorf("LocationStations(B) = %v, %v", ids, err)
	}
	_, err = s.LocationStations(ctx, "Z", 100)
	wantErr(t, "LocationStations(unknown)", err, domain.ErrNotFound)

	if err := s.SetStationLocation(ctx, "CP-2", ""); err != nil {
		t.Fatalf("SetStationLocation(clear): %v", err)
	}
	if err := s.SetStationLocation(ctx, "CP-2", ""); err != nil {
		t.Fatalf("SetStationLocation(clear twice): %v", err)
	}
	if err := s.DeleteStation(ctx, "CP-3"); err != nil {
		t.Fatalf("DeleteStation: %v", err)
	}
	got, _ = s.StationLocations(ctx, []string{"CP-1", "CP-2", "CP-3"})
	if want := map[string]string{"CP-1": "A"}; !reflect.DeepEqual(got, want) {
		t.Errorf("StationLocations after clear and delete = %v, want %v", got, want)
	}
	many := make([]string, 1200) // more than one chunk of bound parameters
	for i := range many {
		many[i] = fmt.Sprintf("X-%d", i)
	}
	many[1100] = "CP-1"
	if got, err := s.StationLocations(ctx, many); err != nil || got["CP-1"] != "A" || len(got) != 1 {
		t.Errorf("StationLocations(1200 ids) = %v, %v", got, err)
	}
}

func testDeleteLocationWithStations(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	if err := s.CreateLocation(ctx, sampleLocation("A")); err != nil {
		t.Fatalf("CreateLocation: %v", err)
	}
	if err := s.SetStationLocation(ctx, "CP-1", "A"); err != nil {
		t.Fatalf("SetStationLocation: %v", err)
	}
	wantErr(t, "DeleteLocation with a station", s.DeleteLocation(ctx, "A", false), domain.ErrConflict)
	if _, err := s.Location(ctx, "A"); err != nil {
		t.Fatalf("location gone after a refused delete: %v", err)
	}
	if err := s.DeleteLocation(ctx, "A", true); err != nil {
		t.Fatalf("DeleteLocation(force): %v", err)
	}
	got, err := s.StationLocations(ctx, []string{"CP-1"})
	if err != nil || len(got) != 0 {
		t.Errorf("StationLocations after forced delete = %v, %v", got, err)
	}
	mustGet(t, s, "CP-1") // the station stays
}

// withEVSEs creates a station with EVSEs 1..n (an EVSE exists once a connector of it reported).
func withEVSEs(t *testing.T, s domain.Store, id string, n int) {
	t.Helper()
	mustCreate(t, s, id)
	for e := 1; e <= n; e++ {
		mustStatus(t, s, domain.StatusUpdate{StationID: id, EVSEID: e, ConnectorID: 1, Status: domain.ConnectorAvailable,
			OCPPStatus: "Available", ErrorCode: "NoError", At: at(time.Duration(e) * time.Second)})
	}
}

func testEVSELocations(t *testing.T, s domain.Store) {
	ctx := t.Context()
	withEVSEs(t, s, "CP-1", 3)
	withEVSEs(t, s, "CP-2", 1)
	for _, id := range []string{"A", "B"} {
		if err := s.CreateLocation(ctx, sampleLocation(id)); err != nil {
			t.Fatalf("CreateLocation: %v", err)
		}
	}
	if err := s.SetStationLocation(ctx, "CP-1", "A"); err != nil {
		t.Fatal(err)
	}
	// EVSE 2 of CP-1 stands at B; EVSE 1 of CP-2 (a station without a location) at A.
	for _, a := range []struct {
		st   string
		evse int
		loc  string
	}{{"CP-1", 2, "A"}, {"CP-1", 2, "B"}, {"CP-2", 1, "A"}} {
		if err := s.SetEVSELocation(ctx, a.st, a.evse, a.loc); err != nil {
			t.Fatalf("SetEVSELocation(%s, %d, %s): %v", a.st, a.evse, a.loc, err)
		}
	}
	wantErr(t, "SetEVSELocation(unknown station)", s.SetEVSELocation(ctx, "CP-9", 1, "A"), domain.ErrNotFound)
	wantErr(t, "SetEVSELocation(unknown EVSE)", s.SetEVSELocation(ctx, "CP-1", 4, "A"), domain.ErrNotFound)
	wantErr(t, "SetEVSELocation(unknown location)", s.SetEVSELocation(ctx, "CP-1", 1, "Z"), domain.ErrInvalid)

	got, err := s.EVSELocations(ctx, []string{"CP-1", "CP-2", "CP-9"})
	if err != nil {
		t.Fatalf("EVSELocations: %v", err)
	}
	want := map[string]map[int]string{"CP-1": {2: "B"}, "CP-2": {1: "A"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EVSELocations = %v, want %v", got, want)
	}
	if loc := domain.EVSELocation("A", got["CP-1"], 2); loc != "B" {
		t.Errorf("EVSE 2 of CP-1 is at %q, want B (its own assignment)", loc)
	}
	if loc := domain.EVSELocation("A", got["CP-1"], 3); loc != "A" {
		t.Errorf("EVSE 3 of CP-1 is at %q, want A (its station's)", loc)
	}
	refs, err := s.LocationEVSEs(ctx, "A", 100)
	if err != nil || !reflect.DeepEqual(refs, []domain.EVSERef{{StationID: "CP-2", EVSEID: 1}}) {
		t.Errorf("LocationEVSEs(A) = %v, %v", refs, err)
	}
	if refs, err := s.LocationEVSEs(ctx, "B", 100); err != nil || !reflect.DeepEqual(refs, []domain.EVSERef{{StationID: "CP-1", EVSEID: 2}}) {
		t.Errorf("LocationEVSEs(B) = %v, %v", refs, err)
	}
	_, err = s.LocationEVSEs(ctx, "Z", 100)
	wantErr(t, "LocationEVSEs(unknown)", err, domain.ErrNotFound)

	// B has no station, but an EVSE: deleting it needs force, which takes the EVSE back to A.
	wantErr(t, "DeleteLocation with an EVSE", s.DeleteLocation(ctx, "B", false), domain.ErrConflict)
	if err := s.DeleteLocation(ctx, "B", true); err != nil {
		t.Fatalf("DeleteLocation(B, force): %v", err)
	}
	if got, _ := s.EVSELocations(ctx, []string{"CP-1"}); len(got) != 0 {
		t.Errorf("EVSELocations after the forced delete = %v", got)
	}
	// Clearing is idempotent; deleting the station drops its EVSEs' assignments.
	for range 2 {
		if err := s.SetEVSELocation(ctx, "CP-1", 2, ""); err != nil {
			t.Fatalf("SetEVSELocation(clear): %v", err)
		}
	}
	if err := s.DeleteStation(ctx, "CP-2"); err != nil {
		t.Fatal(err)
	}
	if refs, err := s.LocationEVSEs(ctx, "A", 100); err != nil || len(refs) != 0 {
		t.Errorf("LocationEVSEs(A) after the station was deleted = %v, %v", refs, err)
	}
	if err := s.DeleteLocation(ctx, "A", false); err == nil {
		t.Error("A still has station CP-1 but was deleted without force")
	}
}
