package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// runModelSim registers and runs a simulated station of a given make (no EV traffic) against the
// test server until the test ends.
func runModelSim(t *testing.T, ts *testServer, id string, version ocpp.Version, vendor, model string) *sim.Station {
	t.Helper()
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": id})
	st := runStation(t, sim.StationConfig{ID: id, Version: version, URL: ts.wsURL() + "/ocpp", Vendor: vendor, Model: model,
		Seed: 1, TimeScale: 1, Behavior: sim.Behavior{ArrivalsPerDay: -1, MeanStay: 100 * time.Hour},
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond})
	eventually(t, id+" accepted", func() bool { return st.Stats().Connected == 1 })
	return st
}

// configValue is a key's value in GET /stations/{id}/configuration ("" when absent).
func configValue(ts *testServer, stationID, key string) (string, bool) {
	out := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+stationID+"/configuration", nil)
	for _, it := range out["items"].([]any) {
		item := it.(map[string]any)
		if item["key"] == key {
			return item["value"].(string), true
		}
	}
	return "", false
}

// TestConfigurationAndTemplates: the configuration of 1.6 and 2.0.1 simulated stations is read
// after their accepted boot (GetConfiguration; GetBaseReport answered with NotifyReport), kept
// current after a set, compared with templates per vendor and model, and a bulk apply brings the
// drifted stations in step.
func TestConfigurationAndTemplates(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.NoConfigRefresh = false })
	a := runModelSim(t, ts, "TPL-A", ocpp.V16, "Acme", "X1")
	_ = runModelSim(t, ts, "TPL-B", ocpp.V16, "Acme", "X1")
	_ = runModelSim(t, ts, "TPL-C", ocpp.V201, "Acme", "Y2")
	_ = a

	// Stored after boot, without anyone asking.
	for _, tc := range []struct{ id, key string }{
		{"TPL-A", "ConnectionTimeOut"}, {"TPL-B", "ConnectionTimeOut"}, {"TPL-C", "OCPPCommCtrlr/OfflineThreshold"},
	} {
		eventually(t, tc.id+" configuration stored", func() bool { _, ok := configValue(ts, tc.id, tc.key); return ok })
	}
	if v, _ := configValue(ts, "TPL-C", "OCPPCommCtrlr/OfflineThreshold"); v != "300" {
		t.Fatalf("TPL-C OfflineThreshold = %q", v)
	}
	cfgC := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/TPL-C/configuration", nil)
	if cfgC["ocppVersion"] != "2.0.1" || cfgC["items"].([]any)[0].(map[string]any)["detail"] == nil {
		t.Fatalf("2.0.1 configuration %v", cfgC)
	}
	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=TPL-C", nil)
	if e := audit["items"].([]any)[0].(map[string]any); e["action"] != "GetBaseReport" || e["actor"] != "csms" {
		t.Fatalf("refresh audit entry %v", e)
	}

	// A set through the API updates what is stored.
	out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/TPL-B/commands/setConfiguration", map[string]any{"key": "ConnectionTimeOut", "value": "120"})
	if out["status"] != "Accepted" {
		t.Fatalf("setConfiguration %v", out)
	}
	if v, _ := configValue(ts, "TPL-B", "ConnectionTimeOut"); v != "120" {
		t.Fatalf("stored ConnectionTimeOut after set = %q", v)
	}

	// Templates: drift per station of the model.
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/config-templates/acme-x1", map[string]any{"vendor": "Acme", "model": "X1",
		"values": map[string]any{"ConnectionTimeOut": "90", "ResetRetries": "5", "NoSuchKey": "1"}})
	ts.mustDo(http.StatusOK, "PUT", "/api/v1/config-templates/acme-x1", map[string]any{"vendor": "Acme", "model": "X1",
		"values": map[string]any{"ConnectionTimeOut": "90", "ResetRetries": "5"}})
	ts.mustDo(http.StatusBadRequest, "PUT", "/api/v1/config-templates/bad", map[string]any{"vendor": "Acme", "model": "X1", "values": map[string]any{}})
	drift := ts.mustDo(http.StatusOK, "GET", "/api/v1/config-templates/acme-x1/drift", nil)["items"].([]any)
	if len(drift) != 2 {
		t.Fatalf("drift lists %d stations, want the two of model X1: %v", len(drift), drift)
	}
	diffs := map[string][]any{}
	for _, d := range drift {
		m := d.(map[string]any)
		diffs[m["stationId"].(string)] = m["differences"].([]any)
	}
	if len(diffs["TPL-A"]) != 1 || len(diffs["TPL-B"]) != 2 {
		t.Fatalf("differences %v", diffs)
	}
	if d := diffs["TPL-B"][0].(map[string]any); d["key"] != "ConnectionTimeOut" || d["have"] != "120" || d["want"] != "90" {
		t.Fatalf("TPL-B difference %v", d)
	}

	// Bulk apply: only the drifted keys go, per station.
	applied := ts.mustDo(http.StatusOK, "POST", "/api/v1/config-templates/acme-x1/apply", map[string]any{})["items"].([]any)
	if len(applied) != 2 {
		t.Fatalf("apply %v", applied)
	}
	for _, it := range applied {
		m := it.(map[string]any)
		for _, r := range m["results"].([]any) {
			if r.(map[string]any)["status"] != "Accepted" {
				t.Errorf("apply %s: %v", m["stationId"], r)
			}
		}
	}
	if drifted := ts.mustDo(http.StatusOK, "GET", "/api/v1/config-templates/acme-x1/drift?drifted=true", nil)["items"].([]any); len(drifted) != 0 {
		t.Fatalf("still drifted after apply: %v", drifted)
	}
	// The station really holds the value (read back from it, not from the store).
	got := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/TPL-B/commands/getConfiguration", map[string]any{"keys": []any{"ConnectionTimeOut", "ResetRetries"}})
	if vals := got["values"].([]any); len(vals) != 2 || vals[0].(map[string]any)["value"] != "90" || vals[1].(map[string]any)["value"] != "5" {
		t.Fatalf("station values after apply %v", got)
	}

	// 2.0.1: the same through SetVariables.
	ts.mustDo(http.StatusCreated, "PUT", "/api/v1/config-templates/acme-y2", map[string]any{"vendor": "Acme", "model": "Y2",
		"values": map[string]any{"OCPPCommCtrlr/OfflineThreshold": "600"}})
	applied = ts.mustDo(http.StatusOK, "POST", "/api/v1/config-templates/acme-y2/apply", map[string]any{"stationIds": []any{"TPL-C"}})["items"].([]any)
	if len(applied) != 1 || applied[0].(map[string]any)["results"].([]any)[0].(map[string]any)["status"] != "Accepted" {
		t.Fatalf("2.0.1 apply %v", applied)
	}
	if v, _ := configValue(ts, "TPL-C", "OCPPCommCtrlr/OfflineThreshold"); v != "600" {
		t.Fatalf("stored OfflineThreshold after apply = %q", v)
	}
	// An explicit refresh reads the device model again (NotifyReport replaces what is stored).
	ts.mustDo(http.StatusAccepted, "POST", "/api/v1/stations/TPL-C/configuration/refresh", nil)
	eventually(t, "refreshed report", func() bool { v, _ := configValue(ts, "TPL-C", "OCPPCommCtrlr/OfflineThreshold"); return v == "600" })

	list := ts.mustDo(http.StatusOK, "GET", "/api/v1/config-templates", nil)["items"].([]any)
	if len(list) != 2 {
		t.Fatalf("templates %v", list)
	}
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/config-templates/acme-y2", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/config-templates/acme-y2/drift", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/NOPE/configuration", nil)
}

