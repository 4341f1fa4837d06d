package ocppws

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// Buffer sizes of an upgraded socket. net/http hands a hijacked connection 4 KiB read and write
// buffers, which an idle station would keep forever. The WebSocket library instead gets a
// 512-byte read buffer per connection (OCPP frames are mostly a few hundred bytes; bigger ones
// are read through it in pieces) and takes a write buffer from a pool for the length of one
// write, so an idle connection holds none.
const (
	readBufferSize  = 512
	writeBufferSize = 4096 // pooled; a bigger frame is still sent as one frame
)

// newUpgrader returns the Server's upgrader. Origin is not checked: stations authenticate with
// Basic auth or client certificates, never with browser cookies, so a cross-origin check
// protects nothing here; it would only refuse the stations and simulators that send an Origin
// header. The subprotocol is chosen by ServeHTTP (negotiate) and passed in the response header.
func newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true },
	}
}

// hijacker wraps the ResponseWriter given to the upgrader: it reaches net/http's Hijacker through
// wrapping ResponseWriters (http.ResponseController), and keeps bytes that the client sent right
// behind its handshake (a station may send its first frame in the same packet). The library
// refuses a connection with such bytes in the hijacked reader, so they are moved in front of the
// socket's own reads instead.
type hijacker struct {
	http.ResponseWriter
}

func (w *hijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	n := brw.Reader.Buffered()
	if n == 0 {
		return c, brw, nil
	}
	b, _ := brw.Reader.Peek(n)
	pc := &prefixConn{Conn: c, early: bytes.NewReader(bytes.Clone(b))}
	return pc, bufio.NewReadWriter(bufio.NewReaderSize(pc, 16), brw.Writer), nil
}

// prefixConn reads early bytes before the socket's own.
type prefixConn struct {
	net.Conn
	early *bytes.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if c.early.Len() > 0 {
		return c.early.Read(p)
	}
	return c.Conn.Read(p)
}
