//go:build linux

package ocppws

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// Tests of parking (conn.park): an idle connection waits in the Server's epoll set without a
// goroutine. They talk raw WebSocket over TCP (wsClient) so that the test process itself holds
// no goroutine per connection and the frames' split into TCP writes is under control.

// wsClient is a minimal WebSocket client: handshake, masked frames out, frames in; no goroutine.
type wsClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialWS(t testing.TB, e *env, stationID string) *wsClient {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	req := "GET /ocpp/" + stationID + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	c := &wsClient{t: t, nc: nc, br: bufio.NewReaderSize(nc, 512)}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake of %s: %v %v", stationID, resp, err)
	}
	return c
}

// frame encodes one final, masked client frame.
func frame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	default:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	return b
}

func (c *wsClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read reads one server frame (never masked).
func (c *wsClient) read() (op byte, payload []byte, err error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint64(ext[:]))
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	return h[0] & 0x0f, payload, err
}

// expect reads the next frame and checks its opcode.
func (c *wsClient) expect(op byte) []byte {
	c.t.Helper()
	got, payload, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if got != op {
		c.t.Fatalf("frame opcode %#x %q, want %#x", got, payload, op)
	}
	return payload
}

// call sends a CALL and checks that the CALLRESULT answers it.
func (c *wsClient) call(id string) {
	c.t.Helper()
	c.write(frame(0x1, []byte(`[2,"`+id+`","Heartbeat",{}]`)))
	c.expectResult(id)
}

func (c *wsClient) expectResult(id string) {
	c.t.Helper()
	var elems []json.RawMessage
	if err := json.Unmarshal(c.expect(0x1), &elems); err != nil || len(elems) < 2 || string(elems[0]) != "3" || string(elems[1]) != `"`+id+`"` {
		c.t.Fatalf("answer to %s: %s %v", id, elems, err)
	}
}

// closed waits until the server has closed the socket; it reports the close code received on
// the way (0: none).
func (c *wsClient) closed() int {
	c.t.Helper()
	code := 0
	for {
		op, payload, err := c.read()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
				return code
			}
			c.t.Fatalf("waiting for the close: %v", err)
		}
		if op == 0x8 && len(payload) >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
		}
	}
}

// parked reports whether the station's connection is parked.
func (e *env) parked(stationID string) bool {
	e.s.mu.RLock()
	c := e.s.conns[stationID]
	e.s.mu.RUnlock()
	return c != nil && c.state.Load() == readerParked
}

// readerGoroutines counts goroutines running a connection reader.
func readerGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "ocppws.(*conn).read(")
}

func waitParked(t *testing.T, e *env, stationID string) {
	t.Helper()
	waitFor(t, stationID+" parked", func() bool { return e.parked(stationID) })
}

func TestParkedConnectionWakesOnFrame(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	c := dialWS(t, e, "CP-1")
	e.h.waitEvent(t, "connected CP-1 1.6")
	waitParked(t, e, "CP-1") // parks before its first frame
	waitFor(t, "no reader goroutine", func() bool { return readerGoroutines() == 0 })
	for i := range 3 {
		c.call(fmt.Sprint("hb", i))
		waitParked(t, e, "CP-1")
	}
	// Two frames in one TCP write: the second waits in the read buffer, so the connection must
	// not park in between (this fails if the library stops reading through hijacker's buffer).
	c.write(append(frame(0x1, []byte(`[2,"a","Heartbeat",{}]`)), frame(0x1, []byte(`[2,"b","Heartbeat",{}]`))...))
	c.expectResult("a")
	c.expectResult("b")
	waitParked(t, e, "CP-1")

	// A CSMS→station call to a parked connection: the answer wakes it.
	res := callAsync(e, context.Background(), "CP-1", "Reset", `{}`)
	var elems []json.RawMessage
	if err := json.Unmarshal(c.expect(0x1), &elems); err != nil || len(elems) < 3 {
		t.Fatalf("call frame %s: %v", elems, err)
	}
	c.write(frame(0x1, []byte(`[3,`+string(elems[1])+`,{"status":"Accepted"}]`)))
	if r := waitResult(t, res); r.err != nil || string(r.payload) != `{"status":"Accepted"}` {
		t.Fatalf("Call: %s %v", r.payload, r.err)
	}
	waitParked(t, e, "CP-1")
}

