package pricing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// seg is one stretch of a test session: charging (with energy, power, current) or parked.
type seg struct {
	d        time.Duration
	kwh      string
	charging bool
	powerW   float64
	currentA float64
}

func charge(d time.Duration, kwh string) seg { return seg{d: d, kwh: kwh, charging: true} }
func park(d time.Duration) seg               { return seg{d: d} }

func (s seg) amps(a float64) seg { s.currentA = a; return s }
func (s seg) kw(kw float64) seg  { s.powerW = kw * 1000; return s }

// session lays the segments end to end from start.
func session(start time.Time, loc *time.Location, segs ...seg) Timeline {
	tl := Timeline{Start: start, Location: loc}
	at := start
	for _, s := range segs {
		p := Period{From: at, To: at.Add(s.d), Charging: s.charging, MaxPowerW: s.powerW, MaxCurrentA: s.currentA}
		if s.kwh != "" {
			p.EnergyWh = decimal.RequireFromString(s.kwh).Shift(3)
		}
		tl.Periods = append(tl.Periods, p)
		at = p.To
	}
	tl.End = at
	return tl
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func decodeTariff(t *testing.T, js string) Tariff {
	t.Helper()
	var tf Tariff
	if err := json.Unmarshal([]byte(js), &tf); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := tf.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return tf
}

// OCPI 2.2.1 example tariffs (module Tariffs, section "Examples"; JSON as in the spec's examples
// folder, with "restrictions" where older drafts wrote "tariff_restrictions").
const (
	ocpiSimpleEnergy = `{"id":"16","currency":"EUR","elements":[{"price_components":[
		{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}],"last_updated":"2018-12-17T11:16:55Z"}`
	ocpiEnergyStart = `{"id":"17","currency":"EUR","elements":[{"price_components":[
		{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
		{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]}`
	ocpiEnergyMinPrice = `{"country_code":"DE","party_id":"ALL","id":"20","currency":"EUR",
		"min_price":{"excl_vat":0.50,"incl_vat":0.55},
		"elements":[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]}`
	ocpiEnergyParkingStart = `{"id":"13","currency":"EUR","elements":[{"price_components":[
		{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
		{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":100},
		{"type":"PARKING_TIME","price":2.00,"vat":20.0,"step_size":900}]}]}`
	// The prose of the example says max 10 / 11 euro (the JSON file of one draft says 25 / 27.50).
	ocpiEnergyStartMaxPrice = `{"id":"16","currency":"EUR","max_price":{"excl_vat":10.00,"incl_vat":11.00},
		"end_date_time":"2019-06-30T23:59:59Z","elements":[{"price_components":[
		{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
		{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]}`
	ocpiTwoPerHour = `{"country_code":"DE","party_id":"ALL","id":"12","currency":"EUR","elements":[
		{"price_components":[{"type":"TIME","price":2.00,"vat":10.0,"step_size":60}]}]}`
	ocpiThreePerHourFiveParking = `{"id":"13","currency":"EUR","elements":[{"price_components":[
		{"type":"TIME","price":3.00,"vat":10.0,"step_size":60},
		{"type":"PARKING_TIME","price":5.00,"vat":20.0,"step_size":300}]}]}`
	ocpiAltText = `{"id":"12","currency":"EUR","type":"AD_HOC_PAYMENT",
		"tariff_alt_text":[{"language":"en","text":"2.00 euro p/hour including VAT."},
		{"language":"nl","text":"2.00 euro p/uur inclusief BTW."}],
		"elements":[{"price_components":[{"type":"TIME","price":1.90,"vat":5.2,"step_size":300}]}]}`
	ocpiNotPossible = `{"id":"19","currency":"EUR","type":"AD_HOC_PAYMENT",
		"tariff_alt_text":[{"language":"en","text":"2.00 euro p/hour, start tariff debit card: 0.25 euro, credit card: 0.50 euro including VAT."}],
		"elements":[{"price_components":[{"type":"FLAT","price":0.40,"vat":25.0,"step_size":1},
		{"type":"TIME","price":1.90,"vat":5.2,"step_size":300}]}]}`
	ocpiAltURL = `{"id":"13","currency":"EUR","type":"PROFILE_CHEAP","tariff_alt_url":"https://company.com/tariffs/13",
		"elements":[{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
		{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":100}]}]}`
	ocpiComplex = `{"country_code":"DE","party_id":"ALL","id":"14","currency":"EUR","type":"REGULAR",
		"tariff_alt_url":"https://company.com/tariffs/14","elements":[
		{"price_components":[{"type":"FLAT","price":2.50,"vat":15.0,"step_size":1}]},
		{"price_components":[{"type":"TIME","price":1.00,"vat":20.0,"step_size":900}],"restrictions":{"max_current":32.00}},
		{"price_components":[{"type":"TIME","price":2.00,"vat":20.0,"step_size":600}],
		 "restrictions":{"min_current":32.00,"day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
		{"price_components":[{"type":"TIME","price":1.25,"vat":20.0,"step_size":600}],
		 "restrictions":{"min_current":32.00,"day_of_week":["SATURDAY","SUNDAY"]}},
		{"price_components":[{"type":"PARKING_TIME","price":5.00,"vat":10.0,"step_size":300}],
		 "restrictions":{"start_time":"09:00","end_time":"18:00","day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
		{"price_components":[{"type":"PARKING_TIME","price":6.00,"vat":10.0,"step_size":300}],
		 "restrictions":{"start_time":"10:00","end_time":"17:00","day_of_week":["SATURDAY"]}}],
		"last_updated":"2015-06-29T20:39:09Z"}`
	ocpiFree          = `{"id":"15","currency":"EUR","elements":[{"price_components":[{"type":"FLAT","price":0.00,"step_size":0}]}]}`
	ocpiFirstHourFree = `{"id":"52","currency":"EUR","elements":[
		{"price_components":[{"type":"PARKING_TIME","price":0.0,"step_size":60}],"restrictions":{"min_duration":0,"max_duration":3600}},
		{"price_components":[{"type":"PARKING_TIME","price":2.0,"step_size":60}],"restrictions":{"min_duration":3600,"max_duration":10800}},
		{"price_components":[{"type":"PARKING_TIME","price":3.0,"step_size":60}],"restrictions":{"min_duration":10800}},
		{"price_components":[{"type":"ENERGY","price":0.0,"step_size":1}],"restrictions":{"max_kwh":1.0}},
		{"price_components":[{"type":"ENERGY","price":0.2,"step_size":1}],"restrictions":{"min_kwh":1.0}}]}`
	ocpiStepSize = `{"country_code":"DE","party_id":"ALL","id":"22","currency":"EUR","elements":[
		{"price_components":[{"type":"TIME","price":1.20,"step_size":1800},{"type":"PARKING_TIME","price":1.00,"step_size":900}],
		 "restrictions":{"start_time":"00:00","end_time":"17:00"}},
		{"price_components":[{"type":"TIME","price":2.40,"step_size":900},{"type":"PARKING_TIME","price":1.00,"step_size":900}],
		 "restrictions":{"start_time":"17:00","end_time":"20:00"}},
		{"price_components":[{"type":"TIME","price":2.40,"step_size":900}],
		 "restrictions":{"start_time":"20:00","end_time":"23:59"}}]}`
	ocpiMaxPower = `{"id":"1","currency":"EUR","type":"REGULAR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.20,"vat":20.0,"step_size":1}],"restrictions":{"max_power":16.00}},
		{"price_components":[{"type":"ENERGY","price":0.35,"vat":20.0,"step_size":1}],"restrictions":{"max_power":32.00}},
		{"price_components":[{"type":"ENERGY","price":0.50,"vat":20.0,"step_size":1}]}]}`
	ocpiMaxDuration = `{"id":"2","currency":"EUR","type":"REGULAR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.00,"vat":20.0,"step_size":1}],"restrictions":{"max_duration":1800}},
		{"price_components":[{"type":"ENERGY","price":0.25,"vat":20.0,"step_size":1}],"restrictions":{"max_duration":3600}},
		{"price_components":[{"type":"ENERGY","price":0.40,"vat":20.0,"step_size":1}]}]}`
	ocpiMinMaxDuration = `{"id":"21","currency":"EUR","type":"REGULAR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.20,"vat":20.0,"step_size":1}],"restrictions":{"max_duration":1800}},
		{"price_components":[{"type":"ENERGY","price":0.30,"vat":20.0,"step_size":1}],"restrictions":{"min_duration":1800,"max_duration":3600}},
		{"price_components":[{"type":"ENERGY","price":0.40,"vat":20.0,"step_size":1}],"restrictions":{"min_duration":3600}}]}`
	ocpiNorthAmerican = `{"country_code":"CA","party_id":"FLO","id":"12","currency":"CAD","elements":[
		{"price_components":[{"type":"TIME","price":2.00,"step_size":1}]}]}`
	ocpiReservation = `{"id":"15","currency":"EUR","elements":[
		{"price_components":[{"type":"TIME","price":5.00,"vat":20.0,"step_size":60}],"restrictions":{"reservation":"RESERVATION"}},
		{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
		 {"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]}`
)

// Our own tariffs.
const (
	ownNewYearPromo = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.10,"vat":21,"step_size":1}],"restrictions":{"start_date":"2025-01-01","end_date":"2025-01-02"}},
		{"price_components":[{"type":"ENERGY","price":0.30,"vat":21,"step_size":1}]}]}`
	ownNightRate = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.20,"vat":21,"step_size":1}],"restrictions":{"start_time":"22:00","end_time":"06:00"}},
		{"price_components":[{"type":"ENERGY","price":0.35,"vat":21,"step_size":1}]}]}`
	ownHourly  = `{"currency":"EUR","elements":[{"price_components":[{"type":"TIME","price":1.00,"step_size":0},{"type":"PARKING_TIME","price":1.00,"step_size":0}]}]}`
	ownDSTPeak = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"TIME","price":2.00,"step_size":0}],"restrictions":{"start_time":"02:00","end_time":"03:00"}},
		{"price_components":[{"type":"TIME","price":1.00,"step_size":0}]}]}`
	ownIdleFee = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.30,"vat":21,"step_size":1}]},
		{"price_components":[{"type":"PARKING_TIME","price":0.00,"step_size":0}],"restrictions":{"max_duration":5400}},
		{"price_components":[{"type":"PARKING_TIME","price":6.00,"vat":21,"step_size":60}]}]}`
	ownEnergyStep500 = `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.25,"step_size":500}]}]}`
	ownEnergyStep25  = `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.25,"step_size":25}]}]}`
	ownEnergyStep1   = `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.25,"step_size":1}]}]}`
	ownMinNoIncl     = `{"currency":"EUR","min_price":{"excl_vat":2.00},"elements":[
		{"price_components":[{"type":"ENERGY","price":0.25,"vat":25,"step_size":1}]}]}`
	ownMaxInclOnly = `{"currency":"EUR","max_price":{"excl_vat":4.50,"incl_vat":5.00},"elements":[
		{"price_components":[{"type":"ENERGY","price":0.25,"vat":25,"step_size":1}]}]}`
	ownFlatWithThreshold = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"FLAT","price":5.00,"step_size":0}],"restrictions":{"min_kwh":10}},
		{"price_components":[{"type":"FLAT","price":1.00,"step_size":0},{"type":"ENERGY","price":0.30,"step_size":0}]}]}`
	ownWeekend = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.40,"vat":21,"step_size":1}],"restrictions":{"day_of_week":["SATURDAY","SUNDAY"]}},
		{"price_components":[{"type":"ENERGY","price":0.30,"vat":21,"step_size":1}]}]}`
	ownFastSurcharge = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"TIME","price":6.00,"step_size":60}],"restrictions":{"min_power":22}},
		{"price_components":[{"type":"ENERGY","price":0.30,"step_size":1}]}]}`
	ownMaxCurrent = `{"currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.25,"step_size":1}],"restrictions":{"max_current":16}},
		{"price_components":[{"type":"ENERGY","price":0.35,"step_size":1}]}]}`
	ownJPY = `{"currency":"JPY","elements":[{"price_components":[{"type":"ENERGY","price":35.5,"vat":10,"step_size":1}]}]}`
)

type golden struct {
	name   string
	source string // where the expected numbers come from
	tariff string
	tl     Timeline
	excl   string
	incl   string
}

func goldenVectors(t *testing.T) []golden {
	utc := time.UTC
	ams := mustLoc(t, "Europe/Amsterdam")
	noon := time.Date(2025, 6, 3, 12, 0, 0, 0, utc)
	at := func(loc *time.Location, y int, m time.Month, d, h, mi int) time.Time {
		return time.Date(y, m, d, h, mi, 0, 0, loc)
	}
	monday := at(ams, 2025, 6, 2, 9, 30)
	saturday := at(ams, 2025, 6, 7, 13, 30)
	if monday.Weekday() != time.Monday || saturday.Weekday() != time.Saturday {
		t.Fatal("calendar")
	}
	H, M := time.Hour, time.Minute
	return []golden{
		{"simple 0.25/kWh, 20 kWh", "OCPI 2.2.1 Tariffs example 'Simple Tariff example 0.25 euro per kWh'",
			ocpiSimpleEnergy, session(noon, utc, charge(2*H, "20")), "5.00", "5.50"},
		{"0.25/kWh + start fee, 20 kWh", "OCPI 'Tariff example 0.25 euro per kWh + start fee'",
			ocpiEnergyStart, session(noon, utc, charge(2*H, "20")), "5.50", "6.10"},
		{"0.25/kWh + min price, 20 kWh", "OCPI 'Tariff example 0.25 euro per kWh + minimum price'",
			ocpiEnergyMinPrice, session(noon, utc, charge(2*H, "20")), "5.00", "5.50"},
		{"0.25/kWh + min price, 1 kWh", "OCPI 'Tariff example 0.25 euro per kWh + minimum price' (less than 2 kWh)",
			ocpiEnergyMinPrice, session(noon, utc, charge(10*M, "1")), "0.50", "0.55"},
		{"0.25/kWh + parking + start fee, 20 kWh + 40 min", "OCPI 'Tariff example 0.25 euro per kWh + parking fee + start fee'",
			ocpiEnergyParkingStart, session(noon, utc, charge(2*H, "20"), park(40*M)), "7.00", "7.90"},
		{"0.25/kWh + start + max price, 50 kWh", "OCPI 'Tariff example 0.25 euro per kWh + start fee + max price + tariff end date'",
			ocpiEnergyStartMaxPrice, session(noon, utc, charge(3*H, "50")), "10.00", "11.00"},
		{"0.25/kWh + start + max price, 30 kWh", "OCPI same example, 30 kWh",
			ocpiEnergyStartMaxPrice, session(noon, utc, charge(3*H, "30")), "8.00", "8.85"},
		{"2 euro per hour, 2.5 h", "OCPI 'Simple Tariff example 2 euro per hour'",
			ocpiTwoPerHour, session(noon, utc, charge(150*M, "30")), "5.00", "5.50"},
		{"2 euro per hour, parking is free", "OCPI same example: TIME only, parking not billed",
			ocpiTwoPerHour, session(noon, utc, charge(150*M, "30"), park(H)), "5.00", "5.50"},
		{"3 euro per hour + 5 euro parking, 150 + 42 min", "OCPI 'Simple Tariff example 3 euro per hour, 5 euro per hour parking'",
			ocpiThreePerHourFiveParking, session(noon, utc, charge(150*M, "30"), park(42*M)), "11.25", "12.75"},
		{"ad-hoc alt text 1.90/h, 2.5 h", "OCPI 'Ad-Hoc simple Tariff example with multiple languages'",
			ocpiAltText, session(noon, utc, charge(150*M, "30")), "4.75", "5.00"},
		{"ad-hoc not possible, 2 h", "OCPI 'Ad-Hoc Tariff example not possible with OCPI' (no worked total in the spec: 0.40 + 2 h × 1.90; incl 0.50 + 3.9976)",
			ocpiNotPossible, session(noon, utc, charge(2*H, "20")), "4.20", "4.50"},
		{"alt URL, 20.45 kWh billed per 100 Wh", "OCPI 'Simple Tariff example with alternative URL': its prose gives 5.50 / 6.05, which leaves out the 0.50 start fee of its own JSON and misprices 20.5 kWh; JSON priced: 0.50 + 20.5 × 0.25",
			ocpiAltURL, session(noon, utc, charge(2*H, "20.45")), "5.63", "6.24"},
		{"complex, Monday 09:30, 147 min at 16 A + 42 min parking", "OCPI 'Complex Tariff example', first session",
			ocpiComplex, session(monday, ams, charge(147*M, "10").amps(16), park(42*M)), "8.75", "10.00"},
		{"complex, Saturday 13:30, 114 min at 43 A + 71 min parking", "OCPI 'Complex Tariff example', second session (14,13 in the spec)",
			ocpiComplex, session(saturday, ams, charge(114*M, "40").amps(43), park(71*M)), "12.50", "14.13"},
		{"free of charge", "OCPI 'Free of Charge Tariff example'",
			ocpiFree, session(noon, utc, charge(2*H, "20"), park(H)), "0.00", "0.00"},
		{"first hour free, parked 2.75 h then 20 kWh", "OCPI 'First hour free energy example' (7.30): durations count from session start, so the 2.75 h of parking come first here (a delayed start)",
			ocpiFirstHourFree, session(noon, utc, park(165*M), charge(H, "20")), "7.30", "7.30"},
		{"first hour free, 20 kWh in 30 min then 2.75 h parked", "our numbers for the example as told: 3.80 energy + 30 min free + 2 h × 2.00 + 15 min × 3.00",
			ocpiFirstHourFree, session(noon, utc, charge(30*M, "20"), park(165*M)), "8.55", "8.55"},
		{"step size switch #1, 16:55 10 min charging + 2 min parking", "OCPI step_size example 1: TIME 5 min × 1.20 + 10 min × 2.40 = 0.50 as in the spec; unlike its prose we also bill the 2 min parking as 15 min × 1.00 (its 'Complex Tariff example' bills parking steps on top of rounded charging)",
			ocpiStepSize, session(at(ams, 2025, 6, 3, 16, 55), ams, charge(10*M, "2"), park(2*M)), "0.75", "0.75"},
		{"step size switch #2, 16:35 35 min charging", "OCPI step_size example 2",
			ocpiStepSize, session(at(ams, 2025, 6, 3, 16, 35), ams, charge(35*M, "5")), "1.30", "1.30"},
		{"step size switch to free parking, 19:55 10 min charging + 2 min parking", "OCPI step_size example 'switching to Free-of-Charge Tariff Element'",
			ocpiStepSize, session(at(ams, 2025, 6, 3, 19, 55), ams, charge(10*M, "2"), park(2*M)), "0.60", "0.60"},
		{"max_power, 1 kWh at 6 kW + 40 kWh at 48 kW + 0.5 kWh at 4 kW", "OCPI 'Example: Tariff with max_power Tariff Restrictions'",
			ocpiMaxPower, session(noon, utc, charge(10*M, "1").kw(6), charge(50*M, "40").kw(48), charge(450*time.Second, "0.5").kw(4)), "20.30", "24.36"},
		{"max_duration, 5 kWh in 30 min + 1.2 kWh in 10 min", "OCPI 'Example: Tariff with max_duration Tariff Restrictions'",
			ocpiMaxDuration, session(noon, utc, charge(30*M, "5"), charge(10*M, "1.2")), "0.30", "0.36"},
		{"min/max duration, 4 + 4 + 3 kWh in 20 + 20 + 30 min", "OCPI min_max_duration example tariff, our session: 6 kWh × 0.20 + 4 × 0.30 + 1 × 0.40",
			ocpiMinMaxDuration, session(noon, utc, charge(20*M, "4"), charge(20*M, "4"), charge(30*M, "3")), "2.80", "3.36"},
		{"north american exclusive, CAD 2.00/h, 90 min", "OCPI example tariff_19 (CAD, no VAT given)",
			ocpiNorthAmerican, session(noon, utc, charge(90*M, "10")), "3.00", "3.00"},
		{"reservation element ignored, 20 kWh", "OCPI 'Tariff example with reservation price': the session part (0.50 + 20 × 0.25); reservations are not priced here",
			ocpiReservation, session(noon, utc, charge(2*H, "20")), "5.50", "6.10"},

		{"start_date/end_date across midnight into New Year", "own: 5 kWh × 0.30 on 31 Dec + 5 kWh × 0.10 on 1 Jan (Amsterdam time)",
			ownNewYearPromo, session(at(ams, 2024, 12, 31, 23, 0), ams, charge(2*H, "10")), "2.00", "2.42"},
		{"overnight start_time 22:00 end_time 06:00", "own: 21:00–23:00, 2 kWh × 0.35 + 2 kWh × 0.20",
			ownNightRate, session(at(ams, 2025, 6, 3, 21, 0), ams, charge(2*H, "4")), "1.10", "1.33"},
		{"overnight rate across midnight and 06:00", "own: 23:00–07:00, 7 kWh × 0.20 + 1 kWh × 0.35",
			ownNightRate, session(at(ams, 2025, 6, 3, 23, 0), ams, charge(8*H, "8")), "1.75", "2.12"},
		{"DST spring day in Amsterdam is 23 h", "own: 1.00/h from local midnight to midnight on 2025-03-30",
			ownHourly, session(at(ams, 2025, 3, 30, 0, 0), ams, charge(23*H, "50")), "23.00", "23.00"},
		{"DST autumn day in Amsterdam is 25 h", "own: 1.00/h from local midnight to midnight on 2025-10-26",
			ownHourly, session(at(ams, 2025, 10, 26, 0, 0), ams, charge(25*H, "50")), "25.00", "25.00"},
		{"02:00–03:00 peak does not exist on the spring DST day", "own: 23 h × 1.00",
			ownDSTPeak, session(at(ams, 2025, 3, 30, 0, 0), ams, charge(23*H, "50")), "23.00", "23.00"},
		{"02:00–03:00 peak happens twice on the autumn DST day", "own: 2 h × 2.00 + 23 h × 1.00",
			ownDSTPeak, session(at(ams, 2025, 10, 26, 0, 0), ams, charge(25*H, "50")), "27.00", "27.00"},
		{"idle fee after 90 min of session", "own: 10 kWh × 0.30 + parking free until 90 min, then 20 min × 6.00/h",
			ownIdleFee, session(noon, utc, charge(H, "10"), park(50*M)), "5.00", "6.05"},
		{"energy step 500 Wh, 115.2 Wh", "OCPI PriceComponent step_size note: 500 Wh billed, 0.125",
			ownEnergyStep500, session(noon, utc, charge(M, "0.1152")), "0.13", "0.13"},
		{"energy step 25 Wh, 115.2 Wh", "OCPI step_size note: 125 Wh billed, 0.03125",
			ownEnergyStep25, session(noon, utc, charge(M, "0.1152")), "0.03", "0.03"},
		{"energy step 1 Wh, 115.2 Wh", "OCPI step_size note: 116 Wh billed, 0.029",
			ownEnergyStep1, session(noon, utc, charge(M, "0.1152")), "0.03", "0.03"},
		{"min price without incl_vat scales incl", "own: 2 kWh = 0.50 → 2.00 excl, incl × 1.25",
			ownMinNoIncl, session(noon, utc, charge(H, "2")), "2.00", "2.50"},
		{"max price with incl_vat only hitting incl", "own: 17 kWh = 4.25 excl, 5.3125 incl → 5.00",
			ownMaxInclOnly, session(noon, utc, charge(H, "17")), "4.25", "5.00"},
		{"FLAT once, first matching at session start", "own: the min_kwh FLAT matches only later; 1.00 + 20 × 0.30",
			ownFlatWithThreshold, session(noon, utc, charge(2*H, "20")), "7.00", "7.00"},
		{"zero-length session pays the flat fee", "own",
			ownFlatWithThreshold, session(noon, utc), "1.00", "1.00"},
		{"day_of_week across midnight Friday → Saturday", "own: 23:00–01:00 Amsterdam, 2 kWh × 0.30 on Friday + 2 kWh × 0.40 on Saturday",
			ownWeekend, session(at(ams, 2025, 6, 6, 23, 0), ams, charge(2*H, "4")), "1.40", "1.69"},
		{"min_power surcharge only while fast", "own: 30 min at 50 kW (25 kWh) + 30 min at 11 kW (5.5 kWh): 30.5 × 0.30 + 0.5 h × 6.00",
			ownFastSurcharge, session(noon, utc, charge(30*M, "25").kw(50), charge(30*M, "5.5").kw(11)), "12.15", "12.15"},
		{"max_current: 16 A and above", "own: 3 kWh at 16 A (not below 16: 0.35) + 2 kWh at 10 A (0.25)",
			ownMaxCurrent, session(noon, utc, charge(H, "3").amps(16), charge(H, "2").amps(10)), "1.55", "1.55"},
		{"JPY has no minor unit", "own: 12.345 kWh × 35.5 = 438.2475 → 438; incl 482.07225 → 482",
			ownJPY, session(noon, utc, charge(H, "12.345")), "438", "482"},
	}
}

func TestGoldenVectors(t *testing.T) {
	for _, g := range goldenVectors(t) {
		t.Run(g.name, func(t *testing.T) {
			tf := decodeTariff(t, g.tariff)
			c, err := Price(tf, g.tl)
			if err != nil {
				t.Fatal(err)
			}
			m := c.Money()
			if m.ExclVat != g.excl || m.InclVat != g.incl {
				t.Errorf("got %s / %s, want %s / %s (%s)", m.ExclVat, m.InclVat, g.excl, g.incl, g.source)
				for _, l := range c.Breakdown {
					t.Logf("  %s el%d %s–%s used %s billed %s × %s = %s (+%s)", l.Dimension, l.ElementIndex,
						l.From.Format("15:04"), l.To.Format("15:04"), l.Used.StringFixed(4), l.Volume.StringFixed(4),
						l.UnitPrice, l.ExclVat.StringFixed(4), l.Vat.StringFixed(4))
				}
			}
			if c.ChargingTime+c.ParkingTime != g.tl.End.Sub(g.tl.Start) {
				t.Errorf("charging %s + parking %s != session %s", c.ChargingTime, c.ParkingTime, g.tl.End.Sub(g.tl.Start))
			}
		})
	}
}

// The OCPI complex example, line by line: the step sizes show up in the billed volumes.
func TestBreakdownComplexMonday(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	tl := session(time.Date(2025, 6, 2, 9, 30, 0, 0, ams), ams, charge(147*time.Minute, "10").amps(16), park(42*time.Minute))
	c, err := Price(decodeTariff(t, ocpiComplex), tl)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		dim          Dimension
		el           int
		used, billed string
		excl         string
	}
	wants := []want{
		{DimensionFlat, 0, "1", "1", "2.5"},
		{DimensionTime, 1, "2.45", "2.5", "2.5"},
		{DimensionParkingTime, 4, "0.7", "0.75", "3.75"},
	}
	if len(c.Breakdown) != len(wants) {
		t.Fatalf("breakdown %+v", c.Breakdown)
	}
	for i, w := range wants {
		l := c.Breakdown[i]
		if l.Dimension != w.dim || l.ElementIndex != w.el || !l.Used.Equal(decimal.RequireFromString(w.used)) ||
			!l.Volume.Equal(decimal.RequireFromString(w.billed)) || !l.ExclVat.Equal(decimal.RequireFromString(w.excl)) {
			t.Errorf("line %d = %s el%d used %s billed %s excl %s, want %+v", i, l.Dimension, l.ElementIndex, l.Used, l.Volume, l.ExclVat, w)
		}
	}
	if c.ChargingTime != 147*time.Minute || c.ParkingTime != 42*time.Minute || !c.EnergyWh.Equal(decimal.NewFromInt(10000)) {
		t.Errorf("totals %s %s %s", c.ChargingTime, c.ParkingTime, c.EnergyWh)
	}
}

// A session crossing a tariff time boundary gets one line per element, split at the boundary.
func TestBreakdownSplitsAtBoundary(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	start := time.Date(2025, 6, 3, 21, 0, 0, 0, ams)
	c, err := Price(decodeTariff(t, ownNightRate), session(start, ams, charge(2*time.Hour, "4")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Breakdown) != 2 {
		t.Fatalf("breakdown %+v", c.Breakdown)
	}
	b := time.Date(2025, 6, 3, 22, 0, 0, 0, ams)
	if l := c.Breakdown[0]; l.ElementIndex != 1 || !l.To.Equal(b) || !l.Used.Equal(decimal.NewFromInt(2)) {
		t.Errorf("first line %+v", l)
	}
	if l := c.Breakdown[1]; l.ElementIndex != 0 || !l.From.Equal(b) || !l.Used.Equal(decimal.NewFromInt(2)) {
		t.Errorf("second line %+v", l)
	}
}
