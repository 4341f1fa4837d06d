package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func ts3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func createTokens(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "TAG-OK", "groupId": "FLEET-1"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "TAG-BLK", "status": "Blocked"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "TAG-EXP", "expiresAt": ts3339(time.Now().Add(-time.Hour))})
}

func TestTokensAPI(t *testing.T) {
	ts := startServer(t, nil)
	tok := ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "04A1B2C3"})
	if tok["type"] != "ISO14443" || tok["status"] != "Accepted" || tok["expiresAt"] != nil {
		t.Fatalf("defaults %v", tok)
	}
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/tokens", map[string]any{"uid": "04A1B2C3"})
	for _, bad := range []map[string]any{{"uid": ""}, {"uid": "has space"}, {"uid": "X", "status": "Maybe"}, {"uid": "X", "type": "Card"},
		{"uid": "X", "expiresAt": "tomorrow"}, {"uid": "0123456789012345678901234567890123456"}, {"uid": "X", "colour": "red"}} {
		if status, body := ts.do("POST", "/api/v1/tokens", bad); status != http.StatusBadRequest {
			t.Errorf("POST %v = %d %v", bad, status, body)
		}
	}
	past := ts3339(time.Now().Add(-time.Minute))
	tok = ts.mustDo(http.StatusOK, "PATCH", "/api/v1/tokens/04A1B2C3", map[string]any{"expiresAt": past, "groupId": "G"})
	if tok["authorizesAs"] != "Expired" || tok["status"] != "Accepted" || tok["groupId"] != "G" {
		t.Fatalf("after expiry %v", tok)
	}
	tok = ts.mustDo(http.StatusOK, "PATCH", "/api/v1/tokens/04A1B2C3", map[string]any{"expiresAt": nil, "status": "Blocked"})
	if tok["expiresAt"] != nil || tok["authorizesAs"] != "Blocked" {
		t.Fatalf("after patch %v", tok)
	}
	ts.mustDo(http.StatusOK, "GET", "/api/v1/tokens/04A1B2C3", nil)
	list := ts.mustDo(http.StatusOK, "GET", "/api/v1/tokens", nil)
	if len(list["items"].([]any)) != 1 {
		t.Fatalf("list %v", list)
	}
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/tokens/04A1B2C3", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/tokens/04A1B2C3", nil)
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/tokens/04A1B2C3", map[string]any{"status": "Accepted"})
}

func TestAuthorize(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	s16 := ts.dial("AUTH-16", "1.6")
	s201 := ts.dial("AUTH-201", "2.0.1")
	for tag, want := range map[string]string{"TAG-OK": "Accepted", "TAG-BLK": "Blocked", "TAG-EXP": "Expired", "NOPE": "Invalid"} {
		r16 := decode[map[string]map[string]any](t, s16.MustCall("Authorize", map[string]any{"idTag": tag}))
		if r16["idTagInfo"]["status"] != want {
			t.Errorf("1.6 %s: %v, want %s", tag, r16, want)
		}
		r201 := decode[map[string]map[string]any](t, s201.MustCall("Authorize", map[string]any{"idToken": map[string]any{"idToken": tag, "type": "ISO14443"}}))
		if r201["idTokenInfo"]["status"] != want {
			t.Errorf("2.0.1 %s: %v, want %s", tag, r201, want)
		}
	}
	r16 := decode[map[string]map[string]any](t, s16.MustCall("Authorize", map[string]any{"idTag": "TAG-OK"}))
	if r16["idTagInfo"]["parentIdTag"] != "FLEET-1" {
		t.Errorf("parentIdTag missing: %v", r16)
	}
	r201 := decode[map[string]map[string]any](t, s201.MustCall("Authorize", map[string]any{"idToken": map[string]any{"idToken": "TAG-OK", "type": "ISO14443"}}))
	if g, _ := r201["idTokenInfo"]["groupIdToken"].(map[string]any); g["idToken"] != "FLEET-1" {
		t.Errorf("groupIdToken missing: %v", r201)
	}
}

