package pricing

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/shopspring/decimal"
)

// Timeline is what Price prices: a session from Start to End, in the time zone of its location
// (nil means UTC), as a list of periods. Periods are ordered, do not overlap and lie within
// [Start, End]; time not covered by a period counts as connected but not charging (parking).
type Timeline struct {
	Start, End time.Time
	Location   *time.Location
	Periods    []Period
}

// Period is a stretch [From, To) of a session.
type Period struct {
	From, To time.Time
	// EnergyWh is the energy delivered in the period (taken as delivered evenly within it).
	EnergyWh decimal.Decimal
	// Charging: the EV drew energy (TIME); otherwise it was connected but idle (PARKING_TIME).
	Charging bool
	// MaxPowerW and MaxCurrentA are the highest power (W) and current (A, summed over phases)
	// observed in the period; 0 when nothing was observed. The power restrictions use at least
	// the period's average power (EnergyWh over its length).
	MaxPowerW   float64
	MaxCurrentA float64
}

// Measurands FromSamples reads (OCPP names).
const (
	MeasurandEnergy  = "Energy.Active.Import.Register"
	MeasurandPower   = "Power.Active.Import"
	MeasurandCurrent = "Current.Import"
)

// FromSamples builds a session's timeline from its meter samples. Every sample time inside
// (start, end) cuts a period. A period's energy is the rise of the Energy.Active.Import.Register
// between the readings around it (a drop is a register reset: counting resumes from zero, as in
// domain.Session.AddReading); its power and current are the highest Power.Active.Import and
// Current.Import sampled at its two ends (phase values at one instant are summed). A period
// counts as charging when the energy rose in it, or when the power sampled at both of its ends
// (at the one end that has a sample) is above idlePowerW. Time before the first energy reading
// and after the last one has no energy. Samples from other measurands, from a location other
// than Outlet, and phase-wise energy registers are ignored. Location is left nil (UTC): set it to
// the charging location's time zone.
//
// Callers should include the transaction's start and stop readings (meterStart / meterStop) as
// samples at the session's start and end, so that no energy falls outside the readings.
func FromSamples(start, end time.Time, samples []domain.MeterSample, idlePowerW float64) Timeline {
	tl := Timeline{Start: start, End: end}
	if !end.After(start) {
		return tl
	}
	type reading struct {
		at time.Time
		v  decimal.Decimal
	}
	var energy []reading
	power := map[time.Time]float64{}
	current := map[time.Time]float64{}
	cuts := map[time.Time]bool{}
	for _, s := range samples {
		if s.At.Before(start) || s.At.After(end) {
			continue
		}
		if s.Location != "" && s.Location != "Outlet" {
			continue
		}
		switch measurand(s) {
		case MeasurandEnergy:
			if s.Phase != "" {
				continue
			}
			v := decimal.NewFromFloat(s.Value)
			if strings.EqualFold(s.Unit, "kWh") {
				v = v.Shift(3)
			}
			energy = append(energy, reading{s.At, v})
		case MeasurandPower:
			v := s.Value
			if strings.EqualFold(s.Unit, "kW") {
				v *= 1000
			}
			power[s.At] += v
		case MeasurandCurrent:
			current[s.At] += s.Value
		default:
			continue
		}
		if s.At.After(start) && s.At.Before(end) {
			cuts[s.At] = true
		}
	}
	sort.SliceStable(energy, func(i, j int) bool { return energy[i].at.Before(energy[j].at) })
	bounds := []time.Time{start}
	for t := range cuts {
		bounds = append(bounds, t)
	}
	sort.Slice(bounds[1:], func(i, j int) bool { return bounds[1+i].Before(bounds[1+j]) })
	bounds = append(bounds, end)

	// Energy per interval between consecutive readings, spread over the periods inside it.
	// Readings at the same instant: the last one counts.
	ei := 0 // energy[ei] is the last reading at or before the current period's start
	for i := 0; i+1 < len(bounds); i++ {
		p := Period{From: bounds[i], To: bounds[i+1]}
		for ei+1 < len(energy) && !energy[ei+1].at.After(p.From) {
			ei++
		}
		if len(energy) > 0 && !energy[ei].at.After(p.From) && ei+1 < len(energy) {
			// Period lies within [energy[ei].at, energy[ei+1].at]: every cut is a boundary, so
			// the next reading is at p.To or later.
			a, b := energy[ei], energy[ei+1]
			for k := ei + 1; k+1 < len(energy) && energy[k+1].at.Equal(b.at); k++ {
				b = energy[k+1]
			}
			delta := b.v.Sub(a.v)
			if delta.IsNegative() {
				delta = b.v
			}
			span := b.at.Sub(a.at)
			if span > 0 {
				if p.To.Equal(b.at) && p.From.Equal(a.at) {
					p.EnergyWh = delta
				} else {
					p.EnergyWh = delta.Mul(decimal.NewFromInt(int64(p.To.Sub(p.From)))).DivRound(decimal.NewFromInt(int64(span)), 12)
				}
			}
		}
		pa, okA := power[p.From]
		pb, okB := power[p.To]
		p.MaxPowerW = max(pa, pb)
		p.MaxCurrentA = max(current[p.From], current[p.To])
		powered := (okA || okB) && (!okA || pa > idlePowerW) && (!okB || pb > idlePowerW)
		p.Charging = p.EnergyWh.IsPositive() || powered
		tl.Periods = append(tl.Periods, p)
	}
	return tl
}

