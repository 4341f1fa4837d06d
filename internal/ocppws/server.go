// Package ocppws is OpenCPO's OCPP-J WebSocket endpoint (CONTRACT.md §2): it admits and
// upgrades /ocpp/{stationId} requests (HTTP Basic auth, subprotocols ocpp1.6 and ocpp2.0.1),
// keeps at most one connection per station (a new one replaces the old), answers the station's
// CALLs through a Handler in the connection's read loop, lets the CSMS call the station with
// Call, keeps idle connections alive with WebSocket pings and closes dead ones.
//
// Memory per idle connection is the design constraint (15,000 stations per process): a
// connection owns at most one goroutine, its reader, and on Linux an idle one owns none: between
// frames its socket waits in the Server's epoll set (poller, conn.park) and a reader is started
// when the next frame arrives. Pings come from one keep-alive goroutine per Server, which starts
// a short-lived goroutine per ping in flight; the HTTP server's goroutine is released right
// after the upgrade, and the socket's buffers are smaller than net/http's.
//
// The WebSocket library is github.com/gorilla/websocket, chosen by measurement
// (internal/ocppws/wscompare, docs/benchmarks.md): it costs an idle connection about 3.5 KiB
// less than github.com/coder/websocket at the same throughput.
//
// It imports internal/ocpp (framing), internal/domain (error vocabulary),
// github.com/gorilla/websocket and the Prometheus client; nothing else of OpenCPO.
package ocppws

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// Handler is the CSMS side, implemented by package csms.
type Handler interface {
	// Admit decides on an upgrade request before it is accepted. user/pass/hasAuth come from
	// HTTP Basic auth. Returning an error wrapping domain.ErrUnauthorized or domain.ErrNotFound
	// refuses the upgrade with HTTP 401; other errors → 500 (logged, text not sent).
	//
	// hasAuth reports whether the request carried an Authorization header at all. A header
	// that is present but is not valid Basic credentials gives hasAuth=true with empty user and
	// pass: an attempt at authentication that failed never turns into "no authentication".
	Admit(ctx context.Context, stationID, user, pass string, hasAuth bool) error
	// Connected is called once the connection is registered (after replacing any older one).
	// For one station id the calls are ordered: a Disconnected of an earlier connection has
	// returned before the next Connected starts. The station's frames are read only after
	// Connected returns, so Connected must not block on Server.Call for the same station.
	// Its ctx has a CallTimeout deadline and is not cancelled by Shutdown.
	Connected(ctx context.Context, stationID string, v ocpp.Version)
	// HandleCall answers one CALL from the station. A *ocpp.CallError result becomes a CALLERROR
	// with that code; any other error becomes InternalError with a generic description (the
	// internal text never reaches the station; log it). It must not block on Server.Call for the
	// same station. Its ctx ends after CallTimeout or when Shutdown starts. A panic is recovered,
	// logged and answered with InternalError.
	HandleCall(ctx context.Context, stationID string, v ocpp.Version, action string, payload json.RawMessage) (json.RawMessage, error)
	// Disconnected is called when the station's current connection ends. It is NOT called for a
	// connection that was replaced by a newer one of the same station. Its ctx has a CallTimeout
	// deadline and is not cancelled by Shutdown (which waits for it), so it can record the
	// disconnection.
	Disconnected(ctx context.Context, stationID string, v ocpp.Version)
}

// Config tunes a Server. The zero value gives the defaults.
//
// Keep-alive: a connection from which nothing (frame, ping or pong) has arrived for PingInterval
// gets a WebSocket ping; one that then stays silent until PongTimeout has passed since it last
// spoke is dropped as dead (the pong gets at least PingInterval/2 in any case). Connections that
// talk are not pinged. With PingInterval < 0 nothing is pinged and dead peers are only noticed
// by TCP.
type Config struct {
	CallTimeout    time.Duration    // default per CSMS→station call when ctx has no deadline (30s); also bounds each Handler call
	PingInterval   time.Duration    // WebSocket ping period (default 30s); 0 keeps the default, <0 disables
	PongTimeout    time.Duration    // a connection with no pong/frame for this long is closed (default 2×PingInterval)
	MaxMessageSize int64            // default 1 MiB; a bigger frame closes the connection (1009)
	Now            func() time.Time // default time.Now; measures silence and call latency
	Frames         FrameObserver    // sees every frame both ways; nil: off
}

