package pricing

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// tariffIDPattern: OCPI's CiString(36), limited to characters that sit well in a URL path.
var tariffIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,36}$`)

// CheckTariffID tells whether id can name a tariff. The error is client-safe.
func CheckTariffID(id string) error {
	if !tariffIDPattern.MatchString(id) {
		return domain.Errorf(domain.ErrInvalid, "the tariff id must be 1 to 36 characters of A-Z, a-z, 0-9, '.', '_', '-'")
	}
	return nil
}

// Record turns a tariff given for id (by the REST API or the console) into what the store keeps:
// the id checked and set (a different id in the body is refused), last_updated set to now (whole
// seconds), the tariff validated, and its OCPI JSON.
func Record(id string, t Tariff, now time.Time) (domain.Tariff, error) {
	if err := CheckTariffID(id); err != nil {
		return domain.Tariff{}, err
	}
	if t.ID != "" && t.ID != id {
		return domain.Tariff{}, domain.Errorf(domain.ErrInvalid, "id: %q in the body differs from %q", t.ID, id)
	}
	t.ID = id
	now = now.UTC().Truncate(time.Second)
	t.LastUpdated = &now
	if err := t.Validate(); err != nil {
		return domain.Tariff{}, err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return domain.Tariff{}, err
	}
	return domain.Tariff{ID: id, Body: body, UpdatedAt: now}, nil
}