func sessionByTx(t *testing.T, ts *testServer, stationID, txID string) map[string]any {
	t.Helper()
	list := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions?stationId="+stationID, nil)
	var found map[string]any
	for _, it := range list["items"].([]any) {
		s := it.(map[string]any)
		if s["transactionId"] == txID {
			if found != nil {
				t.Fatalf("transaction %s recorded twice: %v", txID, list)
			}
			found = s
		}
	}
	if found == nil {
		t.Fatalf("no session for transaction %s: %v", txID, list)
	}
	return found
}

func TestSessions16(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	st := ts.dial("TX-16", "1.6")
	st.MustCall("BootNotification", boot16())
	t0 := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)

	start := map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 1000, "timestamp": ts3339(t0)}
	r1 := decode[map[string]any](t, st.MustCall("StartTransaction", start))
	r2 := decode[map[string]any](t, st.MustCall("StartTransaction", start)) // retransmission
	if r1["transactionId"] != r2["transactionId"] || r1["idTagInfo"].(map[string]any)["status"] != "Accepted" {
		t.Fatalf("retransmitted start answered differently: %v vs %v", r1, r2)
	}
	txID := int(r1["transactionId"].(float64))
	tx := fmt.Sprint(txID)

	meter := map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{
		map[string]any{"timestamp": ts3339(t0.Add(10 * time.Minute)), "sampledValue": []any{
			map[string]any{"value": "2.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register", "context": "Sample.Periodic"},
			map[string]any{"value": "7400", "unit": "W", "measurand": "Power.Active.Import"},
			map[string]any{"value": "801", "unit": "Wh", "phase": "L1"},
		}}}}
	st.MustCall("MeterValues", meter)
	st.MustCall("MeterValues", meter) // retransmission: nothing doubles
	live := sessionByTx(t, ts, "TX-16", tx)
	if live["status"] != "active" || live["energyWh"] != float64(1500) || live["meterStartWh"] != float64(1000) || live["idToken"] != "TAG-OK" {
		t.Fatalf("live session %v", live)
	}
	mv := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions/"+live["id"].(string)+"/meter-values", nil)
	if n := len(mv["items"].([]any)); n != 3 {
		t.Fatalf("meter values: %d samples, want 3: %v", n, mv)
	}

	stop := map[string]any{"transactionId": txID, "idTag": "TAG-OK", "meterStop": 8500, "timestamp": ts3339(t0.Add(25 * time.Minute)), "reason": "EVDisconnected",
		"transactionData": []any{map[string]any{"timestamp": ts3339(t0.Add(20 * time.Minute)), "sampledValue": []any{map[string]any{"value": "6000"}}}}}
	a := st.MustCall("StopTransaction", stop)
	b := st.MustCall("StopTransaction", stop)
	if string(a) != string(b) {
		t.Fatalf("retransmitted stop answered differently: %s vs %s", a, b)
	}
	done := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions/"+live["id"].(string), nil)
	if done["status"] != "completed" || done["energyWh"] != float64(7500) || done["meterStopWh"] != float64(8500) ||
		done["stopReason"] != "EVDisconnected" || done["stoppedAt"] != ts3339(t0.Add(25*time.Minute)) || done["startedAt"] != ts3339(t0) {
		t.Fatalf("completed session %v", done)
	}
	if done["transactionId"] != tx {
		t.Fatalf("transactionId %v", done["transactionId"])
	}

	// A blocked token still gets its session recorded (the station decides to stop it).
	rb := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 2, "idTag": "TAG-BLK", "meterStart": 0, "timestamp": nowRFC3339()}))
	if rb["idTagInfo"].(map[string]any)["status"] != "Blocked" {
		t.Fatalf("blocked start %v", rb)
	}
	if rb["transactionId"] == r1["transactionId"] {
		t.Fatal("transaction ids repeat")
	}

	// A stop for an unknown transaction is answered and kept for review.
	unknown := decode[map[string]any](t, st.MustCall("StopTransaction", map[string]any{"transactionId": 424242, "meterStop": 10, "timestamp": nowRFC3339()}))
	if len(unknown) != 0 {
		t.Fatalf("unknown stop answer %v", unknown)
	}
	events := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/TX-16/events", nil)
	if first := events["items"].([]any)[0].(map[string]any); first["kind"] != "UnknownTransaction" {
		t.Fatalf("unknown stop not recorded: %v", events)
	}

	active := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions?status=active", nil)
	completed := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions?status=completed&stationId=TX-16", nil)
	if len(active["items"].([]any)) != 1 || len(completed["items"].([]any)) != 1 {
		t.Fatalf("filters: active %v completed %v", active, completed)
	}
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/sessions?status=paused", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/sessions/abc", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/sessions/99999", nil)
}

