package region

import (
	"errors"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
)

func TestCheckLocation(t *testing.T) {
	l := domain.Location{ID: "loc_1", Name: "Depot", Address: domain.Address{Street: "A 1", City: "B", PostalCode: "1", Country: "DE"},
		Latitude: 52.5, Longitude: 13.4, TimeZone: "Europe/Berlin"}
	if err := CheckLocation(l); err != nil {
		t.Fatalf("valid location refused: %v", err)
	}
	for _, c := range []string{"XX", "ZZ", "UK", "EU"} { // not ISO 3166-1 countries (UK is GB)
		bad := l
		bad.Address.Country = c
		if err := CheckLocation(bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("country %s: %v, want ErrInvalid", c, err)
		}
	}
	bad := l
	bad.Latitude = 91
	if err := CheckLocation(bad); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("the domain's own checks are not applied: %v", err)
	}
}
