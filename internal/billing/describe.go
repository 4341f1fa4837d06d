package billing

import (
	"fmt"
	"strings"

	"github.com/opencpo/opencpo/internal/pricing"
	"github.com/shopspring/decimal"
)

// Languages Describe words prices in; the first is the fallback.
var languages = []string{"en", "de", "fr", "nl"}

// words is one language's vocabulary for a price sentence.
type words struct {
	perKWh, perHourCharging, perHourParking, perSession string
	inclVat, free, minimum, maximum                     string
	from, until, after, firstMin, fromKWh, upToKWh      string
	decimalComma                                        bool
	days                                                [7]string // Monday first
	noTariff                                            string
}

var vocab = map[string]words{
	"en": {perKWh: "per kWh", perHourCharging: "per hour charging", perHourParking: "per hour parking", perSession: "per session",
		inclVat: "incl. VAT", free: "free", minimum: "minimum", maximum: "maximum",
		from: "from", until: "until", after: "after %s min", firstMin: "first %s min", fromKWh: "from %s kWh", upToKWh: "up to %s kWh",
		days: [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}, noTariff: "No price is set for this charger."},
	"de": {perKWh: "pro kWh", perHourCharging: "pro Stunde Laden", perHourParking: "pro Stunde Parken", perSession: "pro Ladevorgang",
		inclVat: "inkl. MwSt.", free: "kostenlos", minimum: "mindestens", maximum: "höchstens",
		from: "ab", until: "bis", after: "nach %s Min.", firstMin: "erste %s Min.", fromKWh: "ab %s kWh", upToKWh: "bis %s kWh",
		decimalComma: true, days: [7]string{"Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"}, noTariff: "Für diesen Ladepunkt ist kein Preis hinterlegt."},
	"fr": {perKWh: "par kWh", perHourCharging: "par heure de charge", perHourParking: "par heure de stationnement", perSession: "par session",
		inclVat: "TTC", free: "gratuit", minimum: "minimum", maximum: "maximum",
		from: "de", until: "à", after: "après %s min", firstMin: "premières %s min", fromKWh: "à partir de %s kWh", upToKWh: "jusqu'à %s kWh",
		decimalComma: true, days: [7]string{"lun", "mar", "mer", "jeu", "ven", "sam", "dim"}, noTariff: "Aucun prix n'est défini pour cette borne."},
	"nl": {perKWh: "per kWh", perHourCharging: "per uur laden", perHourParking: "per uur parkeren", perSession: "per sessie",
		inclVat: "incl. btw", free: "gratis", minimum: "minimaal", maximum: "maximaal",
		from: "van", until: "tot", after: "na %s min", firstMin: "eerste %s min", fromKWh: "vanaf %s kWh", upToKWh: "tot %s kWh",
		decimalComma: true, days: [7]string{"ma", "di", "wo", "do", "vr", "za", "zo"}, noTariff: "Voor deze laadpaal is geen prijs ingesteld."},
}

// Language picks the language to answer in: the first of the wanted ones (a ?lang= value, then
// the Accept-Language entries, in order) that Describe knows, else English. "de-CH" counts as
// "de".
func Language(wanted ...string) string {
	for _, w := range wanted {
		for _, part := range strings.Split(w, ",") {
			tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			base, _, _ := strings.Cut(strings.ToLower(tag), "-")
			if _, ok := vocab[base]; ok {
				return base
			}
		}
	}
	return languages[0]
}

// PriceComponent is one component of a tariff as shown before start.
type PriceComponent struct {
	Type         string   `json:"type"`
	Unit         string   `json:"unit"` // kWh, hour, session
	PriceExclVat string   `json:"priceExclVat"`
	PriceInclVat string   `json:"priceInclVat"`
	VatPercent   *string  `json:"vatPercent,omitempty"`
	StepSize     int      `json:"stepSize"`
	Conditions   []string `json:"conditions,omitempty"` // the element's restrictions, worded
	Element      int      `json:"element"`
}

// Description is a tariff worded for a driver.
type Description struct {
	Language   string           `json:"language"`
	Currency   string           `json:"currency"`
	Components []PriceComponent `json:"components"`
	MinPrice   *pricing.Money   `json:"minPrice,omitempty"`
	MaxPrice   *pricing.Money   `json:"maxPrice,omitempty"`
	Text       string           `json:"text"`
}