func txEvent(eventType string, seq int, at time.Time, txID string, extra map[string]any) map[string]any {
	m := map[string]any{"eventType": eventType, "timestamp": ts3339(at), "triggerReason": "MeterValuePeriodic", "seqNo": seq,
		"transactionInfo": map[string]any{"transactionId": txID}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func energyMeter(at time.Time, wh float64, context string) []any {
	return []any{map[string]any{"timestamp": ts3339(at), "sampledValue": []any{
		map[string]any{"value": wh, "context": context, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": map[string]any{"unit": "Wh"}}}}}
}

func TestSessions201(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)
	st := ts.dial("TX-201", "2.0.1")
	st.MustCall("BootNotification", boot201())
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

	started := txEvent("Started", 0, t0, "T-1", map[string]any{"triggerReason": "Authorized", "evse": map[string]any{"id": 1, "connectorId": 1},
		"idToken": map[string]any{"idToken": "TAG-OK", "type": "ISO14443"}, "meterValue": energyMeter(t0, 500, "Transaction.Begin")})
	r := decode[map[string]map[string]any](t, st.MustCall("TransactionEvent", started))
	if r["idTokenInfo"]["status"] != "Accepted" {
		t.Fatalf("started answer %v", r)
	}
	updated := txEvent("Updated", 1, t0.Add(10*time.Minute), "T-1", map[string]any{"meterValue": []any{map[string]any{
		"timestamp": ts3339(t0.Add(10 * time.Minute)), "sampledValue": []any{
			map[string]any{"value": 2.5, "unitOfMeasure": map[string]any{"unit": "kWh"}},
			map[string]any{"value": 11, "measurand": "Power.Active.Import", "unitOfMeasure": map[string]any{"unit": "W", "multiplier": 3}},
		}}}})
	updated["transactionInfo"].(map[string]any)["chargingState"] = "Charging"
	st.MustCall("TransactionEvent", updated)
	st.MustCall("TransactionEvent", updated) // retransmission
	live := sessionByTx(t, ts, "TX-201", "T-1")
	if live["energyWh"] != float64(2000) || live["chargingState"] != "Charging" || live["evseId"] != float64(1) {
		t.Fatalf("live session %v", live)
	}
	ended := txEvent("Ended", 2, t0.Add(40*time.Minute), "T-1", map[string]any{"triggerReason": "EVCommunicationLost",
		"meterValue": energyMeter(t0.Add(40*time.Minute), 9500, "Transaction.End")})
	ended["transactionInfo"].(map[string]any)["stoppedReason"] = "EVDisconnected"
	st.MustCall("TransactionEvent", ended)
	done := sessionByTx(t, ts, "TX-201", "T-1")
	if done["status"] != "completed" || done["energyWh"] != float64(9000) || done["meterStopWh"] != float64(9500) ||
		done["stopReason"] != "EVDisconnected" || done["startedAt"] != ts3339(t0) || done["stoppedAt"] != ts3339(t0.Add(40*time.Minute)) {
		t.Fatalf("completed session %v", done)
	}
	mv := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions/"+done["id"].(string)+"/meter-values", nil)
	items := mv["items"].([]any)
	if len(items) != 4 || items[1].(map[string]any)["value"] != float64(2500) && items[2].(map[string]any)["value"] != float64(11000) {
		t.Fatalf("meter values %v", items)
	}

	// Out of order (offline backlog delivered late): Ended arrives before Updated and Started.
	t1 := t0.Add(2 * time.Hour)
	st.MustCall("TransactionEvent", txEvent("Ended", 2, t1.Add(30*time.Minute), "T-2", map[string]any{"meterValue": energyMeter(t1.Add(30*time.Minute), 4000, "Transaction.End"), "offline": true}))
	st.MustCall("TransactionEvent", txEvent("Updated", 1, t1.Add(15*time.Minute), "T-2", map[string]any{"meterValue": energyMeter(t1.Add(15*time.Minute), 2500, "Sample.Periodic"), "offline": true}))
	st.MustCall("TransactionEvent", txEvent("Started", 0, t1, "T-2", map[string]any{"evse": map[string]any{"id": 2, "connectorId": 1},
		"idToken": map[string]any{"idToken": "TAG-OK", "type": "ISO14443"}, "meterValue": energyMeter(t1, 1000, "Transaction.Begin"), "offline": true}))
	late := sessionByTx(t, ts, "TX-201", "T-2")
	if late["status"] != "completed" || late["energyWh"] != float64(3000) || late["startedAt"] != ts3339(t1) ||
		late["stoppedAt"] != ts3339(t1.Add(30*time.Minute)) || late["evseId"] != float64(2) || late["idToken"] != "TAG-OK" {
		t.Fatalf("out-of-order session %v", late)
	}

	// seqNo restarting at 0 (station reboot) on a new transaction is fine.
	st.MustCall("TransactionEvent", txEvent("Started", 0, t1.Add(time.Hour), "T-3", map[string]any{"evse": map[string]any{"id": 1}}))
	st.MustCall("TransactionEvent", txEvent("Updated", 0, t1.Add(time.Hour+time.Minute), "T-3", nil))
	if s := sessionByTx(t, ts, "TX-201", "T-3"); s["status"] != "active" {
		t.Fatalf("T-3 %v", s)
	}
}

func TestRemoteStartStop(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	createTokens(t, ts)

	s16 := ts.dial("RS-16", "1.6")
	s16.MustCall("BootNotification", boot16())
	s16.Handle("RemoteStartTransaction", func(p json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	s16.Handle("RemoteStopTransaction", func(p json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	res := ts.mustDo(http.StatusAccepted, "POST", "/api/v1/sessions", map[string]any{"stationId": "RS-16", "evseId": 1, "idToken": "TAG-OK"})
	rsID := res["remoteStartId"].(float64)
	got := s16.Received()
	if len(got) != 1 || got[0].Action != "RemoteStartTransaction" || string(got[0].Payload) != `{"connectorId":1,"idTag":"TAG-OK"}` {
		t.Fatalf("station received %v", got)
	}
	start := decode[map[string]any](t, s16.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": nowRFC3339()}))
	sess := sessionByTx(t, ts, "RS-16", fmt.Sprint(start["transactionId"]))
	if sess["remoteStartId"] != rsID {
		t.Fatalf("session not linked to remote start %v: %v", rsID, sess)
	}
	ts.mustDo(http.StatusAccepted, "POST", "/api/v1/sessions/"+sess["id"].(string)+"/stop", nil)
	if got := s16.Received(); got[len(got)-1].Action != "RemoteStopTransaction" {
		t.Fatalf("station received %v", got)
	}
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/sessions", map[string]any{"stationId": "RS-16", "evseId": 1, "idToken": "TAG-BLK"})
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/sessions", map[string]any{"stationId": "RS-16", "evseId": 1})
	ts.mustDo(http.StatusNotFound, "POST", "/api/v1/sessions", map[string]any{"stationId": "NOPE", "evseId": 1, "idToken": "TAG-OK"})

	s201 := ts.dial("RS-201", "2.0.1")
	s201.MustCall("BootNotification", boot201())
	var remoteStartID float64
	s201.Handle("RequestStartTransaction", func(p json.RawMessage) any {
		remoteStartID = decode[map[string]any](t, p)["remoteStartId"].(float64)
		return map[string]any{"status": "Accepted"}
	})
	s201.Handle("RequestStopTransaction", func(p json.RawMessage) any { return map[string]any{"status": "Rejected"} })
	res = ts.mustDo(http.StatusAccepted, "POST", "/api/v1/sessions", map[string]any{"stationId": "RS-201", "evseId": 2, "idToken": "TAG-OK"})
	if res["remoteStartId"] != remoteStartID {
		t.Fatalf("remoteStartId %v vs sent %v", res, remoteStartID)
	}
	started := txEvent("Started", 0, time.Now(), "R-1", map[string]any{"triggerReason": "RemoteStart",
		"evse": map[string]any{"id": 2, "connectorId": 1}, "idToken": map[string]any{"idToken": "TAG-OK", "type": "Central"}})
	started["transactionInfo"].(map[string]any)["remoteStartId"] = remoteStartID
	s201.MustCall("TransactionEvent", started)
	s201.Received() // (checked against the schema as they arrived)
	list := ts.mustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/sessions?remoteStartId=%d", int(remoteStartID)), nil)
	items := list["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["transactionId"] != "R-1" {
		t.Fatalf("remote-started session %v", list)
	}
	out := ts.mustDo(http.StatusConflict, "POST", "/api/v1/sessions/"+items[0].(map[string]any)["id"].(string)+"/stop", nil)
	if errorCode(out) != "conflict" {
		t.Fatalf("rejected stop %v", out)
	}
}

func TestStaleSessionClosed(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) {
		c.UnknownStations = "accept"
		c.SessionTimeout = 300 * time.Millisecond
		c.sweepEvery = 100 * time.Millisecond
	})
	st := ts.dial("STALE-16", "1.6")
	st.MustCall("BootNotification", boot16())
	r := decode[map[string]any](t, st.MustCall("StartTransaction", map[string]any{"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": nowRFC3339()}))
	tx := fmt.Sprint(r["transactionId"])
	// The station "reboots" and never sends its stop.
	st.Close()
	eventually(t, "stale session closed", func() bool {
		return sessionByTx(t, ts, "STALE-16", tx)["status"] == "completed"
	})
	s := sessionByTx(t, ts, "STALE-16", tx)
	if s["flag"] == nil || s["flag"] == "" {
		t.Fatalf("stale session not flagged: %v", s)
	}
	// The real stop arriving later still wins.
	st = ts.dial("STALE-16", "1.6")
	st.MustCall("StopTransaction", map[string]any{"transactionId": r["transactionId"], "meterStop": 3000, "timestamp": nowRFC3339(), "reason": "Reboot"})
	s = sessionByTx(t, ts, "STALE-16", tx)
	if s["status"] != "completed" || s["energyWh"] != float64(3000) || s["stopReason"] != "Reboot" || s["flag"] != nil {
		t.Fatalf("after the late stop: %v", s)
	}
}

// TestStaleSession201AsksStation: before closing a quiet 2.0.1 session on a connected station,
// the server asks GetTransactionStatus and keeps a transaction that is still going on.
func TestStaleSession201AsksStation(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) {
		c.UnknownStations = "accept"
		c.SessionTimeout = 300 * time.Millisecond
		c.sweepEvery = 100 * time.Millisecond
	})
	st := ts.dial("STALE-201", "2.0.1")
	st.MustCall("BootNotification", boot201())
	var ongoing sync.Mutex
	running := true
	asked := make(chan string, 100)
	st.Handle("GetTransactionStatus", func(p json.RawMessage) any {
		asked <- decode[map[string]any](t, p)["transactionId"].(string)
		ongoing.Lock()
		defer ongoing.Unlock()
		return map[string]any{"ongoingIndicator": running, "messagesInQueue": false}
	})
	st.MustCall("TransactionEvent", txEvent("Started", 0, time.Now(), "Q-1", map[string]any{"evse": map[string]any{"id": 1}}))
	for range 3 {
		select {
		case id := <-asked:
			if id != "Q-1" {
				t.Fatalf("asked about %q", id)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the server never asked GetTransactionStatus")
		}
	}
	if s := sessionByTx(t, ts, "STALE-201", "Q-1"); s["status"] != "active" {
		t.Fatalf("a running transaction was closed: %v", s)
	}
	ongoing.Lock()
	running = false
	ongoing.Unlock()
	eventually(t, "quiet finished transaction closed", func() bool {
		return sessionByTx(t, ts, "STALE-201", "Q-1")["status"] == "completed"
	})
}
