package sim

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// ErrStopped is returned by the methods that talk to a station whose Run has ended.
var ErrStopped = errors.New("sim: station is not running")

// Station is one simulated charging station. Everything it does happens on the goroutine that
// calls Run; the exported methods (Arrive, Depart, DropConnection, Snapshot) hand work to that
// goroutine and wait for it, so they block until Run is running and fail with ErrStopped once
// it has returned.
type Station struct {
	cfg     StationConfig
	url     string
	catalog *schema.Catalog
	proto   protocol
	log     *slog.Logger
	stats   counters
	costs   costLog // prices the CSMS sent (2.0.1 CostUpdated, totalCost)
	scale   float64

	evses   []*evse
	netRand *rand.Rand

	// connection (owned by the Run goroutine)
	conn          *websocket.Conn
	gen           uint64 // bumps with every connection attempt and loss; stale events are ignored
	dialing       bool
	registration  registration
	bootReason    bootReason
	backoff       int       // consecutive failed attempts
	outageUntil   time.Time // simulated network outage: no dialling before this
	ob            outbox
	inflight      *inflight
	lastTimedOut  string
	timeoutsInRow int
	msgSeq        uint64

	heartbeat    time.Duration // interval the CSMS asked for (real seconds, not yet scaled)
	meterEvery   time.Duration // simulated time between periodic readings
	settings     []string      // values of the version's writable settings, by table index
	profiles     []*chargingProfile
	local        localList
	txSeq        int
	inoperative  bool // the whole station (1.6 connector 0 / 2.0.1 station-wide)
	commissioned bool // the CSMS accepted a boot at least once
	// pendingInoperative: a station-wide Inoperative waits for the running transactions to end
	pendingInoperative bool
	reported0          string
	resetOnIdle        bool
	field              fieldState // reservations, uploads, firmware (fieldops files)

	// station-level deadlines on the monotonic clock; zero means not scheduled
	connectAt, bootAt, heartbeatAt, dropAt, callDeadline, rebootAt, resetAt time.Time

	running atomic.Bool
	cmds    chan func()
	events  chan event
	done    chan struct{}
	life    context.Context // cancelled when Run ends; helper goroutines watch it
	wg      sync.WaitGroup
}

type registration uint8

const (
	regNone registration = iota // not connected, or boot not answered yet
	regPending
	regRejected
	regAccepted
)

type bootReason uint8

const (
	bootPowerUp bootReason = iota
	bootRemoteReset
	bootTriggered
	bootReconnect
)

type inflight struct {
	msg     *outMsg
	id      string
	payload []byte
	sentAt  time.Time
}

type eventKind uint8

const (
	evDialed eventKind = iota
	evFrame
	evClosed
)

// event is what the helper goroutines (dialler, reader) report to the Run goroutine.
type event struct {
	kind eventKind
	gen  uint64
	conn *websocket.Conn
	data []byte
	err  error
}

// NewStation checks cfg and builds a station; Run starts it.
func NewStation(cfg StationConfig) (*Station, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	s := &Station{
		cfg:        cfg,
		url:        joinURL(cfg.URL, cfg.ID),
		log:        cfg.Log.With("station", cfg.ID),
		scale:      cfg.TimeScale,
		netRand:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6e6574)),
		heartbeat:  300 * time.Second,
		meterEvery: cfg.MeterInterval,
		cmds:       make(chan func()),
		events:     make(chan event, 4),
		done:       make(chan struct{}),
	}
	s.ob.max = maxTxBacklog
	switch cfg.Version {
	case ocpp.V16:
		s.catalog = v16.Catalog()
		s.proto = v16proto{s}
	default:
		s.catalog = v201.Catalog()
		s.proto = v201proto{s}
	}
	for i, spec := range cfg.EVSEs {
		r := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i+1)))
		s.evses = append(s.evses, &evse{
			id:       i + 1,
			spec:     evseSpec(spec),
			rnd:      r,
			energyWh: math.Floor(r.Float64() * 10e6), // a meter that has seen up to 10 MWh
		})
	}
	s.settings = initSettings(s)
	return s, nil
}

// ID is the station's id.
func (s *Station) ID() string { return s.cfg.ID }

// Version is the station's OCPP version.
func (s *Station) Version() ocpp.Version { return s.cfg.Version }

// Stats are the station's counters.
func (s *Station) Stats() Stats { return s.stats.snapshot() }