// Describe words a tariff in lang (one of en, de, fr, nl; anything else is English). The text
// is the tariff's own tariff_alt_text in that language when it has one, otherwise a sentence
// built from its price components, prices incl. VAT.
func Describe(t pricing.Tariff, lang string) Description {
	if _, ok := vocab[lang]; !ok {
		lang = languages[0]
	}
	w := vocab[lang]
	n, _ := pricing.MinorUnits(t.Currency)
	d := Description{Language: lang, Currency: t.Currency, Components: []PriceComponent{}}
	var parts []string
	for i, e := range t.Elements {
		if e.Restrictions != nil && e.Restrictions.Reservation != "" {
			continue // reservation prices are not what a charging session pays
		}
		conds := conditions(e.Restrictions, w)
		for _, c := range e.PriceComponents {
			incl := c.Price.Decimal
			var vat *string
			if c.Vat != nil {
				incl = incl.Add(incl.Mul(c.Vat.Decimal).Div(decimal.NewFromInt(100)))
				v := c.Vat.String()
				vat = &v
			}
			unit, per := "kWh", w.perKWh
			switch c.Type {
			case pricing.DimensionTime:
				unit, per = "hour", w.perHourCharging
			case pricing.DimensionParkingTime:
				unit, per = "hour", w.perHourParking
			case pricing.DimensionFlat:
				unit, per = "session", w.perSession
			}
			d.Components = append(d.Components, PriceComponent{Type: string(c.Type), Unit: unit, PriceExclVat: c.Price.String(),
				PriceInclVat: incl.String(), VatPercent: vat, StepSize: c.StepSize, Conditions: conds, Element: i})
			phrase := formatAmount(incl, t.Currency, n, w) + " " + per
			if incl.IsZero() {
				phrase = w.free + " (" + per + ")"
			}
			if len(conds) > 0 {
				phrase += " (" + strings.Join(conds, ", ") + ")"
			}
			parts = append(parts, phrase)
		}
	}
	bound := func(a *pricing.Amount) *pricing.Money {
		if a == nil {
			return nil
		}
		incl := a.ExclVat.Decimal
		if a.InclVat != nil {
			incl = a.InclVat.Decimal
		}
		return &pricing.Money{Currency: t.Currency, ExclVat: a.ExclVat.StringFixed(n), InclVat: incl.StringFixed(n)}
	}
	d.MinPrice, d.MaxPrice = bound(t.MinPrice), bound(t.MaxPrice)
	if d.MinPrice != nil {
		parts = append(parts, w.minimum+" "+formatAmount(decimal.RequireFromString(d.MinPrice.InclVat), t.Currency, n, w))
	}
	if d.MaxPrice != nil {
		parts = append(parts, w.maximum+" "+formatAmount(decimal.RequireFromString(d.MaxPrice.InclVat), t.Currency, n, w))
	}
	d.Text = strings.Join(parts, ", ") + " (" + w.inclVat + ")."
	for _, alt := range t.TariffAltText {
		if Language(alt.Language) == lang && strings.EqualFold(strings.SplitN(alt.Language, "-", 2)[0], lang) {
			d.Text = alt.Text
			break
		}
	}
	return d
}

// NoTariffText is the sentence for a charger without a price, in lang.
func NoTariffText(lang string) string {
	if w, ok := vocab[lang]; ok {
		return w.noTariff
	}
	return vocab[languages[0]].noTariff
}

var symbols = map[string]string{"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF", "JPY": "¥"}

// formatAmount shows an amount with at least the currency's decimals and at most four (unit
// prices such as 0.3025 per kWh keep their precision).
func formatAmount(v decimal.Decimal, cur string, minor int32, w words) string {
	s := v.Round(4).StringFixed(4)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		keep := i + 1 + int(minor)
		for len(s) > keep && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		s = strings.TrimSuffix(s, ".")
	}
	if w.decimalComma {
		s = strings.Replace(s, ".", ",", 1)
	}
	sym, ok := symbols[cur]
	if !ok {
		sym = cur
	}
	if w.decimalComma {
		return s + " " + sym
	}
	return sym + s
}

func conditions(r *pricing.TariffRestrictions, w words) []string {
	if r == nil {
		return nil
	}
	var out []string
	if r.StartTime != "" || r.EndTime != "" {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s–%s", orText(r.StartTime, "00:00"), orText(r.EndTime, "24:00"))))
	}
	if len(r.DayOfWeek) > 0 && len(r.DayOfWeek) < 7 {
		order := []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}
		var days []string
		for i, name := range order {
			for _, d := range r.DayOfWeek {
				if d == name {
					days = append(days, w.days[i])
				}
			}
		}
		out = append(out, strings.Join(days, "/"))
	}
	if r.StartDate != "" {
		out = append(out, w.from+" "+r.StartDate)
	}
	if r.EndDate != "" {
		out = append(out, w.until+" "+r.EndDate)
	}
	if r.MinDuration != nil && *r.MinDuration > 0 {
		out = append(out, fmt.Sprintf(w.after, minutes(*r.MinDuration)))
	}
	if r.MaxDuration != nil {
		out = append(out, fmt.Sprintf(w.firstMin, minutes(*r.MaxDuration)))
	}
	if r.MinKWh != nil && r.MinKWh.IsPositive() {
		out = append(out, fmt.Sprintf(w.fromKWh, r.MinKWh.String()))
	}
	if r.MaxKWh != nil {
		out = append(out, fmt.Sprintf(w.upToKWh, r.MaxKWh.String()))
	}
	if r.MinPower != nil {
		out = append(out, "≥ "+r.MinPower.String()+" kW")
	}
	if r.MaxPower != nil {
		out = append(out, "< "+r.MaxPower.String()+" kW")
	}
	if r.MinCurrent != nil {
		out = append(out, "≥ "+r.MinCurrent.String()+" A")
	}
	if r.MaxCurrent != nil {
		out = append(out, "< "+r.MaxCurrent.String()+" A")
	}
	return out
}

func minutes(seconds int) string {
	return decimal.NewFromInt(int64(seconds)).Div(decimal.NewFromInt(60)).Round(1).String()
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