func TestParkedFrameSplitAcrossWrites(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	c := dialWS(t, e, "CP-1")
	e.h.waitEvent(t, "connected CP-1 1.6")
	f := frame(0x1, []byte(`[2,"split","Heartbeat",{"padding":"`+strings.Repeat("x", 1000)+`"}]`)) // > the 512-byte buffer
	for _, at := range []int{1, 3, 6, 300, len(f) - 1} {
		waitParked(t, e, "CP-1")
		c.write(f[:at])
		time.Sleep(50 * time.Millisecond)
		c.write(f[at:])
		c.expectResult("split")
	}
	// A ping split across two writes.
	waitParked(t, e, "CP-1")
	p := frame(0x9, []byte("split ping"))
	c.write(p[:4])
	time.Sleep(50 * time.Millisecond)
	c.write(p[4:])
	if got := c.expect(0xA); string(got) != "split ping" {
		t.Fatalf("pong %q", got)
	}
	c.call("after")
}

func TestParkedPingPong(t *testing.T) {
	e := start(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 300 * time.Millisecond}, newTestHandler())
	c := dialWS(t, e, "CP-1")
	e.h.waitEvent(t, "connected CP-1 1.6")
	// The station's own keep-alive: its ping is answered and the connection parks again.
	for i := range 3 {
		c.write(frame(0x9, []byte(fmt.Sprint("ping ", i))))
		for {
			op, payload, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			if op == 0x9 { // the server's keep-alive ping, sent meanwhile
				c.write(frame(0xA, payload))
				continue
			}
			if op != 0xA || string(payload) != fmt.Sprint("ping ", i) {
				t.Fatalf("frame %#x %q, want the pong", op, payload)
			}
			break
		}
	}
	// The server's keep-alive: answered pongs keep the connection alive and parked, well past
	// PongTimeout.
	deadline := time.Now().Add(time.Second)
	pings := 0
	for time.Now().Before(deadline) {
		payload := c.expect(0x9)
		pings++
		c.write(frame(0xA, payload))
	}
	if pings < 3 {
		t.Fatalf("%d keep-alive pings in a second", pings)
	}
	waitParked(t, e, "CP-1")
	c.write(frame(0x1, []byte(`[2,"alive","Heartbeat",{}]`)))
	for {
		op, payload, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if op == 0x9 {
			c.write(frame(0xA, payload))
			continue
		}
		if op != 0x1 || !strings.HasPrefix(string(payload), `[3,"alive"`) {
			t.Fatalf("frame %#x %q, want the answer", op, payload)
		}
		break
	}
	e.h.noEvent(t, 10*time.Millisecond)

	// Pongs no longer answered: the parked connection is closed as dead, Disconnected once.
	c.closed()
	e.h.waitEvent(t, "disconnected CP-1 1.6")
	e.h.noEvent(t, 200*time.Millisecond)
}

