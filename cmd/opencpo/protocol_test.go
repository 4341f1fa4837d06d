package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/ocpptest"
)

// TestMalformedFrames: every kind of bad input gets the right CALLERROR with the version's
// spelling, and the connection keeps working afterwards.
func TestMalformedFrames(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	tests := []struct {
		name, version, id, frame, wantCode string
	}{
		{"1.6 missing required", "1.6", "m1", `[2,"m1","BootNotification",{"chargePointVendor":"V"}]`, "OccurenceConstraintViolation"},
		{"2.0.1 missing required", "2.0.1", "m1", `[2,"m1","BootNotification",{"reason":"PowerUp"}]`, "OccurrenceConstraintViolation"},
		{"1.6 wrong type", "1.6", "m2", `[2,"m2","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]`, "TypeConstraintViolation"},
		{"2.0.1 wrong type", "2.0.1", "m2", `[2,"m2","Heartbeat",{"customData":{"vendorId":5}}]`, "TypeConstraintViolation"},
		{"1.6 bad enum", "1.6", "m3", `[2,"m3","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}]`, "PropertyConstraintViolation"},
		{"1.6 unknown property", "1.6", "m4", `[2,"m4","Heartbeat",{"extra":1}]`, "FormationViolation"},
		{"2.0.1 unknown property", "2.0.1", "m4", `[2,"m4","Heartbeat",{"extra":1}]`, "FormatViolation"},
		{"1.6 unknown action", "1.6", "m5", `[2,"m5","MakeCoffee",{}]`, "NotImplemented"},
		{"2.0.1 unknown action", "2.0.1", "m5", `[2,"m5","MakeCoffee",{}]`, "NotImplemented"},
		{"2.0.1 CSMS-only action from station", "2.0.1", "m6", `[2,"m6","Reset",{"type":"Immediate"}]`, "NotSupported"},
		{"2.0.1 unknown message type", "2.0.1", "m7", `[7,"m7","Heartbeat",{}]`, "MessageTypeNotSupported"},
		{"2.0.1 payload not an object", "2.0.1", "m8", `[2,"m8","Heartbeat",[]]`, "FormatViolation"},
		{"1.6 payload not an object", "1.6", "m8", `[2,"m8","Heartbeat",[]]`, "FormationViolation"},
	}
	conns := map[string]*ocpptest.Station{
		"1.6":   ts.dial("MAL-16", "1.6"),
		"2.0.1": ts.dial("MAL-201", "2.0.1"),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := conns[tt.version]
			reply := st.SendRaw(tt.id, "", []byte(tt.frame))
			if frameType(reply) != "4" || callErrorCode(reply) != tt.wantCode {
				t.Fatalf("reply %s, want CALLERROR %s", reply, tt.wantCode)
			}
			st.MustCall("Heartbeat", map[string]any{}) // still alive
		})
	}
	// Frames with no usable message id: the reply uses the best id the server could read.
	for _, version := range []string{"1.6", "2.0.1"} {
		st := conns[version]
		for _, frame := range []string{`not json`, `{"a":1}`, `[2]`, `[2,"x"]`} {
			raw := rawConnSend(t, ts, version, frame)
			if !strings.HasPrefix(raw, `[4,`) {
				t.Errorf("%s %q: reply %s, want a CALLERROR", version, frame, raw)
			}
		}
		st.MustCall("Heartbeat", map[string]any{})
	}
}

// rawConnSend sends one frame on a fresh connection and returns the raw reply.
func rawConnSend(t *testing.T, ts *testServer, version, frame string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.wsURL()+"/ocpp/RAW-"+strings.ReplaceAll(version, ".", ""), &websocket.DialOptions{Subprotocols: []string{"ocpp" + version}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(websocket.StatusNormalClosure, "")
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("%q: no reply: %v", frame, err)
	}
	// The connection must still work.
	if err := c.Write(ctx, websocket.MessageText, []byte(`[2,"hb","Heartbeat",{}]`)); err != nil {
		t.Fatal(err)
	}
	if _, hb, err := c.Read(ctx); err != nil || !strings.HasPrefix(string(hb), `[3,"hb"`) {
		t.Fatalf("after %q the connection broke: %s %v", frame, hb, err)
	}
	return string(data)
}

func TestSubprotocolNegotiation(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	both := ocpptest.Dial(t, ts.official, ts.wsURL(), "SP-BOTH", "2.0.1", ocpptest.DialOptions{Subprotocols: []string{"ocpp1.6", "ocpp2.0.1"}})
	if both.Subprotocol() != "ocpp2.0.1" {
		t.Fatalf("both offered: chose %q", both.Subprotocol())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.wsURL()+"/ocpp/SP-NONE", &websocket.DialOptions{Subprotocols: []string{"ocpp1.5"}})
	if err != nil {
		t.Fatalf("dial without a known subprotocol: %v", err)
	}
	if c.Subprotocol() != "" {
		t.Fatalf("server chose %q for an unknown subprotocol", c.Subprotocol())
	}
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("connection without subprotocol was not closed")
	}
}

