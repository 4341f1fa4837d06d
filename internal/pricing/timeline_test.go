package pricing

import (
	"errors"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/shopspring/decimal"
)

func TestFromSamples(t *testing.T) {
	t0 := time.Date(2025, 6, 3, 10, 0, 0, 0, time.UTC)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	e := func(min int, wh float64) domain.MeterSample { return domain.MeterSample{At: m(min), Value: wh} }
	pw := func(min int, w float64, phase string) domain.MeterSample {
		return domain.MeterSample{At: m(min), Measurand: MeasurandPower, Value: w, Phase: phase, Unit: "W"}
	}
	samples := []domain.MeterSample{
		e(0, 1000.1), pw(0, 0, ""),
		e(10, 2000.2), pw(10, 3700, "L1"), pw(10, 3700, "L2"), pw(10, 3700, "L3"),
		{At: m(10), Measurand: MeasurandCurrent, Value: 16, Phase: "L1"}, {At: m(10), Measurand: MeasurandCurrent, Value: 16, Phase: "L2"},
		e(20, 3000.3), pw(20, 11.1, ""), // a kW reading written in W: idle
		{At: m(20), Value: 3000.4, Phase: "L1"}, // phase register: ignored
		{At: m(25), Value: 3, Unit: "kWh"},      // 3000 Wh: a register drop → reset, counts 3000
		e(30, 3000), pw(30, 0, ""),              // no rise, no power: parking
		{At: m(35), Value: 9999, Location: "Inlet"}, // ignored
		{At: m(40), Measurand: "SoC", Value: 80},    // ignored
	}
	tl := FromSamples(t0, m(45), samples, 100)
	type want struct {
		from, to int
		wh       string
		charging bool
		powerW   float64
		amps     float64
	}
	wants := []want{
		{0, 10, "1000.1", true, 11100, 32},
		{10, 20, "1000.1", true, 11100, 32},
		{20, 25, "3000", true, 11.1, 0},
		{25, 30, "0", false, 0, 0},
		{30, 45, "0", false, 0, 0},
	}
	if len(tl.Periods) != len(wants) {
		t.Fatalf("periods %+v", tl.Periods)
	}
	for i, w := range wants {
		p := tl.Periods[i]
		if !p.From.Equal(m(w.from)) || !p.To.Equal(m(w.to)) || !p.EnergyWh.Equal(decimal.RequireFromString(w.wh)) ||
			p.Charging != w.charging || p.MaxPowerW != w.powerW || p.MaxCurrentA != w.amps {
			t.Errorf("period %d = %s–%s %s Wh charging %v %v W %v A, want %+v", i, p.From.Format("15:04"), p.To.Format("15:04"), p.EnergyWh, p.Charging, p.MaxPowerW, p.MaxCurrentA, w)
		}
	}
	// Float readings give exact decimal deltas: 2000.2 - 1000.1 is 1000.1, not 1000.0999999.
	c, err := Price(decodeTariff(t, ownEnergyStep1), tl)
	if err != nil {
		t.Fatal(err)
	}
	if c.EnergyWh.String() != "5000.2" || c.ChargingTime != 25*time.Minute || c.ParkingTime != 20*time.Minute {
		t.Errorf("cost %+v", c)
	}
}

func TestFromSamplesPowerOnly(t *testing.T) {
	t0 := time.Date(2025, 6, 3, 10, 0, 0, 0, time.UTC)
	s := func(min int, w float64) domain.MeterSample {
		return domain.MeterSample{At: t0.Add(time.Duration(min) * time.Minute), Measurand: MeasurandPower, Value: w, Unit: "kW"}
	}
	tl := FromSamples(t0, t0.Add(30*time.Minute), []domain.MeterSample{s(0, 7), s(10, 7), s(20, 0)}, 50)
	got := []bool{}
	for _, p := range tl.Periods {
		got = append(got, p.Charging)
	}
	if len(got) != 3 || !got[0] || got[1] || got[2] || tl.Periods[0].MaxPowerW != 7000 {
		t.Errorf("charging %v, periods %+v", got, tl.Periods)
	}
	if tl := FromSamples(t0, t0, nil, 0); len(tl.Periods) != 0 {
		t.Errorf("empty session has periods %+v", tl.Periods)
	}
}

func TestTimelineErrors(t *testing.T) {
	t0 := time.Date(2025, 6, 3, 10, 0, 0, 0, time.UTC)
	h := time.Hour
	tf := decodeTariff(t, ownHourly)
	for name, tl := range map[string]Timeline{
		"ends before start": {Start: t0, End: t0.Add(-h)},
		"period reversed":   {Start: t0, End: t0.Add(h), Periods: []Period{{From: t0.Add(h), To: t0}}},
		"overlap":           {Start: t0, End: t0.Add(3 * h), Periods: []Period{{From: t0, To: t0.Add(2 * h)}, {From: t0.Add(h), To: t0.Add(3 * h)}}},
		"before session":    {Start: t0, End: t0.Add(h), Periods: []Period{{From: t0.Add(-h), To: t0}}},
		"after session":     {Start: t0, End: t0.Add(h), Periods: []Period{{From: t0, To: t0.Add(2 * h)}}},
		"negative energy":   {Start: t0, End: t0.Add(h), Periods: []Period{{From: t0, To: t0.Add(h), EnergyWh: decimal.NewFromInt(-1)}}},
	} {
		if _, err := Price(tf, tl); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Gaps are parking.
	c, err := Price(tf, Timeline{Start: t0, End: t0.Add(3 * h), Periods: []Period{{From: t0.Add(h), To: t0.Add(2 * h), Charging: true}}})
	if err != nil || c.ChargingTime != h || c.ParkingTime != 2*h || c.Money().ExclVat != "3.00" {
		t.Errorf("gaps: %+v %v", c, err)
	}
}

func TestActiveAt(t *testing.T) {
	tf := decodeTariff(t, ocpiEnergyStartMaxPrice) // ends 2019-06-30T23:59:59Z
	if !tf.ActiveAt(time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)) || tf.ActiveAt(time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("end_date_time not honoured")
	}
}

func TestMoney(t *testing.T) {
	c := Cost{Currency: "EUR", ExclVat: decimal.RequireFromString("5"), InclVat: decimal.RequireFromString("5.95")}
	if m := c.Money(); m != (Money{"EUR", "5.00", "5.95"}) {
		t.Errorf("%+v", m)
	}
	// Half-up at the end: 0.125 → 0.13 (banker's rounding would give 0.12).
	tl := session(time.Date(2025, 6, 3, 10, 0, 0, 0, time.UTC), time.UTC, charge(time.Hour, "0.5"))
	c, err := Price(decodeTariff(t, ownEnergyStep1), tl)
	if err != nil || c.Money().ExclVat != "0.13" {
		t.Errorf("%+v %v", c.Money(), err)
	}
}