func TestParkedConnectionEnds(t *testing.T) {
	t.Run("peer closes", func(t *testing.T) {
		e := start(t, Config{}, newTestHandler())
		c := dialWS(t, e, "CP-1")
		e.h.waitEvent(t, "connected CP-1 1.6")
		waitParked(t, e, "CP-1")
		c.write(frame(0x8, []byte{0x03, 0xe8}))
		if code := c.closed(); code != 1000 {
			t.Errorf("close code %d, want 1000", code)
		}
		e.h.waitEvent(t, "disconnected CP-1 1.6")
		e.h.noEvent(t, 100*time.Millisecond)
	})
	t.Run("peer drops", func(t *testing.T) {
		e := start(t, Config{}, newTestHandler())
		c := dialWS(t, e, "CP-1")
		e.h.waitEvent(t, "connected CP-1 1.6")
		waitParked(t, e, "CP-1")
		_ = c.nc.Close()
		e.h.waitEvent(t, "disconnected CP-1 1.6")
		e.h.noEvent(t, 100*time.Millisecond)
	})
	t.Run("Disconnect", func(t *testing.T) {
		e := start(t, Config{}, newTestHandler())
		c := dialWS(t, e, "CP-1")
		e.h.waitEvent(t, "connected CP-1 1.6")
		waitParked(t, e, "CP-1")
		e.s.Disconnect("CP-1")
		code := c.expect(0x8)
		if binary.BigEndian.Uint16(code) != 1000 {
			t.Errorf("close code %d, want 1000", binary.BigEndian.Uint16(code))
		}
		c.write(frame(0x8, code)) // the close handshake's answer wakes the parked reader
		c.closed()
		e.h.waitEvent(t, "disconnected CP-1 1.6")
		e.h.noEvent(t, 100*time.Millisecond)
	})
	t.Run("replaced", func(t *testing.T) {
		e := start(t, Config{}, newTestHandler())
		old := dialWS(t, e, "CP-1")
		e.h.waitEvent(t, "connected CP-1 1.6")
		waitParked(t, e, "CP-1")
		c := dialWS(t, e, "CP-1")
		if code := old.expect(0x8); binary.BigEndian.Uint16(code) != 1008 {
			t.Errorf("close code %d, want 1008", binary.BigEndian.Uint16(code))
		}
		old.write(frame(0x8, []byte{0x03, 0xf0}))
		old.closed()
		e.h.waitEvent(t, "connected CP-1 1.6") // after the old connection's life has ended
		e.h.noEvent(t, 100*time.Millisecond)   // and no Disconnected for it
		c.call("new")
		_ = c.nc.Close()
		e.h.waitEvent(t, "disconnected CP-1 1.6")
		e.h.noEvent(t, 100*time.Millisecond)
	})
	t.Run("Shutdown", func(t *testing.T) {
		e := start(t, Config{}, newTestHandler())
		cs := make([]*wsClient, 3)
		for i := range cs {
			cs[i] = dialWS(t, e, fmt.Sprint("CP-", i))
			e.h.waitEvent(t, fmt.Sprintf("connected CP-%d 1.6", i))
			waitParked(t, e, fmt.Sprint("CP-", i))
		}
		done := make(chan error, 1)
		go func() { done <- e.s.Shutdown(context.Background()) }()
		for _, c := range cs {
			code := c.expect(0x8)
			c.write(frame(0x8, code))
			c.closed()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(3 * time.Second): // well below closeTimeout: woken by the close frames
			t.Fatal("Shutdown did not return")
		}
		for range cs {
			<-e.h.notify
		}
		e.h.noEvent(t, 100*time.Millisecond)
		if gs := serverGoroutines(); len(gs) != 0 {
			t.Errorf("server goroutines after Shutdown:\n%s", strings.Join(gs, "\n\n"))
		}
	})
	t.Run("Shutdown deadline, deaf peer", func(t *testing.T) {
		e := start(t, Config{}, newTestHandler())
		c := dialWS(t, e, "CP-1")
		e.h.waitEvent(t, "connected CP-1 1.6")
		waitParked(t, e, "CP-1")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		// The peer never answers the close frame: the socket is closed without an event in the
		// epoll set; abort must wake the parked connection itself.
		if err := e.s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
		}
		e.h.waitEvent(t, "disconnected CP-1 1.6")
		e.h.noEvent(t, 100*time.Millisecond)
		c.closed()
	})
}