// Run simulates the station until ctx ends: it connects (and reconnects with back-off), boots,
// answers the CSMS and lets EVs come and go. It returns nil when ctx ends. A station runs once.
func (s *Station) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sim: station " + s.cfg.ID + " already ran")
	}
	life, cancel := context.WithCancel(context.Background())
	s.life = life
	defer func() {
		cancel() // helpers stop posting events
		if s.conn != nil {
			conn := s.conn
			s.conn = nil
			if s.registration == regAccepted {
				_ = conn.Close(websocket.StatusGoingAway, "simulation over")
			} else {
				_ = conn.CloseNow()
			}
		}
		s.stats.online.Store(false)
		s.stats.connected.Store(false)
		s.wg.Wait()
		close(s.done)
	}()

	now := s.mono()
	s.connectAt = now
	beh := s.cfg.Behavior
	for _, e := range s.evses {
		e.lastAdvance = now
		s.scheduleArrival(e, now)
		if beh.FaultsPerDay > 0 {
			e.faultAt = now.Add(s.realDur(expDur(e.rnd, beh.FaultsPerDay)))
		}
	}
	if beh.DropsPerDay > 0 {
		s.dropAt = now.Add(s.realDur(expDur(s.netRand, beh.DropsPerDay)))
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.fireDue()
		s.pump()
		s.stats.queued.Store(int64(s.ob.len()))
		if next := s.nextDeadline(); next.IsZero() {
			timer.Reset(time.Hour)
		} else {
			timer.Reset(max(time.Until(next), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case ev := <-s.events:
			s.advanceAll()
			s.handleEvent(ev)
		case fn := <-s.cmds:
			s.advanceAll()
			fn()
		}
	}
}

// do runs fn on the station's goroutine and waits for it.
func (s *Station) do(ctx context.Context, fn func()) error {
	finished := make(chan struct{})
	select {
	case s.cmds <- func() { fn(); close(finished) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
}

// post hands an event from a helper goroutine to Run; false once Run has ended.
func (s *Station) post(ev event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.life.Done():
		return false
	}
}

// mono is the scheduling clock (monotonic); wall time for messages comes from cfg.Now.
func (s *Station) mono() time.Time { return time.Now() }

// wall is the time written into messages.
func (s *Station) wall() time.Time { return s.cfg.Now().UTC() }

// realDur converts simulated time to real time.
func (s *Station) realDur(sim time.Duration) time.Duration {
	if sim <= 0 {
		return 0
	}
	return time.Duration(float64(sim) / s.scale)
}

// in is the deadline sim simulated time from now.
func (s *Station) in(sim time.Duration) time.Time { return s.mono().Add(s.realDur(sim)) }

// nextDeadline is the earliest scheduled deadline, or zero.
func (s *Station) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(s.connectAt)
	consider(s.bootAt)
	consider(s.heartbeatAt)
	consider(s.dropAt)
	consider(s.callDeadline)
	consider(s.rebootAt)
	consider(s.resetAt)
	consider(s.fieldDeadline())
	for _, e := range s.evses {
		consider(e.stepAt)
		consider(e.meterAt)
		consider(e.pauseAt)
		consider(e.faultAt)
	}
	return next
}

// fireDue handles every deadline that has passed, earliest first.
func (s *Station) fireDue() {
	for range 1000 { // a bound, so a handler that keeps rescheduling into the past cannot spin forever
		now := s.mono()
		next := s.nextDeadline()
		if next.IsZero() || next.After(now) {
			return
		}
		s.advanceAll()
		s.fire(next)
	}
}

// fire handles the deadline at t (one of them, if several are equal).
func (s *Station) fire(t time.Time) {
	if s.fireField(t) {
		return
	}
	switch {
	case s.callDeadline.Equal(t):
		s.callDeadline = time.Time{}
		s.callTimedOut()
		return
	case s.rebootAt.Equal(t):
		s.rebootAt = time.Time{}
		s.connectAt = s.mono()
		return
	case s.resetAt.Equal(t):
		s.resetAt = time.Time{}
		if s.resetOnIdle {
			s.rebootNow(stopSoftReset)
		}
		return
	case s.connectAt.Equal(t):
		s.connectAt = time.Time{}
		s.connect()
		return
	case s.bootAt.Equal(t):
		s.bootAt = time.Time{}
		s.sendBoot()
		return
	case s.heartbeatAt.Equal(t):
		s.heartbeatAt = time.Time{}
		s.heartbeatDue()
		return
	case s.dropAt.Equal(t):
		s.dropAt = time.Time{}
		s.networkDrop()
		return
	}
	for _, e := range s.evses {
		switch {
		case e.meterAt.Equal(t):
			e.meterAt = time.Time{}
			s.meterDue(e)
			return
		case e.pauseAt.Equal(t):
			e.pauseAt = time.Time{}
			s.pauseToggle(e)
			return
		case e.faultAt.Equal(t):
			e.faultAt = time.Time{}
			s.faultToggle(e)
			return
		case e.stepAt.Equal(t):
			e.stepAt = time.Time{}
			s.step(e)
			return
		}
	}
}

// Snapshot is a station's state at one moment.
type Snapshot struct {
	ID           string
	Version      ocpp.Version
	Online       bool   // a connection is open
	Registration string // "", "Pending", "Rejected" or "Accepted"
	Queued       int    // messages waiting to be sent
	EVSEs        []EVSEState
}

// EVSEState is one EVSE in a Snapshot.
type EVSEState struct {
	ID            int
	Status        string // the connector status as last computed, in the station's OCPP version
	EVPlugged     bool
	TransactionID string // empty when no transaction runs (1.6: empty until the CSMS assigned one)
	PowerW        float64
	LimitW        float64 // what the EVSE may deliver now (hardware and charging profiles)
	EnergyWh      float64 // the meter register
	SoC           float64 // 0–100, 0 without an EV
}

// Snapshot returns the station's current state.
func (s *Station) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.do(ctx, func() {
		snap = Snapshot{ID: s.cfg.ID, Version: s.cfg.Version, Online: s.conn != nil, Queued: s.ob.len()}
		switch s.registration {
		case regPending:
			snap.Registration = "Pending"
		case regRejected:
			snap.Registration = "Rejected"
		case regAccepted:
			snap.Registration = "Accepted"
		}
		for _, e := range s.evses {
			st := EVSEState{ID: e.id, Status: s.proto.status(e), EVPlugged: e.ev != nil,
				PowerW: e.powerW, LimitW: s.limitW(e), EnergyWh: e.energyWh}
			if e.tx != nil {
				st.TransactionID = e.tx.id
			}
			if e.ev != nil {
				st.SoC = e.ev.bat.SoC * 100
			}
			snap.EVSEs = append(snap.EVSEs, st)
		}
	})
	return snap, err
}

