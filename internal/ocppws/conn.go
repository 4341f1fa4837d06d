package ocppws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// conn is one station connection. Its reader (conn.read) is the only goroutine it has, and on
// Linux an idle connection has none: between frames the reader parks the connection in the
// Server's poller and ends (conn.park). Everything else is state guarded by mu or atomics.
type conn struct {
	s   *Server
	id  string
	v   ocpp.Version
	ws  *websocket.Conn
	wmu sync.Mutex // one data frame write at a time (the library allows one writer)

	// Parking (see park). br, early and raw are used by the reader only; key never changes.
	br    *bufio.Reader   // the library's read buffer (hijacker)
	early *bytes.Reader   // handshake-packet bytes read before the socket's (prefixConn); nil: none left
	raw   syscall.RawConn // the socket, registered in the poller; nil: never parks
	key   uint64          // the poller's name for the connection (fds are reused, keys are not)
	state atomic.Int32    // readerRunning or readerParked

	lastSeen atomic.Int64 // Server.mono() of the last frame, ping or pong from the station
	// pingSent is the Server.mono() of the keep-alive ping waiting for its pong (0: none),
	// pingDue the time by which the pong (or any other sign of life) must have arrived.
	pingSent atomic.Int64
	pingDue  atomic.Int64

	// done is closed when the connection stops being usable for calls: replaced, being closed,
	// or its reader ended. lifeDone is closed after its final Handler callback.
	done     chan struct{}
	lifeDone chan struct{}

	mu       sync.Mutex
	closed   bool            // markDone ran
	finished bool            // the reader goroutine is past its last use of wg
	busy     bool            // a CSMS→station call holds the line
	waiters  []chan struct{} // calls waiting for the line, oldest first
	pending  *pendingCall    // the call on the line, once sent
}

// pendingCall is the one CSMS→station call a connection may have outstanding.
type pendingCall struct {
	id     string
	action string
	reply  chan reply // buffered: the reader never blocks on it
}

type reply struct {
	payload json.RawMessage
	err     *ocpp.CallError
}

// touch records activity from the station.
func (c *conn) touch() { c.lastSeen.Store(int64(c.s.mono())) }

// onPing answers a ping from the station (run by the reader, inside ReadMessage).
func (c *conn) onPing(data string) error {
	c.touch()
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
	if err == nil || errors.Is(err, websocket.ErrCloseSent) || isTimeout(err) {
		return nil // closing anyway, or a slow peer: the keep-alive decides
	}
	return err
}

// onPong records the answer to a keep-alive ping (run by the reader, inside ReadMessage).
func (c *conn) onPong(string) error {
	c.touch()
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// markDone takes the connection out of service: Call and Connected stop seeing it and calls
// waiting on it fail with ErrOffline.
func (c *conn) markDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	close(c.done)
	c.s.live.Add(-1)
	c.s.m.connections.WithLabelValues(string(c.v)).Dec()
}

// close takes the connection out of service and closes the socket with a close handshake in a
// goroutine of its own (the handshake needs the reader to receive the peer's close frame and
// may take seconds with a dead peer).
func (c *conn) close(code int, reason string) {
	c.markDone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return // the reader has closed the socket already
	}
	// The reader goroutine still holds a count in wg, so this Add cannot race with Wait.
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		c.closeHandshake(code, reason)
	}()
}

// closeHandshake sends a close frame and waits until the reader has seen the peer's answer and
// the connection's life is over, at most closeTimeout; then it closes the socket.
func (c *conn) closeHandshake(code int, reason string) {
	defer c.closeSocket()
	msg := websocket.FormatCloseMessage(code, reason)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeTimeout)); err != nil {
		return
	}
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-c.lifeDone:
	case <-t.C:
	}
}

// abort closes the socket at once, unblocking every reader and writer.
func (c *conn) abort() {
	c.closeSocket()
}

// closeSocket closes the socket without a close handshake. A closed socket leaves the epoll set
// silently, so a parked connection would never learn of it: closeSocket starts its reader, which
// finds the socket closed and ends the connection (Disconnected, wg). Every close of a
// connection's socket other than the reader's own goes through here.
func (c *conn) closeSocket() {
	_ = c.ws.Close()
	c.wake()
}

