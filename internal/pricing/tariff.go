package pricing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/shopspring/decimal"
)

// Tariff is an OCPI 2.2.1 Tariff object. The JSON names are OCPI's own, so an API handler can
// decode a PUT body straight into it (and must call Validate). country_code, party_id, id and
// last_updated are optional here: the API owns the id and the timestamps.
type Tariff struct {
	CountryCode   string          `json:"country_code,omitempty"`
	PartyID       string          `json:"party_id,omitempty"`
	ID            string          `json:"id,omitempty"`
	Currency      string          `json:"currency"`
	Type          string          `json:"type,omitempty"` // TariffType: AD_HOC_PAYMENT, PROFILE_CHEAP, PROFILE_FAST, PROFILE_GREEN, REGULAR
	TariffAltText []DisplayText   `json:"tariff_alt_text,omitempty"`
	TariffAltURL  string          `json:"tariff_alt_url,omitempty"`
	MinPrice      *Amount         `json:"min_price,omitempty"`
	MaxPrice      *Amount         `json:"max_price,omitempty"`
	Elements      []TariffElement `json:"elements"`
	StartDateTime *time.Time      `json:"start_date_time,omitempty"`
	EndDateTime   *time.Time      `json:"end_date_time,omitempty"`
	// EnergyMix is kept as given (OCPI EnergyMix class); pricing does not read it.
	EnergyMix   json.RawMessage `json:"energy_mix,omitempty"`
	LastUpdated *time.Time      `json:"last_updated,omitempty"`
}

// DisplayText is OCPI's multi-language text.
type DisplayText struct {
	Language string `json:"language"`
	Text     string `json:"text"`
}

// Amount is OCPI's Price class (named Amount here, as Price is the engine): an amount excl.
// VAT and, optionally, incl. VAT.
type Amount struct {
	ExclVat Number  `json:"excl_vat"`
	InclVat *Number `json:"incl_vat,omitempty"`
}

// TariffElement is OCPI's TariffElement: price components and the restrictions under which they
// apply.
type TariffElement struct {
	PriceComponents []PriceComponent    `json:"price_components"`
	Restrictions    *TariffRestrictions `json:"restrictions,omitempty"`
}

// Dimension is OCPI's TariffDimensionType.
type Dimension string

// The four dimensions a session is priced in.
const (
	DimensionEnergy      Dimension = "ENERGY"       // per kWh; step_size in Wh
	DimensionFlat        Dimension = "FLAT"         // once per session
	DimensionParkingTime Dimension = "PARKING_TIME" // per hour connected but not charging; step_size in s
	DimensionTime        Dimension = "TIME"         // per hour charging; step_size in s
)

// PriceComponent is OCPI's PriceComponent. Price is excl. VAT per unit (kWh, hour, or once for
// FLAT); Vat is a percentage, absent when no VAT applies; StepSize 0 means no rounding.
type PriceComponent struct {
	Type     Dimension `json:"type"`
	Price    Number    `json:"price"`
	Vat      *Number   `json:"vat,omitempty"`
	StepSize int       `json:"step_size"`
}

// TariffRestrictions is OCPI's TariffRestrictions. Times and dates are local to the location.
type TariffRestrictions struct {
	StartTime   string   `json:"start_time,omitempty"` // HH:MM, inclusive
	EndTime     string   `json:"end_time,omitempty"`   // HH:MM, exclusive; before StartTime means overnight
	StartDate   string   `json:"start_date,omitempty"` // YYYY-MM-DD, inclusive
	EndDate     string   `json:"end_date,omitempty"`   // YYYY-MM-DD, exclusive
	MinKWh      *Number  `json:"min_kwh,omitempty"`
	MaxKWh      *Number  `json:"max_kwh,omitempty"`
	MinCurrent  *Number  `json:"min_current,omitempty"` // A, sum over phases
	MaxCurrent  *Number  `json:"max_current,omitempty"`
	MinPower    *Number  `json:"min_power,omitempty"` // kW
	MaxPower    *Number  `json:"max_power,omitempty"`
	MinDuration *int     `json:"min_duration,omitempty"` // seconds since session start, inclusive
	MaxDuration *int     `json:"max_duration,omitempty"` // seconds since session start, exclusive
	DayOfWeek   []string `json:"day_of_week,omitempty"`  // MONDAY … SUNDAY
	Reservation string   `json:"reservation,omitempty"`  // RESERVATION or RESERVATION_EXPIRES
}

