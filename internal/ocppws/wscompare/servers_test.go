package wscompare

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocppws"
)

// answer is the server's work per frame, the same for every library: parse the OCPP-J frame and
// answer its CALL with a CALLRESULT.
var answerPayload = json.RawMessage(`{"status":"Accepted","currentTime":"2026-01-01T00:00:00Z","interval":300}`)

func answer(data []byte) []byte {
	f, perr := ocpp.ParseFrame(data)
	if perr != nil || f.Type != ocpp.TypeCall {
		return ocpp.EncodeCallError(ocpp.V16, f.ID, &ocpp.CallError{Code: ocpp.FormatViolation, Description: "bad frame"})
	}
	return ocpp.EncodeCallResult(f.ID, answerPayload)
}

// variant is one library in one configuration. newHandler returns the /ocpp/{id} handler and a
// function that closes every connection it holds.
type variant struct {
	name       string
	newHandler func() (http.Handler, func())
}

var variants = []variant{
	{"coder-default", func() (http.Handler, func()) { return coderHandler(false) }},
	{"coder-512B", func() (http.Handler, func()) { return coderHandler(true) }},
	{"gorilla-default", func() (http.Handler, func()) { return gorillaHandler(false) }},
	{"gorilla-512B", func() (http.Handler, func()) { return gorillaHandler(true) }},
	{"gws-default", func() (http.Handler, func()) { return gwsHandler(false) }},
	{"gws-512B", func() (http.Handler, func()) { return gwsHandler(true) }},
	{"ocppws", ocppwsHandler},
}

// tracker remembers open connections so that a variant can close them all.
type tracker struct {
	mu     sync.Mutex
	closer map[any]func()
}

func (t *tracker) add(k any, f func()) {
	t.mu.Lock()
	if t.closer == nil {
		t.closer = make(map[any]func())
	}
	t.closer[k] = f
	t.mu.Unlock()
}

func (t *tracker) remove(k any) {
	t.mu.Lock()
	delete(t.closer, k)
	t.mu.Unlock()
}

func (t *tracker) closeAll() {
	t.mu.Lock()
	fs := make([]func(), 0, len(t.closer))
	for _, f := range t.closer {
		fs = append(fs, f)
	}
	t.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// coderHandler: one goroutine per connection reading in a loop. small gives the hijacked socket
// 512-byte buffers instead of net/http's 4 KiB ones (what ocppws does).
func coderHandler(small bool) (http.Handler, func()) {
	t := &tracker{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if small {
			w = &smallBuffers{ResponseWriter: w}
		}
		ws, err := coder.Accept(w, r, &coder.AcceptOptions{Subprotocols: []string{"ocpp1.6"}, InsecureSkipVerify: true})
		if err != nil {
			return
		}
		t.add(ws, func() { _ = ws.CloseNow() })
		go func() {
			defer t.remove(ws)
			defer ws.CloseNow()
			ctx := context.Background()
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					return
				}
				if err := ws.Write(ctx, coder.MessageText, answer(data)); err != nil {
					return
				}
			}
		}()
	})
	return h, t.closeAll
}

// smallBuffers hands coder/websocket a hijacked connection with 512-byte buffers.
type smallBuffers struct{ http.ResponseWriter }

func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Bytes the client sent right behind its handshake must be in the new reader's buffer,
	// where Accept looks for them.
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		early = bytes.Clone(b)
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(early), c), max(512, len(early)))
	if _, err := br.Peek(len(early)); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return c, bufio.NewReadWriter(br, bufio.NewWriterSize(c, 512)), nil
}

// gorillaHandler: the usual ReadMessage/WriteMessage loop. small asks for a 512-byte read buffer
// and a shared pool of write buffers (an idle connection then holds none).
func gorillaHandler(small bool) (http.Handler, func()) {
	t := &tracker{}
	u := &gorilla.Upgrader{Subprotocols: []string{"ocpp1.6"}, CheckOrigin: func(*http.Request) bool { return true }}
	if small {
		u.ReadBufferSize = 512
		u.WriteBufferPool = &sync.Pool{}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		t.add(ws, func() { _ = ws.Close() })
		go func() {
			defer t.remove(ws)
			defer ws.Close()
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if err := ws.WriteMessage(gorilla.TextMessage, answer(data)); err != nil {
					return
				}
			}
		}()
	})
	return h, t.closeAll
}

// gwsHandler: gws's event handler on its ReadLoop goroutine. small sets a 512-byte read buffer
// (default 4 KiB).
func gwsHandler(small bool) (http.Handler, func()) {
	t := &tracker{}
	opt := &gws.ServerOption{SubProtocols: []string{"ocpp1.6"}, Logger: discardGWS{}}
	if small {
		opt.ReadBufferSize = 512
	}
	ev := &gwsEvents{t: t}
	u := gws.NewUpgrader(ev, opt)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		t.add(socket, func() { _ = socket.NetConn().Close() })
		go socket.ReadLoop()
	})
	return h, t.closeAll
}

type gwsEvents struct {
	gws.BuiltinEventHandler
	t *tracker
}

func (e *gwsEvents) OnClose(socket *gws.Conn, _ error) { e.t.remove(socket) }

func (e *gwsEvents) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (e *gwsEvents) OnMessage(socket *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = socket.WriteMessage(gws.OpcodeText, answer(m.Bytes()))
}

type discardGWS struct{}

func (discardGWS) Error(...any) {}

// ocppwsHandler is the shipped endpoint with a handler that answers like the others.
func ocppwsHandler() (http.Handler, func()) {
	s := ocppws.New(ocppws.Config{}, echoHandler{}, slog.New(slog.DiscardHandler), nil)
	return s, func() { _ = s.Shutdown(context.Background()) }
}

type echoHandler struct{}

func (echoHandler) Admit(context.Context, string, string, string, bool) error { return nil }
func (echoHandler) Connected(context.Context, string, ocpp.Version)           {}
func (echoHandler) Disconnected(context.Context, string, ocpp.Version)        {}
func (echoHandler) HandleCall(context.Context, string, ocpp.Version, string, json.RawMessage) (json.RawMessage, error) {
	return answerPayload, nil
}
