package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// startFleet runs simulated stations against ts until the test ends.
func startFleet(t *testing.T, ts *testServer, prefix string, n int) {
	t.Helper()
	for _, uid := range sim.DefaultTokens() {
		ts.mustDo(201, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	fleet, err := sim.New(sim.Config{
		URL: ts.wsURL() + "/ocpp", Stations: n, IDPrefix: prefix, Seed: 3,
		Versions:  []ocpp.Version{ocpp.V16, ocpp.V201},
		TimeScale: 600, MeterInterval: time.Minute,
		Behavior: sim.Behavior{ArrivalsPerDay: 400, MeanStay: 20 * time.Minute},
		RampUp:   10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor retries cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestConsoleOperatesStations(t *testing.T) {
	cs := startConsole(t, func(c *serveConfig) { c.UnknownStations = "accept" })
	ops, token := cs.signIn(t, "ops@example.com")

	// The console's live stream reports the stations as they connect.
	req, _ := http.NewRequest("GET", cs.base()+"/console/events", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	resp, err := ops.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /console/events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	startFleet(t, cs.testServer, "CON", 2)
	sc := bufio.NewScanner(resp.Body)
	seen := map[string]bool{}
	for sc.Scan() && !(seen["CON-0001"] && seen["CON-0002"]) {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e struct{ Kind, StationID string }
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if e.Kind == "station.connected" {
			seen[e.StationID] = true
		}
	}
	if !seen["CON-0001"] || !seen["CON-0002"] {
		t.Fatalf("live stream showed connections of %v", seen)
	}

	// Station pages show the station live, with forms per OCPP version.
	status, body := cs.get(t, ops, "/stations/CON-0001")
	if status != 200 || !strings.Contains(body, "OCPP 1.6") || !strings.Contains(body, "<option>Soft</option>") {
		t.Fatalf("station page = %d:\n%s", status, body)
	}
	// A wrong value is refused next to its field, and nothing is sent.
	r, body := cs.post(t, ops, "/stations/CON-0001/operations/reset", url.Values{"csrf": {token}, "type": {"Immediate"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="field-error" id="reset-type-err"`) {
		t.Errorf("reset with a 2.0.1 type on a 1.6 station = %d", r.StatusCode)
	}
	r, body = cs.post(t, ops, "/stations/CON-0001/operations/start", url.Values{"csrf": {token}, "idToken": {"has space"}, "evse": {"1"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "without spaces") || !strings.Contains(body, `value="has space"`) {
		t.Errorf("remote start with a bad token = %d; the typed value must stay", r.StatusCode)
	}
	// Remote operations on both versions, with the station's answer shown.
	for _, c := range []struct {
		station, op string
		form        url.Values
		want        string
	}{
		{"CON-0001", "reset", url.Values{"type": {"Soft"}}, "Reset: Accepted"},
		{"CON-0002", "trigger", url.Values{"message": {"Heartbeat"}}, "TriggerMessage: Accepted"},
		{"CON-0001", "config", url.Values{"key": {"HeartbeatInterval"}, "value": {"120"}}, "ChangeConfiguration: Accepted"},
		{"CON-0002", "config", url.Values{"component": {"OCPPCommCtrlr"}, "variable": {"HeartbeatInterval"}, "value": {"120"}}, "SetVariables: Accepted"},
	} {
		c.form.Set("csrf", token)
		var (
			r    *http.Response
			body string
		)
		// A reset station reboots: allow it to come back before the next call.
		waitFor(t, 10*time.Second, c.station+" answers "+c.op, func() bool {
			r, body = cs.post(t, ops, "/stations/"+c.station+"/operations/"+c.op, c.form)
			return r.StatusCode == 200
		})
		if !strings.Contains(body, c.want) {
			i := strings.Index(body, `id="op-result"`)
			t.Errorf("%s on %s: result %q, want %q", c.op, c.station, body[max(i, 0):min(len(body), max(i, 0)+300)], c.want)
		}
	}
	audit := cs.mustDo(200, "GET", "/api/v1/audit?stationId=CON-0001", nil)
	found := false
	for _, it := range audit["items"].([]any) {
		e := it.(map[string]any)
		if e["action"] == "Reset" && e["actor"] == "ops@example.com" {
			found = true
		}
	}
	if !found {
		t.Errorf("no Reset audit entry by ops@example.com: %v", audit["items"])
	}

	// A completed session has a chart and is in the CSV export.
	var sessionID string
	waitFor(t, 60*time.Second, "a completed session with meter values", func() bool {
		_, out := cs.do("GET", "/api/v1/sessions?status=completed", nil)
		items, _ := out["items"].([]any)
		for _, it := range items {
			s := it.(map[string]any)
			if s["energyWh"].(float64) > 0 {
				sessionID = s["id"].(string)
				return true
			}
		}
		return false
	})
	status, body = cs.get(t, ops, "/sessions/"+sessionID)
	if status != 200 || !strings.Contains(body, `<script type="application/json" id="chart-data">[[`) {
		t.Errorf("session page = %d, no chart data", status)
	}
	status, csv := cs.get(t, ops, "/sessions.csv?status=completed")
	if status != 200 || !strings.HasPrefix(csv, "id,stationId,evseId") || !strings.Contains(csv, "\n"+sessionID+",CON-") {
		t.Errorf("CSV export = %d:\n%s", status, csv)
	}
	if status, body := cs.get(t, ops, "/sessions?from=yesterday"); status != http.StatusBadRequest || !strings.Contains(body, "YYYY-MM-DD") {
		t.Errorf("sessions with a bad date = %d", status)
	}
	// Dashboard and station list render with the fleet in them.
	for _, p := range []string{"/", "/stations", "/stations?state=online&q=CON", "/sessions", "/tokens"} {
		if status, body := cs.get(t, ops, p); status != 200 || !strings.Contains(body, "CON-") && p != "/tokens" && p != "/" {
			t.Errorf("GET %s = %d", p, status)
		}
	}
}

func TestConsoleTokenImport(t *testing.T) {
	cs := startConsole(t, nil)
	ops, token := cs.signIn(t, "ops@example.com")
	csv := "uid,type,status,expiresAt,groupId\n" +
		"IMP1,ISO14443,Accepted,2030-01-01,FLEET\n" +
		"IMP2\n" +
		"has space,ISO14443\n" +
		"IMP3,Bogus,Accepted\n" +
		"IMP4,ISO14443,Accepted,tomorrow\n" +
		"IMP1\n" +
		"IMP5,Central,Blocked,,\n"
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", token)
	fw, _ := mw.CreateFormFile("file", "tokens.csv")
	_, _ = io.WriteString(fw, csv)
	mw.Close()
	req, _ := http.NewRequest("POST", cs.base()+"/tokens/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := ops.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != 200 || !strings.Contains(body, "Import: 3 tokens created") {
		t.Fatalf("import = %d:\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"<td>4</td><td>has space</td><td>the uid must be 1 to 36 printable characters",
		"<td>5</td><td>IMP3</td><td>the type must be one of",
		"<td>6</td><td>IMP4</td><td>the expiry must be a date",
		"<td>7</td><td>IMP1</td><td>a token IMP1 already exists",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("import report lacks %q", want)
		}
	}
	tok := cs.mustDo(200, "GET", "/api/v1/tokens/IMP5", nil)
	if tok["status"] != "Blocked" || tok["type"] != "Central" {
		t.Errorf("IMP5 = %v", tok)
	}
	// Block and expire from the list.
	for _, st := range []string{"Blocked", "Expired"} {
		if r, _ := cs.post(t, ops, "/tokens/IMP1/status", url.Values{"csrf": {token}, "status": {st}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("set IMP1 %s = %d", st, r.StatusCode)
		}
		if got := cs.mustDo(200, "GET", "/api/v1/tokens/IMP1", nil)["status"]; got != st {
			t.Errorf("IMP1 status = %v, want %s", got, st)
		}
	}
	// A failed create keeps what was typed and says what is wrong next to the field.
	r, body := cs.post(t, ops, "/tokens", url.Values{"csrf": {token}, "uid": {"NEW1"}, "expiresAt": {"31/12/2030"}, "groupId": {"G1"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="t-exp-err"`) || !strings.Contains(body, `value="NEW1"`) || !strings.Contains(body, `value="G1"`) {
		t.Errorf("bad token form = %d; want the error next to the expiry and the values kept", r.StatusCode)
	}
}
