package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// The life of an EVSE, common to both protocol versions: EVs arrive, their drivers tap a card,
// the EV charges (tapering as it fills), maybe pauses, and the driver leaves. The protocol
// types turn each step into the messages of their version.

type phase uint8

const (
	phaseIdle        phase = iota // no EV
	phasePlugged                  // EV plugged in, the driver is about to tap
	phaseAuthorizing              // waiting for the CSMS to answer Authorize
	phaseCharging                 // a transaction runs
	phaseFinishing                // the transaction ended, the EV is still plugged in
	phaseRejected                 // the token was refused, the EV is still plugged in
)

// chargingState is what a running transaction reports (2.0.1 ChargingStateEnumType; 1.6
// shows it as the connector status).
type chargingState uint8

const (
	csCharging chargingState = iota + 1
	csSuspendedEV
	csSuspendedEVSE
)

type stopReason uint8

const (
	stopLocal          stopReason = iota + 1 // the driver tapped the card again
	stopEVDisconnected                       // the cable was pulled
	stopRemote                               // RemoteStop / RequestStop
	stopDeAuthorized                         // the CSMS refused the token after the start
	stopSoftReset
	stopHardReset
	stopUnlock // 1.6 UnlockConnector during a transaction
)

type startTrigger uint8

const (
	startAuthorized startTrigger = iota + 1
	startRemote
)

type authResult uint8

const (
	authAccepted authResult = iota + 1
	authRejected
	authLost // no answer (offline): the station decides alone
)

// readingContext is when a meter reading was taken.
type readingContext uint8

const (
	readBegin readingContext = iota + 1
	readPeriodic
	readEnd
	readTrigger
	readOther
)

func (c readingContext) String() string {
	switch c {
	case readBegin:
		return "Transaction.Begin"
	case readEnd:
		return "Transaction.End"
	case readTrigger:
		return "Trigger"
	case readOther:
		return "Other"
	}
	return "Sample.Periodic"
}

// evse is one EVSE with its single connector.
type evse struct {
	id       int
	spec     evseSpec
	rnd      *rand.Rand // this EVSE's drivers and EVs
	energyWh float64    // the meter register, monotonic
	powerW   float64
	phase    phase
	ev       *ev
	tx       *txn

	faulted            bool
	faultCode          string
	inoperative        bool
	pendingInoperative bool // ChangeAvailability Scheduled: applies when the transaction ends
	reported           string

	lastAdvance                       time.Time
	stepAt, meterAt, pauseAt, faultAt time.Time
}

// ev is the car plugged into an EVSE.
type ev struct {
	bat      battery
	phases   int // AC phases the on-board charger uses
	token    string
	remote   bool
	paused   bool
	resumeAt time.Duration // pause length (simulated), when a pause is planned
}

// txn is a transaction.
type txn struct {
	local int    // station-local number
	id    string // 2.0.1: our transactionId; 1.6: the CSMS's, once known
	id16  int
	known bool // 1.6: the CSMS answered StartTransaction
	token string

	remoteStartID *int
	reservationID *int // the reservation this transaction used
	startedWall   time.Time
	meterStartWh  int
	seqNo         int // 2.0.1: next TransactionEvent seqNo
	state         chargingState
	blocked       bool // refused by the CSMS but not stopped (StopTransactionOnInvalidId=false)
	ended         bool
}

// tapDelay is the time between plugging in and tapping the card.
func tapDelay(r *rand.Rand) time.Duration { return uniformDur(r, 5*time.Second, 40*time.Second) }

func (s *Station) scheduleArrival(e *evse, now time.Time) {
	if rate := s.cfg.Behavior.ArrivalsPerDay; rate > 0 {
		e.stepAt = now.Add(s.realDur(expDur(e.rnd, rate)))
	} else {
		e.stepAt = time.Time{}
	}
}

// step advances an EVSE's session by one step when its deadline comes.
func (s *Station) step(e *evse) {
	switch e.phase {
	case phaseIdle: // an EV arrives
		if s.arrive(e, "") {
			e.stepAt = s.in(tapDelay(e.rnd))
		} else {
			s.scheduleArrival(e, s.mono()) // the driver finds the EVSE unusable and leaves
		}
	case phasePlugged:
		s.tap(e)
	case phaseCharging: // time to go
		if e.rnd.Float64() < 0.6 {
			s.endTx(e, stopLocal)
			e.phase = phaseFinishing
			s.syncStatus(e)
			e.stepAt = s.in(uniformDur(e.rnd, 10*time.Second, 90*time.Second))
		} else {
			s.endTx(e, stopEVDisconnected)
			s.unplug(e)
		}
	case phaseFinishing, phaseRejected:
		s.unplug(e)
	case phaseAuthorizing:
		// The answer is still out; the outbox times it out and tells us.
	}
}

