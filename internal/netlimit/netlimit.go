// Package netlimit bounds how many connections an HTTP server is setting up at once: accepted,
// and still in their first request. The rest wait in the kernel's accept queue, where they cost
// the process nothing.
//
// net/http starts a goroutine for every connection it accepts. When 15,000 charging stations
// dial at once (a connection storm: the server restarted, or the network came back), that is
// 15,000 goroutines each holding a request's buffers while it waits for its admission read,
// and the runtime keeps every goroutine descriptor it ever made: the storm's peak stays in the
// process's memory for good. Bounding the connections in set-up bounds that peak; the server
// works through them no slower, since admission and the handshake are CPU and database work
// that more concurrency does not speed up.
//
// A connection holds its slot from Accept until it is hijacked (a WebSocket upgrade), goes idle
// between requests (keep-alive), or closes, whichever comes first: http.Server reports those
// through its ConnState hook, which must call Listener.ConnState. A handler that streams for
// long (server-sent events) frees its slot earlier with Release; for that the server's
// ConnContext hook must be Listener.ConnContext.
package netlimit

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// Listener is a net.Listener that accepts a connection only while fewer than its limit are in
// set-up. Use it with an http.Server whose ConnState calls the Listener's ConnState.
type Listener struct {
	net.Listener

	slots     chan struct{} // one element per connection in set-up
	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	holding map[net.Conn]struct{} // the connections that hold a slot
}

// New wraps ln so that at most limit accepted connections are in set-up at once.
func New(ln net.Listener, limit int) *Listener {
	return &Listener{
		Listener: ln,
		slots:    make(chan struct{}, max(limit, 1)),
		closed:   make(chan struct{}),
		holding:  make(map[net.Conn]struct{}),
	}
}

// Accept waits for a free slot, then for a connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	l.mu.Lock()
	l.holding[c] = struct{}{}
	l.mu.Unlock()
	return c, nil
}

// Close closes the listener; an Accept waiting for a slot returns net.ErrClosed.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// ConnState is the http.Server hook: a connection's slot is free once the connection is
// hijacked, idle or closed.
func (l *Listener) ConnState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateHijacked, http.StateIdle, http.StateClosed:
	default:
		return
	}
	l.release(c)
}

// release frees c's slot if it holds one.
func (l *Listener) release(c net.Conn) {
	l.mu.Lock()
	_, held := l.holding[c]
	delete(l.holding, c)
	l.mu.Unlock()
	if held {
		<-l.slots
	}
}

type connKey struct{}

type slotRef struct {
	l *Listener
	c net.Conn
}

// ConnContext is the http.Server hook that lets a handler find its connection's slot (Release).
func (l *Listener) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, slotRef{l, c})
}

// Release frees the slot of the connection that carries the request of ctx, if it holds one: a
// handler that keeps its request open for long (a stream of events to a browser) calls it, so
// that a thousand open dashboards do not stop stations from connecting. It does nothing for a
// request that came through no Listener.
func Release(ctx context.Context) {
	if ref, ok := ctx.Value(connKey{}).(slotRef); ok {
		ref.l.release(ref.c)
	}
}

// InSetup reports how many accepted connections hold a slot now.
func (l *Listener) InSetup() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.holding)
}
