package ocppws

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

func TestSubprotocolNegotiation(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	for i, tt := range []struct {
		offer []string
		want  ocpp.Version
	}{
		{[]string{"ocpp1.6"}, ocpp.V16},
		{[]string{"ocpp2.0.1"}, ocpp.V201},
		{[]string{"ocpp1.6", "ocpp2.0.1"}, ocpp.V201},
		{[]string{"ocpp2.0.1", "ocpp1.6"}, ocpp.V201},
		{[]string{"ocpp1.5", "ocpp1.6"}, ocpp.V16},
	} {
		id := fmt.Sprintf("CP-%d", i)
		ws, _, err := dialRaw(t, e.url(id), dialOpts{protos: tt.offer})
		if err != nil {
			t.Fatalf("%v: %v", tt.offer, err)
		}
		st := pump(t, ws)
		if got := ws.Subprotocol(); got != tt.want.Subprotocol() {
			t.Errorf("offered %v: subprotocol %q, want %q", tt.offer, got, tt.want.Subprotocol())
		}
		e.h.waitEvent(t, "connected "+id+" "+string(tt.want))
		if v, ok := e.s.Connected(id); !ok || v != tt.want {
			t.Errorf("Connected(%s) = %q, %v", id, v, ok)
		}
		if got := st.call("1", "Heartbeat", "{}"); str(t, got[1]) != "1" {
			t.Errorf("no answer on %v", tt.offer)
		}
	}
	if n := e.s.ConnectionCount(); n != 5 {
		t.Errorf("ConnectionCount = %d, want 5", n)
	}

	for _, offer := range [][]string{nil, {"ocpp1.5"}, {"wamp", "ocpp2.1"}} {
		ws, resp, err := dialRaw(t, e.url("CP-none"), dialOpts{protos: offer})
		if err != nil {
			t.Fatalf("%v: upgrade not completed: %v", offer, err)
		}
		if h := resp.Header.Values("Sec-WebSocket-Protocol"); len(h) != 0 || ws.Subprotocol() != "" {
			t.Errorf("%v: subprotocol in the response: %q", offer, h)
		}
		if code := pump(t, ws).closed(5 * time.Second); code != websocket.StatusProtocolError {
			t.Errorf("%v: close code %d, want 1002", offer, code)
		}
	}
	e.h.noEvent(t, 50*time.Millisecond)
	if n := e.s.ConnectionCount(); n != 5 {
		t.Errorf("ConnectionCount = %d, want 5", n)
	}
}

func TestAdmission(t *testing.T) {
	h := newTestHandler()
	h.admit = func(id, user, pass string, hasAuth bool) error {
		switch id {
		case "open", "CP 1", "CP/1":
			return nil
		case "unknown":
			return fmt.Errorf("station %q: %w", id, domain.ErrNotFound)
		case "broken":
			return errors.New("database on fire, dsn postgres://admin:s3cret@db")
		}
		if !hasAuth || user != id || pass != "correct horse battery" {
			return fmt.Errorf("station %q: %w", id, domain.ErrUnauthorized)
		}
		return nil
	}
	e := start(t, Config{}, h)
	basic := func(user, pass string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
	}
	for _, tt := range []struct {
		name   string
		path   string
		header http.Header
		status int
		admit  string // what Admit saw
	}{
		{"no auth", "CP-1", nil, 401, "CP-1|||false"},
		{"wrong password", "CP-1", basic("CP-1", "wrong"), 401, "CP-1|CP-1|wrong|true"},
		{"wrong user", "CP-1", basic("CP-2", "correct horse battery"), 401, "CP-1|CP-2|correct horse battery|true"},
		{"malformed basic", "CP-1", http.Header{"Authorization": {"Basic %%%not-base64"}}, 401, "CP-1|||true"},
		{"other scheme", "CP-1", http.Header{"Authorization": {"Bearer abc"}}, 401, "CP-1|||true"},
		{"unknown station", "unknown", nil, 401, "unknown|||false"},
		{"admit fails", "broken", nil, 500, "broken|||false"},
		{"right password", "CP-1", basic("CP-1", "correct horse battery"), 101, "CP-1|CP-1|correct horse battery|true"},
		{"no password needed", "open", nil, 101, "open|||false"},
		{"cross-origin", "open", http.Header{"Origin": {"http://simulator.example"}}, 101, "open|||false"},
		{"percent-decoded id", "CP%201", nil, 101, "CP 1|||false"},
		{"escaped slash", "CP%2F1", nil, 101, "CP/1|||false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.mu.Lock()
			h.admits = nil
			h.mu.Unlock()
			ws, resp, err := dialRaw(t, e.url(tt.path), dialOpts{protos: []string{"ocpp1.6"}, header: tt.header})
			if tt.status == 101 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				pump(t, ws)
			} else {
				if err == nil {
					_ = ws.CloseNow()
					t.Fatalf("upgrade accepted, want %d", tt.status)
				}
				if resp == nil || resp.StatusCode != tt.status {
					t.Fatalf("response %v, want status %d", resp, tt.status)
				}
				body, _ := io.ReadAll(resp.Body)
				if strings.Contains(string(body), "s3cret") || strings.Contains(string(body), "database") {
					t.Errorf("internal error text sent: %q", body)
				}
				wantAuth := ""
				if tt.status == 401 {
					wantAuth = `Basic realm="OpenCPO"`
				}
				if got := resp.Header.Get("WWW-Authenticate"); got != wantAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
				}
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.admits) != 1 || h.admits[0] != tt.admit {
				t.Errorf("Admit saw %q, want %q", h.admits, tt.admit)
			}
		})
	}
}