// TestLocalListSync keeps simulated stations' local lists in step with the token store: a Full
// list first, Differential updates after token changes, nothing when in step, a Full list again
// when the station's version is not the one we sent, and a bulk form.
func TestLocalListSync(t *testing.T) {
	ts := startServer(t, nil)
	for _, uid := range []string{"T1", "T2", "T3"} {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	s16 := runModelSim(t, ts, "LL-16", ocpp.V16, "", "")
	s201 := runModelSim(t, ts, "LL-201", ocpp.V201, "", "")
	ctx := context.Background()

	for _, tc := range []struct {
		id string
		st *sim.Station
	}{{"LL-16", s16}, {"LL-201", s201}} {
		path := "/api/v1/stations/" + tc.id + "/local-list/sync"
		ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/"+tc.id+"/local-list", nil)
		out := ts.mustDo(http.StatusOK, "POST", path, nil)
		if out["updateType"] != "Full" || out["version"] != 1.0 || out["changes"] != 3.0 || out["status"] != "Accepted" || out["stationVersion"] != 0.0 {
			t.Fatalf("%s first sync %v", tc.id, out)
		}
		version, entries, err := tc.st.LocalList(ctx)
		if err != nil || version != 1 || len(entries) != 3 || entries["T2"] != "Accepted" {
			t.Fatalf("%s station list after Full: %d %v %v", tc.id, version, entries, err)
		}
		if out := ts.mustDo(http.StatusOK, "POST", path, nil); out["status"] != "UpToDate" || out["version"] != 1.0 {
			t.Fatalf("%s sync in step %v", tc.id, out)
		}
	}

	// Token changes after the sync: a differential next time.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/tokens/T2", map[string]any{"status": "Blocked"})
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/tokens/T3", nil)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "T4", "groupId": "FLEET"})
	for _, tc := range []struct {
		id string
		st *sim.Station
	}{{"LL-16", s16}, {"LL-201", s201}} {
		out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/"+tc.id+"/local-list/sync", nil)
		if out["updateType"] != "Differential" || out["version"] != 2.0 || out["changes"] != 3.0 || out["status"] != "Accepted" {
			t.Fatalf("%s differential sync %v", tc.id, out)
		}
		version, entries, _ := tc.st.LocalList(ctx)
		want := map[string]string{"T1": "Accepted", "T2": "Blocked", "T4": "Accepted"}
		if version != 2 || len(entries) != 3 || entries["T1"] != want["T1"] || entries["T2"] != want["T2"] || entries["T4"] != want["T4"] {
			t.Fatalf("%s station list after Differential: %d %v", tc.id, version, entries)
		}
		state := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+tc.id+"/local-list", nil)
		if state["version"] != 2.0 || state["updateType"] != "Differential" || len(state["entries"].([]any)) != 3 {
			t.Fatalf("%s stored list %v", tc.id, state)
		}
	}

	// The simulator checks versions: a differential that is not newer is refused.
	out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/LL-16/commands/sendLocalList",
		map[string]any{"updateType": "Differential", "version": 2, "entries": []any{map[string]any{"idToken": "X", "status": "Accepted"}}})
	if out["status"] != "VersionMismatch" || out["accepted"] != false {
		t.Fatalf("stale differential %v", out)
	}
	// Someone else replaced the list: the version differs, so the next sync sends it all again.
	ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/LL-16/commands/sendLocalList", map[string]any{"updateType": "Full", "version": 10, "entries": []any{}})
	if v, _ := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/LL-16/commands/getLocalListVersion", nil)["listVersion"].(float64); v != 10 {
		t.Fatalf("station version %v", v)
	}
	out = ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/LL-16/local-list/sync", nil)
	if out["updateType"] != "Full" || out["version"] != 11.0 || out["stationVersion"] != 10.0 || out["changes"] != 3.0 {
		t.Fatalf("sync after foreign change %v", out)
	}
	if version, entries, _ := s16.LocalList(ctx); version != 11 || len(entries) != 3 {
		t.Fatalf("station list after resync: %d %v", version, entries)
	}

	// Bulk: every connected station, per-station results; full forces whole lists.
	ts.mustDo(http.StatusOK, "PATCH", "/api/v1/tokens/T1", map[string]any{"status": "Blocked"})
	items := ts.mustDo(http.StatusOK, "POST", "/api/v1/local-list/sync", map[string]any{})["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("bulk sync %v", items)
	}
	for _, it := range items {
		m := it.(map[string]any)
		if m["updateType"] != "Differential" || m["changes"] != 1.0 || m["status"] != "Accepted" {
			t.Errorf("bulk sync of %s: %v", m["stationId"], m)
		}
	}
	items = ts.mustDo(http.StatusOK, "POST", "/api/v1/local-list/sync", map[string]any{"stationIds": []any{"LL-201", "NOPE"}, "full": true})["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["updateType"] != "Full" || items[1].(map[string]any)["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("bulk sync with ids %v", items)
	}
	if _, entries, _ := s201.LocalList(ctx); entries["T1"] != "Blocked" {
		t.Fatalf("2.0.1 list after bulk sync %v", entries)
	}

	// Every call is in the audit log.
	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=LL-201&limit=500", nil)["items"].([]any)
	counts := map[string]int{}
	for _, it := range audit {
		counts[it.(map[string]any)["action"].(string)]++
	}
	if counts["GetLocalListVersion"] < 4 || counts["SendLocalList"] < 3 {
		t.Fatalf("audit actions %v", counts)
	}
	ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/stations/LL-16/local-list/sync", map[string]any{"full": "yes"})
}

