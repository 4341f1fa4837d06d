// Package region holds the checks of places that need more than the standard library: the
// ISO 3166-1 country list (from the CLDR data of golang.org/x/text). The REST API and the
// console check locations through it, so both accept and refuse the same ones.
package region

import (
	"golang.org/x/text/language"

	"github.com/opencpo/opencpo/internal/domain"
)

// CheckLocation checks what the domain checks (domain.Location.Validate), plus the country
// against ISO 3166-1.
func CheckLocation(l domain.Location) error {
	if err := l.Validate(); err != nil {
		return err
	}
	r, err := language.ParseRegion(l.Address.Country)
	if err != nil || !r.IsCountry() || r.Canonicalize().String() != l.Address.Country {
		return domain.Errorf(domain.ErrInvalid, "address.country %q is not an ISO 3166-1 alpha-2 country code", l.Address.Country)
	}
	return nil
}