// arrive plugs a new EV into e; false if e cannot take it. A station the CSMS has never
// accepted, or holds Pending or Rejected, is not in service: drivers go elsewhere. (This also
// bounds the backlog of a fleet the CSMS keeps waiting.) Once accepted, it charges offline too.
func (s *Station) arrive(e *evse, token string) bool {
	if e.phase != phaseIdle || e.faulted || e.inoperative || s.inoperative || !s.inService() {
		return false
	}
	e.ev = newEV(e.rnd, e.spec)
	e.ev.token = token
	e.phase = phasePlugged
	s.syncStatus(e)
	return true
}

// newEV draws a car: battery size, state of charge, target, on-board charger or DC acceptance.
func newEV(r *rand.Rand, spec evseSpec) *ev {
	v := &ev{phases: 3}
	v.bat.CapacityWh = math.Round(40000 + r.Float64()*60000) // 40–100 kWh
	v.bat.SoC = 0.1 + r.Float64()*0.6
	switch x := r.Float64(); {
	case x < 0.4:
		v.bat.TargetSoC = 0.8
	case x < 0.7:
		v.bat.TargetSoC = 0.9
	default:
		v.bat.TargetSoC = 1
	}
	if spec.DC {
		v.bat.MaxPowerW = 50000 + math.Round(r.Float64()*100)*1000 // 50–150 kW
		v.bat.TaperStart = 0.8
	} else {
		switch x := r.Float64(); {
		case x < 0.3:
			v.bat.MaxPowerW, v.phases = 7400, 1
		case x < 0.8:
			v.bat.MaxPowerW = 11000
		default:
			v.bat.MaxPowerW = 22000
		}
		v.bat.TaperStart = 0.92
	}
	if r.Float64() < 0.1 { // this EV will pause once (battery conditioning, the owner's app…)
		v.resumeAt = uniformDur(r, 5*time.Minute, 20*time.Minute)
	}
	return v
}

// tap: the driver presents the card. Online the CSMS decides; offline the station
// authorizes locally (LocalAuthorizeOffline) and the CSMS hears of it later.
func (s *Station) tap(e *evse) {
	if e.ev.token == "" {
		e.ev.token = s.cfg.Tokens[e.rnd.IntN(len(s.cfg.Tokens))]
	}
	if s.registration != regAccepted {
		if s.boolSetting(settingLocalAuthorizeOffline) {
			s.startTx(e, startAuthorized, nil)
		} else {
			s.rejected(e)
		}
		return
	}
	e.phase = phaseAuthorizing
	v := e.ev
	s.proto.authorize(v.token, func(r authResult) {
		if e.ev != v || e.phase != phaseAuthorizing {
			return // the world moved on (reset, unplug)
		}
		switch {
		case r == authAccepted, r == authLost && s.boolSetting(settingLocalAuthorizeOffline):
			s.startTx(e, startAuthorized, nil)
		default:
			s.rejected(e)
		}
	})
}

func (s *Station) rejected(e *evse) {
	s.stats.rejected.Add(1)
	e.phase = phaseRejected
	s.syncStatus(e)
	e.stepAt = s.in(uniformDur(e.rnd, 20*time.Second, 90*time.Second))
}

// startTx begins a transaction on e for its EV's token.
func (s *Station) startTx(e *evse, trigger startTrigger, remoteStartID *int) {
	ok, reservationID := s.claimReservation(e, e.ev.token)
	if !ok { // reserved for someone else
		s.rejected(e)
		return
	}
	s.txSeq++
	tx := &txn{local: s.txSeq, token: e.ev.token, remoteStartID: remoteStartID, reservationID: reservationID,
		startedWall: s.wall(), meterStartWh: int(e.energyWh), state: csCharging}
	if s.cfg.Version == ocpp.V201 {
		tx.id = ocpp.NewMessageID() // a UUID: unique even when a run with the same seed repeats
	}
	e.tx = tx
	e.phase = phaseCharging
	stay := logNormalDur(e.rnd, s.cfg.Behavior.MeanStay)
	e.stepAt = s.in(stay)
	if e.ev.resumeAt > 0 {
		e.pauseAt = s.in(time.Duration(float64(stay) * (0.2 + 0.4*e.rnd.Float64())))
	}
	s.scheduleMeter(e)
	s.proto.startTx(e, tx, trigger)
	s.syncStatus(e)
	s.checkChargingState(e)
}