// TestConfigRefreshAfterBoot: the boot is answered at once; the configuration is read after it
// (1.6 GetConfiguration) and a 2.0.1 full report in several NotifyReport frames replaces what
// was stored before.
func TestConfigRefreshAfterBoot(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.NoConfigRefresh = false })
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "RF-16"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "RF-201"})

	s16 := ts.dial("RF-16", "1.6")
	s16.Handle("GetConfiguration", func(json.RawMessage) any {
		return map[string]any{"configurationKey": []any{
			map[string]any{"key": "HeartbeatInterval", "readonly": false, "value": "60"},
			map[string]any{"key": "NumberOfConnectors", "readonly": true, "value": "2"}}}
	})
	start := time.Now()
	s16.MustCall("BootNotification", boot16())
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("boot answered after %v", d)
	}
	if got := s16.Received(); len(got) != 0 {
		t.Fatalf("calls before the boot's answer settled: %v", got)
	}
	eventually(t, "1.6 configuration stored", func() bool { v, _ := configValue(ts, "RF-16", "NumberOfConnectors"); return v == "2" })
	if got := s16.Received(); len(got) != 1 || got[0].Action != "GetConfiguration" || string(got[0].Payload) != "{}" {
		t.Fatalf("refresh calls %v", got)
	}
	// Booting again soon after (a reconnect) does not read it again; new firmware does.
	s16.MustCall("BootNotification", boot16())
	time.Sleep(1500 * time.Millisecond)
	if got := s16.Received(); len(got) != 1 {
		t.Fatalf("a reboot with the same firmware read the configuration again: %v", got)
	}
	newFirmware := boot16()
	newFirmware["firmwareVersion"] = "9.9.9"
	s16.MustCall("BootNotification", newFirmware)
	eventually(t, "refresh after a firmware change", func() bool { return len(s16.Received()) == 2 })

	s201 := ts.dial("RF-201", "2.0.1")
	reports := make(chan int, 1)
	s201.Handle("GetBaseReport", func(p json.RawMessage) any {
		var req struct {
			RequestID  int    `json:"requestId"`
			ReportBase string `json:"reportBase"`
		}
		_ = json.Unmarshal(p, &req)
		if req.ReportBase == "FullInventory" {
			reports <- req.RequestID
		}
		return map[string]any{"status": "Accepted"}
	})
	variable := func(comp, name, value string) map[string]any {
		return map[string]any{"component": map[string]any{"name": comp}, "variable": map[string]any{"name": name},
			"variableAttribute": []any{map[string]any{"type": "Actual", "value": value, "mutability": "ReadWrite"}}}
	}
	report := func(id int, values ...string) {
		for seq := 0; seq < len(values); seq += 2 {
			s201.MustCall("NotifyReport", map[string]any{"requestId": id, "generatedAt": time.Now().UTC().Format(time.RFC3339),
				"seqNo": seq / 2, "tbc": seq+2 < len(values), "reportData": []any{variable("Ctrlr", values[seq], values[seq+1])}})
		}
	}
	s201.MustCall("BootNotification", boot201())
	var id int
	select {
	case id = <-reports:
	case <-time.After(5 * time.Second):
		t.Fatal("no GetBaseReport after the boot")
	}
	report(id, "A", "1", "B", "2", "Old", "x")
	eventually(t, "2.0.1 report stored", func() bool { v, _ := configValue(ts, "RF-201", "Ctrlr/Old"); return v == "x" })
	if v, _ := configValue(ts, "RF-201", "Ctrlr/A"); v != "1" {
		t.Fatalf("Ctrlr/A = %q", v)
	}
	// A report nobody asked for adds; a new full report replaces.
	report(4242, "Extra", "e")
	if v, _ := configValue(ts, "RF-201", "Ctrlr/Extra"); v != "e" {
		t.Fatalf("unsolicited report not stored")
	}
	ts.mustDo(http.StatusAccepted, "POST", "/api/v1/stations/RF-201/configuration/refresh", nil)
	id = <-reports
	report(id, "A", "3", "B", "4")
	cfg := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/RF-201/configuration", nil)["items"].([]any)
	if len(cfg) != 2 || cfg[0].(map[string]any)["key"] != "Ctrlr/A" || cfg[0].(map[string]any)["value"] != "3" {
		t.Fatalf("configuration after a new full report %v", cfg)
	}
}