func measurand(s domain.MeterSample) string {
	if s.Measurand == "" {
		return MeasurandEnergy
	}
	return s.Measurand
}

// piece is a period cut so that no restriction changes its answer inside it.
type piece struct {
	from, to  time.Time
	energyWh  decimal.Decimal
	charging  bool
	powerW    decimal.Decimal
	currentA  decimal.Decimal
	elapsed   time.Duration   // since session start, at from
	cumWh     decimal.Decimal // energy delivered before from
	localFrom time.Time       // from in the location's zone
}

// normalize checks the timeline and returns its periods with the gaps filled by parking.
func (tl Timeline) normalize() ([]Period, error) {
	if tl.End.Before(tl.Start) {
		return nil, domain.Errorf(domain.ErrInvalid, "timeline ends before it starts")
	}
	var out []Period
	at := tl.Start
	for i, p := range tl.Periods {
		if p.EnergyWh.IsNegative() {
			return nil, domain.Errorf(domain.ErrInvalid, "period %d: negative energy", i)
		}
		if !p.To.After(p.From) {
			if p.To.Equal(p.From) && p.EnergyWh.IsZero() {
				continue
			}
			return nil, domain.Errorf(domain.ErrInvalid, "period %d: must end after it starts", i)
		}
		if p.From.Before(at) {
			if p.From.Before(tl.Start) {
				return nil, domain.Errorf(domain.ErrInvalid, "period %d: starts before the session", i)
			}
			return nil, domain.Errorf(domain.ErrInvalid, "period %d: overlaps the one before or is out of order", i)
		}
		if p.To.After(tl.End) {
			return nil, domain.Errorf(domain.ErrInvalid, "period %d: ends after the session", i)
		}
		if p.From.After(at) {
			out = append(out, Period{From: at, To: p.From})
		}
		out = append(out, p)
		at = p.To
	}
	if tl.End.After(at) {
		out = append(out, Period{From: at, To: tl.End})
	}
	return out, nil
}

// split cuts a period at t (From < t < To), sharing its energy in proportion to time; the two
// parts' energies add up exactly to the whole.
func (p Period) split(t time.Time) (Period, Period) {
	a, b := p, p
	a.To, b.From = t, t
	if !p.EnergyWh.IsZero() {
		a.EnergyWh = p.EnergyWh.Mul(decimal.NewFromInt(int64(t.Sub(p.From)))).
			DivRound(decimal.NewFromInt(int64(p.To.Sub(p.From))), 20)
		b.EnergyWh = p.EnergyWh.Sub(a.EnergyWh)
	}
	return a, b
}

// Split returns the two parts of the timeline before and after at (Start < at < End), each a
// timeline of its own. Pricing the parts separately equals pricing the whole only for tariffs
// without step sizes, FLAT fees, min/max prices and duration or energy restrictions.
func (tl Timeline) Split(at time.Time) (Timeline, Timeline, error) {
	if !at.After(tl.Start) || !at.Before(tl.End) {
		return Timeline{}, Timeline{}, fmt.Errorf("split %s outside (%s, %s)", at, tl.Start, tl.End)
	}
	a := Timeline{Start: tl.Start, End: at, Location: tl.Location}
	b := Timeline{Start: at, End: tl.End, Location: tl.Location}
	for _, p := range tl.Periods {
		switch {
		case !p.To.After(at):
			a.Periods = append(a.Periods, p)
		case !p.From.Before(at):
			b.Periods = append(b.Periods, p)
		default:
			x, y := p.split(at)
			a.Periods = append(a.Periods, x)
			b.Periods = append(b.Periods, y)
		}
	}
	return a, b, nil
}
