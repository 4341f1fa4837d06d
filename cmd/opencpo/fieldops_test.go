package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// Field operations end to end: the REST API, a real server and the simulator as the charger,
// for both OCPP versions.

// runSim runs a simulated station against ts until the test ends and waits for its boot to be
// accepted.
func runSim(t *testing.T, ts *testServer, id, version string, evses int, mutate ...func(*sim.StationConfig)) *sim.Station {
	t.Helper()
	cfg := sim.StationConfig{ID: id, Version: ocpp.Version(version), URL: ts.wsURL() + "/ocpp", TimeScale: 600,
		Behavior: sim.Behavior{ArrivalsPerDay: -1, MeanStay: 100 * time.Hour}, ReconnectMin: 20 * time.Millisecond,
		ReconnectMax: 100 * time.Millisecond, Tokens: []string{"TAG-OTHER"}, Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for range evses {
		cfg.EVSEs = append(cfg.EVSEs, sim.EVSE{MaxPowerW: 22000})
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s := runStation(t, cfg)
	eventually(t, id+" accepted and reported", func() bool {
		_, st := ts.do("GET", "/api/v1/stations/"+id, nil)
		evs, _ := st["evses"].([]any)
		return st["connected"] == true && len(evs) == evses && s.Stats().Connected == 1
	})
	return s
}

// connectorStatus is the API's status of an EVSE's first connector.
func connectorStatus(t *testing.T, ts *testServer, stationID string, evseID int) string {
	t.Helper()
	st := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+stationID, nil)
	for _, e := range st["evses"].([]any) {
		ev := e.(map[string]any)
		if int(ev["id"].(float64)) == evseID {
			return ev["connectors"].([]any)[0].(map[string]any)["status"].(string)
		}
	}
	return ""
}

func simStatus(t *testing.T, s *sim.Station, evseID int) sim.EVSEState {
	t.Helper()
	snap, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return snap.EVSEs[evseID-1]
}

func TestReservationsEndToEnd(t *testing.T) {
	for _, version := range []string{"1.6", "2.0.1"} {
		t.Run(version, func(t *testing.T) {
			ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept"; c.sweepEvery = 100 * time.Millisecond })
			ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "TAG-R"})
			ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "TAG-OTHER"})
			id := "RES-" + strings.ReplaceAll(version, ".", "")
			s := runSim(t, ts, id, version, 2)
			future := ts3339(time.Now().Add(time.Hour))

			// Bad input: 400 (or 404) and nothing sent.
			for _, bad := range []map[string]any{
				{"stationId": id, "evseId": 1, "idToken": "TAG-R"},
				{"stationId": id, "evseId": 1, "idToken": "TAG-R", "expiresAt": ts3339(time.Now().Add(-time.Minute))},
				{"stationId": id, "evseId": -1, "idToken": "TAG-R", "expiresAt": future},
				{"stationId": id, "evseId": 9, "idToken": "TAG-R", "expiresAt": future},
				{"stationId": id, "evseId": 1, "idToken": "has space", "expiresAt": future},
				{"stationId": "", "evseId": 1, "idToken": "TAG-R", "expiresAt": future},
				{"stationId": id, "evseId": 1, "idToken": "TAG-R", "expiresAt": future, "colour": "red"},
			} {
				if status, body := ts.do("POST", "/api/v1/reservations", bad); status != http.StatusBadRequest {
					t.Errorf("POST %v = %d %v, want 400", bad, status, body)
				}
			}
			ts.mustDo(http.StatusNotFound, "POST", "/api/v1/reservations", map[string]any{"stationId": "NOPE", "evseId": 1, "idToken": "TAG-R", "expiresAt": future})
			ts.mustDo(http.StatusConflict, "POST", "/api/v1/reservations", map[string]any{"stationId": id, "evseId": 1, "idToken": "UNKNOWN", "expiresAt": future})
			if audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId="+id, nil); len(audit["items"].([]any)) != 0 {
				t.Fatalf("refused requests reached the station: %v", audit)
			}

			// Reserve EVSE 1 for TAG-R: the station holds it, and it shows Reserved.
			res := ts.mustDo(http.StatusCreated, "POST", "/api/v1/reservations",
				map[string]any{"stationId": id, "evseId": 1, "idToken": "TAG-R", "expiresAt": future})
			if res["status"] != "active" || res["stationStatus"] != "Accepted" {
				t.Fatalf("reservation %v", res)
			}
			resID := res["id"].(string)
			eventually(t, "EVSE 1 Reserved", func() bool { return connectorStatus(t, ts, id, 1) == "Reserved" })
			// A second reservation of the same EVSE is refused by the station and kept as rejected.
			status, body := ts.do("POST", "/api/v1/reservations", map[string]any{"stationId": id, "evseId": 1, "idToken": "TAG-OTHER", "expiresAt": future})
			if status != http.StatusConflict || !strings.Contains(body["error"].(map[string]any)["message"].(string), "Occupied") {
				t.Fatalf("double reservation = %d %v", status, body)
			}

			// Another driver cannot charge there...
			if err := s.Arrive(t.Context(), 1, "TAG-OTHER"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "other driver refused", func() bool { return s.Stats().Rejected >= 1 })
			if tx := simStatus(t, s, 1).TransactionID; tx != "" {
				t.Fatalf("a transaction started on a reserved EVSE for another token: %s", tx)
			}
			_ = s.Depart(t.Context(), 1) // the refused driver may have left already
			eventually(t, "EVSE 1 free again", func() bool { return !simStatus(t, s, 1).EVPlugged })
			// ...the reserved driver can, and the session uses the reservation.
			if err := s.Arrive(t.Context(), 1, "TAG-R"); err != nil {
				t.Fatal(err)
			}
			var used map[string]any
			eventually(t, "reservation used", func() bool {
				used = ts.mustDo(http.StatusOK, "GET", "/api/v1/reservations/"+resID, nil)
				return used["status"] == "used"
			})
			sessions := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions?stationId="+id, nil)["items"].([]any)
			if len(sessions) != 1 {
				t.Fatalf("sessions %v", sessions)
			}
			sess := sessions[0].(map[string]any)
			if sess["transactionId"] != used["transactionId"] || fmt.Sprint(sess["reservationId"]) != resID || sess["idToken"] != "TAG-R" {
				t.Fatalf("session %v does not match reservation %v", sess, used)
			}

			// A reservation that runs out: the station frees the EVSE, the reservation is expired.
			short := ts.mustDo(http.StatusCreated, "POST", "/api/v1/reservations",
				map[string]any{"stationId": id, "evseId": 2, "idToken": "TAG-R", "expiresAt": ts3339(time.Now().Add(2 * time.Second))})
			eventually(t, "EVSE 2 Reserved", func() bool { return connectorStatus(t, ts, id, 2) == "Reserved" })
			deadline := time.Now().Add(10 * time.Second)
			for {
				got := ts.mustDo(http.StatusOK, "GET", "/api/v1/reservations/"+short["id"].(string), nil)
				if got["status"] == "expired" && connectorStatus(t, ts, id, 2) == "Available" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("reservation did not expire: %v, EVSE 2 %s", got, connectorStatus(t, ts, id, 2))
				}
				time.Sleep(50 * time.Millisecond)
			}

			if version == "2.0.1" { // the station says so too (the server's sweep may have been first)
				eventually(t, "ReservationStatusUpdate Expired", func() bool {
					for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+id+"/events", nil)["items"].([]any) {
						e := it.(map[string]any)
						if e["kind"] == "ReservationStatusUpdate" && e["type"] == "Expired" {
							return true
						}
					}
					return false
				})
			}
			// Any EVSE (1.6 connector 0 / 2.0.1 without evseId), then cancelled.
			anyRes := ts.mustDo(http.StatusCreated, "POST", "/api/v1/reservations",
				map[string]any{"stationId": id, "idToken": "TAG-R", "expiresAt": future})
			if anyRes["evseId"].(float64) != 0 {
				t.Fatalf("any-EVSE reservation %v", anyRes)
			}
			eventually(t, "EVSE 2 Reserved by the any-EVSE reservation", func() bool { return connectorStatus(t, ts, id, 2) == "Reserved" })
			cancelled := ts.mustDo(http.StatusOK, "DELETE", "/api/v1/reservations/"+anyRes["id"].(string), nil)
			if cancelled["status"] != "cancelled" || cancelled["stationStatus"] != "CancelAccepted" {
				t.Fatalf("cancel %v", cancelled)
			}
			eventually(t, "EVSE 2 Available after cancel", func() bool { return connectorStatus(t, ts, id, 2) == "Available" })
			ts.mustDo(http.StatusConflict, "DELETE", "/api/v1/reservations/"+anyRes["id"].(string), nil)
			ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/reservations/999999", nil)
			ts.mustDo(http.StatusNotFound, "GET", "/api/v1/reservations/abc", nil)

			list := ts.mustDo(http.StatusOK, "GET", "/api/v1/reservations?stationId="+id, nil)["items"].([]any)
			var statuses []string
			for _, it := range list {
				statuses = append(statuses, it.(map[string]any)["status"].(string))
			}
			if strings.Join(statuses, ",") != "cancelled,expired,rejected,used" {
				t.Errorf("reservation list statuses %v", statuses)
			}
			ts.mustDo(http.StatusBadRequest, "GET", "/api/v1/reservations?status=sleeping", nil)
			actions := map[string]int{}
			for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId="+id, nil)["items"].([]any) {
				e := it.(map[string]any)
				if e["actor"] == "" {
					t.Errorf("audit entry without actor: %v", e)
				}
				actions[e["action"].(string)]++
			}
			if actions["ReserveNow"] != 4 || actions["CancelReservation"] != 1 {
				t.Errorf("audit actions %v", actions)
			}
		})
	}
}

