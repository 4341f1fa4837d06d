package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStationsAPI(t *testing.T) {
	ts := startServer(t, nil)
	for _, tc := range []struct{ token, want string }{{"", "missing"}, {"wrong-token", "wrong"}} {
		status, body := ts.doToken(tc.token, "GET", "/api/v1/stations", nil)
		if status != http.StatusUnauthorized || errorCode(body) != "unauthorized" {
			t.Errorf("%s token: %d %v", tc.want, status, body)
		}
	}
	if status, _ := ts.doToken("", "POST", "/api/v1/stations", map[string]any{"id": "X"}); status != http.StatusUnauthorized {
		t.Errorf("unauthenticated create: %d", status)
	}

	for _, bad := range []any{
		map[string]any{"id": ""},
		map[string]any{"id": strings.Repeat("a", 49)},
		map[string]any{"id": "CP 1"},
		map[string]any{"id": "CP/1"},
		map[string]any{"id": "CP-1", "password": "short"},
		map[string]any{"id": "CP-1", "registrationStatus": "Maybe"},
		map[string]any{"id": "CP-1", "unknownField": true},
		`{"id": "CP-1"`,
		`[]`,
		``,
	} {
		status, body := ts.do("POST", "/api/v1/stations", bad)
		if status != http.StatusBadRequest || errorCode(body) != "invalid_request" || body["error"].(map[string]any)["message"] == "" {
			t.Errorf("POST %v = %d %v; want 400 with a message", bad, status, body)
		}
	}
	created := ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": strings.Repeat("a", 48)})
	if created["registrationStatus"] != "Accepted" || created["connected"] != false || created["ocppVersion"] != nil ||
		created["lastSeenAt"] != nil || len(created["evses"].([]any)) != 0 {
		t.Fatalf("created %v", created)
	}
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/stations", map[string]any{"id": strings.Repeat("a", 48)})

	for i := range 7 {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": fmt.Sprintf("P-%02d", i), "registrationStatus": "Pending"})
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		page := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations?limit=3"+cursor, nil)
		for _, it := range page["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			if pages != 2 {
				t.Fatalf("8 stations in pages of 3 took %d pages", pages+1)
			}
			break
		}
		cursor = "&cursor=" + next
	}
	if len(ids) != 8 || ids[0] != "P-00" || ids[7] != strings.Repeat("a", 48) {
		t.Fatalf("paged ids %v", ids)
	}
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/stations?limit=0", nil)
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/stations?limit=501", nil)
	ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/stations?cursor=%21%21", nil)

	patched := ts.mustDo(http.StatusOK, "PATCH", "/api/v1/stations/P-00", map[string]any{"name": "Depot", "registrationStatus": "Accepted"})
	if patched["name"] != "Depot" || patched["registrationStatus"] != "Accepted" {
		t.Fatalf("patched %v", patched)
	}
	ts.mustDo(http.StatusBadRequest, "PATCH", "/api/v1/stations/P-00", map[string]any{"password": "short"})
	ts.mustDo(http.StatusNotFound, "PATCH", "/api/v1/stations/NOPE", map[string]any{"name": "x"})
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/stations/P-00", nil)
	ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/stations/P-00", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/P-00", nil)
	ts.mustDo(http.StatusNotFound, "GET", "/api/v1/nothing-here", nil)

	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=P-00", nil)
	items := audit["items"].([]any)
	if len(items) != 3 || items[0].(map[string]any)["action"] != "DeleteStation" || items[2].(map[string]any)["action"] != "CreateStation" {
		t.Fatalf("audit %v", items)
	}
	doc := ts.mustDo(http.StatusOK, "GET", "/api/v1/openapi.json", nil)
	if doc["openapi"] == nil || doc["paths"] == nil {
		t.Fatal("openapi.json not served")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	resp, err := http.Get("http://" + ts.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("healthz %d %s", resp.StatusCode, body)
	}
	st := ts.dial("MET-1", "1.6")
	st.MustCall("BootNotification", boot16())
	st.Call("MakeCoffee", map[string]any{})
	st.Handle("Reset", func(json.RawMessage) any { return map[string]any{"status": "Accepted"} })
	ts.mustDo(http.StatusOK, "POST", "/api/v1/stations/MET-1/ocpp/Reset", map[string]any{"type": "Soft"})

	resp, err = http.Get("http://" + ts.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`opencpo_ocpp_connections{version="1.6"} 1`,
		`opencpo_ocpp_messages_total{action="BootNotification",direction="in",type="CALL",version="1.6"} 1`,
		`opencpo_ocpp_call_duration_seconds_count{action="Reset",version="1.6"} 1`,
		`opencpo_ocpp_call_errors_total{code="NotImplemented",direction="sent"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