// Number is an OCPI JSON number held exactly. It encodes as a bare JSON number and decodes from a
// JSON number (a quoted decimal string is accepted too).
type Number struct{ decimal.Decimal }

// Num makes a Number from a decimal string; it panics on a malformed one (for literals).
func Num(s string) Number { return Number{decimal.RequireFromString(s)} }

// NumPtr is Num for optional fields.
func NumPtr(s string) *Number { n := Num(s); return &n }

// MarshalJSON writes the number unquoted, as OCPI has it.
func (n Number) MarshalJSON() ([]byte, error) { return []byte(n.Decimal.String()), nil }

// UnmarshalJSON reads a JSON number (or a quoted decimal). null leaves n unchanged.
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	d, err := decimal.NewFromString(strings.Trim(string(b), `"`))
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	n.Decimal = d
	return nil
}

var (
	reHHMM     = regexp.MustCompile(`^([0-1][0-9]|2[0-3]):[0-5][0-9]$`)
	reCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	weekdays   = map[string]time.Weekday{
		"MONDAY": time.Monday, "TUESDAY": time.Tuesday, "WEDNESDAY": time.Wednesday,
		"THURSDAY": time.Thursday, "FRIDAY": time.Friday, "SATURDAY": time.Saturday, "SUNDAY": time.Sunday,
	}
	tariffTypes = map[string]bool{
		"AD_HOC_PAYMENT": true, "PROFILE_CHEAP": true, "PROFILE_FAST": true, "PROFILE_GREEN": true, "REGULAR": true,
	}
	hundred = decimal.NewFromInt(100)
)

// Validate reports every problem with t in one domain.ErrInvalid error whose message is safe to
// show to an API caller, e.g. "elements[1].price_components[0].vat: must be between 0 and 100".
func (t Tariff) Validate() error {
	var p problems
	switch {
	case !reCurrency.MatchString(t.Currency):
		p.add("currency", "must be an ISO 4217 code of three capital letters, got %q", t.Currency)
	default:
		if _, ok := MinorUnits(t.Currency); !ok {
			p.add("currency", "%s is not a currency OpenCPO knows the minor unit of", t.Currency)
		}
	}
	if len(t.ID) > 36 {
		p.add("id", "at most 36 characters")
	}
	if t.Type != "" && !tariffTypes[t.Type] {
		p.add("type", "must be one of AD_HOC_PAYMENT, PROFILE_CHEAP, PROFILE_FAST, PROFILE_GREEN, REGULAR, got %q", t.Type)
	}
	for i, d := range t.TariffAltText {
		if d.Language == "" || d.Text == "" {
			p.add(fmt.Sprintf("tariff_alt_text[%d]", i), "needs language and text")
		}
	}
	if t.StartDateTime != nil && t.EndDateTime != nil && !t.StartDateTime.Before(*t.EndDateTime) {
		p.add("end_date_time", "must be after start_date_time")
	}
	checkPrice := func(field string, pr *Amount) {
		if pr == nil {
			return
		}
		if pr.ExclVat.IsNegative() {
			p.add(field+".excl_vat", "must not be negative")
		}
		if pr.InclVat != nil && pr.InclVat.LessThan(pr.ExclVat.Decimal) {
			p.add(field+".incl_vat", "must not be less than excl_vat")
		}
	}
	checkPrice("min_price", t.MinPrice)
	checkPrice("max_price", t.MaxPrice)
	if t.MinPrice != nil && t.MaxPrice != nil {
		if t.MinPrice.ExclVat.GreaterThan(t.MaxPrice.ExclVat.Decimal) {
			p.add("min_price.excl_vat", "must not exceed max_price.excl_vat")
		}
		if t.MinPrice.InclVat != nil && t.MaxPrice.InclVat != nil && t.MinPrice.InclVat.GreaterThan(t.MaxPrice.InclVat.Decimal) {
			p.add("min_price.incl_vat", "must not exceed max_price.incl_vat")
		}
	}
	if len(t.Elements) == 0 {
		p.add("elements", "at least one tariff element is required")
	}
	for i, e := range t.Elements {
		at := fmt.Sprintf("elements[%d]", i)
		if len(e.PriceComponents) == 0 {
			p.add(at+".price_components", "at least one price component is required")
		}
		for j, c := range e.PriceComponents {
			cat := fmt.Sprintf("%s.price_components[%d]", at, j)
			switch c.Type {
			case DimensionEnergy, DimensionFlat, DimensionParkingTime, DimensionTime:
			default:
				p.add(cat+".type", "must be one of ENERGY, FLAT, PARKING_TIME, TIME, got %q", c.Type)
			}
			if c.Price.IsNegative() {
				p.add(cat+".price", "must not be negative")
			}
			if c.Vat != nil && (c.Vat.IsNegative() || c.Vat.GreaterThan(hundred)) {
				p.add(cat+".vat", "must be between 0 and 100")
			}
			if c.StepSize < 0 {
				p.add(cat+".step_size", "must not be negative")
			}
		}
		if r := e.Restrictions; r != nil {
			r.validate(at+".restrictions", &p)
		}
	}
	return p.err()
}

