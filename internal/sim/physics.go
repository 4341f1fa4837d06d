package sim

import "math"

// Charging physics. Everything here is a pure function of its inputs so it can be tested
// exactly; the station calls it with simulated time.

const (
	// acVoltage is the phase voltage of the AC grid (EU, line to neutral).
	acVoltage = 230.0
	// fullAcceptanceW is the acceptance below which an EV counts as full even though its target
	// is not reached: the exponential taper would otherwise never end.
	fullAcceptanceW = 300.0
)

// battery is an EV's traction battery as the charger sees it. The EV accepts MaxPowerW up to
// TaperStart state of charge, then linearly less down to nothing at 100 %: the usual
// constant-current / constant-voltage shape. It stops charging at TargetSoC.
type battery struct {
	CapacityWh float64
	SoC        float64 // 0…1
	MaxPowerW  float64 // what the EV accepts at low state of charge
	TaperStart float64 // state of charge where the taper begins (0.8 DC, ~0.92 AC)
	TargetSoC  float64 // the EV stops here (0…1]
}

// stopSoC is where the EV stops taking energy: its target, or where the taper has brought the
// acceptance down to almost nothing (the exponential would otherwise never end).
func (b *battery) stopSoC() float64 {
	if b.MaxPowerW <= 0 {
		return b.SoC
	}
	fullW := math.Min(fullAcceptanceW, 0.02*b.MaxPowerW)
	return math.Min(b.TargetSoC, 1-(1-b.TaperStart)*fullW/b.MaxPowerW)
}

// acceptance is the power the EV takes at its current state of charge, before any EVSE limit.
func (b *battery) acceptance() float64 {
	if b.full() {
		return 0
	}
	if b.SoC <= b.TaperStart {
		return b.MaxPowerW
	}
	return b.MaxPowerW * (1 - b.SoC) / (1 - b.TaperStart)
}

// full reports whether the EV has stopped asking for energy.
func (b *battery) full() bool { return b.SoC >= b.stopSoC()-1e-9 }

// power is what flows when the EVSE offers at most limitW.
func (b *battery) power(limitW float64) float64 {
	if b.full() {
		return 0
	}
	return math.Max(0, math.Min(limitW, b.acceptance()))
}

// charge integrates power over hours of simulated time with the EVSE offering at most limitW,
// updates the state of charge and returns the energy delivered in Wh. It is exact (closed form),
// so the result does not depend on how the time is split into steps:
//
//   - while the acceptance is above the limit, power is the constant L = min(limit, MaxPowerW);
//     that lasts until the taper brings the acceptance down to L, at
//     socC = 1 − (1 − TaperStart)·L/MaxPowerW;
//   - in the taper, dSoC/dt = MaxPowerW·(1 − SoC)/((1 − TaperStart)·C), so 1 − SoC decays
//     exponentially with rate k = MaxPowerW/((1 − TaperStart)·C).
//
// Both phases stop at stopSoC.
func (b *battery) charge(limitW, hours float64) float64 {
	if hours <= 0 || b.CapacityWh <= 0 || b.MaxPowerW <= 0 || b.full() {
		return 0
	}
	l := math.Min(limitW, b.MaxPowerW)
	if l <= 0 {
		return 0
	}
	start := b.SoC
	target := b.stopSoC()
	socC := 1 - (1-b.TaperStart)*l/b.MaxPowerW
	if end := math.Min(socC, target); b.SoC < end {
		t1 := (end - b.SoC) * b.CapacityWh / l
		if hours <= t1 {
			b.SoC += l * hours / b.CapacityWh
			return (b.SoC - start) * b.CapacityWh
		}
		b.SoC = end
		hours -= t1
	}
	if b.SoC < target {
		k := b.MaxPowerW / ((1 - b.TaperStart) * b.CapacityWh)
		b.SoC = math.Min(target, 1-(1-b.SoC)*math.Exp(-k*hours))
	}
	return (b.SoC - start) * b.CapacityWh
}

// evseSpec is the hardware of one EVSE.
type evseSpec struct {
	MaxPowerW float64
	DC        bool
	Phases    int // AC: 1 or 3; DC: 0
}

// wattsFromAmps converts a current limit to power: per phase for AC, at the pack voltage for DC.
func wattsFromAmps(amps float64, dc bool, phases int, dcVolts float64) float64 {
	if dc {
		return amps * dcVolts
	}
	if phases <= 0 {
		phases = 1
	}
	return amps * acVoltage * float64(phases)
}

// ampsFromWatts is the inverse of wattsFromAmps.
func ampsFromWatts(watts float64, dc bool, phases int, dcVolts float64) float64 {
	if dc {
		if dcVolts <= 0 {
			return 0
		}
		return watts / dcVolts
	}
	if phases <= 0 {
		phases = 1
	}
	return watts / (acVoltage * float64(phases))
}

// packVolts is a plausible DC pack voltage for a 400 V class EV at the given state of charge.
func packVolts(soc float64) float64 { return 350 + 100*soc }
