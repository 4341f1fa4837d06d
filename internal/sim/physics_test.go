package sim

import (
	"math"
	"testing"
	"time"
)

func TestAcceptanceTapers(t *testing.T) {
	b := battery{CapacityWh: 60000, MaxPowerW: 100000, TaperStart: 0.8, TargetSoC: 1}
	for _, c := range []struct{ soc, want float64 }{
		{0.1, 100000}, {0.5, 100000}, {0.8, 100000}, {0.9, 50000}, {0.95, 25000}, {1, 0},
	} {
		b.SoC = c.soc
		if got := b.acceptance(); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("acceptance at SoC %.2f = %.1f W, want %.1f W", c.soc, got, c.want)
		}
	}
	b.SoC, b.TargetSoC = 0.8, 0.8
	if b.acceptance() != 0 || !b.full() {
		t.Error("an EV at its target must take nothing and count as full")
	}
}

// The closed form must agree with a fine numerical integration of the same curve.
func TestChargeMatchesNumericIntegration(t *testing.T) {
	cases := []struct {
		name  string
		b     battery
		limit float64
		hours float64
	}{
		{"DC limited by the EV", battery{CapacityWh: 77000, SoC: 0.2, MaxPowerW: 120000, TaperStart: 0.8, TargetSoC: 1}, 150000, 1.5},
		{"DC limited by the charger", battery{CapacityWh: 77000, SoC: 0.2, MaxPowerW: 120000, TaperStart: 0.8, TargetSoC: 1}, 50000, 1.5},
		{"AC to a target", battery{CapacityWh: 50000, SoC: 0.3, MaxPowerW: 11000, TaperStart: 0.92, TargetSoC: 0.9}, 11000, 6},
		{"AC under a profile", battery{CapacityWh: 50000, SoC: 0.85, MaxPowerW: 11000, TaperStart: 0.8, TargetSoC: 1}, 4140, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exact := c.b
			got := exact.charge(c.limit, c.hours)

			num := c.b
			const steps = 200000
			dt := c.hours / steps
			energy := 0.0
			for range steps {
				p := math.Min(c.limit, num.acceptance())
				if num.SoC >= num.TargetSoC {
					p = 0
				}
				wh := math.Min(p*dt, (num.TargetSoC-num.SoC)*num.CapacityWh)
				energy += wh
				num.SoC += wh / num.CapacityWh
			}
			if math.Abs(got-energy) > 0.001*energy+1 {
				t.Errorf("closed form %.1f Wh, numeric %.1f Wh", got, energy)
			}
			if math.Abs((exact.SoC-c.b.SoC)*c.b.CapacityWh-got) > 1e-6 {
				t.Errorf("energy %.3f Wh does not match the SoC change %.3f Wh", got, (exact.SoC-c.b.SoC)*c.b.CapacityWh)
			}
			if exact.SoC > c.b.TargetSoC+1e-12 {
				t.Errorf("SoC %.4f overshoots the target %.2f", exact.SoC, c.b.TargetSoC)
			}
		})
	}
}

// Integrating in one step or in many gives the same energy: the station may advance its
// physics at any moments (meter ticks, incoming frames) without changing the result.
func TestChargeIsStepIndependent(t *testing.T) {
	start := battery{CapacityWh: 64000, SoC: 0.35, MaxPowerW: 150000, TaperStart: 0.8, TargetSoC: 1}
	one := start
	whole := one.charge(50000, 2)
	many := start
	sum := 0.0
	for range 7200 {
		sum += many.charge(50000, 2.0/7200)
	}
	if math.Abs(whole-sum) > 1e-6*whole {
		t.Errorf("one step %.4f Wh, 7200 steps %.4f Wh", whole, sum)
	}
	if math.Abs(one.SoC-many.SoC) > 1e-9 {
		t.Errorf("SoC %.6f vs %.6f", one.SoC, many.SoC)
	}
}

func TestChargeConstantPhase(t *testing.T) {
	b := battery{CapacityWh: 60000, SoC: 0.2, MaxPowerW: 11000, TaperStart: 0.92, TargetSoC: 1}
	if got := b.charge(11000, 1); math.Abs(got-11000) > 1e-6 {
		t.Errorf("one hour at 11 kW below the taper = %.3f Wh, want 11000", got)
	}
	if got := b.charge(0, 1); got != 0 {
		t.Errorf("a zero limit delivered %.3f Wh", got)
	}
	if got := b.charge(11000, 0); got != 0 {
		t.Errorf("no time delivered %.3f Wh", got)
	}
}

