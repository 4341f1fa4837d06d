package sim

import (
	"math"
	"sort"
	"time"
)

// purpose is a charging profile's purpose, common to both versions.
type purpose uint8

const (
	purposeStationMax purpose = iota + 1 // 1.6 ChargePointMaxProfile, 2.0.1 ChargingStationMaxProfile
	purposeTxDefault
	purposeTx
)

// chargingProfile is a charging profile of either version, reduced to what limits power.
type chargingProfile struct {
	id         int
	stackLevel int
	purpose    purpose
	evse       int  // 0: the whole station
	tx         *txn // TxProfile: the transaction it belongs to
	kind       string
	recurrency string // "Daily", "Weekly" or ""
	validFrom  *time.Time
	validTo    *time.Time
	start      *time.Time // startSchedule
	duration   int        // seconds; 0 = unbounded
	unitA      bool
	periods    []period
	setAt      time.Time
}

type period struct {
	start  int // seconds from the schedule's start
	limit  float64
	phases int // 0: not given
}

// limitAt is the profile's limit at wall time t, in its own unit. txStart is when the
// transaction the profile applies to started (Relative profiles count from there; zero when no
// transaction runs). ok is false when the profile does not apply at t.
func (p *chargingProfile) limitAt(t, txStart time.Time) (limit float64, phases int, ok bool) {
	if p.validFrom != nil && t.Before(*p.validFrom) || p.validTo != nil && !t.Before(*p.validTo) {
		return 0, 0, false
	}
	var origin time.Time
	switch {
	case p.kind == "Relative":
		origin = txStart
		if origin.IsZero() {
			origin = t // not started yet: the schedule would start now
		}
	case p.start != nil:
		origin = *p.start
	default:
		origin = p.setAt
	}
	elapsed := t.Sub(origin)
	if p.kind == "Recurring" && elapsed >= 0 {
		cycle := 24 * time.Hour
		if p.recurrency == "Weekly" {
			cycle = 7 * 24 * time.Hour
		}
		elapsed %= cycle
	}
	if elapsed < 0 || p.duration > 0 && elapsed >= time.Duration(p.duration)*time.Second {
		return 0, 0, false
	}
	secs := int(elapsed / time.Second)
	found := false
	for _, pp := range p.periods { // sorted by start when installed
		if pp.start > secs {
			break
		}
		limit, phases, found = pp.limit, pp.phases, true
	}
	return limit, phases, found
}

// sortPeriods orders a schedule's periods by start, as the specifications require them to be.
func sortPeriods(ps []period) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].start < ps[j].start })
}

// profileLimitW is the power limit in W that profiles put on one EVSE at wall time t: the
// transaction's TxProfile, else the EVSE's TxDefaultProfile, else the station-wide
// TxDefaultProfile (highest stack level wins within each), combined with the station maximum
// shared equally among the EVSEs that charge. It returns +Inf when nothing limits.
func profileLimitW(profiles []*chargingProfile, evseID int, tx *txn, t time.Time, spec evseSpec, dcVolts float64, sharing int) float64 {
	var txStart time.Time
	if tx != nil {
		txStart = tx.startedWall
	}
	best := func(match func(p *chargingProfile) bool) (float64, bool) {
		level, limit, found := math.MinInt, 0.0, false
		for _, p := range profiles {
			if !match(p) || p.stackLevel < level {
				continue
			}
			l, phases, ok := p.limitAt(t, txStart)
			if !ok {
				continue
			}
			if p.unitA {
				if phases == 0 || phases > spec.Phases {
					phases = spec.Phases
				}
				l = wattsFromAmps(l, spec.DC, phases, dcVolts)
			}
			level, limit, found = p.stackLevel, l, true
		}
		return limit, found
	}
	limit := math.Inf(1)
	if tx != nil {
		if l, ok := best(func(p *chargingProfile) bool { return p.purpose == purposeTx && p.tx == tx }); ok {
			limit = l
		} else if l, ok := best(func(p *chargingProfile) bool { return p.purpose == purposeTxDefault && p.evse == evseID }); ok {
			limit = l
		} else if l, ok := best(func(p *chargingProfile) bool { return p.purpose == purposeTxDefault && p.evse == 0 }); ok {
			limit = l
		}
	}
	if l, ok := best(func(p *chargingProfile) bool { return p.purpose == purposeStationMax }); ok {
		if sharing < 1 {
			sharing = 1
		}
		limit = math.Min(limit, l/float64(sharing))
	}
	return math.Max(0, limit)
}

// installProfile adds p, replacing a profile with the same id or with the same purpose, stack
// level and EVSE (K01.FR.05 / 1.6 §3.13.2), and applies the new limits at once.
func (s *Station) installProfile(p *chargingProfile) {
	s.changeProfiles(func() {
		kept := s.profiles[:0]
		for _, o := range s.profiles {
			same := o.id == p.id || o.purpose == p.purpose && o.stackLevel == p.stackLevel && o.evse == p.evse && o.tx == p.tx
			if !same {
				kept = append(kept, o)
			}
		}
		s.profiles = append(kept, p)
	})
}

// clearProfiles removes the profiles match selects and returns how many went.
// clearFilter is what ClearChargingProfile selects, in both versions: a profile id, or any
// combination of EVSE, purpose (0: any) and stack level.
type clearFilter struct {
	id, evse, stackLevel *int
	purpose              purpose
}

func (f clearFilter) matches(p *chargingProfile) bool {
	if f.id != nil {
		return p.id == *f.id
	}
	return (f.evse == nil || p.evse == *f.evse) &&
		(f.purpose == 0 || p.purpose == f.purpose) &&
		(f.stackLevel == nil || p.stackLevel == *f.stackLevel)
}

func (s *Station) clearProfiles(match func(*chargingProfile) bool) int {
	n := 0
	s.changeProfiles(func() {
		kept := s.profiles[:0]
		for _, p := range s.profiles {
			if match(p) {
				n++
			} else {
				kept = append(kept, p)
			}
		}
		for i := len(kept); i < len(s.profiles); i++ {
			s.profiles[i] = nil
		}
		s.profiles = kept
	})
	return n
}

// changeProfiles runs change and lets running transactions feel the new limits: power is
// recomputed, charging states follow, and 2.0.1 reports ChargingRateChanged.
func (s *Station) changeProfiles(change func()) {
	before := make([]float64, len(s.evses))
	for i, e := range s.evses {
		before[i] = s.limitW(e)
	}
	change()
	now := s.mono()
	for i, e := range s.evses {
		s.advance(e, now) // recomputes the power under the new limit
		if e.tx == nil || s.limitW(e) == before[i] {
			continue
		}
		s.proto.rateChanged(e, e.tx)
		s.checkChargingState(e)
	}
}

// compositeLimit is the limit in W on EVSE id (0: the whole station, the sum of its EVSEs)
// with the spec and DC voltage to convert it to A; ok is false for an unknown EVSE.
func (s *Station) compositeLimit(id int) (limitW float64, spec evseSpec, volts float64, ok bool) {
	if id == 0 {
		for _, e := range s.evses {
			limitW += s.limitW(e)
		}
		e := s.evses[0]
		return limitW, e.spec, s.dcVolts(e), true
	}
	e := s.evse(id)
	if e == nil {
		return 0, evseSpec{}, 0, false
	}
	return s.limitW(e), e.spec, s.dcVolts(e), true
}

// roundLimit rounds a limit to 0.1, the granularity 1.6 demands (multipleOf 0.1).
func roundLimit(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return math.Round(v*10) / 10
}
