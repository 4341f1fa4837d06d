package ocppws

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"sync"
	"syscall"

	"github.com/gorilla/websocket"
)

// Buffer sizes of an upgraded socket. net/http hands a hijacked connection 4 KiB read and write
// buffers, which an idle station would keep forever. The WebSocket library instead gets a
// 512-byte read buffer per connection (OCPP frames are mostly a few hundred bytes; bigger ones
// are read through it in pieces) and takes a write buffer from a pool for the length of one
// write, so an idle connection holds none.
//
// The read buffer is made by hijacker, not by the library, so that the connection knows whether
// it holds unread bytes (conn.park): gorilla/websocket v1.5.3's Upgrader, with ReadBufferSize 0,
// reads through the hijacked bufio.Reader when that is larger than 256 bytes.
// TestPipelinedFrames fails should the library stop doing so.
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
		ReadBufferSize:  0, // reuse hijacker's reader (readBufferSize)
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true },
	}
}

// hijacker wraps the ResponseWriter given to the upgrader: it reaches net/http's Hijacker through
// wrapping ResponseWriters (http.ResponseController), gives the library a read buffer of
// readBufferSize that the connection keeps a pointer to (br), and keeps bytes that the client
// sent right behind its handshake (a station may send its first frame in the same packet). The
// library refuses a connection with such bytes in the hijacked reader, so they are moved in
// front of the socket's own reads instead (early).
type hijacker struct {
	http.ResponseWriter
	br    *bufio.Reader // the connection's read buffer, once hijacked
	early *bytes.Reader // bytes read before the upgrade and not yet consumed; nil: none
	raw   syscall.RawConn
}

func (w *hijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.raw = rawConn(c)
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		w.early = bytes.NewReader(bytes.Clone(b))
		c = &prefixConn{Conn: c, early: w.early}
	}
	w.br = bufio.NewReaderSize(c, readBufferSize)
	return c, bufio.NewReadWriter(w.br, brw.Writer), nil
}

// rawConn is the descriptor of a plain socket, for the poller; nil for anything that may hold
// bytes of its own between the socket and the read buffer (TLS).
func rawConn(c net.Conn) syscall.RawConn {
	switch c := c.(type) {
	case *net.TCPConn:
		raw, _ := c.SyscallConn()
		return raw
	case *net.UnixConn:
		raw, _ := c.SyscallConn()
		return raw
	}
	return nil
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
