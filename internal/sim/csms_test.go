package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// fakeCSMS is a small CSMS for tests: it accepts stations over real WebSockets, answers their
// calls with valid canned payloads, records every frame, checks each one against the version's
// schema, and can call stations, drop them and keep them offline.
type fakeCSMS struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	conns      map[string]*fakeConn
	frames     []recFrame
	problems   []string
	refused    map[string]bool
	auth       map[string]string
	nextTx     int
	bootStatus []string // answers to successive boots; the last repeats (default Accepted)
	interval   int
	tokens     map[string]string // idTag → authorization status (default Accepted)
	loseReply  map[string]int    // action → replies still to lose (the connection drops instead)
	connSeq    int
}

type fakeConn struct {
	id      string
	version ocpp.Version
	seq     int
	conn    *websocket.Conn
	wmu     sync.Mutex
	replies map[string]chan ocpp.Frame
	actions map[string]string
}

// recFrame is a frame as the CSMS saw it.
type recFrame struct {
	station string
	conn    int
	in      bool // sent by the station
	f       ocpp.Frame
	action  string // for CALLRESULT/CALLERROR: the action they answer
	answer  json.RawMessage
}

func newFakeCSMS(t testing.TB) *fakeCSMS {
	f := &fakeCSMS{t: t, conns: map[string]*fakeConn{}, refused: map[string]bool{}, auth: map[string]string{},
		nextTx: 100, interval: 300, tokens: map[string]string{}, loseReply: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.problems {
			t.Error(p)
		}
	})
	return f
}

func (f *fakeCSMS) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ocpp" }

func catalogOf(v ocpp.Version) *schema.Catalog {
	if v == ocpp.V16 {
		return v16.Catalog()
	}
	return v201.Catalog()
}

func (f *fakeCSMS) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeCSMS) serve(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/ocpp/")
	f.mu.Lock()
	refused := f.refused[id]
	f.auth[id] = r.Header.Get("Authorization")
	f.mu.Unlock()
	if refused {
		http.Error(w, "offline", http.StatusServiceUnavailable)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"ocpp1.6", "ocpp2.0.1"}})
	if err != nil {
		return
	}
	fc := &fakeConn{id: id, conn: c, replies: map[string]chan ocpp.Frame{}, actions: map[string]string{}}
	switch c.Subprotocol() {
	case "ocpp1.6":
		fc.version = ocpp.V16
	case "ocpp2.0.1":
		fc.version = ocpp.V201
	default:
		c.Close(websocket.StatusProtocolError, "no subprotocol")
		return
	}
	f.mu.Lock()
	f.connSeq++
	fc.seq = f.connSeq
	if old := f.conns[id]; old != nil {
		old.conn.CloseNow()
	}
	f.conns[id] = fc
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if f.conns[id] == fc {
			delete(f.conns, id)
		}
		f.mu.Unlock()
		c.CloseNow()
	}()
	c.SetReadLimit(1 << 20)
	for {
		_, data, err := c.Read(context.Background())
		if err != nil {
			return
		}
		if !f.handle(fc, data) {
			return
		}
	}
}

