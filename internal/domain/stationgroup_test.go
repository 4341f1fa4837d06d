package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestStationGroupAdmits(t *testing.T) {
	g := StationGroup{ID: "g", TokenGroups: []string{"fleet-1", "fleet-2"}}
	for tokenGroup, want := range map[string]bool{"fleet-1": true, "fleet-2": true, "fleet-3": false, "": false} {
		if got := g.Admits(tokenGroup); got != want {
			t.Errorf("Admits(%q) = %v, want %v", tokenGroup, got, want)
		}
	}
	all := StationGroup{ID: "g", AllTokens: true}
	if !all.Admits("") || !all.Admits("anything") {
		t.Error("an allTokens group must admit every token")
	}
}

func TestStationGroupValidate(t *testing.T) {
	if err := (StationGroup{ID: "depot-1.a_B", Name: "x", TokenGroups: []string{strings.Repeat("x", 36)}}).Validate(); err != nil {
		t.Errorf("valid group: %v", err)
	}
	for _, g := range []StationGroup{
		{ID: ""},
		{ID: strings.Repeat("x", 49)},
		{ID: "a/b"},
		{ID: "ok", Name: strings.Repeat("n", 256)},
		{ID: "ok", TokenGroups: []string{""}},
		{ID: "ok", TokenGroups: []string{strings.Repeat("x", 37)}},
		{ID: "ok", TokenGroups: make([]string, 1001)},
	} {
		if err := g.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%.60q) = %v, want ErrInvalid", g.ID+"/"+g.Name, err)
		}
	}
}
