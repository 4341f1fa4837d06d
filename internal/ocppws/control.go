package ocppws

import "log/slog"

// WebSocket frame header bits (RFC 6455 §5.2) for the pings and pongs takeControlFrames takes.
const (
	frameFin       = 0x80
	frameMasked    = 0x80
	opPing         = 0x9
	opPong         = 0xA
	maxControlSize = 125 // a control frame's payload fits the 7-bit length
)

// takeControlFrames handles the pings and pongs waiting at the head of the read buffer, before
// the WebSocket library's read; it waits for input if the buffer is empty. It reports true when
// it took at least one and the buffer is empty again, so that the connection can park.
//
// Why: an idle station is kept alive by pings (its own, OCPP's WebSocketPingInterval, or the
// Server's keep-alive, answered with pongs). The library handles a control frame inside its
// read, which returns only with the next data message: a connection woken by a ping would then
// keep a reader goroutine until the station's next CALL, minutes later. Here a well-formed,
// complete ping or pong (client frames are masked, control frames are final and at most 125
// bytes, no extension is negotiated) is handled exactly as the library would (onPing, onPong)
// and the connection parks again. Anything else, including a malformed control frame, is left
// to the library, which reads or rejects it as before.
//
// Only the reader calls it, at a message boundary (before the first frame or after a complete
// message), where the library holds no state about the frame that follows.
func (c *conn) takeControlFrames() bool {
	for {
		h, err := c.br.Peek(2)
		if err != nil {
			return false // the library's read reports it
		}
		op := h[0] &^ frameFin
		if h[0]&frameFin == 0 || (op != opPing && op != opPong) || h[1]&frameMasked == 0 || int(h[1]&^frameMasked) > maxControlSize {
			return false
		}
		size := 2 + 4 + int(h[1]&^frameMasked)
		f, err := c.br.Peek(size) // waits for the frame's rest, as the library would
		if err != nil {
			return false
		}
		var payload [maxControlSize]byte
		n := copy(payload[:], f[6:])
		for i := range n {
			payload[i] ^= f[2+i%4] // unmask
		}
		_, _ = c.br.Discard(size)
		if op == opPong {
			_ = c.onPong("")
		} else if err := c.onPing(string(payload[:n])); err != nil {
			// The library would end the connection with this error; closing the socket makes
			// its read report it.
			c.logAt(slog.LevelDebug, "pong failed", "err", err)
			_ = c.ws.Close()
			return false
		}
		if c.br.Buffered() == 0 {
			return true
		}
	}
}
