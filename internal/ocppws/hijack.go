package ocppws

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of an upgraded socket. net/http hands a hijacked connection 4 KiB read and write
// buffers, which an idle station keeps forever; OCPP frames are mostly a few hundred bytes, and
// larger ones are read and written straight through (bufio bypasses its buffer for big reads
// and writes), so 1 KiB each saves 6 KiB per connection for an extra system call on big frames.
const (
	readBufferSize  = 512
	writeBufferSize = 512
)

// smallBuffers wraps the ResponseWriter given to websocket.Accept so that the hijacked
// connection gets smaller buffers. It remembers the socket for a forced close.
type smallBuffers struct {
	http.ResponseWriter
	conn net.Conn
}

func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // empty in practice: the 101 is flushed by Hijack
		_ = c.Close()
		return nil, nil, err
	}
	// Bytes the client sent right behind its handshake sit in net/http's reader: move them
	// into the new reader's buffer, where Accept looks for them.
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		early = bytes.Clone(b)
	}
	var src io.Reader = c
	if len(early) > 0 {
		src = io.MultiReader(bytes.NewReader(early), c)
	}
	br := bufio.NewReaderSize(src, max(readBufferSize, len(early)))
	if len(early) > 0 {
		if _, err := br.Peek(len(early)); err != nil {
			_ = c.Close()
			return nil, nil, err
		}
	}
	w.conn = c
	return c, bufio.NewReadWriter(br, bufio.NewWriterSize(c, writeBufferSize)), nil
}