func (r *TariffRestrictions) validate(at string, p *problems) {
	for _, f := range []struct{ name, v string }{{"start_time", r.StartTime}, {"end_time", r.EndTime}} {
		if f.v != "" && !reHHMM.MatchString(f.v) {
			p.add(at+"."+f.name, "must be HH:MM (24 h, leading zeros), got %q", f.v)
		}
	}
	if r.StartTime != "" && r.StartTime == r.EndTime {
		p.add(at+".end_time", "must differ from start_time")
	}
	var sd, ed time.Time
	var err error
	if r.StartDate != "" {
		if sd, err = parseDate(r.StartDate); err != nil {
			p.add(at+".start_date", "must be a date YYYY-MM-DD, got %q", r.StartDate)
		}
	}
	if r.EndDate != "" {
		if ed, err = parseDate(r.EndDate); err != nil {
			p.add(at+".end_date", "must be a date YYYY-MM-DD, got %q", r.EndDate)
		}
	}
	if !sd.IsZero() && !ed.IsZero() && !sd.Before(ed) {
		p.add(at+".end_date", "must be after start_date (end_date is exclusive)")
	}
	pair := func(lo, hi *Number, name string) {
		if lo != nil && lo.IsNegative() {
			p.add(at+".min_"+name, "must not be negative")
		}
		if hi != nil && hi.IsNegative() {
			p.add(at+".max_"+name, "must not be negative")
		}
		if lo != nil && hi != nil && lo.GreaterThan(hi.Decimal) {
			p.add(at+".min_"+name, "must not exceed max_%s", name)
		}
	}
	pair(r.MinKWh, r.MaxKWh, "kwh")
	pair(r.MinCurrent, r.MaxCurrent, "current")
	pair(r.MinPower, r.MaxPower, "power")
	if r.MinDuration != nil && *r.MinDuration < 0 {
		p.add(at+".min_duration", "must not be negative")
	}
	if r.MaxDuration != nil && *r.MaxDuration < 0 {
		p.add(at+".max_duration", "must not be negative")
	}
	if r.MinDuration != nil && r.MaxDuration != nil && *r.MinDuration > *r.MaxDuration {
		p.add(at+".min_duration", "must not exceed max_duration")
	}
	seen := map[string]bool{}
	for _, d := range r.DayOfWeek {
		if _, ok := weekdays[d]; !ok {
			p.add(at+".day_of_week", "%q is not one of MONDAY … SUNDAY", d)
		}
		if seen[d] {
			p.add(at+".day_of_week", "%s is listed twice", d)
		}
		seen[d] = true
	}
	if r.Reservation != "" && r.Reservation != "RESERVATION" && r.Reservation != "RESERVATION_EXPIRES" {
		p.add(at+".reservation", "must be RESERVATION or RESERVATION_EXPIRES, got %q", r.Reservation)
	}
}

func parseDate(s string) (time.Time, error) {
	if len(s) != 10 {
		return time.Time{}, fmt.Errorf("bad date")
	}
	return time.Parse(time.DateOnly, s)
}

// ActiveAt reports whether the tariff's start_date_time / end_date_time window holds at.
func (t Tariff) ActiveAt(at time.Time) bool {
	if t.StartDateTime != nil && at.Before(*t.StartDateTime) {
		return false
	}
	if t.EndDateTime != nil && !at.Before(*t.EndDateTime) {
		return false
	}
	return true
}

type problems []string

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return domain.Errorf(domain.ErrInvalid, "invalid tariff: %s", strings.Join(p, "; "))
}