// auditRequest finds the newest audit entry of an action and returns its request.
func auditRequest(t *testing.T, ts *testServer, stationID, action string) map[string]any {
	t.Helper()
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId="+stationID, nil)["items"].([]any) {
		e := it.(map[string]any)
		if e["action"] == action {
			return e["request"].(map[string]any)
		}
	}
	t.Fatalf("no %s in the audit log", action)
	return nil
}

func TestLogUploadEndToEnd(t *testing.T) {
	for _, version := range []string{"1.6", "2.0.1"} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept"; c.DataDir = dir })
			id := "LOG-" + strings.ReplaceAll(version, ".", "")
			runSim(t, ts, id, version, 1)

			ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/stations/"+id+"/logs", map[string]any{"type": "kernel"})
			ts.mustDo(http.StatusBadRequest, "POST", "/api/v1/stations/"+id+"/logs", map[string]any{"type": "diagnostics",
				"from": ts3339(time.Now()), "to": ts3339(time.Now().Add(-time.Hour))})
			ts.mustDo(http.StatusNotFound, "POST", "/api/v1/stations/NOPE/logs", map[string]any{"type": "diagnostics"})

			for _, typ := range []string{"diagnostics", "security"} {
				req := ts.mustDo(http.StatusAccepted, "POST", "/api/v1/stations/"+id+"/logs",
					map[string]any{"type": typ, "from": ts3339(time.Now().Add(-24 * time.Hour))})
				// The station may be done before the API answers: any state of a going upload.
				if !strings.Contains(" Accepted Uploading Uploaded received ", " "+req["status"].(string)+" ") || req["type"] != typ {
					t.Fatalf("%s request %v", typ, req)
				}
				logID := req["id"].(string)
				var got map[string]any
				eventually(t, typ+" file received", func() bool {
					got = ts.mustDo(http.StatusOK, "GET", "/api/v1/logs/"+logID, nil)
					return got["status"] == "received"
				})
				if got["fileSize"].(float64) <= 0 || got["downloadUrl"] != "/api/v1/logs/"+logID+"/file" || !strings.Contains(got["fileName"].(string), id) {
					t.Fatalf("received %v", got)
				}
				// The download is the file the station sent, and needs the API token.
				body := download(t, ts, got["downloadUrl"].(string), testToken, http.StatusOK)
				if !strings.Contains(body, "log of "+id) || int64(len(body)) != int64(got["fileSize"].(float64)) {
					t.Fatalf("downloaded %q", body)
				}
				download(t, ts, got["downloadUrl"].(string), "", http.StatusUnauthorized)
				// The station's Uploaded notification arrives after the file: the request stays received.
				time.Sleep(100 * time.Millisecond)
				if again := ts.mustDo(http.StatusOK, "GET", "/api/v1/logs/"+logID, nil); again["status"] != "received" {
					t.Errorf("after the station's notification: %v", again)
				}

				// The signed URL is single use, and only as signed.
				action := "GetLog"
				var location string
				if version == "1.6" && typ == "diagnostics" {
					action = "GetDiagnostics"
					location = auditRequest(t, ts, id, action)["location"].(string)
				} else {
					location = auditRequest(t, ts, id, action)["log"].(map[string]any)["remoteLocation"].(string)
				}
				if put(t, location, "again") != http.StatusConflict {
					t.Error("a used upload URL took a second file")
				}
				if put(t, strings.Replace(location, "sig=", "sig=00", 1), "forged") != http.StatusForbidden {
					t.Error("a forged signature was accepted")
				}
			}
			list := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+id+"/logs", nil)["items"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["type"] != "security" {
				t.Fatalf("log list %v", list)
			}
			ts.mustDo(http.StatusNotFound, "GET", "/api/v1/stations/NOPE/logs", nil)
			ts.mustDo(http.StatusNotFound, "GET", "/api/v1/logs/99999/file", nil)
		})
	}
}

func download(t *testing.T, ts *testServer, path, token string, want int) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+ts.addr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d %s, want %d", path, resp.StatusCode, b, want)
	}
	return string(b)
}

func put(t *testing.T, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