// logAt writes a record about this connection.
func (c *conn) logAt(level slog.Level, msg string, args ...any) {
	c.s.logStation(level, c.id, msg, args...)
}

// finish ends the connection's life; the caller's wg count is released right after.
func (c *conn) finish() {
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
	close(c.lifeDone)
}

// Reader states (conn.state).
const (
	readerRunning int32 = iota // a reader goroutine owns the connection's read side
	readerParked               // no reader: the socket is armed in the poller (or being armed)
)

// read reads and handles the next frame, then parks the connection or continues on another
// goroutine (next), until the connection fails or is closed. CALLs are thus handled one at a
// time and in order, by the connection's single reader (a station sends one CALL at a time
// anyway).
//
// Why a fresh goroutine per frame: handling a frame (JSON, the Handler, the store) grows the
// reader's stack to 8 KiB or more, and the runtime only halves a stack while less than a quarter
// of it is in use; parked inside the WebSocket library's read the reader uses a little over
// 2 KiB, so a grown stack never comes back below 8 KiB. A new goroutine parks on 4 KiB. Measured
// (BenchmarkIdleConnections): 9.3 KiB instead of 13.9 KiB per idle connection, for ~5% less
// throughput (BenchmarkInboundCallParallel). Where the connection can park (Linux, plain
// sockets) an idle one keeps no goroutine at all, and its frames are read by the reader pool
// (readerPool), whose goroutines keep their grown stacks from one frame to the next.
//
// There is exactly one reader per connection at any time: the one that started it, the one
// next starts, or the one wake starts (the state's compare-and-swap lets only one goroutine
// take a parked connection). The wg count taken in ServeHTTP passes from one reader to the
// next, and is held by the connection itself while it is parked.
func (c *conn) read() {
	for c.raw != nil && c.takeControlFrames() {
		// Only pings or pongs were waiting (the station's keep-alive or the answer to ours).
		if c.park() {
			return
		}
	}
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.s.end(c, err)
		return
	}
	c.touch()
	if o := c.s.cfg.Frames; o != nil {
		o.Frame(c.id, false, data)
	}
	c.handle(data)
	c.next()
}

// next continues reading after a complete message (or before the first): it parks the
// connection, or starts the next reader. A connection that can park but has bytes waiting is
// read by the reader pool, whose goroutine finds the frame there and does not stay blocked in
// a read. One that can never park (TLS, not Linux) gets a fresh goroutine, which will wait in
// the library's read on a small stack (see read).
func (c *conn) next() {
	switch {
	case c.park():
	case c.raw == nil:
		go c.read()
	default:
		c.s.readers.start(c)
	}
}

// park hands an idle connection to the Server's poller, so that it waits for its next frame
// without a goroutine: when the read buffer holds no unread byte (the next frame has not begun
// to arrive), it arms the socket in the epoll set (one-shot) and reports true; the caller's
// goroutine then ends, and the poller starts a new reader (wake) once the socket is readable or
// hung up. It reports false when the connection cannot park (not Linux, TLS, bytes buffered, or
// the socket just closed): the caller keeps reading.
//
// A frame that arrives in pieces is read to its end by the reader its first piece woke (inside
// the WebSocket library, or takeControlFrames for a ping or pong). Without takeControlFrames a
// ping or pong would leave that reader in the library's read until the next data message.
func (c *conn) park() bool {
	if c.raw == nil || c.br.Buffered() > 0 {
		return false
	}
	if c.early != nil {
		if c.early.Len() > 0 {
			return false
		}
		c.early = nil
	}
	// Parked before armed: an event that comes the instant the socket is armed must find the
	// connection parked, or it would be lost.
	c.state.Store(readerParked)
	if err := c.s.poll.arm(c); err != nil {
		// The socket was closed (or epoll failed): read on, the read reports the closed
		// socket. Unless a closer's wake took the connection in the meantime: its reader does.
		return !c.state.CompareAndSwap(readerParked, readerRunning)
	}
	return true
}

