package csms_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/csms"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/store/sqlite"
)

// The campaign runner on an injected clock: every step is one Tick, time moves only when the
// test moves it. The stations are stand-ins at the end of the Caller (the end-to-end tests in
// cmd/opencpo use the simulator over real WebSockets); their notifications go through the
// central system's real handlers.

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// answering stations: UpdateFirmware is accepted (1.6's answer is empty).
type stations struct {
	mu    sync.Mutex
	calls map[string][]string // station → actions received
}

func (s *stations) Call(_ context.Context, stationID, action string, _ json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	s.calls[stationID] = append(s.calls[stationID], action)
	s.mu.Unlock()
	return json.RawMessage(`{}`), nil
}

func (s *stations) Disconnect(string) {}

func (s *stations) sent(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls[id])
}

func setup(t *testing.T, ids ...string) (*csms.Service, *csms.FirmwareRunner, *sqlite.Store, *testClock, *stations) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)}
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "c.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	for _, id := range ids {
		if err := store.CreateStation(t.Context(), domain.Station{ID: id, RegistrationStatus: domain.RegistrationAccepted}); err != nil {
			t.Fatal(err)
		}
		if err := store.SetConnected(t.Context(), id, true, "1.6", clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	svc := csms.New(csms.Config{Now: clock.Now}, store)
	st := &stations{calls: map[string][]string{}}
	svc.UseCaller(st)
	return svc, csms.NewFirmwareRunner(csms.RunnerConfig{Now: clock.Now}, svc), store, clock, st
}

func tick(t *testing.T, r *csms.FirmwareRunner) {
	t.Helper()
	if err := r.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func campaign(t *testing.T, store *sqlite.Store, id int64) domain.Campaign {
	t.Helper()
	c, err := store.Campaign(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func notify(t *testing.T, svc *csms.Service, station, status string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"status": status})
	if _, err := svc.HandleCall(t.Context(), station, ocpp.V16, "FirmwareStatusNotification", payload); err != nil {
		t.Fatal(err)
	}
}

func TestRunnerWavesTimeoutAndHalt(t *testing.T) {
	ids := []string{"S1", "S2", "S3", "S4"}
	svc, runner, store, clock, st := setup(t, ids...)
	c, err := svc.CreateCampaign(t.Context(), "ops", domain.CampaignSpec{FirmwareURL: "https://fw.example.com/v2.bin",
		StationIDs: ids, StartAt: clock.Now().Add(time.Hour), Waves: []int{25, 100}, FailureThreshold: 0.5,
		StationTimeout: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Before the start time nothing happens, however often it ticks.
	tick(t, runner)
	tick(t, runner)
	if got := campaign(t, store, c.ID); got.Status != domain.CampaignScheduled || st.sent("S1") != 0 {
		t.Fatalf("before start: %s, %d calls", got.Status, st.sent("S1"))
	}
	clock.Add(time.Hour)
	tick(t, runner)
	got := campaign(t, store, c.ID)
	if got.Status != domain.CampaignRunning || st.sent("S1") != 1 || st.sent("S2") != 0 || got.Targets[0].Status != domain.TargetUpdating {
		t.Fatalf("wave 1 started: %+v, calls %v", got, st.calls)
	}
	// S1 installs: wave 1 is done without failures, wave 2 goes out on the next ticks.
	notify(t, svc, "S1", "Downloading")
	notify(t, svc, "S1", "Installed")
	tick(t, runner) // wave 1 finished → wave 2
	tick(t, runner) // wave 2 sent
	got = campaign(t, store, c.ID)
	if got.Wave != 1 || st.sent("S2") != 1 || st.sent("S3") != 1 || st.sent("S4") != 1 {
		t.Fatalf("wave 2: %+v, calls %v", got, st.calls)
	}
	tick(t, runner)
	if st.sent("S2") != 1 {
		t.Fatal("an updating station was sent the update again")
	}
	// S2 installs, S3 fails, S4 stays silent: at the timeout S4 fails, 2 of 3 > 50 %: halted.
	notify(t, svc, "S2", "Installed")
	notify(t, svc, "S3", "InstallationFailed")
	clock.Add(29 * time.Minute)
	tick(t, runner)
	if got = campaign(t, store, c.ID); got.Status != domain.CampaignRunning {
		t.Fatalf("halted before the timeout: %+v", got)
	}
	clock.Add(2 * time.Minute)
	tick(t, runner)
	got = campaign(t, store, c.ID)
	states := map[string]string{}
	for _, tg := range got.Targets {
		states[tg.StationID] = tg.Status
	}
	if got.Status != domain.CampaignHalted || states["S4"] != domain.TargetFailed || states["S3"] != domain.TargetFailed || states["S2"] != domain.TargetInstalled {
		t.Fatalf("after timeout: %+v %v", got, states)
	}
	// A late Installed from the timed-out station does not undo the decision.
	notify(t, svc, "S4", "Installed")
	if tg, _ := store.CampaignTarget(t.Context(), got.Targets[3].ID); tg.Status != domain.TargetFailed {
		t.Errorf("late notification changed a decided target: %+v", tg)
	}
	// Resuming the last wave completes the campaign.
	if got, err = svc.ResumeCampaign(t.Context(), "ops", c.ID); err != nil || got.Status != domain.CampaignCompleted {
		t.Fatalf("resume: %+v %v", got, err)
	}
	if _, err := svc.ResumeCampaign(t.Context(), "ops", c.ID); err == nil {
		t.Error("resumed a completed campaign")
	}
}

func TestRunnerOfflineStationFails(t *testing.T) {
	svc, runner, store, _, st := setup(t, "ON", "OFF")
	if err := store.SetConnected(t.Context(), "OFF", false, "1.6", time.Now()); err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateCampaign(t.Context(), "ops", domain.CampaignSpec{FirmwareURL: "https://fw.example.com/v2.bin",
		StationIDs: []string{"OFF", "ON"}, Waves: []int{100}, FailureThreshold: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	tick(t, runner)
	got := campaign(t, store, c.ID)
	if got.Targets[0].StationID != "OFF" || got.Targets[0].Status != domain.TargetFailed || got.Targets[0].Error == "" || st.sent("OFF") != 0 {
		t.Fatalf("offline station: %+v", got.Targets[0])
	}
	notify(t, svc, "ON", "Installed")
	tick(t, runner)
	if got = campaign(t, store, c.ID); got.Status != domain.CampaignCompleted {
		t.Fatalf("1 of 2 failed is under 60 %%: %+v", got)
	}
}