// handle records and answers one frame; false drops the connection.
func (f *fakeCSMS) handle(fc *fakeConn, data []byte) bool {
	fr, perr := ocpp.ParseFrame(data)
	if perr != nil {
		f.problem("%s sent an unreadable frame %s: %v", fc.id, data, perr)
		return true
	}
	cat := catalogOf(fc.version)
	rec := recFrame{station: fc.id, conn: fc.seq, in: true, f: fr}
	switch fr.Type {
	case ocpp.TypeCall:
		rec.action = fr.Action
		act, ok := cat.Lookup(fr.Action)
		if !ok || !act.Direction.Has(schema.FromStation) {
			f.problem("%s sent %s, not a station action in %s", fc.id, fr.Action, fc.version)
		} else if err := act.Request.Validate(fr.Payload); err != nil {
			f.problem("%s sent an invalid %s: %v\n%s", fc.id, fr.Action, err, fr.Payload)
		}
	default:
		fc.wmu.Lock()
		rec.action = fc.actions[fr.ID]
		ch := fc.replies[fr.ID]
		delete(fc.replies, fr.ID)
		fc.wmu.Unlock()
		if fr.Type == ocpp.TypeCallResult {
			if act, ok := cat.Lookup(rec.action); ok {
				if err := act.Response.Validate(fr.Payload); err != nil {
					f.problem("%s answered %s invalidly: %v\n%s", fc.id, rec.action, err, fr.Payload)
				}
			}
		}
		if ch != nil {
			ch <- fr
		}
	}
	var raw json.RawMessage
	if fr.Type == ocpp.TypeCall {
		var err error
		if raw, err = json.Marshal(f.answer(fc, fr)); err != nil {
			f.problem("fake CSMS: %v", err)
			return true
		}
		rec.answer = raw
	}
	f.mu.Lock()
	f.frames = append(f.frames, rec)
	lose := fr.Type == ocpp.TypeCall && f.loseReply[fr.Action] > 0
	if lose {
		f.loseReply[fr.Action]--
	}
	f.mu.Unlock()
	if fr.Type != ocpp.TypeCall {
		return true
	}
	if lose {
		return false // the answer is lost with the connection
	}
	if act, ok := cat.Lookup(fr.Action); ok {
		if err := act.Response.Validate(raw); err != nil {
			f.problem("fake CSMS answer to %s invalid: %v", fr.Action, err)
		}
	}
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return fc.conn.Write(ctx, websocket.MessageText, ocpp.EncodeCallResult(fr.ID, raw)) == nil
}

func (f *fakeCSMS) tokenStatus(tok string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.tokens[tok]; ok {
		return s
	}
	return "Accepted"
}

func (f *fakeCSMS) nextBootStatus() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bootStatus) == 0 {
		return "Accepted"
	}
	s := f.bootStatus[0]
	if len(f.bootStatus) > 1 {
		f.bootStatus = f.bootStatus[1:]
	}
	return s
}

func (f *fakeCSMS) answer(fc *fakeConn, fr ocpp.Frame) any {
	now := time.Now().UTC()
	f.mu.Lock()
	interval := f.interval
	f.mu.Unlock()
	if fc.version == ocpp.V16 {
		switch fr.Action {
		case "BootNotification":
			return v16.BootNotificationResponse{Status: v16.BootNotificationResponseStatus(f.nextBootStatus()), CurrentTime: now, Interval: interval}
		case "Heartbeat":
			return v16.HeartbeatResponse{CurrentTime: now}
		case "Authorize":
			var req v16.AuthorizeRequest
			_ = json.Unmarshal(fr.Payload, &req)
			return v16.AuthorizeResponse{IdTagInfo: v16.IdTagInfo{Status: v16.IdTagInfoStatus(f.tokenStatus(req.IdTag))}}
		case "StartTransaction":
			var req v16.StartTransactionRequest
			_ = json.Unmarshal(fr.Payload, &req)
			f.mu.Lock()
			f.nextTx++
			id := f.nextTx
			f.mu.Unlock()
			return v16.StartTransactionResponse{TransactionId: id, IdTagInfo: v16.IdTagInfo{Status: v16.IdTagInfoStatus(f.tokenStatus(req.IdTag))}}
		case "StopTransaction":
			return v16.StopTransactionResponse{}
		}
		return struct{}{}
	}
	switch fr.Action {
	case "BootNotification":
		return v201.BootNotificationResponse{Status: v201.RegistrationStatusEnumType(f.nextBootStatus()), CurrentTime: now, Interval: interval}
	case "Heartbeat":
		return v201.HeartbeatResponse{CurrentTime: now}
	case "Authorize":
		var req v201.AuthorizeRequest
		_ = json.Unmarshal(fr.Payload, &req)
		return v201.AuthorizeResponse{IdTokenInfo: v201.IdTokenInfoType{Status: v201.AuthorizationStatusEnumType(f.tokenStatus(req.IdToken.IdToken))}}
	case "TransactionEvent":
		var req v201.TransactionEventRequest
		_ = json.Unmarshal(fr.Payload, &req)
		if req.IdToken != nil {
			return v201.TransactionEventResponse{IdTokenInfo: &v201.IdTokenInfoType{Status: v201.AuthorizationStatusEnumType(f.tokenStatus(req.IdToken.IdToken))}}
		}
		return v201.TransactionEventResponse{}
	}
	return struct{}{}
}

