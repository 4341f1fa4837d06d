package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpptest"
)

func boot16() map[string]any {
	return map[string]any{"chargePointVendor": "ACME", "chargePointModel": "Wallbox-1", "chargePointSerialNumber": "SN-16", "firmwareVersion": "1.2.3"}
}

func boot201() map[string]any {
	return map[string]any{"reason": "PowerUp", "chargingStation": map[string]any{"vendorName": "ACME", "model": "DC-50", "serialNumber": "SN-201", "firmwareVersion": "4.5"}}
}

func TestStationLifecycle16(t *testing.T) {
	ts := startServer(t, nil)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CP-16", "name": "Depot 1"})
	st := ts.dial("CP-16", "1.6")
	if st.Subprotocol() != "ocpp1.6" {
		t.Fatalf("subprotocol %q", st.Subprotocol())
	}
	res := decode[map[string]any](t, st.MustCall("BootNotification", boot16()))
	if res["status"] != "Accepted" || res["interval"] != float64(60) {
		t.Fatalf("boot answer %v", res)
	}
	hb := decode[map[string]any](t, st.MustCall("Heartbeat", map[string]any{}))
	if _, err := time.Parse(time.RFC3339, hb["currentTime"].(string)); err != nil {
		t.Fatalf("heartbeat time %v", hb)
	}
	st.MustCall("StatusNotification", map[string]any{"connectorId": 0, "errorCode": "NoError", "status": "Available"})
	st.MustCall("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": nowRFC3339()})
	st.MustCall("StatusNotification", map[string]any{"connectorId": 2, "errorCode": "GroundFailure", "status": "Faulted", "timestamp": nowRFC3339()})
	st.MustCall("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "SuspendedEV", "timestamp": nowRFC3339()})

	got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CP-16", nil)
	if got["connected"] != true || got["ocppVersion"] != "1.6" || got["vendor"] != "ACME" || got["model"] != "Wallbox-1" ||
		got["serialNumber"] != "SN-16" || got["firmwareVersion"] != "1.2.3" || got["registrationStatus"] != "Accepted" || got["name"] != "Depot 1" {
		t.Fatalf("station %v", got)
	}
	if got["lastSeenAt"] == nil {
		t.Fatal("lastSeenAt not set")
	}
	evses, _ := json.Marshal(got["evses"])
	want := `[{"connectors":[{"errorCode":"NoError","id":1,"ocppStatus":"SuspendedEV","status":"Occupied"`
	if !strings.HasPrefix(string(evses), want) || !strings.Contains(string(evses), `"errorCode":"GroundFailure","id":1,"ocppStatus":"Faulted","status":"Faulted"`) {
		t.Fatalf("evses %s", evses)
	}
	if strings.Contains(string(evses), `"id":0`) {
		t.Fatalf("connector 0 shows as an EVSE: %s", evses)
	}

	st.Close()
	eventually(t, "disconnect recorded", func() bool {
		_, s := ts.do("GET", "/api/v1/stations/CP-16", nil)
		return s["connected"] == false
	})
}

func TestStationLifecycle201(t *testing.T) {
	ts := startServer(t, nil)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CS-201"})
	st := ts.dial("CS-201", "2.0.1")
	res := decode[map[string]any](t, st.MustCall("BootNotification", boot201()))
	if res["status"] != "Accepted" {
		t.Fatalf("boot %v", res)
	}
	st.MustCall("Heartbeat", map[string]any{})
	st.MustCall("StatusNotification", map[string]any{"timestamp": nowRFC3339(), "connectorStatus": "Occupied", "evseId": 2, "connectorId": 1})
	st.MustCall("StatusNotification", map[string]any{"timestamp": nowRFC3339(), "connectorStatus": "Available", "evseId": 1, "connectorId": 1})
	st.MustCall("NotifyEvent", map[string]any{"generatedAt": nowRFC3339(), "seqNo": 0, "eventData": []any{map[string]any{
		"eventId": 1, "timestamp": nowRFC3339(), "trigger": "Alerting", "actualValue": "true", "eventNotificationType": "HardWiredNotification",
		"component": map[string]any{"name": "EVSE", "evse": map[string]any{"id": 1}}, "variable": map[string]any{"name": "Problem"}}}})
	st.MustCall("SecurityEventNotification", map[string]any{"type": "FirmwareUpdated", "timestamp": nowRFC3339()})

	got := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CS-201", nil)
	if got["ocppVersion"] != "2.0.1" || got["vendor"] != "ACME" || got["model"] != "DC-50" {
		t.Fatalf("station %v", got)
	}
	evses, _ := json.Marshal(got["evses"])
	if !strings.Contains(string(evses), `{"connectors":[{"errorCode":"NoError","id":1,"ocppStatus":"Occupied","status":"Occupied"`) {
		t.Fatalf("evses %s", evses)
	}
	events := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CS-201/events", nil)
	items := events["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("events %v", events)
	}
	kinds := fmt.Sprint(items[0].(map[string]any)["kind"], items[1].(map[string]any)["kind"])
	if !strings.Contains(kinds, "NotifyEvent") || !strings.Contains(kinds, "SecurityEvent") {
		t.Fatalf("event kinds %s", kinds)
	}
}

// TestEveryStationActionAnswered sends every station→CSMS action of both versions with a valid
// sample payload: none may be answered NotImplemented/NotSupported, and every answer must be
// valid against the official schema (the test station checks that).
func TestEveryStationActionAnswered(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	for _, tc := range stationActionSamples() {
		t.Run(tc.version+"/"+tc.action, func(t *testing.T) {
			id := strings.ReplaceAll("X-"+tc.version+"-"+tc.action, ".", "")
			st := ocpptest.Dial(t, ts.official, ts.wsURL(), id, tc.version, ocpptest.DialOptions{})
			reply := st.Call(tc.action, json.RawMessage(tc.payload))
			if frameType(reply) != "3" {
				t.Fatalf("%s answered %s", tc.action, reply)
			}
		})
	}
}