// wake starts a reader for a parked connection (the poller saw its socket readable, or the
// socket was closed); it does nothing for a connection that has a reader.
func (c *conn) wake() {
	if c.state.CompareAndSwap(readerParked, readerRunning) {
		c.s.readers.start(c)
	}
}

func (c *conn) handle(data []byte) {
	f, perr := ocpp.ParseFrame(data)
	if perr != nil {
		c.logAt(slog.LevelWarn, "invalid frame", "code", string(perr.Code), "problem", perr.Description,
			"type", int(f.Type), "id", f.ID, "size", len(data))
		c.s.m.messageIn(c.v, "", msgInvalid)
		c.sendError(f.ID, "", perr)
		return
	}
	switch f.Type {
	case ocpp.TypeCall:
		c.handleCall(f)
	case ocpp.TypeCallResult, ocpp.TypeCallError:
		c.handleReply(f)
	}
}

func (c *conn) handleCall(f ocpp.Frame) {
	ctx, cancel := context.WithTimeout(c.s.ctx, c.s.cfg.CallTimeout)
	payload, err := c.invoke(ctx, f.Action, f.Payload)
	cancel()
	if err == nil {
		c.s.m.messageIn(c.v, f.Action, ocpp.TypeCall.String())
		c.write(ocpp.EncodeCallResult(f.ID, payload))
		c.s.m.messageOut(c.v, f.Action, ocpp.TypeCallResult.String())
		return
	}
	var ce *ocpp.CallError
	if !errors.As(err, &ce) || ce == nil {
		c.logAt(slog.LevelError, "handling call failed", "action", f.Action, "id", f.ID, "err", err)
		ce = &ocpp.CallError{Code: ocpp.InternalError, Description: "internal error"}
	}
	action := f.Action
	if ce.Code == ocpp.NotImplemented {
		action = "" // unknown to the CSMS: keep station-chosen names out of metric labels
	}
	c.s.m.messageIn(c.v, action, ocpp.TypeCall.String())
	c.sendError(f.ID, action, ce)
}

// invoke calls the handler; a panic in it is answered like any other internal error instead of
// taking every connection of the process down with it.
func (c *conn) invoke(ctx context.Context, action string, payload json.RawMessage) (_ json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v\n%s", p, debug.Stack())
		}
	}()
	return c.s.h.HandleCall(ctx, c.id, c.v, action, payload)
}

func (c *conn) sendError(id, action string, ce *ocpp.CallError) {
	c.write(ocpp.EncodeCallError(c.v, id, ce))
	c.s.m.messageOut(c.v, action, ocpp.TypeCallError.String())
	c.s.m.callError(dirSent, ce.Code)
}

// handleReply hands a CALLRESULT or CALLERROR to the pending call it answers.
func (c *conn) handleReply(f ocpp.Frame) {
	c.mu.Lock()
	p := c.pending
	if p != nil && p.id == f.ID {
		c.pending = nil
	} else {
		p = nil
	}
	c.mu.Unlock()

	if f.Type == ocpp.TypeCallError {
		c.s.m.callError(dirReceived, f.ErrorCode)
	}
	if p == nil {
		c.logAt(slog.LevelWarn, "answer matches no pending call", "type", f.Type.String(), "id", f.ID)
		c.s.m.messageIn(c.v, "", f.Type.String())
		return
	}
	c.s.m.messageIn(c.v, p.action, f.Type.String())
	var r reply
	if f.Type == ocpp.TypeCallError {
		r.err = &ocpp.CallError{Code: f.ErrorCode, Description: f.ErrorDescription, Details: f.ErrorDetails}
	} else {
		r.payload = f.Payload
	}
	p.reply <- r
}

