package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/sim"
)

// TestFleet200 runs 200 simulated stations of both versions through full sessions, with faults
// and network drops (offline backlogs), against a real serve, and checks the result through the
// API: every station onboarded with its EVSEs, every session the stations saw acknowledged is
// recorded exactly once with sane energy, nothing the stations sent was refused.
func TestFleet200(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 200 stations")
	}
	// Heartbeats are compressed by the time scale too: a long interval keeps them realistic.
	ts := startServer(t, func(c *serveConfig) { c.UnknownStations = "accept"; c.HeartbeatInterval = time.Hour })
	for _, uid := range sim.DefaultTokens() {
		ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": uid})
	}
	fleet, err := sim.New(sim.Config{
		URL: ts.wsURL() + "/ocpp", Stations: 200, IDPrefix: "F", Seed: 7,
		Versions:  []ocpp.Version{ocpp.V16, ocpp.V201},
		TimeScale: 300, MeterInterval: 5 * time.Minute,
		Behavior: sim.Behavior{ArrivalsPerDay: 60, MeanStay: 40 * time.Minute, FaultsPerDay: 4, DropsPerDay: 24},
		RampUp:   time.Second, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()
	// Run until the fleet has done enough to prove something (a loaded machine or the race
	// detector makes this slower), then stop it.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := fleet.Stats()
		if st.SessionsCompleted >= 100 && st.Drops >= 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("fleet: %v", err)
	}
	st := fleet.Stats()
	t.Logf("fleet: %+v", st)
	if st.Boots < 200 || st.SessionsCompleted < 100 || st.Drops == 0 {
		t.Fatalf("the fleet did too little to prove anything: %+v", st)
	}
	if st.Errors != 0 || st.CallErrors != 0 {
		t.Fatalf("stations saw errors: %+v", st)
	}

	// Every station is registered with its EVSEs and statuses.
	stations := 0
	for cursor := ""; ; {
		page := ts.mustDo(http.StatusOK, "GET", "/api/v1/stations?limit=500"+cursor, nil)
		for _, it := range page["items"].([]any) {
			s := it.(map[string]any)
			if s["vendor"] != "OpenCPO-Sim" || len(s["evses"].([]any)) == 0 || s["registrationStatus"] != "Accepted" {
				t.Errorf("station %v", s)
			}
			stations++
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	if stations != 200 {
		t.Fatalf("%d stations registered, want 200", stations)
	}

	// Sessions: as many completed as the stations saw acknowledged, each once, energy sane.
	completed, started := 0, 0
	seen := map[string]bool{}
	for cursor := ""; ; {
		page := ts.mustDo(http.StatusOK, "GET", "/api/v1/sessions?limit=500"+cursor, nil)
		for _, it := range page["items"].([]any) {
			s := it.(map[string]any)
			key := fmt.Sprint(s["stationId"], "/", s["transactionId"])
			if seen[key] {
				t.Errorf("transaction %s recorded twice", key)
			}
			seen[key] = true
			started++
			if s["status"] == "completed" {
				completed++
				if e := s["energyWh"].(float64); e < 0 || e > 500_000 {
					t.Errorf("session %s energy %v", key, e)
				}
				if s["flag"] != nil {
					t.Errorf("session %s flagged: %v", key, s["flag"])
				}
			}
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	// A stop in flight when the fleet was stopped may be stored without its answer reaching
	// the station: at most one per station.
	if int64(completed) < st.SessionsCompleted || int64(completed) > st.SessionsCompleted+200 {
		t.Errorf("%d completed sessions recorded, the stations had %d stops acknowledged", completed, st.SessionsCompleted)
	}
	if int64(started) < st.SessionsStarted {
		t.Errorf("%d sessions recorded, the stations had %d starts acknowledged", started, st.SessionsStarted)
	}
}
