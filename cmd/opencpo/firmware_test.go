package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/sim"
)

// firmwareHost serves firmware images as a vendor's download server would.
func firmwareHost(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".bin") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("firmware image ", 1000)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func campaignTargets(c map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, it := range c["stations"].([]any) {
		m := it.(map[string]any)
		out[m["stationId"].(string)] = m
	}
	return out
}

func waitCampaign(t *testing.T, ts *testServer, id, status string) map[string]any {
	t.Helper()
	var c map[string]any
	deadline := time.Now().Add(15 * time.Second)
	for {
		c = ts.mustDo(http.StatusOK, "GET", "/api/v1/firmware-campaigns/"+id, nil)
		if c["status"] == status {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s is %v, want %s: %v", id, c["status"], status, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFirmwareCampaignHaltsAndResumes(t *testing.T) {
	for _, version := range []string{"1.6", "2.0.1"} {
		t.Run(version, func(t *testing.T) {
			fw := firmwareHost(t)
			ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept"; c.campaignEvery = 50 * time.Millisecond })
			v := strings.ReplaceAll(version, ".", "")
			ids := []string{"FW" + v + "-1", "FW" + v + "-2", "FW" + v + "-3", "FW" + v + "-4"}
			// The first station (wave 1) fails to install; the rest succeed.
			runSim(t, ts, ids[0], version, 1, func(c *sim.StationConfig) { c.FirmwareFailure = 1 })
			for _, id := range ids[1:] {
				runSim(t, ts, id, version, 1)
			}

			for _, bad := range []map[string]any{
				{"firmwareUrl": "not a url", "stationIds": ids},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin"},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": []string{"NOPE"}},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": ids, "waves": []int{50, 40}},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": ids, "waves": []int{50}},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": ids, "failureThreshold": 1.5},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": ids, "stationTimeout": "soon"},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": ids, "signed": true},
				{"firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "model": "NoSuchModel"},
			} {
				if status, body := ts.do("POST", "/api/v1/firmware-campaigns", bad); status != http.StatusBadRequest {
					t.Errorf("POST %v = %d %v, want 400", bad, status, body)
				}
			}

			c := ts.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
				"name": "sim 2", "firmwareUrl": fw.URL + "/opencpo-sim-2.bin", "stationIds": ids,
				"waves": []int{25, 100}, "failureThreshold": 0.5, "stationTimeout": "1m"})
			id := c["id"].(string)
			if tg := campaignTargets(c); tg[ids[0]]["wave"].(float64) != 1 || tg[ids[3]]["wave"].(float64) != 2 {
				t.Fatalf("waves %v", c["stations"])
			}
			// Wave 1 fails entirely: the campaign halts and wave 2 is never sent.
			c = waitCampaign(t, ts, id, "halted")
			tg := campaignTargets(c)
			if tg[ids[0]]["status"] != "failed" || tg[ids[0]]["error"] != "InstallationFailed" || !strings.Contains(c["reason"].(string), "1 of 1") {
				t.Fatalf("halted campaign %v", c)
			}
			for _, sid := range ids[1:] {
				if tg[sid]["status"] != "pending" {
					t.Errorf("%s got the update from a halted campaign: %v", sid, tg[sid])
				}
				if items := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId="+sid, nil)["items"].([]any); len(items) != 0 {
					t.Errorf("%s was sent %v", sid, items)
				}
			}
			// The failed station keeps its firmware.
			if st := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+ids[0], nil); st["firmwareVersion"] != "opencpo-sim-1" {
				t.Errorf("failed station reports firmware %v", st["firmwareVersion"])
			}
			// Kept halted until an operator resumes it; then wave 2 goes out and installs.
			time.Sleep(200 * time.Millisecond)
			if c = ts.mustDo(http.StatusOK, "GET", "/api/v1/firmware-campaigns/"+id, nil); c["status"] != "halted" {
				t.Fatalf("halted campaign moved on alone: %v", c)
			}
			ts.mustDo(http.StatusOK, "POST", "/api/v1/firmware-campaigns/"+id+"/resume", nil)
			c = waitCampaign(t, ts, id, "completed")
			tg = campaignTargets(c)
			for _, sid := range ids[1:] {
				if tg[sid]["status"] != "installed" || tg[sid]["stationStatus"] != "Installed" {
					t.Errorf("%s: %v", sid, tg[sid])
				}
			}
			if counts := c["counts"].(map[string]any); counts["installed"].(float64) != 3 || counts["failed"].(float64) != 1 {
				t.Errorf("counts %v", counts)
			}
			// The updated stations rebooted with the new firmware.
			for _, sid := range ids[1:] {
				eventually(t, sid+" reports the new firmware", func() bool {
					st := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/"+sid, nil)
					return st["firmwareVersion"] == "opencpo-sim-2"
				})
			}
			ts.mustDo(http.StatusConflict, "POST", "/api/v1/firmware-campaigns/"+id+"/cancel", nil)
			ts.mustDo(http.StatusConflict, "POST", "/api/v1/firmware-campaigns/"+id+"/resume", nil)

			// A campaign that has not started can be cancelled; nothing is sent.
			later := ts.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
				"firmwareUrl": fw.URL + "/opencpo-sim-3.bin", "firmwareVersion": "opencpo-sim-2",
				"startAt": ts3339(time.Now().Add(time.Hour))})
			if len(later["stations"].([]any)) != 3 || later["status"] != "scheduled" {
				t.Fatalf("selection by firmware version: %v", later)
			}
			cancelled := ts.mustDo(http.StatusOK, "POST", "/api/v1/firmware-campaigns/"+later["id"].(string)+"/cancel", nil)
			if cancelled["status"] != "cancelled" || cancelled["counts"].(map[string]any)["cancelled"].(float64) != 3 {
				t.Fatalf("cancelled %v", cancelled)
			}
			list := ts.mustDo(http.StatusOK, "GET", "/api/v1/firmware-campaigns", nil)["items"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["id"] != later["id"] {
				t.Errorf("campaign list %v", list)
			}
			ts.mustDo(http.StatusNotFound, "GET", "/api/v1/firmware-campaigns/999", nil)
		})
	}
}