// TestLocalListInChunks: a list longer than the station takes in one message (1.6
// SendLocalListMaxLength, from its stored configuration) goes as a Full message followed by
// Differential ones with the next versions; a refused chunk records nothing.
func TestLocalListInChunks(t *testing.T) {
	ts := startServer(t, nil)
	for _, uid := range []string{"C1", "C2", "C3", "C4", "C5"} {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "CH-16"})
	st := ts.dial("CH-16", "1.6")
	st.MustCall("BootNotification", boot16())
	var (
		mu      sync.Mutex
		version int
		sent    []map[string]any
		refuse  int // refuse the message with this list version
	)
	st.Handle("GetConfiguration", func(json.RawMessage) any {
		return map[string]any{"configurationKey": []any{map[string]any{"key": "SendLocalListMaxLength", "readonly": true, "value": "2"}}}
	})
	st.Handle("GetLocalListVersion", func(json.RawMessage) any {
		mu.Lock()
		defer mu.Unlock()
		return map[string]any{"listVersion": version}
	})
	st.Handle("SendLocalList", func(p json.RawMessage) any {
		mu.Lock()
		defer mu.Unlock()
		var m map[string]any
		_ = json.Unmarshal(p, &m)
		sent = append(sent, m)
		if int(m["listVersion"].(float64)) == refuse {
			return map[string]any{"status": "Failed"}
		}
		version = int(m["listVersion"].(float64))
		return map[string]any{"status": "Accepted"}
	})
	ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/CH-16/commands/getConfiguration", map[string]any{"keys": []any{"SendLocalListMaxLength"}})

	out := ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/CH-16/local-list/sync", nil)
	if out["status"] != "Accepted" || out["updateType"] != "Full" || out["version"] != 3.0 || out["changes"] != 5.0 {
		t.Fatalf("chunked sync %v", out)
	}
	mu.Lock()
	var shape []string
	for _, m := range sent {
		shape = append(shape, fmt.Sprintf("%s/%v/%d", m["updateType"], m["listVersion"], len(m["localAuthorizationList"].([]any))))
	}
	sent = nil
	refuse = 5
	mu.Unlock()
	if strings.Join(shape, " ") != "Full/1/2 Differential/2/2 Differential/3/1" {
		t.Fatalf("messages %v", shape)
	}
	if state := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CH-16/local-list", nil); state["version"] != 3.0 || len(state["entries"].([]any)) != 5 {
		t.Fatalf("recorded list %v", state)
	}

	// Five changes: more than one message again, and the second one is refused.
	for _, uid := range []string{"C1", "C2", "C3", "C4", "C5"} {
		ts.mustDo(http.StatusOK, "PATCH", "/api/v1/tokens/"+uid, map[string]any{"status": "Blocked"})
	}
	out = ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/CH-16/local-list/sync", nil)
	if out["status"] != "Failed" || out["updateType"] != "Differential" || out["version"] != 3.0 {
		t.Fatalf("sync with a refused chunk %v", out)
	}
	if state := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/CH-16/local-list", nil); state["version"] != 3.0 {
		t.Fatalf("a half-sent list was recorded: %v", state)
	}
	// The station now holds version 4, which we never recorded: the next sync sends it whole.
	mu.Lock()
	refuse = 0
	mu.Unlock()
	out = ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/CH-16/local-list/sync", nil)
	if out["status"] != "Accepted" || out["updateType"] != "Full" || out["stationVersion"] != 4.0 || out["version"] != 7.0 {
		t.Fatalf("resync after a refused chunk %v", out)
	}
}
