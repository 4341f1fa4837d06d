package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpptest"
)

// commandCase is one typed command on one OCPP version: the API input, the OCPP call the
// station must receive (want: the exact payload, or nil to compare with the input itself), and
// the station answers that mean accepted and rejected.
type commandCase struct {
	command string
	input   map[string]any
	action  string
	want    map[string]any
	accept  map[string]any
	reject  map[string]any // nil: the answer has no refusal status
	// autoRequestID: the command fills in requestId when the input has none.
	autoRequestID bool
}

func status(s string) map[string]any { return map[string]any{"status": s} }

var certHash = map[string]any{"hashAlgorithm": "SHA256", "issuerNameHash": "aa11", "issuerKeyHash": "bb22", "serialNumber": "01"}

var profileInput = map[string]any{"evseId": 1, "profile": map[string]any{
	"id": 7, "stackLevel": 1, "purpose": "TxDefault", "kind": "Absolute",
	"schedule": map[string]any{"chargingRateUnit": "A", "startSchedule": "2026-11-24T00:00:00Z",
		"periods": []any{map[string]any{"startPeriod": 0, "limit": 16.0}, map[string]any{"startPeriod": 3600, "limit": 10.0, "numberPhases": 3}}},
}}

func commandCases16() []commandCase {
	return []commandCase{
		{command: "reset", input: map[string]any{"type": "Hard"}, action: "Reset", want: map[string]any{"type": "Hard"}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "reset", input: map[string]any{"type": "OnIdle"}, action: "Reset", want: map[string]any{"type": "Soft"}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "changeAvailability", input: map[string]any{"evseId": 2, "status": "Inoperative"}, action: "ChangeAvailability",
			want: map[string]any{"connectorId": 2, "type": "Inoperative"}, accept: status("Scheduled"), reject: status("Rejected")},
		{command: "unlockConnector", input: map[string]any{"evseId": 1}, action: "UnlockConnector",
			want: map[string]any{"connectorId": 1}, accept: status("Unlocked"), reject: status("UnlockFailed")},
		{command: "triggerMessage", input: map[string]any{"message": "StatusNotification", "evseId": 1}, action: "TriggerMessage",
			want: map[string]any{"requestedMessage": "StatusNotification", "connectorId": 1}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "getConfiguration", input: map[string]any{"keys": []any{"HeartbeatInterval"}}, action: "GetConfiguration",
			want:   map[string]any{"key": []any{"HeartbeatInterval"}},
			accept: map[string]any{"configurationKey": []any{map[string]any{"key": "HeartbeatInterval", "readonly": false, "value": "300"}}}},
		{command: "setConfiguration", input: map[string]any{"key": "HeartbeatInterval", "value": "60"}, action: "ChangeConfiguration",
			want: map[string]any{"key": "HeartbeatInterval", "value": "60"}, accept: status("RebootRequired"), reject: status("NotSupported")},
		{command: "clearCache", input: map[string]any{}, action: "ClearCache", want: map[string]any{}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "dataTransfer", input: map[string]any{"vendorId": "com.acme", "messageId": "ping", "data": "hello"}, action: "DataTransfer",
			want: map[string]any{"vendorId": "com.acme", "messageId": "ping", "data": "hello"}, accept: status("Accepted"), reject: status("UnknownVendorId")},
		{command: "sendLocalList", input: map[string]any{"updateType": "Differential", "version": 4, "entries": []any{
			map[string]any{"idToken": "A1", "status": "Accepted", "groupId": "G1"}, map[string]any{"idToken": "B2"}}},
			action: "SendLocalList", want: map[string]any{"listVersion": 4, "updateType": "Differential", "localAuthorizationList": []any{
				map[string]any{"idTag": "A1", "idTagInfo": map[string]any{"status": "Accepted", "parentIdTag": "G1"}}, map[string]any{"idTag": "B2"}}},
			accept: status("Accepted"), reject: status("VersionMismatch")},
		{command: "getLocalListVersion", input: map[string]any{}, action: "GetLocalListVersion", want: map[string]any{}, accept: map[string]any{"listVersion": 3}},
		{command: "setChargingProfile", input: profileInput, action: "SetChargingProfile", want: map[string]any{"connectorId": 1, "csChargingProfiles": map[string]any{
			"chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
			"chargingSchedule": map[string]any{"chargingRateUnit": "A", "startSchedule": "2026-11-24T00:00:00Z", "chargingSchedulePeriod": []any{
				map[string]any{"startPeriod": 0, "limit": 16}, map[string]any{"startPeriod": 3600, "limit": 10, "numberPhases": 3}}}}},
			accept: status("Accepted"), reject: status("Rejected")},
		{command: "clearChargingProfile", input: map[string]any{"evseId": 1, "purpose": "StationMax"}, action: "ClearChargingProfile",
			want: map[string]any{"connectorId": 1, "chargingProfilePurpose": "ChargePointMaxProfile"}, accept: status("Accepted"), reject: status("Unknown")},
		{command: "getCompositeSchedule", input: map[string]any{"evseId": 1, "duration": 3600, "chargingRateUnit": "W"}, action: "GetCompositeSchedule",
			want: map[string]any{"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "extendedTriggerMessage", input: map[string]any{"requestedMessage": "SignChargePointCertificate"}, action: "ExtendedTriggerMessage",
			accept: status("Accepted"), reject: status("Rejected")},
		{command: "certificateSigned", input: map[string]any{"certificateChain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}, action: "CertificateSigned",
			accept: status("Accepted"), reject: status("Rejected")},
		{command: "installCertificate", input: map[string]any{"certificateType": "CentralSystemRootCertificate", "certificate": "-----BEGIN CERTIFICATE-----"},
			action: "InstallCertificate", accept: status("Accepted"), reject: status("Rejected")},
		{command: "deleteCertificate", input: map[string]any{"certificateHashData": certHash}, action: "DeleteCertificate", accept: status("Accepted"), reject: status("NotFound")},
		{command: "getInstalledCertificateIds", input: map[string]any{"certificateType": "CentralSystemRootCertificate"}, action: "GetInstalledCertificateIds",
			accept: map[string]any{"status": "Accepted", "certificateHashData": []any{certHash}}, reject: status("NotFound")},
	}
}

func commandCases201() []commandCase {
	comp := func(name string) map[string]any { return map[string]any{"name": name} }
	return []commandCase{
		{command: "reset", input: map[string]any{"type": "Soft"}, action: "Reset", want: map[string]any{"type": "OnIdle"}, accept: status("Scheduled"), reject: status("Rejected")},
		{command: "reset", input: map[string]any{"type": "Immediate", "evseId": 2}, action: "Reset", want: map[string]any{"type": "Immediate", "evseId": 2}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "changeAvailability", input: map[string]any{"evseId": 2, "connectorId": 1, "status": "Operative"}, action: "ChangeAvailability",
			want: map[string]any{"evse": map[string]any{"id": 2, "connectorId": 1}, "operationalStatus": "Operative"}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "changeAvailability", input: map[string]any{"status": "Inoperative"}, action: "ChangeAvailability",
			want: map[string]any{"operationalStatus": "Inoperative"}, accept: status("Scheduled"), reject: status("Rejected")},
		{command: "unlockConnector", input: map[string]any{"evseId": 1, "connectorId": 2}, action: "UnlockConnector",
			want: map[string]any{"evseId": 1, "connectorId": 2}, accept: status("Unlocked"), reject: status("OngoingAuthorizedTransaction")},
		{command: "triggerMessage", input: map[string]any{"message": "TransactionEvent", "evseId": 1}, action: "TriggerMessage",
			want: map[string]any{"requestedMessage": "TransactionEvent", "evse": map[string]any{"id": 1}}, accept: status("Accepted"), reject: status("NotImplemented")},
		{command: "getConfiguration", input: map[string]any{"keys": []any{"OCPPCommCtrlr/HeartbeatInterval", "EVSE@1/Power"}}, action: "GetVariables",
			want: map[string]any{"getVariableData": []any{
				map[string]any{"component": comp("OCPPCommCtrlr"), "variable": comp("HeartbeatInterval")},
				map[string]any{"component": map[string]any{"name": "EVSE", "evse": map[string]any{"id": 1}}, "variable": comp("Power")}}},
			accept: map[string]any{"getVariableResult": []any{
				map[string]any{"attributeStatus": "Accepted", "attributeValue": "300", "component": comp("OCPPCommCtrlr"), "variable": comp("HeartbeatInterval")},
				map[string]any{"attributeStatus": "UnknownVariable", "component": map[string]any{"name": "EVSE", "evse": map[string]any{"id": 1}}, "variable": comp("Power")}}}},
		{command: "setConfiguration", input: map[string]any{"key": "OCPPCommCtrlr/HeartbeatInterval", "value": "60"}, action: "SetVariables",
			want:   map[string]any{"setVariableData": []any{map[string]any{"attributeValue": "60", "component": comp("OCPPCommCtrlr"), "variable": comp("HeartbeatInterval")}}},
			accept: map[string]any{"setVariableResult": []any{map[string]any{"attributeStatus": "Accepted", "component": comp("OCPPCommCtrlr"), "variable": comp("HeartbeatInterval")}}},
			reject: map[string]any{"setVariableResult": []any{map[string]any{"attributeStatus": "Rejected", "component": comp("OCPPCommCtrlr"), "variable": comp("HeartbeatInterval")}}}},
		{command: "clearCache", input: map[string]any{}, action: "ClearCache", want: map[string]any{}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "dataTransfer", input: map[string]any{"vendorId": "com.acme", "data": map[string]any{"n": 1}}, action: "DataTransfer",
			want: map[string]any{"vendorId": "com.acme", "data": map[string]any{"n": 1}}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "sendLocalList", input: map[string]any{"updateType": "Full", "version": 2, "entries": []any{
			map[string]any{"idToken": "A1", "type": "eMAID", "status": "Blocked", "expiresAt": "2027-01-01T00:00:00Z"}}},
			action: "SendLocalList", want: map[string]any{"versionNumber": 2, "updateType": "Full", "localAuthorizationList": []any{map[string]any{
				"idToken": map[string]any{"idToken": "A1", "type": "eMAID"}, "idTokenInfo": map[string]any{"status": "Blocked", "cacheExpiryDateTime": "2027-01-01T00:00:00Z"}}}},
			accept: status("Accepted"), reject: status("Failed")},
		{command: "getLocalListVersion", input: map[string]any{}, action: "GetLocalListVersion", want: map[string]any{}, accept: map[string]any{"versionNumber": 5}},
		{command: "setChargingProfile", input: profileInput, action: "SetChargingProfile", want: map[string]any{"evseId": 1, "chargingProfile": map[string]any{
			"id": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
			"chargingSchedule": []any{map[string]any{"id": 7, "chargingRateUnit": "A", "startSchedule": "2026-11-24T00:00:00Z", "chargingSchedulePeriod": []any{
				map[string]any{"startPeriod": 0, "limit": 16}, map[string]any{"startPeriod": 3600, "limit": 10, "numberPhases": 3}}}}}},
			accept: status("Accepted"), reject: status("Rejected")},
		{command: "clearChargingProfile", input: map[string]any{"profileId": 7}, action: "ClearChargingProfile",
			want: map[string]any{"chargingProfileId": 7}, accept: status("Accepted"), reject: status("Unknown")},
		{command: "getCompositeSchedule", input: map[string]any{"evseId": 0, "duration": 600}, action: "GetCompositeSchedule",
			want: map[string]any{"evseId": 0, "duration": 600}, accept: status("Accepted"), reject: status("Rejected")},
		{command: "certificateSigned", input: map[string]any{"certificateChain": "-----BEGIN CERTIFICATE-----", "certificateType": "ChargingStationCertificate"},
			action: "CertificateSigned", accept: status("Accepted"), reject: status("Rejected")},
		{command: "installCertificate", input: map[string]any{"certificateType": "CSMSRootCertificate", "certificate": "-----BEGIN CERTIFICATE-----"},
			action: "InstallCertificate", accept: status("Accepted"), reject: status("Failed")},
		{command: "deleteCertificate", input: map[string]any{"certificateHashData": certHash}, action: "DeleteCertificate", accept: status("Accepted"), reject: status("NotFound")},
		{command: "getInstalledCertificateIds", input: map[string]any{"certificateType": []any{"CSMSRootCertificate"}}, action: "GetInstalledCertificateIds",
			accept: status("Accepted"), reject: status("NotFound")},
		{command: "getVariables", input: map[string]any{"getVariableData": []any{map[string]any{"component": comp("AuthCtrlr"), "variable": comp("Enabled")}}},
			action: "GetVariables", accept: map[string]any{"getVariableResult": []any{map[string]any{"attributeStatus": "Accepted", "attributeValue": "true",
				"component": comp("AuthCtrlr"), "variable": comp("Enabled")}}}},
		{command: "setVariables", input: map[string]any{"setVariableData": []any{map[string]any{"attributeValue": "false", "component": comp("AuthCtrlr"), "variable": comp("Enabled")}}},
			action: "SetVariables", accept: map[string]any{"setVariableResult": []any{map[string]any{"attributeStatus": "Accepted", "component": comp("AuthCtrlr"), "variable": comp("Enabled")}}}},
		{command: "getBaseReport", input: map[string]any{"reportBase": "SummaryInventory"}, action: "GetBaseReport", autoRequestID: true,
			accept: status("Accepted"), reject: status("NotSupported")},
		{command: "getReport", input: map[string]any{"requestId": 9, "componentCriteria": []any{"Active"}}, action: "GetReport", accept: status("Accepted"), reject: status("EmptyResultSet")},
		{command: "setNetworkProfile", input: map[string]any{"configurationSlot": 1, "connectionData": map[string]any{"ocppVersion": "OCPP20", "ocppTransport": "JSON",
			"ocppCsmsUrl": "wss://csms.example/ocpp", "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}},
			action: "SetNetworkProfile", accept: status("Accepted"), reject: status("Rejected")},
		{command: "getChargingProfiles", input: map[string]any{"chargingProfile": map[string]any{"chargingProfilePurpose": "TxProfile"}}, action: "GetChargingProfiles",
			autoRequestID: true, accept: status("Accepted"), reject: status("NoProfiles")},
		{command: "setDisplayMessage", input: map[string]any{"message": map[string]any{"id": 1, "priority": "NormalCycle", "message": map[string]any{"format": "UTF8", "content": "Welcome"}}},
			action: "SetDisplayMessage", accept: status("Accepted"), reject: status("NotSupportedPriority")},
		{command: "getDisplayMessages", input: map[string]any{"priority": "AlwaysFront"}, action: "GetDisplayMessages", autoRequestID: true,
			accept: status("Accepted"), reject: status("Unknown")},
		{command: "clearDisplayMessage", input: map[string]any{"id": 1}, action: "ClearDisplayMessage", accept: status("Accepted"), reject: status("Unknown")},
		{command: "customerInformation", input: map[string]any{"report": true, "clear": false, "customerIdentifier": "cust-1"}, action: "CustomerInformation",
			autoRequestID: true, accept: status("Accepted"), reject: status("Invalid")},
		{command: "setVariableMonitoring", input: map[string]any{"setMonitoringData": []any{map[string]any{"value": 11000, "type": "UpperThreshold", "severity": 4,
			"component": comp("EVSE"), "variable": comp("Power")}}}, action: "SetVariableMonitoring",
			accept: map[string]any{"setMonitoringResult": []any{map[string]any{"status": "Accepted", "type": "UpperThreshold", "severity": 4, "component": comp("EVSE"), "variable": comp("Power")}}}},
		{command: "setMonitoringBase", input: map[string]any{"monitoringBase": "FactoryDefault"}, action: "SetMonitoringBase", accept: status("Accepted"), reject: status("NotSupported")},
		{command: "setMonitoringLevel", input: map[string]any{"severity": 3}, action: "SetMonitoringLevel", accept: status("Accepted"), reject: status("Rejected")},
		{command: "clearVariableMonitoring", input: map[string]any{"id": []any{1, 2}}, action: "ClearVariableMonitoring",
			accept: map[string]any{"clearMonitoringResult": []any{map[string]any{"status": "Accepted", "id": 1}, map[string]any{"status": "NotFound", "id": 2}}}},
		{command: "getMonitoringReport", input: map[string]any{"monitoringCriteria": []any{"ThresholdMonitoring"}}, action: "GetMonitoringReport",
			autoRequestID: true, accept: status("Accepted"), reject: status("Rejected")},
	}
}

// asJSON round-trips v through JSON so that numbers compare alike.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTypedCommands sends every command of both versions to a test station over a real
// WebSocket (every frame it gets is checked against the official schema) and checks the
// translated call, and that accepted, rejected, CALLERROR and timeout answers come back through
// the API and into the audit log.
func TestTypedCommands(t *testing.T) {
	ts := startServer(t, nil)
	for _, tc := range []struct {
		id, version string
		boot        map[string]any
		cases       []commandCase
	}{
		{"CMD-16", "1.6", boot16(), commandCases16()},
		{"CMD-201", "2.0.1", boot201(), commandCases201()},
	} {
		t.Run(tc.version, func(t *testing.T) {
			ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": tc.id})
			st := ts.dial(tc.id, tc.version)
			st.MustCall("BootNotification", tc.boot)
			covered := map[string]bool{}
			for _, c := range tc.cases {
				covered[c.command] = true
				path := "/api/v1/stations/" + tc.id + "/commands/" + c.command
				var answer map[string]any
				st.Handle(c.action, func(json.RawMessage) any { return answer })

				// Accepted: the station got the translated call; the answer comes back normalised.
				answer = c.accept
				n := len(st.Received())
				out := ts.mustDo(http.StatusOK, "POST", path, c.input)
				got := st.Received()
				if len(got) != n+1 || got[n].Action != c.action {
					t.Fatalf("%s: station received %v, want one %s", c.command, got[n:], c.action)
				}
				var payload map[string]any
				_ = json.Unmarshal(got[n].Payload, &payload)
				want := c.want
				if want == nil {
					want = c.input
				}
				if c.autoRequestID {
					if id, ok := payload["requestId"].(float64); !ok || id < 1 {
						t.Errorf("%s: requestId not filled in: %v", c.command, payload)
					}
					delete(payload, "requestId")
				}
				if !reflect.DeepEqual(payload, asJSON(t, want)) {
					t.Errorf("%s: station received %v, want %v", c.command, payload, asJSON(t, want))
				}
				if out["command"] != c.command || out["action"] != c.action || out["ocppVersion"] != tc.version || out["stationId"] != tc.id {
					t.Errorf("%s: result %v", c.command, out)
				}
				if !reflect.DeepEqual(out["response"], asJSON(t, c.accept)) {
					t.Errorf("%s: response %v, want %v", c.command, out["response"], c.accept)
				}
				if wantStatus, ok := c.accept["status"]; ok && (out["status"] != wantStatus || out["accepted"] != true) {
					t.Errorf("%s: accepted answer gave status %v accepted %v", c.command, out["status"], out["accepted"])
				}

				// Rejected: 200 with the station's status and accepted false.
				if c.reject != nil {
					answer = c.reject
					out = ts.mustDo(http.StatusOK, "POST", path, c.input)
					if out["accepted"] != false || out["status"] == "Accepted" {
						t.Errorf("%s: rejected answer gave %v", c.command, out)
					}
				}

				// CALLERROR: 502 with the station's code.
				answer = nil
				st.Handle(c.action, func(json.RawMessage) any {
					return &ocpptest.CallErrorReply{Code: "InternalError", Description: "boom"}
				})
				out = ts.mustDo(http.StatusBadGateway, "POST", path, c.input)
				if errorCode(out) != "ocpp_call_error" || out["error"].(map[string]any)["ocppErrorCode"] != "InternalError" {
					t.Errorf("%s: CALLERROR gave %v", c.command, out)
				}

				// Timeout: 504.
				st.Handle(c.action, func(json.RawMessage) any { time.Sleep(250 * time.Millisecond); return c.accept })
				out = ts.mustDo(http.StatusGatewayTimeout, "POST", path+"?timeout=50ms", c.input)
				if errorCode(out) != "timeout" {
					t.Errorf("%s: timeout gave %v", c.command, out)
				}
				time.Sleep(250 * time.Millisecond) // let the late answer go before the next case

				// Invalid input: 400 naming the field, nothing sent.
				n = len(st.Received())
				bad := map[string]any{"bogusField": 1}
				for k, v := range c.input {
					bad[k] = v
				}
				out = ts.mustDo(http.StatusBadRequest, "POST", path, bad)
				if errorCode(out) != "invalid_request" || !strings.Contains(out["error"].(map[string]any)["message"].(string), "bogusField") {
					t.Errorf("%s: invalid input gave %v", c.command, out)
				}
				if len(st.Received()) != n {
					t.Errorf("%s: invalid input reached the station", c.command)
				}
			}

			// Every command the version offers is covered above (remote start/stop go through
			// /api/v1/sessions and have their own tests).
			list := ts.mustDo(http.StatusOK, "GET", "/api/v1/commands?ocppVersion="+tc.version, nil)
			for _, it := range list["items"].([]any) {
				c := it.(map[string]any)
				name := c["name"].(string)
				if c["via"] != nil {
					if status, body := ts.do("POST", "/api/v1/stations/"+tc.id+"/commands/"+name, map[string]any{}); status != http.StatusBadRequest {
						t.Errorf("%s through /commands = %d %v; want 400 pointing to %v", name, status, body, c["via"])
					}
					continue
				}
				if !covered[name] {
					t.Errorf("command %s (OCPP %s) has no test case", name, tc.version)
				}
			}

			// The audit log names the OCPP action, the actor, the request and the answer or error.
			audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId="+tc.id+"&limit=500", nil)
			byAction := map[string][]map[string]any{}
			for _, it := range audit["items"].([]any) {
				e := it.(map[string]any)
				byAction[e["action"].(string)] = append(byAction[e["action"].(string)], e)
			}
			for _, c := range tc.cases {
				entries := byAction[c.action]
				if len(entries) < 3 {
					t.Errorf("audit has %d %s entries, want at least 3", len(entries), c.action)
					continue
				}
				var ok, failed bool
				for _, e := range entries {
					if e["actor"] != "api-token" || e["request"] == nil {
						t.Errorf("audit entry %v", e)
					}
					ok = ok || e["response"] != nil
					failed = failed || e["error"] != nil
				}
				if !ok || !failed {
					t.Errorf("audit entries of %s lack a response or an error", c.action)
				}
			}
		})
	}
}

// TestCommandErrors covers what is refused before anything is sent.
func TestCommandErrors(t *testing.T) {
	ts := startServer(t, nil)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CE-16"})
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/stations/CE-16/commands/reset", map[string]any{"type": "Hard"}) // never connected
	ts.mustDo(http.StatusNotFound, "POST", "/api/v1/stations/NOPE/commands/reset", map[string]any{"type": "Hard"})
	st := ts.dial("CE-16", "1.6")
	st.MustCall("BootNotification", boot16())
	ts.mustDo(http.StatusNotFound, "POST", "/api/v1/stations/CE-16/commands/explode", map[string]any{})
	for _, tc := range []struct {
		command string
		body    any
		field   string
	}{
		{"reset", map[string]any{}, `"type"`},
		{"reset", map[string]any{"type": "Warm"}, `"type"`},
		{"reset", map[string]any{"type": "Hard", "evseId": 1}, `"evseId"`},
		{"unlockConnector", map[string]any{}, `"evseId"`},
		{"unlockConnector", map[string]any{"evseId": "one"}, `"evseId"`},
		{"changeAvailability", map[string]any{"evseId": 1, "status": "Broken"}, `"status"`},
		{"triggerMessage", map[string]any{"message": "TransactionEvent"}, `"message"`},
		{"setConfiguration", map[string]any{"key": "HeartbeatInterval"}, `"value"`},
		{"dataTransfer", map[string]any{"vendorId": "x", "data": map[string]any{"a": 1}}, `"data"`},
		{"sendLocalList", map[string]any{"updateType": "Full", "version": 1, "entries": []any{map[string]any{"idToken": "A"}}}, `"entries[0].status"`},
		{"setChargingProfile", map[string]any{"evseId": 1, "profile": map[string]any{"id": 1, "purpose": "Tx", "kind": "Absolute",
			"schedule": map[string]any{"chargingRateUnit": "A", "periods": []any{map[string]any{"startPeriod": 5, "limit": 1}}}}}, `"profile.schedule.periods[0].startPeriod"`},
		{"getCompositeSchedule", map[string]any{"evseId": 1}, `"duration"`},
		{"getVariables", map[string]any{"getVariableData": []any{}}, "OCPP 2.0.1"},
		{"installCertificate", map[string]any{"certificateType": "V2GRootCertificate", "certificate": "x"}, "certificateType"},
		{"remoteStart", map[string]any{}, "/api/v1/sessions"},
	} {
		status, out := ts.do("POST", "/api/v1/stations/CE-16/commands/"+tc.command, tc.body)
		msg, _ := out["error"].(map[string]any)["message"].(string)
		if status != http.StatusBadRequest || !strings.Contains(msg, tc.field) {
			t.Errorf("%s %v = %d %q; want 400 naming %s", tc.command, tc.body, status, msg, tc.field)
		}
	}
	if got := st.Received(); len(got) != 0 {
		t.Errorf("refused commands reached the station: %v", got)
	}
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/stations/CE-16/commands/reset?timeout=soon", map[string]any{"type": "Hard"})
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/commands?ocppVersion=2.1", nil)
	st.Close()
	eventually(t, "station offline", func() bool {
		_, s := ts.do("GET", "/api/v1/stations/CE-16", nil)
		return s["connected"] == false
	})
	out := ts.mustDo(http.StatusConflict, "POST", "/api/v1/stations/CE-16/commands/reset", map[string]any{"type": "Hard"})
	if errorCode(out) != "station_offline" {
		t.Errorf("offline station: %v", out)
	}
}