// A station that never reports back fails at the station timeout, and a download that fails
// counts as a failure; a signed 1.6 update goes out as SignedUpdateFirmware.
func TestFirmwareCampaignTimeoutAndSigned(t *testing.T) {
	fw := firmwareHost(t)
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept"; c.campaignEvery = 50 * time.Millisecond })
	runSim(t, ts, "FWS-1", "1.6", 1)
	runSim(t, ts, "FWS-2", "2.0.1", 1)
	// The image is hosted by OpenCPO itself.
	hosted := putFirmware(t, ts, "signed-2.bin", strings.Repeat("image ", 500), http.StatusCreated)
	putFirmware(t, ts, "signed-2.bin", strings.Repeat("image ", 600), http.StatusOK)
	putFirmware(t, ts, ".hidden", "x", http.StatusBadRequest)
	putFirmware(t, ts, "empty.bin", "", http.StatusBadRequest)
	if list := ts.mustDo(http.StatusOK, "GET", "/api/v1/firmware", nil)["items"].([]any); len(list) != 1 ||
		list[0].(map[string]any)["size"].(float64) != 3600 {
		t.Fatalf("firmware list %v", list)
	}
	ok := ts.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
		"firmwareUrl": hosted, "stationIds": []string{"FWS-1"}, "signed": true,
		"signingCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "signature": "c2lnbmF0dXJl"})
	c := waitCampaign(t, ts, ok["id"].(string), "completed")
	if tg := campaignTargets(c)["FWS-1"]; tg["status"] != "installed" {
		t.Fatalf("signed update %v", tg)
	}
	auditRequest(t, ts, "FWS-1", "SignedUpdateFirmware")
	eventually(t, "FWS-1 runs the hosted firmware", func() bool {
		return ts.mustDo(http.StatusOK, "GET", "/api/v1/stations/FWS-1", nil)["firmwareVersion"] == "signed-2"
	})
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/firmware/signed-2.bin", nil)
	ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/firmware/signed-2.bin", nil)
	if resp, err := http.Get(hosted); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted firmware still served: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// The image is missing: DownloadFailed fails the station.
	missing := ts.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
		"firmwareUrl": fw.URL + "/missing.img", "stationIds": []string{"FWS-2"}, "failureThreshold": 1})
	c = waitCampaign(t, ts, missing["id"].(string), "completed")
	if tg := campaignTargets(c)["FWS-2"]; tg["status"] != "failed" || tg["error"] != "DownloadFailed" {
		t.Fatalf("failed download %v", tg)
	}

	// A station that stays silent: retrieve far ahead would be a station choice; here the
	// image server hangs, so no status after Downloading comes before the timeout.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })
	silent := ts.mustDo(http.StatusCreated, "POST", "/api/v1/firmware-campaigns", map[string]any{
		"firmwareUrl": slow.URL + "/slow.bin", "stationIds": []string{"FWS-2"}, "stationTimeout": "500ms"})
	c = waitCampaign(t, ts, silent["id"].(string), "halted")
	if tg := campaignTargets(c)["FWS-2"]; tg["status"] != "failed" || !strings.Contains(tg["error"].(string), "no Installed within") {
		t.Fatalf("silent station %v", tg)
	}
}

// putFirmware uploads an image to OpenCPO and returns the URL stations download it from.
func putFirmware(t *testing.T, ts *testServer, name, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+ts.addr+"/api/v1/firmware/"+name, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		t.Fatalf("PUT firmware %s = %d %v, want %d", name, resp.StatusCode, out, want)
	}
	u, _ := out["url"].(string)
	return u
}