// logNormalDur draws a stay around mean (σ = 0.5), at least five minutes.
func logNormalDur(r *rand.Rand, mean time.Duration) time.Duration {
	f := math.Exp(0.5*r.NormFloat64() - 0.125)
	return max(time.Duration(float64(mean)*f), 5*time.Minute)
}

func (s *Station) scheduleMeter(e *evse) {
	if e.tx == nil || s.meterEvery <= 0 {
		e.meterAt = time.Time{}
		return
	}
	// A floor keeps an extreme time scale from turning the station into a busy loop.
	e.meterAt = s.mono().Add(max(s.realDur(s.meterEvery), 10*time.Millisecond))
}

func (s *Station) meterDue(e *evse) {
	if e.tx == nil {
		return
	}
	s.checkChargingState(e)
	s.proto.meter(e, e.tx, readPeriodic)
	s.scheduleMeter(e)
}

func (s *Station) pauseToggle(e *evse) {
	if e.ev == nil || e.tx == nil {
		return
	}
	if !e.ev.paused {
		e.ev.paused = true
		e.pauseAt = s.in(e.ev.resumeAt)
	} else {
		e.ev.paused = false
		e.ev.resumeAt = 0
	}
	s.checkChargingState(e)
}

// checkChargingState reports a change of the transaction's charging state.
func (s *Station) checkChargingState(e *evse) {
	tx := e.tx
	if tx == nil || e.ev == nil {
		return
	}
	want := csCharging
	switch {
	case e.ev.paused || e.ev.bat.full():
		want = csSuspendedEV
	case s.limitW(e) <= 0 || e.faulted || tx.blocked:
		want = csSuspendedEVSE
	}
	if want == tx.state {
		return
	}
	tx.state = want
	s.proto.chargingStateChanged(e, tx)
	s.syncStatus(e)
}

// endTx stops e's transaction for reason. The caller decides what happens to the EV.
func (s *Station) endTx(e *evse, reason stopReason) {
	tx := e.tx
	if tx == nil {
		return
	}
	s.proto.endTx(e, tx, reason)
	tx.ended = true
	e.tx = nil
	e.powerW = 0
	e.meterAt, e.pauseAt = time.Time{}, time.Time{}
	kept := s.profiles[:0]
	for _, p := range s.profiles {
		if p.tx != tx {
			kept = append(kept, p)
		}
	}
	s.profiles = kept
	if e.pendingInoperative {
		e.pendingInoperative, e.inoperative = false, true
	}
	if s.pendingInoperative {
		waiting := false
		for _, o := range s.evses {
			waiting = waiting || o.pendingInoperative
		}
		if !waiting {
			s.pendingInoperative, s.inoperative = false, true
			s.syncStation()
		}
	}
	if e.phase == phaseCharging {
		e.phase = phaseFinishing
	}
	s.maybeResetOnIdle()
}

// unplug: the EV leaves; the EVSE waits for the next one.
func (s *Station) unplug(e *evse) {
	e.ev = nil
	e.phase = phaseIdle
	e.powerW = 0
	e.pauseAt = time.Time{}
	s.syncStatus(e)
	s.scheduleArrival(e, s.mono())
}

// faultToggle raises or clears a fault on an idle EVSE.
func (s *Station) faultToggle(e *evse) {
	beh := s.cfg.Behavior
	if e.faulted {
		e.faulted, e.faultCode = false, ""
		s.syncStatus(e)
		if beh.FaultsPerDay > 0 {
			e.faultAt = s.in(expDur(e.rnd, beh.FaultsPerDay))
		}
		return
	}
	if e.phase != phaseIdle || e.inoperative {
		if beh.FaultsPerDay > 0 {
			e.faultAt = s.in(expDur(e.rnd, beh.FaultsPerDay))
		}
		return
	}
	codes := [...]string{"GroundFailure", "HighTemperature", "OverCurrentFailure", "PowerMeterFailure", "ReaderFailure", "EVCommunicationError"}
	e.faulted, e.faultCode = true, codes[e.rnd.IntN(len(codes))]
	s.syncStatus(e)
	e.faultAt = s.in(uniformDur(e.rnd, 2*time.Minute, 30*time.Minute))
}

