package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// TestConsoleStationConfiguration: the station page shows the configuration the station
// reported, for both versions, and says so when none was read yet.
func TestConsoleStationConfiguration(t *testing.T) {
	cs := startConsole(t, nil)
	c, _ := cs.signIn(t, "viewer@example.com") // reading it needs no more than read-only
	for _, tc := range []struct {
		id   string
		v    ocpp.Version
		want string
	}{{"CFG-16", ocpp.V16, "HeartbeatInterval"}, {"CFG-201", ocpp.V201, "OCPPCommCtrlr/HeartbeatInterval"}} {
		runModelSim(t, cs.testServer, tc.id, tc.v, "Acme", "X1")
		_, page := cs.get(t, c, "/stations/"+tc.id)
		if !strings.Contains(page, "Not read yet") {
			t.Fatalf("%s: page before any read does not say so", tc.id)
		}
		cs.mustDo(http.StatusAccepted, "POST", "/api/v1/stations/"+tc.id+"/configuration/refresh", nil)
		eventually(t, tc.id+" configuration stored", func() bool { _, ok := configValue(cs.testServer, tc.id, tc.want); return ok })
		status, page := cs.get(t, c, "/stations/"+tc.id)
		if status != http.StatusOK || !strings.Contains(page, `id="station-config"`) || !strings.Contains(page, "<code>"+tc.want+"</code>") {
			t.Fatalf("%s: station page (%d) does not show %s", tc.id, status, tc.want)
		}
	}
}
