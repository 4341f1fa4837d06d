package ocppws

import (
	"context"
	"log/slog"
	"time"
)

// Keep-alive: one goroutine per Server looks at every connection a few times per PingInterval.
// A connection that has been silent (no frame, ping or pong from the station) for PingInterval
// gets a WebSocket ping; if neither the pong nor anything else arrives before the connection has
// been silent for PongTimeout, it is closed as dead. Busy connections are never pinged.
//
// The library's Ping blocks until the pong, so each ping in flight has a short-lived goroutine
// (at most maxPingsInFlight at once); an idle connection costs no goroutine of its own.

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
	t := time.NewTicker(max(s.cfg.PingInterval/4, time.Millisecond))
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
		now := s.mono()
		for _, c := range batch {
			s.check(c, now)
		}
		clear(batch)
		batch = batch[:0]
	}
}

// check pings c if it has been silent for PingInterval.
func (s *Server) check(c *conn, now time.Duration) {
	silent := now - time.Duration(c.lastSeen.Load())
	if silent < s.cfg.PingInterval || c.isDone() || !c.pinging.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.pingSlots <- struct{}{}:
	default:
		c.pinging.Store(false) // too many pings in flight: next tick
		return
	}
	// The pong may take until the connection has been silent for PongTimeout, but at least half
	// a ping interval, so that a late tick or a short PongTimeout cannot condemn a live peer.
	wait := max(s.cfg.PongTimeout-silent, s.cfg.PingInterval/2)
	s.wg.Add(1) // the keep-alive goroutine holds a count: no race with Shutdown's Wait
	go s.ping(c, wait)
}

func (s *Server) ping(c *conn, wait time.Duration) {
	defer s.wg.Done()
	defer func() { <-s.pingSlots }()
	defer c.pinging.Store(false)

	ctx, cancel := context.WithTimeout(s.ctx, wait)
	defer cancel()
	err := c.ws.Ping(ctx)
	if err == nil {
		c.touch()
		return
	}
	if s.ctx.Err() != nil || c.isDone() {
		return // shutting down, or the connection is being closed anyway
	}
	if silent := s.mono() - time.Duration(c.lastSeen.Load()); silent < s.cfg.PongTimeout {
		return // the station spoke meanwhile (its pong may be queued behind a long frame)
	}
	c.logAt(slog.LevelInfo, "closing dead connection: no pong", "waited", wait.String())
	// No close handshake with a peer that does not answer: drop the socket, the reader ends
	// and reports the disconnection.
	_ = c.ws.CloseNow()
}