// Defaults of Config.
const (
	DefaultCallTimeout    = 30 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultMaxMessageSize = 1 << 20
)

const (
	// writeTimeout bounds one frame write; a peer that does not take a frame in this time is
	// treated as dead and its socket closed.
	writeTimeout = 10 * time.Second
	// closeTimeout bounds the close handshake: how long a closing connection waits for the
	// peer's close frame before the socket is closed anyway.
	closeTimeout = 5 * time.Second
	// maxPingsInFlight bounds the goroutines that write pings. A connection whose ping could
	// not start is simply tried on the next tick.
	maxPingsInFlight = 1024
	// basicRealm is sent with every 401.
	basicRealm = `Basic realm="OpenCPO"`
)

// Server is the OCPP endpoint. Create it with New, mount it at "/ocpp/{stationId}", stop it with
// Shutdown.
type Server struct {
	cfg   Config
	h     Handler
	up    *websocket.Upgrader
	log   *slog.Logger
	m     *metrics
	start time.Time // origin of the monotonic offsets in conn.lastSeen

	ctx    context.Context // ends with Shutdown: bounds handler calls and pings
	cancel context.CancelFunc

	pingSlots chan struct{}
	readers   *readerPool
	live      atomic.Int64  // registered connections not yet closing
	keys      atomic.Uint64 // the last conn.key given out

	mu        sync.RWMutex
	conns     map[string]*conn // the newest connection of each station
	closing   bool
	keepalive bool // the keep-alive goroutine was started
	// poll holds idle connections without goroutines (Linux; nil elsewhere or if epoll failed).
	// It is set once, under mu, before the first connection that uses it is registered. Its
	// goroutine is not counted in wg: it must run until every connection has ended, and
	// Shutdown stops it after wg's Wait.
	poll      *poller
	pollTried bool
	// wg counts every goroutine the Server owns: connection readers (a parked connection holds
	// its reader's count), closers, pings and the keep-alive loop; not the poller (see poll).
	// Add is called only under mu while !closing, or by a goroutine that already holds a count,
	// so that it never races with Shutdown's Wait.
	wg sync.WaitGroup
}

// New returns a Server that hands stations' calls to h. reg may be nil (no metrics exported).
// No goroutine runs until the first connection arrives.
func New(cfg Config, h Handler, log *slog.Logger, reg prometheus.Registerer) *Server {
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PongTimeout <= 0 && cfg.PingInterval > 0 {
		cfg.PongTimeout = 2 * cfg.PingInterval
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		h:         h,
		up:        newUpgrader(),
		log:       log,
		m:         newMetrics(reg),
		start:     cfg.Now(),
		ctx:       ctx,
		cancel:    cancel,
		pingSlots: make(chan struct{}, maxPingsInFlight),
		readers:   newReaderPool(ctx, maxReaders),
		conns:     make(map[string]*conn),
	}
}

