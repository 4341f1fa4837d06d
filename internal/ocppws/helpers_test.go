package ocppws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// testHandler is a Handler whose behaviour each test sets, and which records the lifecycle.
type testHandler struct {
	admit  func(stationID, user, pass string, hasAuth bool) error
	handle func(ctx context.Context, stationID string, v ocpp.Version, action string, payload json.RawMessage) (json.RawMessage, error)

	mu     sync.Mutex
	events []string
	admits []string
	notify chan string
}

func newTestHandler() *testHandler { return &testHandler{notify: make(chan string, 100)} }

func (h *testHandler) Admit(_ context.Context, stationID, user, pass string, hasAuth bool) error {
	h.mu.Lock()
	h.admits = append(h.admits, fmt.Sprintf("%s|%s|%s|%v", stationID, user, pass, hasAuth))
	h.mu.Unlock()
	if h.admit != nil {
		return h.admit(stationID, user, pass, hasAuth)
	}
	return nil
}

func (h *testHandler) Connected(_ context.Context, stationID string, v ocpp.Version) {
	h.record("connected " + stationID + " " + string(v))
}

func (h *testHandler) Disconnected(ctx context.Context, stationID string, v ocpp.Version) {
	if ctx.Err() != nil {
		h.record("disconnected with a dead ctx")
	}
	h.record("disconnected " + stationID + " " + string(v))
}

func (h *testHandler) HandleCall(ctx context.Context, stationID string, v ocpp.Version, action string, payload json.RawMessage) (json.RawMessage, error) {
	if h.handle != nil {
		return h.handle(ctx, stationID, v, action, payload)
	}
	return json.RawMessage(`{"echo":` + string(payload) + `,"station":"` + stationID + `","version":"` + string(v) + `","action":"` + action + `"}`), nil
}

func (h *testHandler) record(e string) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
	h.notify <- e
}

func (h *testHandler) Events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

// waitEvent waits for the next lifecycle event and checks it.
func (h *testHandler) waitEvent(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-h.notify:
		if got != want {
			t.Fatalf("event %q, want %q (all: %q)", got, want, h.Events())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no event, want %q (all: %q)", want, h.Events())
	}
}

// noEvent checks that no lifecycle event happens for d.
func (h *testHandler) noEvent(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-h.notify:
		t.Fatalf("unexpected event %q", got)
	case <-time.After(d):
	}
}

type env struct {
	s     *Server
	ts    *httptest.Server
	h     *testHandler
	reg   *prometheus.Registry
	calls sync.WaitGroup // Calls started by callAsync
}

// start runs a Server behind an httptest server on loopback and shuts both down at the end of
// the test, checking that no goroutine is left behind.
func start(t *testing.T, cfg Config, h *testHandler) *env {
	t.Helper()
	checkGoroutines(t)
	reg := prometheus.NewRegistry()
	s := New(cfg, h, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})), reg)
	mux := http.NewServeMux()
	mux.Handle("/ocpp/{stationId}", s)
	ts := httptest.NewServer(mux)
	e := &env{s: s, ts: ts, h: h, reg: reg}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.Close()
		e.calls.Wait() // Shutdown ended every pending Call
	})
	return e
}

func (e *env) url(stationID string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/ocpp/" + stationID
}

// checkGoroutines fails the test if, once every cleanup registered after it has run, more
// goroutines are running than before the test.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines left behind (before %d, now %d):\n%s", n-before, before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// station is a fake charge point: a client connection whose frames are pumped into a channel,
// so that tests can wait for a frame, or for none, without ending the connection.
type station struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan []byte
	done   chan struct{}
	err    error // why the pump stopped; read after done
}

type dialOpts struct {
	protos []string
	header http.Header
	noPong bool // do not answer the server's pings
}

func dialRaw(t *testing.T, url string, o dialOpts) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Subprotocols: o.protos,
		HTTPHeader:   o.header,
	}
	if o.noPong {
		opts.OnPingReceived = func(context.Context, []byte) bool { return false }
	}
	return websocket.Dial(ctx, url, opts)
}

func (e *env) dial(t *testing.T, stationID string, o dialOpts) *station {
	t.Helper()
	if o.protos == nil {
		o.protos = []string{"ocpp1.6"}
	}
	ws, _, err := dialRaw(t, e.url(stationID), o)
	if err != nil {
		t.Fatalf("dial %s: %v", stationID, err)
	}
	return pump(t, ws)
}

func pump(t *testing.T, ws *websocket.Conn) *station {
	st := &station{t: t, ws: ws, frames: make(chan []byte, 100), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				st.err = err
				return
			}
			st.frames <- data
		}
	}()
	t.Cleanup(func() {
		_ = ws.CloseNow()
		<-st.done
	})
	return st
}

func (st *station) send(frame string) {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		st.t.Fatalf("send %s: %v", frame, err)
	}
}

// recv waits for the next frame and decodes its elements.
func (st *station) recv() []json.RawMessage {
	st.t.Helper()
	select {
	case data := <-st.frames:
		var elems []json.RawMessage
		if err := json.Unmarshal(data, &elems); err != nil {
			st.t.Fatalf("server sent invalid JSON %q: %v", data, err)
		}
		return elems
	case <-st.done:
		st.t.Fatalf("connection ended while waiting for a frame: %v", st.err)
	case <-time.After(5 * time.Second):
		st.t.Fatalf("no frame from the server")
	}
	return nil
}

func (st *station) noFrame(d time.Duration) {
	st.t.Helper()
	select {
	case data := <-st.frames:
		st.t.Fatalf("unexpected frame %s", data)
	case <-time.After(d):
	}
}

// closed waits for the server to end the connection and returns the close status (-1 when the
// socket was dropped without a close frame).
func (st *station) closed(within time.Duration) websocket.StatusCode {
	st.t.Helper()
	select {
	case data := <-st.frames:
		st.t.Fatalf("frame %s while waiting for the close", data)
	case <-st.done:
		return websocket.CloseStatus(st.err)
	case <-time.After(within):
		st.t.Fatalf("connection still open after %v", within)
	}
	return 0
}

// call sends a CALL and returns the server's answer.
func (st *station) call(id, action, payload string) []json.RawMessage {
	st.t.Helper()
	st.send(`[2,"` + id + `","` + action + `",` + payload + `]`)
	return st.recv()
}

// str decodes a JSON string element.
func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a string", raw)
	}
	return s
}

// compact canonicalises JSON for comparisons.
func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %s: %v", raw, err)
	}
	return b.String()
}

// callAsync runs Server.Call in a goroutine that the test waits for.
type callResult struct {
	payload json.RawMessage
	err     error
}

func callAsync(e *env, ctx context.Context, stationID, action, payload string) <-chan callResult {
	ch := make(chan callResult, 1)
	e.calls.Add(1)
	go func() {
		defer e.calls.Done()
		p, err := e.s.Call(ctx, stationID, action, json.RawMessage(payload))
		ch <- callResult{p, err}
	}()
	return ch
}

func waitResult(t *testing.T, ch <-chan callResult) callResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Call did not return")
	}
	return callResult{}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func isOffline(err error) bool { return errors.Is(err, domain.ErrOffline) }