// Many idle connections: the goroutine count does not grow with them, and every one answers
// afterwards.
func TestManyParkedConnections(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	h := newTestHandler()
	h.notify = make(chan string, 2*n+10)
	e := start(t, Config{}, h)
	first := dialWS(t, e, "CP-first") // starts the keep-alive loop and the poller
	waitParked(t, e, "CP-first")
	base := runtime.NumGoroutine()

	cs := make([]*wsClient, n)
	for i := range cs {
		cs[i] = dialWS(t, e, fmt.Sprint("CP-", i))
		cs[i].call("boot")
	}
	waitFor(t, "every connection parked", func() bool {
		for i := range cs {
			if !e.parked(fmt.Sprint("CP-", i)) {
				return false
			}
		}
		return true
	})
	// The net/http and helper goroutines of the connects are gone in a moment; none stays per
	// connection.
	var got int
	deadline := time.Now().Add(5 * time.Second)
	for got = runtime.NumGoroutine(); got > base+20 && time.Now().Before(deadline); got = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if got > base+20 {
		t.Fatalf("%d goroutines with %d idle connections, %d before them", got, n, base)
	}
	t.Logf("%d idle connections: %d goroutines (%d before them)", n, got, base)
	for i, c := range cs {
		c.call(fmt.Sprint("again-", i))
	}
	first.call("first")
	if got := e.s.ConnectionCount(); got != n+1 {
		t.Fatalf("ConnectionCount = %d", got)
	}
}

// The keep-alive spreads its checks over chunks of keepaliveChunk connections; every silent
// connection is still pinged, in the last chunk as in the first.
func TestKeepaliveSpreadReachesEveryConnection(t *testing.T) {
	h := newTestHandler()
	// More connections than the handler's event buffer holds: take their events, until the
	// Server has shut down (cleanups run last-registered first).
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-h.notify:
			case <-stop:
				return
			}
		}
	}()
	e := start(t, Config{PingInterval: 200 * time.Millisecond, PongTimeout: 30 * time.Second}, h)
	clients := make([]*wsClient, 3*keepaliveChunk+5)
	for i := range clients {
		clients[i] = dialWS(t, e, fmt.Sprintf("CP-%d", i))
	}
	for i, c := range clients {
		if op, _, err := c.read(); err != nil || op != 0x9 {
			t.Fatalf("connection %d of %d: frame %#x, %v; want the keep-alive ping", i+1, len(clients), op, err)
		}
	}
}

// The reader pool runs at most its max readers at once; the frames of other connections wait
// for a free reader, and are all answered once the readers are free again.
func TestReaderPoolBounded(t *testing.T) {
	const limit, stations = 3, 10
	release := make(chan struct{})
	var running, most atomic.Int32
	h := newTestHandler()
	h.notify = make(chan string, 2*stations+10)
	h.handle = func(ctx context.Context, stationID string, v ocpp.Version, action string, payload json.RawMessage) (json.RawMessage, error) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		return json.RawMessage(`{}`), nil
	}
	e := start(t, Config{}, h)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)                             // before the Shutdown that start registered, should the test fail
	e.s.readers = newReaderPool(e.s.ctx, limit) // before the first connection
	cs := make([]*wsClient, stations)
	for i := range cs {
		cs[i] = dialWS(t, e, fmt.Sprint("CP-", i))
		waitParked(t, e, fmt.Sprint("CP-", i))
	}
	for i, c := range cs {
		c.write(frame(0x1, []byte(`[2,"hb-`+fmt.Sprint(i)+`","Heartbeat",{}]`)))
	}
	waitFor(t, "the pool's readers busy and the other frames queued", func() bool {
		e.s.readers.mu.Lock()
		defer e.s.readers.mu.Unlock()
		return running.Load() == limit && len(e.s.readers.queue) == stations-limit
	})
	if got := readerGoroutines(); got != limit {
		t.Fatalf("%d reader goroutines, want %d", got, limit)
	}
	free()
	for i, c := range cs {
		c.expectResult(fmt.Sprint("hb-", i))
	}
	if got := most.Load(); got != limit {
		t.Fatalf("%d handlers ran at once, want at most (and here exactly) %d", got, limit)
	}
	// Idle readers end after readerIdle.
	waitFor(t, "no reader left", func() bool {
		e.s.readers.mu.Lock()
		defer e.s.readers.mu.Unlock()
		return e.s.readers.running == 0 && len(e.s.readers.waiting) == 0
	})
}