// ServeHTTP admits and upgrades one station's WebSocket request. The station id is the
// "stationId" path value, or the last path segment when the route has none; both are
// percent-decoded.
// logStation writes a record about one station's connection, if the level is on. The station
// attribute is added per record rather than through log.With: a TextHandler's With formats its
// attributes at once, whatever the level, and a per-connection logger would cost every idle
// connection a few hundred bytes; in a mass reconnect the With of every admission cost about 4 %
// of the server's CPU (docs/benchmarks.md).
func (s *Server) logStation(level slog.Level, id, msg string, args ...any) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.Log(ctx, level, msg, append([]any{"station", id}, args...)...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := stationID(r)
	if id == "" {
		http.Error(w, "missing station id", http.StatusNotFound)
		return
	}
	if s.isClosing() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}

	user, pass, hasAuth := credentials(r)
	if err := s.h.Admit(r.Context(), id, user, pass, hasAuth); err != nil {
		if errors.Is(err, domain.ErrUnauthorized) || errors.Is(err, domain.ErrNotFound) {
			s.logStation(slog.LevelInfo, id, "connection refused", "reason", err.Error(), "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", basicRealm)
			http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
			return
		}
		s.logStation(slog.LevelError, id, "admission failed", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}

	v, ok := negotiate(r.Header)
	var hdr http.Header
	if ok {
		hdr = http.Header{"Sec-Websocket-Protocol": {v.Subprotocol()}}
	}
	hj := &hijacker{ResponseWriter: w}
	ws, err := s.up.Upgrade(hj, r, hdr)
	if err != nil {
		// Upgrade has answered the request already, or the socket is gone.
		s.logStation(slog.LevelInfo, id, "websocket upgrade failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	if !ok {
		// OCPP-J: no agreeable subprotocol → complete the handshake without one, then close.
		s.logStation(slog.LevelInfo, id, "connection refused: no supported subprotocol", "offered", r.Header.Values("Sec-WebSocket-Protocol"))
		if !s.goTracked(func() { refuse(ws) }) {
			_ = ws.Close()
		}
		return
	}
	c := &conn{s: s, id: id, v: v, ws: ws, done: make(chan struct{}), lifeDone: make(chan struct{}),
		br: hj.br, early: hj.early, key: s.keys.Add(1)}
	ws.SetPingHandler(c.onPing)
	ws.SetPongHandler(c.onPong)
	ws.SetReadLimit(s.cfg.MaxMessageSize)
	c.touch()

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	prev := s.conns[id]
	s.conns[id] = c
	s.live.Add(1)
	s.m.connections.WithLabelValues(string(v)).Inc()
	s.wg.Add(1)
	s.startKeepaliveLocked()
	poll := s.startPollerLocked()
	s.mu.Unlock()

	if poll != nil && hj.raw != nil {
		// Before the first reader starts: from now on the connection may park.
		c.raw = hj.raw
		if err := poll.register(c); err != nil {
			c.raw = nil
			s.logStation(slog.LevelWarn, id, "connection keeps a reader goroutine: epoll registration failed", "err", err)
		}
	}

	if prev != nil {
		s.logStation(slog.LevelInfo, id, "connection replaced by a newer one")
		prev.close(websocket.ClosePolicyViolation, "replaced by a newer connection")
	}
	s.logStation(slog.LevelInfo, id, "station connected", "version", string(v), "remote", r.RemoteAddr)
	// The reader gets its own goroutine so that this one, with net/http's per-connection state
	// and buffers, can end now.
	go s.serveConn(c, prev)
}

// serveConn starts one connection's life: Connected, then the reader (conn.read), which calls
// end when the connection is over. It holds the wg count taken in ServeHTTP and hands it on.
func (s *Server) serveConn(c *conn, prev *conn) {
	if prev != nil {
		<-prev.lifeDone // keeps Connected/Disconnected of one station in order
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
	s.h.Connected(ctx, c.id, c.v)
	cancel()
	c.next() // parked, or read on: see conn.read and conn.next
}

// end finishes a connection whose reader stopped with err: Disconnected unless it was replaced.
// It releases the wg count of the connection's goroutine.
func (s *Server) end(c *conn, err error) {
	defer s.wg.Done()
	c.markDone()
	_ = c.ws.Close() // releases the socket
	if c.raw != nil {
		s.poll.forget(c)
	}

	s.mu.RLock()
	current := s.conns[c.id] == c
	s.mu.RUnlock()
	if current {
		c.logAt(slog.LevelInfo, "station disconnected", "reason", closeReason(err))
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
		s.h.Disconnected(ctx, c.id, c.v)
		cancel()
		s.mu.Lock()
		if s.conns[c.id] == c {
			delete(s.conns, c.id)
		}
		s.mu.Unlock()
	}
	c.finish()
}

// Call sends a CALL to the station and waits for its answer: the CALLRESULT payload, a
// *ocpp.CallError when the station answered with a CALLERROR, an error wrapping
// domain.ErrOffline when the station is not connected or its connection ends before the answer,
// an error wrapping domain.ErrTimeout when ctx's deadline (or, without one, CallTimeout)
// passes, or ctx.Err() when ctx is cancelled. Calls to one station go out one at a time, in the
// order they were made; payload must be a JSON object.
func (s *Server) Call(ctx context.Context, stationID, action string, payload json.RawMessage) (json.RawMessage, error) {
	c := s.lookup(stationID)
	if c == nil {
		return nil, &callFailure{station: stationID, action: action, kind: domain.ErrOffline}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
	}
	return c.call(ctx, action, payload)
}

// Connected reports whether the station has a live connection, and its version.
func (s *Server) Connected(stationID string) (ocpp.Version, bool) {
	if c := s.lookup(stationID); c != nil {
		return c.v, true
	}
	return "", false
}

// Disconnect closes the station's connection (normal closure), e.g. because the station was
// deleted. Handler.Disconnected follows as for any other end of a connection.
func (s *Server) Disconnect(stationID string) {
	if c := s.lookup(stationID); c != nil {
		c.logAt(slog.LevelInfo, "disconnecting station")
		c.close(websocket.CloseNormalClosure, "disconnected by the CSMS")
	}
}

// ConnectionCount is the number of live station connections.
func (s *Server) ConnectionCount() int { return int(s.live.Load()) }

// Shutdown stops accepting connections (new requests get 503), closes every connection with
// close code 1001 (going away) and waits until every goroutine of the Server has ended,
// Handler.Disconnected calls included. When ctx ends first the remaining sockets are closed
// without handshake; Shutdown still waits for the goroutines (they end promptly then) and
// returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}

	done := make(chan struct{})
	go func() { // owned by Shutdown: ends when the last Server goroutine has
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopPoller()
		return nil
	case <-ctx.Done():
	}
	for _, c := range conns {
		c.abort()
	}
	<-done
	s.stopPoller()
	return ctx.Err()
}

// startPollerLocked starts the poller on the first connection and returns it (nil: none).
// s.mu must be held, !s.closing.
func (s *Server) startPollerLocked() *poller {
	if !s.pollTried {
		s.pollTried = true
		p, err := newPoller()
		switch {
		case err == nil:
			s.poll = p
			go p.run() // ended by stopPoller
		case !errors.Is(err, errors.ErrUnsupported):
			s.log.Warn("idle connections keep a reader goroutine each: no epoll", "err", err)
		}
	}
	return s.poll
}

// stopPoller ends the poller once every connection has ended (Shutdown, after wg's Wait: a
// parked connection still needs it to see its peer's close frame).
func (s *Server) stopPoller() {
	s.mu.RLock()
	p := s.poll
	s.mu.RUnlock()
	if p != nil {
		p.close()
	}
}

func (s *Server) isClosing() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closing
}