// write sends one frame. A write that takes longer than writeTimeout fails. A failed write
// closes the socket (the library cannot write on it any more), which ends the reader; the caller
// needs no further action.
func (c *conn) write(frame []byte) error {
	c.wmu.Lock()
	if o := c.s.cfg.Frames; o != nil {
		o.Frame(c.id, true, frame) // under the write lock: the log's order is the wire's
	}
	err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err == nil {
		err = c.ws.WriteMessage(websocket.TextMessage, frame)
	}
	c.wmu.Unlock()
	if err != nil {
		c.logAt(slog.LevelDebug, "write failed", "err", err)
		c.closeSocket()
	}
	return err
}

// call sends one CSMS→station CALL and waits for its answer (see Server.Call).
func (c *conn) call(ctx context.Context, action string, payload json.RawMessage) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.ctxErr(ctx, action)
	}
	if err := c.acquire(ctx); err != nil {
		if errors.Is(err, domain.ErrOffline) {
			return nil, c.failure(action, domain.ErrOffline, nil)
		}
		return nil, c.ctxErr(ctx, action)
	}
	defer c.release()

	p := &pendingCall{id: ocpp.NewMessageID(), action: action, reply: make(chan reply, 1)}
	c.mu.Lock()
	c.pending = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending == p {
			c.pending = nil // a late answer is now ignored
		}
		c.mu.Unlock()
	}()

	start := c.s.cfg.Now()
	if err := c.write(ocpp.EncodeCall(p.id, action, payload)); err != nil {
		return nil, c.failure(action, domain.ErrOffline, err)
	}
	c.s.m.messageOut(c.v, action, ocpp.TypeCall.String())
	var r reply
	got := false
	select {
	case r = <-p.reply:
		got = true
	case <-ctx.Done():
	case <-c.done:
	}
	if !got {
		select {
		case r = <-p.reply: // an answer that raced the end of the wait still counts
		default:
			if ctx.Err() != nil {
				c.logAt(slog.LevelInfo, "call not answered in time", "action", action, "id", p.id)
				return nil, c.ctxErr(ctx, action)
			}
			return nil, c.failure(action, domain.ErrOffline, nil)
		}
	}
	c.s.m.callDuration.WithLabelValues(string(c.v), action).Observe(c.s.cfg.Now().Sub(start).Seconds())
	if r.err != nil {
		return nil, r.err
	}
	return r.payload, nil
}

// acquire waits for the line: first come, first served. It returns ctx.Err() or ErrOffline when
// the wait ends otherwise.
func (c *conn) acquire(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return domain.ErrOffline
	}
	if !c.busy {
		c.busy = true
		c.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	c.waiters = append(c.waiters, turn)
	c.mu.Unlock()

	var err error
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-c.done:
		err = domain.ErrOffline
	}
	c.mu.Lock()
	for i, w := range c.waiters {
		if w == turn {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.mu.Unlock()
			return err
		}
	}
	c.mu.Unlock()
	// release handed us the line just as we gave up: pass it on.
	c.release()
	return err
}

// release gives the line to the oldest waiter.
func (c *conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		c.busy = false
		c.waiters = nil // an idle connection keeps no queue memory
		return
	}
	next := c.waiters[0]
	c.waiters[0] = nil
	c.waiters = c.waiters[1:]
	close(next)
}

// ctxErr is the error of a call whose ctx ended: a passed deadline is a timeout, anything else
// (a cancellation by the caller) is ctx.Err() itself.
func (c *conn) ctxErr(ctx context.Context, action string) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return c.failure(action, domain.ErrTimeout, err)
	}
	return err
}

func (c *conn) failure(action string, kind, cause error) error {
	return &callFailure{station: c.id, action: action, kind: kind, cause: cause}
}

// callFailure is a Call that got no answer: kind is domain.ErrOffline or domain.ErrTimeout.
type callFailure struct {
	station, action string
	kind, cause     error
}

func (e *callFailure) Error() string {
	msg := "ocpp call " + e.action + " to station " + e.station + ": " + e.kind.Error()
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *callFailure) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// closeReason describes why a reader ended, for the log.
func closeReason(err error) string {
	switch {
	case err == nil:
		return ""
	case websocket.IsCloseError(err, websocket.CloseAbnormalClosure), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return "connection closed"
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("close frame %d", ce.Code)
	}
	return err.Error()
}