func TestStationAuthentication(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	const pw = "s3cret-passw0rd-16"
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "SEC-1", "password": pw})
	tests := []struct {
		name       string
		user, pass string
		wantStatus int
	}{
		{"no header", "", "", http.StatusUnauthorized},
		{"wrong password", "SEC-1", "wrong-password-123", http.StatusUnauthorized},
		{"wrong username", "SEC-2", pw, http.StatusUnauthorized},
		{"right credentials", "SEC-1", pw, http.StatusSwitchingProtocols},
		{"right credentials again (cached)", "SEC-1", pw, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, resp, err := ocpptest.TryDial(t, ts.official, ts.wsURL(), "SEC-1", "1.6", ocpptest.DialOptions{User: tt.user, Pass: tt.pass})
			if resp == nil || resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %v (err %v), want %d", resp, err, tt.wantStatus)
			}
			if st != nil {
				st.MustCall("BootNotification", boot16())
				st.Close()
			}
		})
	}
	// Changing the password takes effect at once, even for a cached one.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/SEC-1", map[string]any{"password": "another-password-0987"})
	if _, resp, _ := ocpptest.TryDial(t, ts.official, ts.wsURL(), "SEC-1", "1.6", ocpptest.DialOptions{User: "SEC-1", Pass: pw}); resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old password still accepted: %v", resp)
	}
	got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/SEC-1", nil)
	raw, _ := json.Marshal(got)
	if strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), pw) {
		t.Fatalf("station JSON leaks the password: %s", raw)
	}
}

func TestUnknownStationPolicies(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "reject" })
		_, resp, err := ocpptest.TryDial(t, ts.official, ts.wsURL(), "NEW-1", "1.6", ocpptest.DialOptions{})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown station not refused with 401: %v %v", resp, err)
		}
		ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/NEW-1", nil)
	})
	t.Run("pending", func(t *testing.T) {
		ts := startServer(t, nil) // the default policy
		st := ts.dial("NEW-2", "2.0.1")
		res := decode[map[string]any](t, st.MustCall("BootNotification", boot201()))
		if res["status"] != "Pending" {
			t.Fatalf("boot %v", res)
		}
		got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/NEW-2", nil)
		if got["registrationStatus"] != "Pending" || got["connected"] != true {
			t.Fatalf("station %v", got)
		}
		// Pending: configuration calls are allowed, starting a transaction is not.
		st.Handle("GetVariables", func(json.RawMessage) any {
			return map[string]any{"getVariableResult": []any{map[string]any{"attributeStatus": "Accepted", "attributeValue": "60",
				"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}}}}
		})
		ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/NEW-2/ocpp/GetVariables", map[string]any{"getVariableData": []any{
			map[string]any{"component": map[string]any{"name": "OCPPCommCtrlr"}, "variable": map[string]any{"name": "HeartbeatInterval"}}}})
		ts.mustDo(http.StatusConflict, "POST", "/api/v1/stations/NEW-2/ocpp/RequestStartTransaction", map[string]any{
			"remoteStartId": 1, "idToken": map[string]any{"idToken": "X", "type": "Central"}})
		// The operator approves; the next boot is accepted.
		ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/NEW-2", map[string]any{"registrationStatus": "Accepted"})
		res = decode[map[string]any](t, st.MustCall("BootNotification", boot201()))
		if res["status"] != "Accepted" {
			t.Fatalf("boot after approval %v", res)
		}
	})
	t.Run("accept", func(t *testing.T) {
		ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
		st := ts.dial("NEW-3", "1.6")
		res := decode[map[string]any](t, st.MustCall("BootNotification", boot16()))
		if res["status"] != "Accepted" {
			t.Fatalf("boot %v", res)
		}
	})
	t.Run("rejected station", func(t *testing.T) {
		ts := startServer(t, nil)
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "REJ-1", "registrationStatus": "Rejected"})
		st := ts.dial("REJ-1", "1.6")
		res := decode[map[string]any](t, st.MustCall("BootNotification", boot16()))
		if res["status"] != "Rejected" {
			t.Fatalf("boot %v", res)
		}
		if reply := st.Call("Heartbeat", map[string]any{}); callErrorCode(reply) != "SecurityError" {
			t.Fatalf("rejected station's heartbeat answered %s", reply)
		}
		ts.mustDo(http.StatusConflict, "POST", "/api/v1/stations/REJ-1/ocpp/Reset", map[string]any{"type": "Soft"})
	})
}

