// Package csms is the central system's behaviour: it admits stations, answers every OCPP call a
// station makes (one handler table per version, mapping OCPP to the domain) and sends
// CSMS-initiated calls with validation and audit. It never imports the WebSocket layer: it is
// handed a small Caller. It imports the domain, the OCPP framing, the generated OCPP types and
// the command table (package commands) for the requests it builds on its own.
package csms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// Caller sends CSMS-initiated calls over a station's connection (implemented by ocppws.Server).
type Caller interface {
	Call(ctx context.Context, stationID, action string, payload json.RawMessage) (json.RawMessage, error)
	Disconnect(stationID string)
}

// UnknownPolicy is what happens to a station id that is not registered (CONTRACT.md §1).
type UnknownPolicy string

const (
	UnknownReject  UnknownPolicy = "reject"
	UnknownPending UnknownPolicy = "pending"
	UnknownAccept  UnknownPolicy = "accept"
)

// ParseUnknownPolicy reads the --unknown-stations value.
func ParseUnknownPolicy(s string) (UnknownPolicy, error) {
	switch p := UnknownPolicy(s); p {
	case UnknownReject, UnknownPending, UnknownAccept:
		return p, nil
	}
	return "", fmt.Errorf("unknown-stations must be reject, pending or accept, not %q", s)
}

// Config holds the central system's settings.
type Config struct {
	UnknownStations   UnknownPolicy
	HeartbeatInterval time.Duration
	// BootRetryInterval is the interval sent with a Pending or Rejected BootNotification answer:
	// how long the station waits before it boots again.
	BootRetryInterval time.Duration
	// TouchEvery is how often stations' last-seen times are written (they are kept in memory
	// in between), so that a busy station does not cost a write per message.
	TouchEvery time.Duration
	// SessionTimeout closes an active session with no news for this long, flagged for review
	// (a station that rebooted mid-session and never sent its stop).
	SessionTimeout time.Duration
	// SweepEvery is how often the background job looks for such sessions.
	SweepEvery time.Duration
	// LedgerRetention is how long a transactional message is remembered for exactly-once
	// handling. It must exceed how long a station may stay offline and still replay its queue.
	LedgerRetention time.Duration
	// Events receives what happens (connections, statuses, sessions) once it is stored; nil
	// publishes nothing.
	Events domain.EventBus
	// Cluster, when set, makes the service one node of a cluster (see Cluster); nil is a
	// single node that owns every connection.
	Cluster *Cluster
	// Lease decides whether this node runs the background jobs; default domain.SingleNode.
	Lease domain.Lease
	// RefreshConfigOnBoot reads a station's configuration (1.6 GetConfiguration, 2.0.1
	// GetBaseReport) in the background after each Accepted boot, RefreshDelay after the answer.
	RefreshConfigOnBoot bool
	RefreshDelay        time.Duration
	// RefreshMinAge: a station whose configuration was read more recently than this is not read
	// again on boot unless its firmware changed.
	RefreshMinAge time.Duration
	// RefreshRate caps how many boot-time configuration reads start per second (default 10),
	// so that a fleet admitted all at once is read over minutes instead of taking latency
	// from the live traffic of the storm.
	RefreshRate float64
	// CostUpdateEvery is the least time between two CostUpdated calls for one 2.0.1 session
	// (sent on meter values while a tariff applies); default one minute.
	CostUpdateEvery time.Duration
	Now             func() time.Time
	Log             *slog.Logger
}

// Service is the central system.
type Service struct {
	cfg      Config
	store    domain.Store
	log      *slog.Logger
	now      func() time.Time
	catalogs map[ocpp.Version]*schema.Catalog
	tables   map[ocpp.Version]map[string]handler
	remote   *remoteStarts
	reports  *fullReports
	refreshQ chan refreshJob
	// refreshSkips counts the refreshes a full queue turned away since the last warning, and
	// refreshWarned is when (Unix nanoseconds) that warning was logged: one line a minute, not
	// one per station of a mass reconnect.
	refreshSkips  atomic.Int64
	refreshWarned atomic.Int64
	bill          *billing.Biller
	costs         *costUpdates

	mu       sync.Mutex
	caller   Caller
	seen     map[string]lastSeen // station → when it was last heard from, and whether that is written
	verified map[string]string   // station → digest of the last password that passed, to spare argon2 on reconnects
	stations map[string]cachedStation
	// refreshed: when each station's configuration was last read after a boot
	refreshed map[string]time.Time
	// connecting holds, per station, the connection record being written (closed when done):
	// Connected does not wait for it, Disconnected and the next Connected do.
	connecting map[string]chan struct{}
	// records are the connection records waiting for a writer, oldest first, and
	// recordWriters how many goroutines write them (connrecords.go).
	records       []connRecord
	recordWriters int
	uploads       UploadURLs // signs log upload URLs; nil: log requests are refused
}

