package pricing

import (
	"sort"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// chargingFromState says whether an EVSE charging state means charging (true) or connected but
// not charging (false); ok is false for a state that says neither.
func chargingFromState(state string) (charging, ok bool) {
	switch state {
	case domain.ChargingStateCharging:
		return true, true
	case domain.ChargingStateSuspendedEV, domain.ChargingStateSuspendedEVSE,
		domain.ChargingStateEVConnected, domain.ChargingStateIdle:
		return false, true
	}
	return false, false
}

// WithStates decides charging against parking from the EVSE's reported charging states where
// they are known: a state holds from its mark until the next mark. Periods are cut at every mark
// inside them (energy shared in proportion to time); a period under a known state is charging
// exactly when the state is Charging, whatever the meter did (a meter that creeps up by a few Wh
// while the EV suspended is still parking). Before the first mark, and under marks with an
// unknown state, the decision from the samples stands. Marks are ordered by time here (an
// offline backlog arrives out of order); at one instant the last in the given order counts.
// Time between periods (parking by default) is claimed by the states too. Without marks the
// timeline is returned unchanged.
func (tl Timeline) WithStates(marks []domain.ChargingStateMark) Timeline {
	if len(marks) == 0 {
		return tl
	}
	ms := make([]domain.ChargingStateMark, len(marks))
	copy(ms, marks)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].At.Before(ms[j].At) })
	// stateAt gives the state in force at t (the last mark at or before t).
	stateAt := func(t time.Time) (charging, known bool) {
		i := sort.Search(len(ms), func(i int) bool { return ms[i].At.After(t) })
		if i == 0 {
			return false, false
		}
		return chargingFromState(ms[i-1].State)
	}
	// Gaps count as parking unless a state says otherwise, so they become periods of their own
	// (without energy) that a state can claim.
	var filled []Period
	at := tl.Start
	for _, p := range tl.Periods {
		if p.From.After(at) {
			filled = append(filled, Period{From: at, To: p.From})
		}
		filled = append(filled, p)
		if p.To.After(at) {
			at = p.To
		}
	}
	if tl.End.After(at) {
		filled = append(filled, Period{From: at, To: tl.End})
	}
	out := tl
	out.Periods = nil
	for _, p := range filled {
		rest := p
		for _, m := range ms {
			if m.At.After(rest.From) && m.At.Before(rest.To) {
				var a Period
				a, rest = rest.split(m.At)
				out.Periods = append(out.Periods, a)
			}
		}
		out.Periods = append(out.Periods, rest)
	}
	for i := range out.Periods {
		if c, ok := stateAt(out.Periods[i].From); ok {
			out.Periods[i].Charging = c
		}
	}
	return out
}