// call sends a CSMS-initiated CALL to a connected station and returns its answer. A payload
// given as json.RawMessage is sent as it is (to provoke errors); others must be valid.
func (f *fakeCSMS) call(t testing.TB, station, action string, payload any) ocpp.Frame {
	t.Helper()
	var fc *fakeConn
	waitFor(t, 5*time.Second, "station "+station+" connected", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		fc = f.conns[station]
		return fc != nil
	})
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, asIs := payload.(json.RawMessage); !asIs {
		if act, ok := catalogOf(fc.version).Lookup(action); ok {
			if err := act.Request.Validate(raw); err != nil {
				t.Fatalf("test bug: %s payload invalid: %v", action, err)
			}
		}
	}
	id := ocpp.NewMessageID()
	ch := make(chan ocpp.Frame, 1)
	fc.wmu.Lock()
	fc.replies[id] = ch
	fc.actions[id] = action
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = fc.conn.Write(ctx, websocket.MessageText, ocpp.EncodeCall(id, action, raw))
	cancel()
	fc.wmu.Unlock()
	if err != nil {
		t.Fatalf("call %s: %v", action, err)
	}
	f.mu.Lock()
	f.frames = append(f.frames, recFrame{station: station, conn: fc.seq, f: ocpp.Frame{Type: ocpp.TypeCall, ID: id, Action: action, Payload: raw}, action: action})
	f.mu.Unlock()
	select {
	case fr := <-ch:
		return fr
	case <-time.After(5 * time.Second):
		t.Fatalf("no answer to %s from %s", action, station)
	}
	return ocpp.Frame{}
}

// result calls and decodes a CALLRESULT into T, failing on a CALLERROR.
func result[T any](t testing.TB, f *fakeCSMS, station, action string, payload any) T {
	t.Helper()
	fr := f.call(t, station, action, payload)
	var v T
	if fr.Type != ocpp.TypeCallResult {
		t.Fatalf("%s: got %s %s %s", action, fr.Type, fr.ErrorCode, fr.ErrorDescription)
	}
	if err := json.Unmarshal(fr.Payload, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// drop closes a station's connection from the CSMS side.
func (f *fakeCSMS) drop(station string) {
	f.mu.Lock()
	fc := f.conns[station]
	f.mu.Unlock()
	if fc != nil {
		fc.conn.CloseNow()
	}
}

func (f *fakeCSMS) refuse(station string, on bool) {
	f.mu.Lock()
	f.refused[station] = on
	f.mu.Unlock()
}

// calls returns the CALLs a station sent, in order, optionally of some actions only.
func (f *fakeCSMS) calls(station string, actions ...string) []recFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recFrame
	for _, r := range f.frames {
		if r.station != station || !r.in || r.f.Type != ocpp.TypeCall {
			continue
		}
		if len(actions) == 0 || contains(actions, r.f.Action) {
			out = append(out, r)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// payload decodes a recorded frame's payload into a generic map.
func payloadOf(t testing.TB, r recFrame) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.f.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return -1
}

// startStation runs a station against the fake until the test ends.
func startStation(t *testing.T, cfg StationConfig) *Station {
	t.Helper()
	if cfg.TimeScale == 0 {
		cfg.TimeScale = 600
	}
	if cfg.Behavior.ArrivalsPerDay == 0 {
		cfg.Behavior.ArrivalsPerDay = -1
	}
	if cfg.Behavior.MeanStay == 0 {
		cfg.Behavior.MeanStay = 100 * time.Hour
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 20*time.Millisecond, 100*time.Millisecond
	}
	s, err := NewStation(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("station did not stop")
		}
		if st := s.Stats(); st.Errors != 0 {
			t.Errorf("station %s counted %d errors", s.ID(), st.Errors)
		}
	})
	return s
}

// accepted waits until a station's boot was accepted.
func accepted(t *testing.T, s *Station) {
	t.Helper()
	waitFor(t, 5*time.Second, s.ID()+" accepted", func() bool { return s.Stats().Connected == 1 })
}