func TestSecondConnectionReplacesFirst(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	first := ts.dial("DUP-1", "1.6")
	first.MustCall("BootNotification", boot16())
	second := ts.dial("DUP-1", "1.6")
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("first connection was not closed")
	}
	second.MustCall("Heartbeat", map[string]any{})
	got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/DUP-1", nil)
	if got["connected"] != true {
		t.Fatalf("station not connected after replacement: %v", got)
	}
	second.Handle("Reset", func(json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/DUP-1/ocpp/Reset", map[string]any{"type": "Soft"})
}

func TestRawOCPPCall(t *testing.T) {
	ts := startServer(t, nil)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "RAW-16"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "RAW-201"})
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/stations/RAW-16/ocpp/Reset", map[string]any{"type": "Soft"}) // never connected

	s16 := ts.dial("RAW-16", "1.6")
	s16.MustCall("BootNotification", boot16())
	s16.Handle("Reset", func(json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	s16.Handle("GetConfiguration", func(json.RawMessage) any {
		return &ocpptest.CallErrorReply{Code: "NotSupported", Description: "no configuration here"}
	})
	s16.Handle("ClearCache", func(json.RawMessage) any { time.Sleep(2 * time.Second); return map[string]any{"status": "Accepted"} })
	s16.Handle("UnlockConnector", func(json.RawMessage) any { return map[string]any{"status": "Opened"} }) // not a 1.6 value

	out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/RAW-16/ocpp/Reset", map[string]any{"type": "Soft"})
	if out["status"] != "Accepted" {
		t.Fatalf("Reset answer %v", out)
	}
	out = ts.mustDo(http.StatusBadGateway, "POST", "/api/v1/stations/RAW-16/ocpp/GetConfiguration", map[string]any{})
	if errorCode(out) != "ocpp_call_error" || out["error"].(map[string]any)["ocppErrorCode"] != "NotSupported" {
		t.Fatalf("CALLERROR answer %v", out)
	}
	out = ts.mustDo(http.StatusGatewayTimeout, "POST", "/api/v1/stations/RAW-16/ocpp/ClearCache?timeout=300ms", map[string]any{})
	if errorCode(out) != "timeout" {
		t.Fatalf("timeout answer %v", out)
	}
	out = ts.mustDo(http.StatusBadGateway, "POST", "/api/v1/stations/RAW-16/ocpp/UnlockConnector", map[string]any{"connectorId": 1})
	if errorCode(out) != "station_protocol_error" {
		t.Fatalf("invalid answer %v", out)
	}
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/stations/RAW-16/ocpp/GetVariables", `{}`},                       // a 2.0.1 action
		{"/api/v1/stations/RAW-16/ocpp/Reset", `{"type":"Warm"}`},                 // bad enum
		{"/api/v1/stations/RAW-16/ocpp/Reset", `{}`},                              // missing field
		{"/api/v1/stations/RAW-16/ocpp/BootNotification", `{}`},                   // station→CSMS action
		{"/api/v1/stations/RAW-16/ocpp/Reset", `[1,2]`},                           // not an object
		{"/api/v1/stations/RAW-16/ocpp/Reset?timeout=forever", `{"type":"Soft"}`}, // bad timeout
	} {
		if status, body := ts.do("POST", tc.path, tc.body); status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
			t.Errorf("%s %s = %d %v; want 400", tc.path, tc.body, status, body)
		}
	}
	ts.mustDo(http.StatusNotFound, "POST", "/api/v1/stations/NOPE/ocpp/Reset", map[string]any{"type": "Soft"})

	s201 := ts.dial("RAW-201", "2.0.1")
	s201.MustCall("BootNotification", boot201())
	s201.Handle("Reset", func(json.RawMessage) any { return map[string]any{"status": "Scheduled"} })
	out = ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/RAW-201/ocpp/Reset", map[string]any{"type": "OnIdle"})
	if out["status"] != "Scheduled" {
		t.Fatalf("2.0.1 Reset %v", out)
	}

	// The audit log has every call, newest first, with the answer or the error.
	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=RAW-16", nil)
	items := audit["items"].([]any)
	var actions []string
	for _, it := range items {
		e := it.(map[string]any)
		actions = append(actions, e["action"].(string))
		if e["actor"] != "api-token" || e["at"] == nil || e["request"] == nil {
			t.Errorf("audit entry %v", e)
		}
	}
	joined := strings.Join(actions, ",")
	if !strings.HasPrefix(joined, "UnlockConnector,ClearCache,GetConfiguration,Reset") {
		t.Fatalf("audit actions %s", joined)
	}
	last := items[len(items)-1].(map[string]any) // oldest: CreateStation through the API
	if last["action"] != "CreateStation" {
		t.Fatalf("oldest audit entry %v", last)
	}
	if items[2].(map[string]any)["error"] == nil || items[3].(map[string]any)["response"] == nil {
		t.Fatalf("audit entries lack error/response: %v", items[:4])
	}
}
