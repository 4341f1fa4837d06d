package sim

import (
	"math"
	"sync/atomic"
)

// Stats are counters of a station or a whole fleet since Run started.
type Stats struct {
	Stations  int // stations counted
	Connected int // stations with an open connection whose boot was accepted
	Online    int // stations with an open connection (accepted or not)

	Connects     int64 // WebSocket connections opened
	DialFailures int64 // connection attempts that failed
	Drops        int64 // connections lost (closed by either side or simulated network drops)
	Boots        int64 // BootNotifications accepted by the CSMS

	SessionsStarted   int64 // transactions whose start the CSMS acknowledged
	SessionsCompleted int64 // transactions whose end the CSMS acknowledged
	Rejected          int64 // authorizations the CSMS refused

	MessagesSent  int64 // CALLs sent (retransmissions included)
	MessagesAcked int64 // CALLRESULTs received
	CallErrors    int64 // CALLERRORs received
	Timeouts      int64 // CALLs that got no answer in time
	Retransmits   int64 // transaction messages sent again after a lost answer
	Dropped       int64 // messages given up on (queue overflow, retries exhausted, no transaction id)
	Queued        int   // messages waiting to be sent now (transaction backlog included)

	CallsAnswered int64 // CSMS-initiated CALLs answered (CALLRESULT or CALLERROR)

	// Errors counts what should never happen: a frame the station built that failed its own
	// schema check (it was not sent), a CALLERROR received, a frame from the CSMS that could
	// not be read or violated its schema.
	Errors int64

	EnergyWh float64 // energy delivered to EVs
}

// add accumulates o into s.
func (s *Stats) add(o Stats) {
	s.Stations += o.Stations
	s.Connected += o.Connected
	s.Online += o.Online
	s.Connects += o.Connects
	s.DialFailures += o.DialFailures
	s.Drops += o.Drops
	s.Boots += o.Boots
	s.SessionsStarted += o.SessionsStarted
	s.SessionsCompleted += o.SessionsCompleted
	s.Rejected += o.Rejected
	s.MessagesSent += o.MessagesSent
	s.MessagesAcked += o.MessagesAcked
	s.CallErrors += o.CallErrors
	s.Timeouts += o.Timeouts
	s.Retransmits += o.Retransmits
	s.Dropped += o.Dropped
	s.Queued += o.Queued
	s.CallsAnswered += o.CallsAnswered
	s.Errors += o.Errors
	s.EnergyWh += o.EnergyWh
}

// counters are a station's Stats as atomics: the station's goroutine writes, anyone reads.
type counters struct {
	connected, online                  atomic.Bool
	connects, dialFailures, drops      atomic.Int64
	boots                              atomic.Int64
	sessionsStarted, sessionsCompleted atomic.Int64
	rejected                           atomic.Int64
	sent, acked, callErrors, timeouts  atomic.Int64
	retransmits, dropped               atomic.Int64
	queued                             atomic.Int64
	answered, errors                   atomic.Int64
	energyMilliWh                      atomic.Int64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Stations:          1,
		Connects:          c.connects.Load(),
		DialFailures:      c.dialFailures.Load(),
		Drops:             c.drops.Load(),
		Boots:             c.boots.Load(),
		SessionsStarted:   c.sessionsStarted.Load(),
		SessionsCompleted: c.sessionsCompleted.Load(),
		Rejected:          c.rejected.Load(),
		MessagesSent:      c.sent.Load(),
		MessagesAcked:     c.acked.Load(),
		CallErrors:        c.callErrors.Load(),
		Timeouts:          c.timeouts.Load(),
		Retransmits:       c.retransmits.Load(),
		Dropped:           c.dropped.Load(),
		Queued:            int(c.queued.Load()),
		CallsAnswered:     c.answered.Load(),
		Errors:            c.errors.Load(),
		EnergyWh:          float64(c.energyMilliWh.Load()) / 1000,
	}
	if c.connected.Load() {
		s.Connected = 1
	}
	if c.online.Load() {
		s.Online = 1
	}
	return s
}

func (c *counters) addEnergy(wh float64) {
	if wh > 0 && !math.IsInf(wh, 0) {
		c.energyMilliWh.Add(int64(wh * 1000))
	}
}