// lookup returns the station's connection if it is live.
func (s *Server) lookup(stationID string) *conn {
	s.mu.RLock()
	c := s.conns[stationID]
	s.mu.RUnlock()
	if c == nil || c.isDone() {
		return nil
	}
	return c
}

// goTracked runs f in a goroutine counted in wg, unless the Server is shutting down.
func (s *Server) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// mono is the time since the Server started, from the injected clock (monotonic with time.Now).
func (s *Server) mono() time.Duration { return s.cfg.Now().Sub(s.start) }

// refuse closes a connection that got no subprotocol with 1002 (protocol error), waiting up to
// closeTimeout for the peer's close frame.
func refuse(ws *websocket.Conn) {
	defer ws.Close()
	msg := websocket.FormatCloseMessage(websocket.CloseProtocolError, "supported subprotocols: ocpp2.0.1, ocpp1.6")
	if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeTimeout)); err != nil {
		return
	}
	_ = ws.SetReadDeadline(time.Now().Add(closeTimeout))
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return // the peer's close frame, or the deadline
		}
	}
}

// stationID reads the station id from the route, or from the last path segment.
func stationID(r *http.Request) string {
	if id := r.PathValue("stationId"); id != "" {
		return id
	}
	p := r.URL.EscapedPath()
	id, err := url.PathUnescape(p[strings.LastIndexByte(p, '/')+1:])
	if err != nil {
		return ""
	}
	return id
}

// credentials reads HTTP Basic auth; see Handler.Admit for the meaning of hasAuth.
func credentials(r *http.Request) (user, pass string, hasAuth bool) {
	if len(r.Header.Values("Authorization")) == 0 {
		return "", "", false
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", true
	}
	return user, pass, true
}

// negotiate picks the newest OCPP version among the offered subprotocols. Tokens are compared
// case-insensitively, as the WebSocket library does.
func negotiate(h http.Header) (ocpp.Version, bool) {
	var has16 bool
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			switch p = strings.TrimSpace(p); {
			case strings.EqualFold(p, ocpp.V201.Subprotocol()):
				return ocpp.V201, true
			case strings.EqualFold(p, ocpp.V16.Subprotocol()):
				has16 = true
			}
		}
	}
	if has16 {
		return ocpp.V16, true
	}
	return "", false
}