// advanceAll brings every EVSE's physics up to now.
func (s *Station) advanceAll() {
	now := s.mono()
	for _, e := range s.evses {
		s.advance(e, now)
	}
}

// advance integrates e's charging from its last update to now.
func (s *Station) advance(e *evse, now time.Time) {
	dt := now.Sub(e.lastAdvance)
	e.lastAdvance = now
	if e.tx == nil || e.ev == nil || e.phase != phaseCharging || e.ev.paused || e.faulted || e.tx.blocked {
		e.powerW = 0
		return
	}
	limit := s.limitW(e)
	if dt > 0 {
		wh := e.ev.bat.charge(limit, dt.Hours()*s.scale)
		e.energyWh += wh
		s.stats.addEnergy(wh)
	}
	e.powerW = e.ev.bat.power(limit)
}

// limitW is what e may deliver now: its hardware maximum, the charging profiles, and for AC
// the phases the EV uses.
func (s *Station) limitW(e *evse) float64 {
	hw := e.spec.MaxPowerW
	if !e.spec.DC && e.ev != nil && e.ev.phases < e.spec.Phases {
		hw = hw * float64(e.ev.phases) / float64(e.spec.Phases)
	}
	sharing := 0
	for _, o := range s.evses {
		if o.tx != nil {
			sharing++
		}
	}
	return math.Min(hw, profileLimitW(s.profiles, e.id, e.tx, s.wall(), e.spec, s.dcVolts(e), sharing))
}

func (s *Station) dcVolts(e *evse) float64 {
	if e.ev != nil {
		return packVolts(e.ev.bat.SoC)
	}
	return packVolts(0.5)
}

// syncStatus reports e's connector status when it changed. Offline nothing is sent: every
// connector is announced after the next accepted boot.
func (s *Station) syncStatus(e *evse) {
	st := s.proto.status(e)
	if st == e.reported || s.registration != regAccepted {
		return
	}
	e.reported = st
	s.send(s.proto.statusMsg(e))
}

// syncStation reports the whole station's status (1.6 connector 0) when it changed.
func (s *Station) syncStation() {
	msg := s.proto.stationStatusMsg()
	if msg == nil || s.registration != regAccepted {
		return
	}
	st := s.stationStatus()
	if st == s.reported0 {
		return
	}
	s.reported0 = st
	s.send(msg)
}

func (s *Station) stationStatus() string {
	if s.inoperative {
		return "Unavailable"
	}
	return "Available"
}

// announceAll reports every connector after an accepted boot, ahead of any backlog.
func (s *Station) announceAll() {
	var msgs []*outMsg
	if m := s.proto.stationStatusMsg(); m != nil {
		s.reported0 = s.stationStatus()
		msgs = append(msgs, m)
	}
	for _, e := range s.evses {
		e.reported = s.proto.status(e)
		msgs = append(msgs, s.proto.statusMsg(e))
	}
	s.ob.pushFront(msgs...)
}

// maybeResetOnIdle performs a 2.0.1 OnIdle reset once the last transaction is over.
func (s *Station) maybeResetOnIdle() {
	if !s.resetOnIdle {
		return
	}
	for _, e := range s.evses {
		if e.tx != nil {
			return
		}
	}
	// Not from here: endTx's caller is still busy with the EVSE. Reboot on the next turn.
	s.resetAt = s.mono()
}

// rebootNow stops every transaction with reason, sends the EVs away and reboots.
func (s *Station) rebootNow(reason stopReason) {
	for _, e := range s.evses {
		if e.tx != nil {
			s.endTx(e, reason)
		}
		if e.ev != nil {
			s.unplug(e)
		}
	}
	s.resetOnIdle = false
	s.reboot()
}

func (s *Station) inService() bool {
	return s.commissioned && s.registration != regPending && s.registration != regRejected
}

// freeForRemoteStart reports whether a remote start may use e: no transaction, usable, and
// either no EV or one whose driver has not started yet.
func freeForRemoteStart(s *Station, e *evse) bool {
	return e.tx == nil && !e.faulted && !e.inoperative && !s.inoperative &&
		(e.phase == phaseIdle || e.phase == phasePlugged || e.phase == phaseRejected)
}
