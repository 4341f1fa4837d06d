package pricing

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// statesIdleFee: 0.25/kWh, 2.00/h charging, 6.00/h parking (no steps, so every second shows).
const statesIdleFee = `{"currency":"EUR","elements":[{"price_components":[
	{"type":"ENERGY","price":0.25,"step_size":1},{"type":"TIME","price":2.00,"step_size":1},
	{"type":"PARKING_TIME","price":6.00,"step_size":1}]}]}`

func TestWithStatesSuspendedEVCreepBillsParking(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	e := func(min int, wh float64) domain.MeterSample { return domain.MeterSample{At: m(min), Value: wh} }
	// 60 min charging 11 kWh, then 60 min SuspendedEV while the register creeps up 3 Wh
	// (auxiliary load of the EV) in 15-minute samples.
	samples := []domain.MeterSample{e(0, 0), e(30, 5500), e(60, 11000), e(75, 11001), e(90, 11002), e(105, 11002.5), e(120, 11003)}
	tl := FromSamples(t0, m(120), samples, 50)
	tf := decodeTariff(t, statesIdleFee)

	// Without states the creep makes the whole session charging.
	plain, err := Price(tf, tl)
	if err != nil {
		t.Fatal(err)
	}
	if plain.ChargingTime != 120*time.Minute || plain.ParkingTime != 0 {
		t.Fatalf("without states: charging %v parking %v", plain.ChargingTime, plain.ParkingTime)
	}

	// The EVSE said Charging at the start and SuspendedEV at 60 min; the marks arrive out of
	// order (an offline backlog) with a retransmitted duplicate.
	marks := []domain.ChargingStateMark{
		{At: m(60), State: domain.ChargingStateSuspendedEV},
		{At: m(0), State: domain.ChargingStateCharging},
		{At: m(60), State: domain.ChargingStateSuspendedEV},
	}
	c, err := Price(tf, tl.WithStates(marks))
	if err != nil {
		t.Fatal(err)
	}
	// 11.003 kWh × 0.25 = 2.75075; 1 h × 2.00; 1 h × 6.00 → 10.75075 → 10.75.
	if c.ChargingTime != 60*time.Minute || c.ParkingTime != 60*time.Minute {
		t.Errorf("charging %v parking %v, want 1h/1h", c.ChargingTime, c.ParkingTime)
	}
	if c.EnergyWh.String() != "11003" || c.ExclVat.String() != "10.75" {
		t.Errorf("energy %s Wh, total %s, want 11003 Wh, 10.75", c.EnergyWh, c.ExclVat)
	}
	for _, l := range c.Breakdown {
		if l.Dimension == DimensionParkingTime && (!l.From.Equal(m(60)) || !l.To.Equal(m(120))) {
			t.Errorf("parking line %s–%s, want 09:00–10:00", l.From.Format("15:04"), l.To.Format("15:04"))
		}
	}
}

func TestWithStatesCutsPeriodsAndFallsBack(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	e := func(min int, wh float64) domain.MeterSample { return domain.MeterSample{At: m(min), Value: wh} }
	// One reading interval 0–40 with 4000 Wh; marks at 10 (SuspendedEVSE), 20 (Charging),
	// 30 (an unknown state: fall back to the meter); before 10 nothing is known.
	tl := FromSamples(t0, m(40), []domain.MeterSample{e(0, 0), e(40, 4000)}, 50)
	got := tl.WithStates([]domain.ChargingStateMark{
		{At: m(20), State: domain.ChargingStateCharging},
		{At: m(10), State: domain.ChargingStateSuspendedEVSE},
		{At: m(30), State: "Unavailable"},
	})
	wants := []struct {
		from, to int
		wh       string
		charging bool
	}{{0, 10, "1000", true}, {10, 20, "1000", false}, {20, 30, "1000", true}, {30, 40, "1000", true}}
	if len(got.Periods) != len(wants) {
		t.Fatalf("periods %+v", got.Periods)
	}
	for i, w := range wants {
		p := got.Periods[i]
		if !p.From.Equal(m(w.from)) || !p.To.Equal(m(w.to)) || p.EnergyWh.String() != w.wh || p.Charging != w.charging {
			t.Errorf("period %d = %s–%s %s Wh charging %v, want %+v", i, p.From.Format("15:04"), p.To.Format("15:04"), p.EnergyWh, p.Charging, w)
		}
	}
	// A state of Charging makes a period charging even without energy or power.
	idle := FromSamples(t0, m(40), []domain.MeterSample{e(0, 0), e(40, 0)}, 50)
	ch := idle.WithStates([]domain.ChargingStateMark{{At: m(0), State: domain.ChargingStateCharging}})
	if len(ch.Periods) != 1 || !ch.Periods[0].Charging {
		t.Errorf("Charging state: %+v", ch.Periods)
	}
}

func TestWithStatesNoneIsUnchanged(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	tl := FromSamples(t0, m(90), []domain.MeterSample{{At: m(0), Value: 0}, {At: m(30), Value: 3000}, {At: m(60), Value: 3000},
		{At: m(90), Value: 3001}}, 50)
	if got := tl.WithStates(nil); !reflect.DeepEqual(got, tl) {
		t.Errorf("WithStates(nil) changed the timeline:\n%+v\n%+v", got, tl)
	}
	// Marks outside the session before its start still give the state at its start; marks
	// after its end change nothing.
	got := tl.WithStates([]domain.ChargingStateMark{{At: t0.Add(-time.Minute), State: domain.ChargingStateCharging},
		{At: m(200), State: domain.ChargingStateIdle}})
	for i, p := range got.Periods {
		if !p.Charging {
			t.Errorf("period %d not charging under a Charging state", i)
		}
	}
}

// TestWithStatesProperties: for random timelines and marks, the states keep the session's
// energy and length, charging + parking still equals the session time, and a session that said
// Charging throughout has no parking (gaps included).
func TestWithStatesProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	tf := decodeTariff(t, statesIdleFee)
	states := []string{domain.ChargingStateCharging, domain.ChargingStateSuspendedEV, domain.ChargingStateSuspendedEVSE,
		domain.ChargingStateEVConnected, domain.ChargingStateIdle, "Unknown"}
	for i := range 300 {
		tl := randTimeline(r, time.UTC)
		var marks []domain.ChargingStateMark
		for n := r.IntN(6); n > 0; n-- {
			at := tl.Start.Add(time.Duration(r.Int64N(int64(tl.End.Sub(tl.Start)) + 1)))
			marks = append(marks, domain.ChargingStateMark{At: at, State: states[r.IntN(len(states))]})
		}
		base, err := Price(tf, tl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Price(tf, tl.WithStates(marks))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !got.EnergyWh.Equal(base.EnergyWh) || got.ChargingTime+got.ParkingTime != tl.End.Sub(tl.Start) {
			t.Fatalf("case %d: energy %s→%s, time %v+%v vs %v", i, base.EnergyWh, got.EnergyWh, got.ChargingTime, got.ParkingTime, tl.End.Sub(tl.Start))
		}
		all, err := Price(tf, tl.WithStates([]domain.ChargingStateMark{{At: tl.Start, State: domain.ChargingStateCharging}}))
		if err != nil {
			t.Fatal(err)
		}
		if all.ParkingTime != 0 || all.ChargingTime != tl.End.Sub(tl.Start) {
			t.Fatalf("case %d: Charging throughout gave parking %v", i, all.ParkingTime)
		}
	}
}