// Arrive makes an EV arrive at EVSE evseID (from 1) and its driver tap token (empty: one of
// the configured tokens). It fails when the EVSE is busy, faulted or unavailable, and before
// the CSMS first accepted the station's boot.
func (s *Station) Arrive(ctx context.Context, evseID int, token string) error {
	var err error
	if derr := s.do(ctx, func() {
		e := s.evse(evseID)
		switch {
		case e == nil:
			err = errors.New("sim: no such EVSE")
		case !s.arrive(e, token):
			err = errors.New("sim: EVSE is busy, faulted or unavailable, or the station is not in service")
		default:
			e.stepAt = s.in(tapDelay(e.rnd))
		}
	}); derr != nil {
		return derr
	}
	return err
}

// Depart makes the driver at EVSE evseID leave now: a running transaction is stopped by a
// tap of the driver's token (reason Local) and the EV is unplugged.
func (s *Station) Depart(ctx context.Context, evseID int) error {
	var err error
	if derr := s.do(ctx, func() {
		e := s.evse(evseID)
		if e == nil || e.ev == nil {
			err = errors.New("sim: no EV at that EVSE")
			return
		}
		if e.tx != nil {
			s.endTx(e, stopLocal)
		}
		s.unplug(e)
	}); derr != nil {
		return derr
	}
	return err
}

// DropConnection cuts the connection as a network failure would and keeps the station offline
// for at least offline (real time); it keeps charging and queues transaction messages.
func (s *Station) DropConnection(ctx context.Context, offline time.Duration) error {
	return s.do(ctx, func() {
		s.outageUntil = s.mono().Add(offline)
		if s.conn != nil {
			s.lostConnection(errors.New("simulated network drop"))
		} else {
			s.connectAt = s.outageUntil
		}
	})
}

// PhaseHeartbeat moves the station's next heartbeat to frac (0 ≤ frac < 1) of its heartbeat
// interval from now, as if its heartbeat timer had started then; the ones after follow at the
// interval. A connect storm lines a fleet's heartbeats up within the storm's few seconds; a
// fleet that has run for a while has them spread over the interval, and so has a fleet whose
// stations were each given a random frac. It does nothing while the station has no heartbeat
// due (not connected or not accepted).
func (s *Station) PhaseHeartbeat(ctx context.Context, frac float64) error {
	if frac < 0 || frac >= 1 {
		return errors.New("sim: heartbeat phase must be in [0, 1)")
	}
	return s.do(ctx, func() {
		if s.heartbeatAt.IsZero() || s.heartbeat <= 0 {
			return
		}
		s.heartbeatAt = s.mono().Add(max(time.Duration(frac*float64(s.realDur(s.heartbeat))), minRealTimer))
	})
}

func (s *Station) evse(id int) *evse {
	if id < 1 || id > len(s.evses) {
		return nil
	}
	return s.evses[id-1]
}

// uniformDur draws uniformly from [lo, hi).
func uniformDur(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// expDur draws the simulated time to the next event of a Poisson process with perDay events
// per day.
func expDur(r *rand.Rand, perDay float64) time.Duration {
	days := r.ExpFloat64() / perDay
	return time.Duration(math.Min(days*24*float64(time.Hour), float64(365*24*time.Hour)))
}