func TestStationIDFromPath(t *testing.T) {
	for path, want := range map[string]string{
		"/ocpp/CP-1":  "CP-1",
		"/x/y/CP%201": "CP 1",
		"/CP-2":       "CP-2",
		"/ocpp/":      "",
	} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if got := stationID(r); got != want {
			t.Errorf("stationID(%s) = %q, want %q", path, got, want)
		}
	}
	// Without a {stationId} route the last segment is used.
	h := newTestHandler()
	checkGoroutines(t)
	s := New(Config{}, h, nil, nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Shutdown(context.Background())
	ws, _, err := dialRaw(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/anything/CP%2D9", dialOpts{protos: []string{"ocpp1.6"}})
	if err != nil {
		t.Fatal(err)
	}
	pump(t, ws)
	h.waitEvent(t, "connected CP-9 1.6")
}

func TestCallRoundTrip(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	for _, v := range []ocpp.Version{ocpp.V16, ocpp.V201} {
		st := e.dial(t, "CP-"+string(v), dialOpts{protos: []string{v.Subprotocol()}})
		e.h.waitEvent(t, "connected CP-"+string(v)+" "+string(v))
		got := st.call("19223201", "BootNotification", `{"chargePointVendor":"VendorX"}`)
		if len(got) != 3 || string(got[0]) != "3" || str(t, got[1]) != "19223201" {
			t.Fatalf("answer %s", got)
		}
		want := `{"echo":{"chargePointVendor":"VendorX"},"station":"CP-` + string(v) + `","version":"` + string(v) + `","action":"BootNotification"}`
		if compact(t, got[2]) != want {
			t.Errorf("payload %s, want %s", got[2], want)
		}
		// A null payload reaches the handler as {}.
		got = st.call("2", "Heartbeat", "null")
		if !strings.Contains(string(got[2]), `"echo":{}`) {
			t.Errorf("null payload: %s", got[2])
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	h := newTestHandler()
	h.handle = func(_ context.Context, _ string, _ ocpp.Version, action string, _ json.RawMessage) (json.RawMessage, error) {
		switch action {
		case "Format":
			return nil, ocpp.Errorf(ocpp.FormatViolation, "field x is malformed")
		case "Occurrence":
			return nil, &ocpp.CallError{Code: ocpp.OccurrenceConstraintViolation, Description: "idTag missing", Details: json.RawMessage(`{"field":"idTag"}`)}
		case "Wrapped":
			return nil, fmt.Errorf("dispatch: %w", ocpp.Errorf(ocpp.NotImplemented, "unknown action"))
		case "Internal":
			return nil, errors.New("insert failed: password=hunter2")
		case "Panic":
			panic("handler bug with secret hunter2")
		case "RPC":
			return nil, &ocpp.CallError{Code: ocpp.RPCFrameworkError}
		}
		return json.RawMessage(`{}`), nil
	}
	e := start(t, Config{}, h)
	tests := []struct {
		action         string
		code16, code20 string
		desc           string
		details        string
	}{
		{"Format", "FormationViolation", "FormatViolation", "field x is malformed", `{}`},
		{"Occurrence", "OccurenceConstraintViolation", "OccurrenceConstraintViolation", "idTag missing", `{"field":"idTag"}`},
		{"Wrapped", "NotImplemented", "NotImplemented", "unknown action", `{}`},
		{"Internal", "InternalError", "InternalError", "internal error", `{}`},
		{"Panic", "InternalError", "InternalError", "internal error", `{}`},
		{"RPC", "FormationViolation", "RpcFrameworkError", "", `{}`},
	}
	for _, v := range []ocpp.Version{ocpp.V16, ocpp.V201} {
		st := e.dial(t, "CP-1", dialOpts{protos: []string{v.Subprotocol()}})
		for _, tt := range tests {
			got := st.call("m-"+tt.action, tt.action, "{}")
			want := tt.code20
			if v == ocpp.V16 {
				want = tt.code16
			}
			if len(got) != 5 || string(got[0]) != "4" || str(t, got[1]) != "m-"+tt.action || str(t, got[2]) != want ||
				str(t, got[3]) != tt.desc || compact(t, got[4]) != tt.details {
				t.Errorf("%s %s: answer %s, want code %s description %q details %s", v, tt.action, got, want, tt.desc, tt.details)
			}
		}
		// The connection is still fine after all of that.
		if got := st.call("after", "Heartbeat", "{}"); string(got[0]) != "3" {
			t.Errorf("%s: after the errors: %s", v, got)
		}
	}
}

func TestMalformedFrames(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	long := strings.Repeat("x", 37)
	tests := []struct {
		name           string
		frame          string
		code16, code20 string
		id             string
	}{
		{"not json", `hello`, "FormationViolation", "RpcFrameworkError", "-1"},
		{"not an array", `{"type":2}`, "FormationViolation", "RpcFrameworkError", "-1"},
		{"empty array", `[]`, "FormationViolation", "RpcFrameworkError", "-1"},
		{"short array", `[2,"m1","Heartbeat"]`, "FormationViolation", "RpcFrameworkError", "m1"},
		{"long array", `[2,"m2","Heartbeat",{},{}]`, "FormationViolation", "RpcFrameworkError", "m2"},
		{"type as string", `["2","m3","Heartbeat",{}]`, "FormationViolation", "RpcFrameworkError", "m3"},
		{"unknown type", `[7,"m4","Heartbeat",{}]`, "GenericError", "MessageTypeNotSupported", "m4"},
		{"type 5", `[5,"m5","GenericError","",{}]`, "GenericError", "MessageTypeNotSupported", "m5"},
		{"numeric id", `[2,123,"Heartbeat",{}]`, "FormationViolation", "RpcFrameworkError", "-1"},
		{"id too long", `[2,"` + long + `","Heartbeat",{}]`, "FormationViolation", "RpcFrameworkError", "-1"},
		{"payload array", `[2,"m6","Heartbeat",[]]`, "FormationViolation", "FormatViolation", "m6"},
		{"payload string", `[2,"m7","Heartbeat","{}"]`, "FormationViolation", "FormatViolation", "m7"},
		{"payload broken", `[2,"m8","Heartbeat",{"a":}]`, "FormationViolation", "FormatViolation", "m8"},
		{"result payload array", `[3,"m9",[]]`, "FormationViolation", "FormatViolation", "m9"},
	}
	for _, v := range []ocpp.Version{ocpp.V16, ocpp.V201} {
		st := e.dial(t, "CP-1", dialOpts{protos: []string{v.Subprotocol()}})
		for _, tt := range tests {
			st.send(tt.frame)
			got := st.recv()
			want := tt.code20
			if v == ocpp.V16 {
				want = tt.code16
			}
			if len(got) != 5 || string(got[0]) != "4" || str(t, got[1]) != tt.id || str(t, got[2]) != want || compact(t, got[4]) != "{}" {
				t.Errorf("%s %s: answer %s, want code %s id %q", v, tt.name, got, want, tt.id)
			}
			if d := str(t, got[3]); strings.Contains(d, "Heartbeat") || strings.Contains(d, "hello") {
				t.Errorf("%s %s: description echoes the frame: %q", v, tt.name, d)
			}
			if got := st.call("ok", "Heartbeat", "{}"); string(got[0]) != "3" || str(t, got[1]) != "ok" {
				t.Fatalf("%s %s: connection broken afterwards: %s", v, tt.name, got)
			}
		}
	}
}

func TestOutboundCall(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	st := e.dial(t, "CP-1", dialOpts{})
	e.h.waitEvent(t, "connected CP-1 1.6")
	ctx := context.Background()

	t.Run("result", func(t *testing.T) {
		res := callAsync(e, ctx, "CP-1", "Reset", `{"type":"Soft"}`)
		got := st.recv()
		id := str(t, got[1])
		if len(got) != 4 || string(got[0]) != "2" || len(id) == 0 || len(id) > 36 || str(t, got[2]) != "Reset" || compact(t, got[3]) != `{"type":"Soft"}` {
			t.Fatalf("CALL %s", got)
		}
		st.send(`[3,"` + id + `",{"status":"Accepted"}]`)
		r := waitResult(t, res)
		if r.err != nil || compact(t, r.payload) != `{"status":"Accepted"}` {
			t.Fatalf("Call = %s, %v", r.payload, r.err)
		}
		// Every call has its own id.
		res = callAsync(e, ctx, "CP-1", "Reset", `{"type":"Soft"}`)
		got = st.recv()
		if str(t, got[1]) == id {
			t.Errorf("message id %s reused", id)
		}
		st.send(`[3,` + string(got[1]) + `,{}]`)
		waitResult(t, res)
	})

	t.Run("callerror", func(t *testing.T) {
		for _, tt := range []struct{ sent, want string }{
			{"FormationViolation", "FormatViolation"},
			{"OccurenceConstraintViolation", "OccurrenceConstraintViolation"},
			{"OccurrenceConstraintViolation", "OccurrenceConstraintViolation"},
			{"NotSupported", "NotSupported"},
			{"VendorSpecific", "VendorSpecific"},
		} {
			res := callAsync(e, ctx, "CP-1", "UnlockConnector", `{"connectorId":1}`)
			got := st.recv()
			st.send(`[4,` + string(got[1]) + `,"` + tt.sent + `","nope",{"why":1}]`)
			r := waitResult(t, res)
			var ce *ocpp.CallError
			if !errors.As(r.err, &ce) || string(ce.Code) != tt.want || ce.Description != "nope" || compact(t, ce.Details) != `{"why":1}` {
				t.Errorf("%s: Call error %#v, want CallError %s", tt.sent, r.err, tt.want)
			}
		}
	})

	t.Run("crossing calls", func(t *testing.T) {
		res := callAsync(e, ctx, "CP-1", "GetConfiguration", `{}`)
		got := st.recv()
		// The station sends a CALL of its own before answering ours.
		if ans := st.call("sc1", "StatusNotification", `{"connectorId":1}`); string(ans[0]) != "3" || str(t, ans[1]) != "sc1" {
			t.Fatalf("station's CALL answered with %s", ans)
		}
		st.send(`[3,` + string(got[1]) + `,{"configurationKey":[]}]`)
		if r := waitResult(t, res); r.err != nil || compact(t, r.payload) != `{"configurationKey":[]}` {
			t.Fatalf("Call = %s, %v", r.payload, r.err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		res := callAsync(e, tctx, "CP-1", "Reset", `{"type":"Hard"}`)
		st.recv()
		r := waitResult(t, res)
		if !errors.Is(r.err, domain.ErrTimeout) || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("Call error %v, want ErrTimeout", r.err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		res := callAsync(e, cctx, "CP-1", "Reset", `{"type":"Hard"}`)
		st.recv()
		cancel()
		if r := waitResult(t, res); r.err != context.Canceled {
			t.Errorf("Call error %v, want context.Canceled", r.err)
		}
	})

	t.Run("offline", func(t *testing.T) {
		_, err := e.s.Call(ctx, "CP-nobody", "Reset", json.RawMessage(`{}`))
		if !isOffline(err) {
			t.Errorf("Call error %v, want ErrOffline", err)
		}
	})

	t.Run("disconnect while waiting", func(t *testing.T) {
		res := callAsync(e, ctx, "CP-1", "Reset", `{"type":"Hard"}`)
		st.recv()
		_ = st.ws.Close(websocket.StatusNormalClosure, "bye")
		if r := waitResult(t, res); !isOffline(r.err) {
			t.Errorf("Call error %v, want ErrOffline", r.err)
		}
		e.h.waitEvent(t, "disconnected CP-1 1.6")
		if _, ok := e.s.Connected("CP-1"); ok {
			t.Error("still connected")
		}
	})
}

func TestDefaultCallTimeout(t *testing.T) {
	e := start(t, Config{CallTimeout: 100 * time.Millisecond}, newTestHandler())
	st := e.dial(t, "CP-1", dialOpts{})
	e.h.waitEvent(t, "connected CP-1 1.6")
	res := callAsync(e, context.Background(), "CP-1", "Reset", `{"type":"Soft"}`)
	st.recv()
	if r := waitResult(t, res); !errors.Is(r.err, domain.ErrTimeout) {
		t.Errorf("Call error %v, want ErrTimeout", r.err)
	}
}

// busy reports whether a call holds the station's line.
func busy(s *Server, stationID string) bool {
	c := s.lookup(stationID)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// queued is the number of calls waiting for the station's line.
func queued(s *Server, stationID string) int {
	c := s.lookup(stationID)
	if c == nil {
		return -1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func TestCallsOneAtATimeInOrder(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	st := e.dial(t, "CP-1", dialOpts{})
	e.h.waitEvent(t, "connected CP-1 1.6")
	ctx := context.Background()

	var results []<-chan callResult
	for i := 1; i <= 3; i++ {
		results = append(results, callAsync(e, ctx, "CP-1", fmt.Sprintf("Action%d", i), fmt.Sprintf(`{"n":%d}`, i)))
		n := i - 1
		waitFor(t, fmt.Sprintf("%d calls queued", n), func() bool { return busy(e.s, "CP-1") && queued(e.s, "CP-1") == n })
	}
	for i := 1; i <= 3; i++ {
		got := st.recv()
		if str(t, got[2]) != fmt.Sprintf("Action%d", i) || compact(t, got[3]) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("CALL %d is %s", i, got)
		}
		st.noFrame(50 * time.Millisecond) // the next one waits for this answer
		st.send(fmt.Sprintf(`[3,%s,{"answer":%d}]`, got[1], i))
		if r := waitResult(t, results[i-1]); r.err != nil || compact(t, r.payload) != fmt.Sprintf(`{"answer":%d}`, i) {
			t.Fatalf("call %d: %s, %v", i, r.payload, r.err)
		}
	}
	if n := queued(e.s, "CP-1"); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

func TestQueuedCallGivesUp(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	st := e.dial(t, "CP-1", dialOpts{})
	e.h.waitEvent(t, "connected CP-1 1.6")
	ctx := context.Background()

	first := callAsync(e, ctx, "CP-1", "First", `{}`)
	got1 := st.recv()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	impatient := callAsync(e, short, "CP-1", "Impatient", `{}`)
	waitFor(t, "impatient queued", func() bool { return queued(e.s, "CP-1") == 1 })
	last := callAsync(e, ctx, "CP-1", "Last", `{}`)

	if r := waitResult(t, impatient); !errors.Is(r.err, domain.ErrTimeout) {
		t.Fatalf("queued call: %v, want ErrTimeout", r.err)
	}
	waitFor(t, "last queued alone", func() bool { return queued(e.s, "CP-1") == 1 })
	st.send(`[3,` + string(got1[1]) + `,{}]`)
	waitResult(t, first)
	got := st.recv()
	if str(t, got[2]) != "Last" {
		t.Fatalf("next CALL %s, want Last", got)
	}
	st.send(`[3,` + string(got[1]) + `,{}]`)
	if r := waitResult(t, last); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestLateAnswerIgnored(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	st := e.dial(t, "CP-1", dialOpts{})
	e.h.waitEvent(t, "connected CP-1 1.6")
	tctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := callAsync(e, tctx, "CP-1", "Reset", `{}`)
	old := st.recv()[1]
	if r := waitResult(t, res); !errors.Is(r.err, domain.ErrTimeout) {
		t.Fatalf("Call error %v, want ErrTimeout", r.err)
	}
	st.send(`[3,` + string(old) + `,{"late":true}]`)

	res = callAsync(e, context.Background(), "CP-1", "Reset", `{}`)
	got := st.recv()
	st.send(`[3,` + string(old) + `,{"late":true}]`)
	st.send(`[4,` + string(old) + `,"GenericError","late",{}]`)
	st.send(`[3,` + string(got[1]) + `,{"late":false}]`)
	if r := waitResult(t, res); r.err != nil || compact(t, r.payload) != `{"late":false}` {
		t.Fatalf("Call = %s, %v", r.payload, r.err)
	}
	st.noFrame(50 * time.Millisecond) // unmatched answers are not answered
	if got := st.call("x", "Heartbeat", "{}"); string(got[0]) != "3" {
		t.Errorf("connection broken: %s", got)
	}
}

func TestReplacement(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	a := e.dial(t, "CP-1", dialOpts{protos: []string{"ocpp1.6"}})
	e.h.waitEvent(t, "connected CP-1 1.6")
	pending := callAsync(e, context.Background(), "CP-1", "Reset", `{}`)
	a.recv()

	b := e.dial(t, "CP-1", dialOpts{protos: []string{"ocpp2.0.1"}})
	if code := a.closed(5 * time.Second); code != websocket.StatusPolicyViolation {
		t.Errorf("old connection closed with %d, want 1008", code)
	}
	if r := waitResult(t, pending); !isOffline(r.err) {
		t.Errorf("pending call on the old connection: %v, want ErrOffline", r.err)
	}
	e.h.waitEvent(t, "connected CP-1 2.0.1")
	e.h.noEvent(t, 100*time.Millisecond) // no Disconnected for the replaced connection
	if v, ok := e.s.Connected("CP-1"); !ok || v != ocpp.V201 {
		t.Errorf("Connected = %q, %v", v, ok)
	}
	if n := e.s.ConnectionCount(); n != 1 {
		t.Errorf("ConnectionCount = %d", n)
	}

	res := callAsync(e, context.Background(), "CP-1", "Reset", `{"type":"Immediate"}`)
	got := b.recv()
	b.send(`[3,` + string(got[1]) + `,{"status":"Accepted"}]`)
	if r := waitResult(t, res); r.err != nil {
		t.Fatalf("call on the new connection: %v", r.err)
	}
	if got := b.call("1", "Heartbeat", "{}"); string(got[0]) != "3" {
		t.Errorf("new connection: %s", got)
	}

	_ = b.ws.Close(websocket.StatusNormalClosure, "")
	e.h.waitEvent(t, "disconnected CP-1 2.0.1")
	if n := e.s.ConnectionCount(); n != 0 {
		t.Errorf("ConnectionCount = %d", n)
	}
}

func TestReplacementRace(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	const n = 20
	var wg sync.WaitGroup
	stations := make([]*station, n)
	for i := range n {
		wg.Go(func() {
			ws, _, err := dialRaw(t, e.url("CP-1"), dialOpts{protos: []string{"ocpp1.6"}})
			if err != nil {
				t.Error(err)
				return
			}
			stations[i] = pump(t, ws)
		})
	}
	wg.Wait()
	for range n {
		e.h.waitEvent(t, "connected CP-1 1.6")
	}
	e.h.noEvent(t, 100*time.Millisecond)
	if c := e.s.ConnectionCount(); c != 1 {
		t.Fatalf("ConnectionCount = %d, want 1", c)
	}
	// Exactly one socket is still open: the current connection.
	var open []*station
	for _, st := range stations {
		select {
		case <-st.done:
		case <-time.After(100 * time.Millisecond):
			open = append(open, st)
		}
	}
	if len(open) != 1 {
		t.Fatalf("%d connections open, want 1", len(open))
	}
	if got := open[0].call("1", "Heartbeat", "{}"); string(got[0]) != "3" {
		t.Errorf("survivor: %s", got)
	}
	_ = open[0].ws.Close(websocket.StatusNormalClosure, "")
	e.h.waitEvent(t, "disconnected CP-1 1.6")
}

func TestDeadPeerDetection(t *testing.T) {
	e := start(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, newTestHandler())
	dead := e.dial(t, "dead", dialOpts{noPong: true})
	live := e.dial(t, "live", dialOpts{})
	got := []string{}
	for range 2 {
		select {
		case ev := <-e.h.notify:
			got = append(got, ev)
		case <-time.After(5 * time.Second):
			t.Fatal("no Connected")
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"connected dead 1.6", "connected live 1.6"}) {
		t.Fatalf("events %q", got)
	}
	t0 := time.Now()
	dead.closed(5 * time.Second)
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Errorf("closed after %v, before PongTimeout", d)
	}
	e.h.waitEvent(t, "disconnected dead 1.6")
	live.noFrame(400 * time.Millisecond) // several ping rounds
	if _, ok := e.s.Connected("live"); !ok {
		t.Error("live connection was closed")
	}
	if _, ok := e.s.Connected("dead"); ok {
		t.Error("dead connection still registered")
	}
}

func TestDisconnect(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	st := e.dial(t, "CP-1", dialOpts{})
	e.h.waitEvent(t, "connected CP-1 1.6")
	e.s.Disconnect("CP-1")
	e.s.Disconnect("CP-unknown")
	if code := st.closed(5 * time.Second); code != websocket.StatusNormalClosure {
		t.Errorf("close code %d, want 1000", code)
	}
	e.h.waitEvent(t, "disconnected CP-1 1.6")
}

// serverGoroutines lists the goroutines a Server owns: those running its or a connection's code,
// except the tests' own callers of Server.Call.
// A goroutine may still be on its way out right after its wg.Done, so they get a moment.
func serverGoroutines() []string {
	deadline := time.Now().Add(time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var gs []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if (strings.Contains(g, "ocppws.(*Server)") || strings.Contains(g, "ocppws.(*conn)")) && !strings.Contains(g, "ocppws.callAsync") {
				gs = append(gs, g)
			}
		}
		if len(gs) == 0 || time.Now().After(deadline) {
			return gs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	e := start(t, Config{PingInterval: 20 * time.Millisecond}, newTestHandler())
	var sts []*station
	for i := range 3 {
		sts = append(sts, e.dial(t, fmt.Sprintf("CP-%d", i), dialOpts{}))
		e.h.waitEvent(t, fmt.Sprintf("connected CP-%d 1.6", i))
	}
	pending := callAsync(e, context.Background(), "CP-0", "Reset", `{}`)
	sts[0].recv()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if gs := serverGoroutines(); len(gs) != 0 {
		t.Errorf("server goroutines after Shutdown:\n%s", strings.Join(gs, "\n\n"))
	}
	for i, st := range sts {
		if code := st.closed(time.Second); code != websocket.StatusGoingAway {
			t.Errorf("station %d closed with %d, want 1001", i, code)
		}
	}
	if r := waitResult(t, pending); !isOffline(r.err) {
		t.Errorf("pending call: %v, want ErrOffline", r.err)
	}
	var got []string
	for range 3 {
		got = append(got, <-e.h.notify)
	}
	slices.Sort(got)
	if want := []string{"disconnected CP-0 1.6", "disconnected CP-1 1.6", "disconnected CP-2 1.6"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if n := e.s.ConnectionCount(); n != 0 {
		t.Errorf("ConnectionCount = %d", n)
	}
	_, resp, err := dialRaw(t, e.url("CP-9"), dialOpts{protos: []string{"ocpp1.6"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Shutdown: %v %v, want 503", resp, err)
	}
	if _, err := e.s.Call(context.Background(), "CP-1", "Reset", nil); !isOffline(err) {
		t.Errorf("Call after Shutdown: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	h := newTestHandler()
	e := start(t, Config{}, h)
	// A station that never reads does not answer the close handshake.
	ws, _, err := dialRaw(t, e.url("CP-deaf"), dialOpts{protos: []string{"ocpp1.6"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	h.waitEvent(t, "connected CP-deaf 1.6")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := e.s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if gs := serverGoroutines(); len(gs) != 0 {
		t.Errorf("server goroutines after Shutdown:\n%s", strings.Join(gs, "\n\n"))
	}
	h.waitEvent(t, "disconnected CP-deaf 1.6")
}

// A client may send its first frame in the same packet as its handshake; the frame must not be
// lost when the connection's buffers are replaced.
func TestFrameRightBehindHandshake(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	nc, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	payload := `[2,"early","Heartbeat",{}]`
	req := "GET /ocpp/CP-1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...) // masked with a zero key
	if _, err := nc.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil || string(elems[0]) != "3" || str(t, elems[1]) != "early" {
		t.Fatalf("answer %q: %v", body, err)
	}
}

func TestMetrics(t *testing.T) {
	e := start(t, Config{}, newTestHandler())
	e.h.handle = func(_ context.Context, _ string, _ ocpp.Version, action string, _ json.RawMessage) (json.RawMessage, error) {
		if action == "Heartbeat" {
			return json.RawMessage(`{}`), nil
		}
		return nil, ocpp.Errorf(ocpp.NotImplemented, "no")
	}
	st := e.dial(t, "CP-1", dialOpts{protos: []string{"ocpp2.0.1"}})
	e.h.waitEvent(t, "connected CP-1 2.0.1")
	st.call("1", "Heartbeat", "{}")
	st.call("2", "MadeUpAction", "{}")
	st.send("garbage")
	st.recv()
	res := callAsync(e, context.Background(), "CP-1", "Reset", `{}`)
	got := st.recv()
	st.send(`[4,` + string(got[1]) + `,"FormatViolation","",{}]`)
	waitResult(t, res)

	values := map[string]float64{}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				values[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				values[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				values[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"opencpo_ocpp_connections{version=2.0.1}":                                                   1,
		"opencpo_ocpp_messages_total{action=Heartbeat,direction=in,type=CALL,version=2.0.1}":        1,
		"opencpo_ocpp_messages_total{action=Heartbeat,direction=out,type=CALLRESULT,version=2.0.1}": 1,
		"opencpo_ocpp_messages_total{action=,direction=in,type=CALL,version=2.0.1}":                 1,
		"opencpo_ocpp_messages_total{action=,direction=in,type=invalid,version=2.0.1}":              1,
		"opencpo_ocpp_messages_total{action=,direction=out,type=CALLERROR,version=2.0.1}":           2,
		"opencpo_ocpp_messages_total{action=Reset,direction=out,type=CALL,version=2.0.1}":           1,
		"opencpo_ocpp_messages_total{action=Reset,direction=in,type=CALLERROR,version=2.0.1}":       1,
		"opencpo_ocpp_call_duration_seconds{action=Reset,version=2.0.1}":                            1,
		"opencpo_ocpp_call_errors_total{code=NotImplemented,direction=sent}":                        1,
		"opencpo_ocpp_call_errors_total{code=RpcFrameworkError,direction=sent}":                     1,
		"opencpo_ocpp_call_errors_total{code=FormatViolation,direction=received}":                   1,
	} {
		if got := values[key]; got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	for key := range values {
		if strings.Contains(key, "MadeUpAction") {
			t.Errorf("station-chosen action name in a label: %s", key)
		}
	}
}