// cachedStation is a station's identity, registration and password hash as last read, so that
// neither the messages of a busy station nor a mass reconnect cost a database read each.
// Changes through the API invalidate the entry (StationChanged); stationTTL bounds how long a
// change made elsewhere (another process on the same database) can go unseen.
type cachedStation struct {
	station domain.Station
	readAt  time.Time
}

const stationTTL = 30 * time.Minute

// bootFreshness is how old the cached station may be for a BootNotification. A connection's
// boot follows its admission, which read the station a moment before (a disconnection drops
// older reads: see forget): reading it again cost a mass reconnect a second read per station.
// A change through the API or from another node drops the entry at once, so only a change made
// behind OpenCPO's back can go unseen, for this long.
const bootFreshness = 10 * time.Second

// lastSeen is when a station was last heard from. The time is written to the store in the
// background (flushLastSeen), never on a message's path.
type lastSeen struct {
	at      time.Time
	written bool
}

// New returns the central system. Call UseCaller before stations connect.
func New(cfg Config, store domain.Store) *Service {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 300 * time.Second
	}
	if cfg.BootRetryInterval <= 0 {
		cfg.BootRetryInterval = 60 * time.Second
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = 15 * time.Second
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 24 * time.Hour
	}
	if cfg.LedgerRetention <= 0 {
		cfg.LedgerRetention = 30 * 24 * time.Hour
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.CostUpdateEvery <= 0 {
		cfg.CostUpdateEvery = time.Minute
	}
	if cfg.UnknownStations == "" {
		cfg.UnknownStations = UnknownPending
	}
	if cfg.RefreshDelay <= 0 {
		cfg.RefreshDelay = time.Second
	}
	if cfg.RefreshMinAge <= 0 {
		cfg.RefreshMinAge = 15 * time.Minute
	}
	if cfg.RefreshRate <= 0 {
		cfg.RefreshRate = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease == nil {
		cfg.Lease = domain.SingleNode{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: store, log: cfg.Log, now: cfg.Now,
		catalogs:  map[ocpp.Version]*schema.Catalog{ocpp.V16: v16.Catalog(), ocpp.V201: v201.Catalog()},
		remote:    newRemoteStarts(),
		reports:   &fullReports{pending: map[string]int{}},
		refreshQ:  make(chan refreshJob, 20000),
		seen:      map[string]lastSeen{},
		verified:  map[string]string{},
		stations:  map[string]cachedStation{},
		refreshed: map[string]time.Time{},

		connecting: map[string]chan struct{}{},
		bill:       billing.New(store, cfg.Now, cfg.Log),
		costs:      newCostUpdates(cfg.CostUpdateEvery),
	}
	s.tables = map[ocpp.Version]map[string]handler{ocpp.V16: s.handlers16(), ocpp.V201: s.handlers201()}
	return s
}

// UseCaller hands the service the connection layer it sends CSMS-initiated calls through. The
// two are built in either order, so the link is made after both exist.
func (s *Service) UseCaller(c Caller) {
	s.mu.Lock()
	s.caller = c
	s.mu.Unlock()
}

func (s *Service) getCaller() Caller {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caller
}

// Admit decides whether a station may open a connection (security profiles 1 and 2, and the
// policy for unknown stations).
func (s *Service) Admit(ctx context.Context, stationID, user, pass string, hasAuth bool) error {
	st, err := s.station(ctx, stationID, false)
	if errors.Is(err, domain.ErrNotFound) {
		return s.admitUnknown(ctx, stationID)
	}
	if err != nil {
		return err
	}
	if st.PasswordHash == "" {
		return nil
	}
	if !hasAuth || user != stationID {
		return domain.ErrUnauthorized
	}
	digest := credential.TokenDigest(st.PasswordHash + "\x00" + pass)
	s.mu.Lock()
	known := s.verified[stationID]
	s.mu.Unlock()
	if known != "" && credential.EqualDigest(known, digest) {
		return nil
	}
	ok, err := credential.Verify(st.PasswordHash, pass)
	if err != nil {
		return fmt.Errorf("csms: station %s password hash: %w", stationID, err)
	}
	if !ok {
		return domain.ErrUnauthorized
	}
	s.mu.Lock()
	s.verified[stationID] = digest
	s.mu.Unlock()
	return nil
}

func (s *Service) admitUnknown(ctx context.Context, stationID string) error {
	status := domain.RegistrationPending
	switch s.cfg.UnknownStations {
	case UnknownReject:
		return domain.ErrUnauthorized
	case UnknownAccept:
		status = domain.RegistrationAccepted
	}
	now := s.now().UTC()
	err := s.store.CreateStation(ctx, domain.Station{ID: stationID, RegistrationStatus: status, CreatedAt: now, UpdatedAt: now})
	if err != nil && !errors.Is(err, domain.ErrConflict) {
		return err
	}
	s.log.InfoContext(ctx, "csms: unknown station registered", "station", stationID, "status", status)
	return nil
}

// Connected records that a station is online.
func (s *Service) Connected(ctx context.Context, stationID string, v ocpp.Version) {
	now := s.now().UTC()
	// The connection record is written without holding up the station: its first frame is
	// read at once, and the record usually shares a group commit with what that frame
	// writes (the boot). Writes for one station stay in order: each waits for the one before.
	r := connRecord{stationID: stationID, version: v, at: now, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithTimeout(context.WithoutCancel(ctx), connectWriteTimeout)
	s.mu.Lock()
	r.prev = s.connecting[stationID]
	s.connecting[stationID] = r.done
	s.seen[stationID] = lastSeen{at: now, written: true}
	s.mu.Unlock()
	s.queueConnRecord(r)
}

// Disconnected records that a station went offline, after its connection record is written.
// In a cluster, the end of a connection the station had already left for another node changes
// nothing and is not announced.
func (s *Service) Disconnected(ctx context.Context, stationID string, v ocpp.Version) {
	s.mu.Lock()
	pending := s.connecting[stationID]
	s.mu.Unlock()
	if pending != nil {
		<-pending
	}
	wctx := context.WithoutCancel(ctx)
	released := true
	var err error
	if s.clustered() {
		released, err = s.store.ReleaseStation(wctx, stationID, s.cfg.Cluster.Node)
	} else {
		err = s.store.SetConnected(wctx, stationID, false, string(v), s.now().UTC())
	}
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		s.log.ErrorContext(ctx, "csms: record disconnection", "station", stationID, "err", err)
	}
	s.forget(stationID)
	if released {
		s.publish(ctx, domain.Event{Kind: domain.EventStationDisconnected, StationID: stationID})
	}
}

// forget drops what the service keeps in memory of a station's connection. A station record
// read within bootFreshness stays: it is the admission read of the station's next connection,
// whose admission can come before the end of the last one is processed (a mass reconnect), and
// its boot is about to use it.
func (s *Service) forget(stationID string) {
	now := s.now()
	s.mu.Lock()
	delete(s.seen, stationID)
	if c, ok := s.stations[stationID]; ok && now.Sub(c.readAt) >= bootFreshness {
		delete(s.stations, stationID)
	}
	s.mu.Unlock()
}

// StationRemoved forgets a deleted station and drops its connection.
func (s *Service) StationRemoved(ctx context.Context, stationID string) {
	s.mu.Lock()
	delete(s.verified, stationID)
	delete(s.seen, stationID)
	delete(s.stations, stationID)
	delete(s.refreshed, stationID)
	s.mu.Unlock()
	if c := s.getCaller(); c != nil {
		c.Disconnect(stationID)
	}
	s.publish(ctx, domain.Event{Kind: domain.EventStationRemoved, StationID: stationID})
}

// heard notes that a station was just heard from; no write happens here.
func (s *Service) heard(stationID string) {
	now := s.now().UTC()
	s.mu.Lock()
	s.seen[stationID] = lastSeen{at: now}
	s.mu.Unlock()
}

// flushLastSeen writes the last-seen time of every station heard from since the last flush, in
// few writes (TouchStations).
func (s *Service) flushLastSeen(ctx context.Context) {
	s.mu.Lock()
	due := make(map[string]time.Time)
	for id, ls := range s.seen {
		if !ls.written {
			due[id] = ls.at
			s.seen[id] = lastSeen{at: ls.at, written: true}
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return
	}
	if err := s.store.TouchStations(ctx, due); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "csms: last-seen times not recorded", "stations", len(due), "err", err)
	}
}

// StationChanged drops what the service remembers of a station after an operator changed it
// (registration, password), so the next message or connection sees the change at once.
func (s *Service) StationChanged(ctx context.Context, stationID string) {
	s.mu.Lock()
	delete(s.stations, stationID)
	delete(s.verified, stationID)
	s.mu.Unlock()
	s.publish(ctx, domain.Event{Kind: domain.EventStationChanged, StationID: stationID})
}

// station returns the station's identity and registration, from the cache when fresh enough.
// fresh asks for a read at most bootFreshness old (BootNotification decides on the
// registration, so it must see the current one).
func (s *Service) station(ctx context.Context, stationID string, fresh bool) (domain.Station, error) {
	now := s.now()
	maxAge := stationTTL
	if fresh {
		maxAge = bootFreshness
	}
	s.mu.Lock()
	c, ok := s.stations[stationID]
	s.mu.Unlock()
	if ok && now.Sub(c.readAt) < maxAge {
		return c.station, nil
	}
	st, err := s.store.StationRecord(ctx, stationID) // handlers need identity and registration only
	if err != nil {
		return domain.Station{}, err
	}
	s.mu.Lock()
	s.stations[stationID] = cachedStation{station: st, readAt: now}
	s.mu.Unlock()
	return st, nil
}
