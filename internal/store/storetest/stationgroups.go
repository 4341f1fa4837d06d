package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var stationGroupTests = []suiteTest{
	{"StationGroupCRUD", testStationGroupCRUD},
	{"StationGroupInvalid", testStationGroupInvalid},
	{"StationGroupMembers", testStationGroupMembers},
}

func testStationGroupCRUD(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := domain.StationGroup{ID: "depot-north", Name: "Depot north", TokenGroups: []string{"fleet-2", "fleet-1", "fleet-2"},
		CreatedAt: at(0), UpdatedAt: at(0)}
	created, err := s.PutStationGroup(ctx, in)
	if err != nil || !created {
		t.Fatalf("PutStationGroup = %v, %v; want created", created, err)
	}
	got, err := s.StationGroup(ctx, "depot-north")
	if err != nil {
		t.Fatalf("StationGroup: %v", err)
	}
	want := domain.StationGroup{ID: "depot-north", Name: "Depot north", TokenGroups: []string{"fleet-1", "fleet-2"},
		CreatedAt: at(0), UpdatedAt: at(0)}
	sameGroup(t, "StationGroup (token groups sorted, without duplicates)", got, want)
	// Replacing keeps the creation time and may empty the token groups.
	created, err = s.PutStationGroup(ctx, domain.StationGroup{ID: "depot-north", Name: "North", AllTokens: true,
		CreatedAt: at(5 * time.Minute), UpdatedAt: at(5 * time.Minute)})
	if err != nil || created {
		t.Fatalf("PutStationGroup(replace) = %v, %v; want replaced", created, err)
	}
	got, err = s.StationGroup(ctx, "depot-north")
	want = domain.StationGroup{ID: "depot-north", Name: "North", TokenGroups: []string{}, AllTokens: true,
		CreatedAt: at(0), UpdatedAt: at(5 * time.Minute)}
	if err != nil {
		t.Fatalf("StationGroup after replace: %v", err)
	}
	sameGroup(t, "StationGroup after replace", got, want)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.PutStationGroup(ctx, domain.StationGroup{ID: id, TokenGroups: []string{"x"}}); err != nil {
			t.Fatalf("PutStationGroup(%s): %v", id, err)
		}
	}
	var ids []string
	page := domain.Page{Limit: 2}
	for {
		gs, next, err := s.StationGroups(ctx, page)
		if err != nil {
			t.Fatalf("StationGroups: %v", err)
		}
		for _, g := range gs {
			ids = append(ids, g.ID)
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	if wantIDs := []string{"a", "b", "c", "depot-north"}; !slices.Equal(ids, wantIDs) {
		t.Errorf("StationGroups paged = %v, want %v", ids, wantIDs)
	}
	if err := s.DeleteStationGroup(ctx, "b"); err != nil {
		t.Fatalf("DeleteStationGroup: %v", err)
	}
	_, err = s.StationGroup(ctx, "b")
	wantErr(t, "StationGroup(deleted)", err, domain.ErrNotFound)
	wantErr(t, "DeleteStationGroup(deleted)", s.DeleteStationGroup(ctx, "b"), domain.ErrNotFound)
}

// sameGroup compares groups, their times by instant.
func sameGroup(t *testing.T, what string, got, want domain.StationGroup) {
	t.Helper()
	g, w := got, want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func testStationGroupInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for _, g := range []domain.StationGroup{
		{ID: ""},
		{ID: "has space"},
		{ID: "ok", TokenGroups: []string{""}},
		{ID: "ok", TokenGroups: []string{"0123456789012345678901234567890123456"}},
	} {
		_, err := s.PutStationGroup(ctx, g)
		wantErr(t, "PutStationGroup("+g.ID+")", err, domain.ErrInvalid)
	}
	_, _, err := s.StationGroups(ctx, domain.Page{Cursor: "not-a-cursor"})
	wantErr(t, "StationGroups(bad cursor)", err, domain.ErrInvalid)
}

func testStationGroupMembers(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for _, id := range []string{"CP-1", "CP-2", "CP-3"} {
		mustCreate(t, s, id)
	}
	for _, id := range []string{"A", "B"} {
		if _, err := s.PutStationGroup(ctx, domain.StationGroup{ID: id}); err != nil {
			t.Fatalf("PutStationGroup: %v", err)
		}
	}
	for _, a := range [][2]string{{"CP-1", "A"}, {"CP-2", "A"}, {"CP-3", "B"}, {"CP-3", "A"}} {
		if err := s.SetStationGroup(ctx, a[0], a[1]); err != nil {
			t.Fatalf("SetStationGroup(%s, %s): %v", a[0], a[1], err)
		}
	}
	wantErr(t, "SetStationGroup(unknown station)", s.SetStationGroup(ctx, "CP-9", "A"), domain.ErrNotFound)
	wantErr(t, "SetStationGroup(unknown group)", s.SetStationGroup(ctx, "CP-1", "Z"), domain.ErrInvalid)

	got, err := s.StationGroupsOf(ctx, []string{"CP-1", "CP-2", "CP-3", "CP-9"})
	if want := map[string]string{"CP-1": "A", "CP-2": "A", "CP-3": "A"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("StationGroupsOf = %v, %v; want %v", got, err, want)
	}
	if ids, err := s.StationGroupMembers(ctx, "A"); err != nil || !slices.Equal(ids, []string{"CP-1", "CP-2", "CP-3"}) {
		t.Errorf("StationGroupMembers(A) = %v, %v", ids, err)
	}
	if ids, err := s.StationGroupMembers(ctx, "B"); err != nil || ids == nil || len(ids) != 0 {
		t.Errorf("StationGroupMembers(B) = %#v, %v; want empty", ids, err)
	}
	_, err = s.StationGroupMembers(ctx, "Z")
	wantErr(t, "StationGroupMembers(unknown)", err, domain.ErrNotFound)

	// A group with stations stays; taking them out (or deleting them) lets it go.
	wantErr(t, "DeleteStationGroup(with stations)", s.DeleteStationGroup(ctx, "A"), domain.ErrConflict)
	if err := s.SetStationGroup(ctx, "CP-2", ""); err != nil {
		t.Fatalf("SetStationGroup(clear): %v", err)
	}
	if err := s.SetStationGroup(ctx, "CP-3", ""); err != nil {
		t.Fatalf("SetStationGroup(clear): %v", err)
	}
	if err := s.DeleteStation(ctx, "CP-1"); err != nil {
		t.Fatalf("DeleteStation: %v", err)
	}
	if got, err := s.StationGroupsOf(ctx, []string{"CP-1", "CP-2", "CP-3"}); err != nil || len(got) != 0 {
		t.Errorf("StationGroupsOf after clearing = %v, %v; want none", got, err)
	}
	if err := s.DeleteStationGroup(ctx, "A"); err != nil {
		t.Errorf("DeleteStationGroup(empty): %v", err)
	}
}
