package ocppws

import (
	"log/slog"
	"time"

	"github.com/gorilla/websocket"
)

// Keep-alive: one goroutine per Server looks at every connection a few times per PingInterval.
// A connection that has been silent (no frame, ping or pong from the station) for PingInterval
// gets a WebSocket ping; if neither the pong nor anything else arrives before the connection has
// been silent for PongTimeout, it is closed as dead. Busy connections are never pinged.
//
// Writing a ping may block on a peer that takes nothing, so each ping is written by a
// short-lived goroutine (at most maxPingsInFlight at once); the pong is noticed by the reader
// (conn.onPong; on a parked connection the pong wakes a reader, which takes it and parks again:
// takeControlFrames) and checked on a later tick. An idle connection costs no goroutine of its
// own.

// startKeepaliveLocked starts the keep-alive goroutine once. s.mu must be held, !s.closing.
func (s *Server) startKeepaliveLocked() {
	if s.keepalive || s.cfg.PingInterval < 0 {
		return
	}
	s.keepalive = true
	s.wg.Add(1)
	go s.keepaliveLoop()
}

func (s *Server) keepaliveLoop() {
	defer s.wg.Done()
	every := max(s.cfg.PingInterval/4, time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var batch []*conn // reused between ticks
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.RLock()
		for _, c := range s.conns {
			batch = append(batch, c)
		}
		s.mu.RUnlock()
		if !s.checkSpread(batch, every*3/4) {
			return
		}
		clear(batch)
		batch = batch[:0]
	}
}

// keepaliveChunk is how many connections the keep-alive checks between two pauses.
const keepaliveChunk = 64

// checkSpread checks the connections in chunks spread over the given time, not all at once:
// with every station silent between heartbeats for longer than PingInterval, a tick that
// checked them all at once pinged about a quarter of the fleet in one burst (3,750 pings at
// 15,000 stations), and every message arriving meanwhile waited behind those writes and the
// pongs they woke. It reports false when the Server is shutting down.
func (s *Server) checkSpread(conns []*conn, over time.Duration) bool {
	chunks := (len(conns) + keepaliveChunk - 1) / keepaliveChunk
	var pause <-chan time.Time // between chunks; none for a single chunk
	if chunks > 1 {
		t := time.NewTicker(over / time.Duration(chunks))
		defer t.Stop()
		pause = t.C
	}
	for i := 0; i < len(conns); i += keepaliveChunk {
		if i > 0 {
			select {
			case <-s.ctx.Done():
				return false
			case <-pause:
			}
		}
		now := s.mono()
		for _, c := range conns[i:min(i+keepaliveChunk, len(conns))] {
			s.check(c, now)
		}
	}
	return true
}

// check pings c if it has been silent for PingInterval, and closes it if a ping has gone
// unanswered past its due time. Only the keep-alive goroutine calls it.
func (s *Server) check(c *conn, now time.Duration) {
	if c.isDone() {
		return
	}
	last := time.Duration(c.lastSeen.Load())
	if sent := time.Duration(c.pingSent.Load()); sent != 0 {
		due := time.Duration(c.pingDue.Load())
		switch {
		case last >= sent:
			c.pingSent.Store(0) // the pong, or anything else, came back
		case now >= due:
			c.logAt(slog.LevelInfo, "closing dead connection: no pong", "waited", (due - sent).String())
			// No close handshake with a peer that does not answer: drop the socket, the
			// reader (woken if the connection is parked) ends and reports the disconnection.
			c.closeSocket()
			return
		default:
			return // waiting for the pong
		}
	}
	silent := now - last
	if silent < s.cfg.PingInterval {
		return
	}
	select {
	case s.pingSlots <- struct{}{}:
	default:
		return // too many pings being written: next tick
	}
	// The pong may take until the connection has been silent for PongTimeout, but at least half
	// a ping interval, so that a late tick or a short PongTimeout cannot condemn a live peer.
	wait := max(s.cfg.PongTimeout-silent, s.cfg.PingInterval/2)
	sent := max(now, 1)
	c.pingDue.Store(int64(sent + wait))
	c.pingSent.Store(int64(sent))
	s.wg.Add(1) // the keep-alive goroutine holds a count: no race with Shutdown's Wait
	go s.ping(c, wait)
}

// ping writes one ping frame. Writing may block on a peer that takes nothing, so it has its own
// short-lived goroutine; a failed write needs no action, since an unanswered ping closes the
// connection when it is due.
func (s *Server) ping(c *conn, wait time.Duration) {
	defer s.wg.Done()
	defer func() { <-s.pingSlots }()
	_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wait))
}