// The station integrates power over simulated time, so its register grows by the power times
// the simulated (not real) duration, never decreases, and a profile limit caps the power.
func TestStationEnergyIntegration(t *testing.T) {
	s, err := NewStation(StationConfig{ID: "CP-PHYS", Version: "1.6", URL: "ws://127.0.0.1:1/ocpp",
		EVSEs: []EVSE{{MaxPowerW: 22000, Phases: 3}}, TimeScale: 60, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	e := s.evses[0]
	e.ev = &ev{phases: 3, bat: battery{CapacityWh: 80000, SoC: 0.2, MaxPowerW: 22000, TaperStart: 0.92, TargetSoC: 1}}
	e.tx = &txn{state: csCharging, startedWall: time.Now()}
	e.phase = phaseCharging
	t0 := time.Now()
	e.lastAdvance = t0
	startWh := e.energyWh

	s.advance(e, t0.Add(10*time.Second)) // 10 s real = 10 min simulated at scale 60
	if want := 22000.0 / 6; math.Abs(e.energyWh-startWh-want) > 0.01 {
		t.Errorf("10 min at 22 kW added %.3f Wh, want %.3f", e.energyWh-startWh, want)
	}
	if e.powerW != 22000 {
		t.Errorf("power %.1f W, want 22000", e.powerW)
	}

	// A TxProfile of 10 A on three phases: 6.9 kW.
	s.profiles = append(s.profiles, &chargingProfile{id: 1, purpose: purposeTx, tx: e.tx, evse: 1, unitA: true,
		kind: "Absolute", setAt: s.wall().Add(-time.Minute), periods: []period{{start: 0, limit: 10}}})
	before := e.energyWh
	s.advance(e, t0.Add(20*time.Second))
	if want := 6900.0 / 6; math.Abs(e.energyWh-before-want) > 0.01 {
		t.Errorf("10 min under a 10 A profile added %.3f Wh, want %.3f", e.energyWh-before, want)
	}
	if e.powerW != 6900 {
		t.Errorf("power under the profile %.1f W, want 6900", e.powerW)
	}
	s.advance(e, t0.Add(15*time.Second)) // time going backwards must not un-charge
	if e.energyWh < before {
		t.Error("the register decreased")
	}
}

func TestProfileLimit(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ac22 := evseSpec{MaxPowerW: 22000, Phases: 3}
	tx := &txn{startedWall: now.Add(-30 * time.Minute)}
	start := now.Add(-time.Hour)
	prof := func(id, stack int, pur purpose, evse int, unitA bool, limit float64) *chargingProfile {
		return &chargingProfile{id: id, stackLevel: stack, purpose: pur, evse: evse, unitA: unitA, kind: "Absolute",
			start: &start, setAt: start, periods: []period{{start: 0, limit: limit}}}
	}
	cases := []struct {
		name     string
		profiles []*chargingProfile
		tx       *txn
		sharing  int
		want     float64
	}{
		{"nothing limits", nil, tx, 1, math.Inf(1)},
		{"station TxDefault in A", []*chargingProfile{prof(1, 0, purposeTxDefault, 0, true, 16)}, tx, 1, 16 * 230 * 3},
		{"TxDefault ignored without a transaction", []*chargingProfile{prof(1, 0, purposeTxDefault, 0, true, 16)}, nil, 1, math.Inf(1)},
		{"EVSE TxDefault beats station TxDefault", []*chargingProfile{prof(1, 5, purposeTxDefault, 0, false, 5000), prof(2, 0, purposeTxDefault, 1, false, 8000)}, tx, 1, 8000},
		{"higher stack level wins", []*chargingProfile{prof(1, 0, purposeTxDefault, 1, false, 5000), prof(2, 3, purposeTxDefault, 1, false, 9000)}, tx, 1, 9000},
		{"TxProfile beats TxDefault", []*chargingProfile{prof(1, 9, purposeTxDefault, 1, false, 5000), func() *chargingProfile {
			p := prof(2, 0, purposeTx, 1, false, 3000)
			p.tx = tx
			return p
		}()}, tx, 1, 3000},
		{"station max shared", []*chargingProfile{prof(1, 0, purposeStationMax, 0, false, 30000)}, tx, 3, 10000},
		{"station max caps TxDefault", []*chargingProfile{prof(1, 0, purposeStationMax, 0, false, 4000), prof(2, 0, purposeTxDefault, 0, false, 7000)}, tx, 1, 4000},
		{"numberPhases in A", []*chargingProfile{func() *chargingProfile {
			p := prof(1, 0, purposeTxDefault, 0, true, 16)
			p.periods[0].phases = 1
			return p
		}()}, tx, 1, 16 * 230},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := profileLimitW(c.profiles, 1, c.tx, now, ac22, 400, c.sharing)
			if got != c.want {
				t.Errorf("limit %.1f W, want %.1f W", got, c.want)
			}
		})
	}
}

func TestProfilePeriods(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	abs := &chargingProfile{kind: "Absolute", start: &t0, duration: 7200,
		periods: []period{{start: 0, limit: 10}, {start: 3600, limit: 20}}}
	for _, c := range []struct {
		at   time.Duration
		want float64
		ok   bool
	}{{-time.Minute, 0, false}, {0, 10, true}, {59 * time.Minute, 10, true}, {61 * time.Minute, 20, true}, {2 * time.Hour, 0, false}} {
		got, _, ok := abs.limitAt(t0.Add(c.at), time.Time{})
		if ok != c.ok || got != c.want {
			t.Errorf("absolute at %v: %.0f %v, want %.0f %v", c.at, got, ok, c.want, c.ok)
		}
	}
	rec := &chargingProfile{kind: "Recurring", recurrency: "Daily", start: &t0,
		periods: []period{{start: 0, limit: 6}, {start: 18 * 3600, limit: 32}}}
	if got, _, _ := rec.limitAt(t0.Add(3*24*time.Hour+19*time.Hour), time.Time{}); got != 32 {
		t.Errorf("daily profile at 19:00 three days later: %.0f, want 32", got)
	}
	rel := &chargingProfile{kind: "Relative", periods: []period{{start: 0, limit: 8}, {start: 600, limit: 16}}}
	txStart := t0.Add(5 * time.Hour)
	if got, _, _ := rel.limitAt(txStart.Add(11*time.Minute), txStart); got != 16 {
		t.Errorf("relative profile 11 min into the transaction: %.0f, want 16", got)
	}
	until := t0.Add(time.Hour)
	expired := &chargingProfile{kind: "Absolute", start: &t0, validTo: &until, periods: []period{{limit: 1}}}
	if _, _, ok := expired.limitAt(t0.Add(2*time.Hour), time.Time{}); ok {
		t.Error("a profile past validTo applied")
	}
}
