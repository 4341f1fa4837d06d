package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var campaignTests = []suiteTest{
	{"CampaignLifecycle", testCampaignLifecycle},
	{"CampaignInvalid", testCampaignInvalid},
	{"CampaignsListAndActive", testCampaignsListAndActive},
}

func newCampaign(stations ...string) domain.Campaign {
	c := domain.Campaign{Name: "fw 2", FirmwareURL: "https://fw.example.com/sim-2.bin", StartAt: at(time.Minute),
		Waves: []int{50, 100}, FailureThreshold: 0.25, StationTimeout: 90 * time.Minute, Status: domain.CampaignScheduled, Actor: "test"}
	for i, id := range stations {
		c.Targets = append(c.Targets, domain.CampaignTarget{StationID: id, Wave: min(i, 1)})
	}
	return c
}

func testCampaignLifecycle(t *testing.T, s domain.Store) {
	for _, id := range []string{"FW-A", "FW-B", "FW-C"} {
		mustCreate(t, s, id)
	}
	c, err := s.CreateCampaign(t.Context(), newCampaign("FW-A", "FW-B", "FW-C"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID <= 0 || c.Status != domain.CampaignScheduled || !slices.Equal(c.Waves, []int{50, 100}) || c.StationTimeout != 90*time.Minute ||
		c.FailureThreshold != 0.25 || len(c.Targets) != 3 || c.Targets[0].Status != domain.TargetPending {
		t.Fatalf("created %+v", c)
	}
	wantTime(t, "StartAt", c.StartAt, at(time.Minute))
	got, err := s.Campaign(t.Context(), c.ID)
	if err != nil || len(got.Targets) != 3 || got.Targets[0].StationID != "FW-A" || got.Targets[0].Wave != 0 || got.Targets[2].Wave != 1 {
		t.Fatalf("read back %+v %v", got, err)
	}
	if got, err = s.SetCampaignState(t.Context(), c.ID, []domain.CampaignStatus{domain.CampaignScheduled}, domain.CampaignRunning, 0, ""); err != nil ||
		got.Status != domain.CampaignRunning || len(got.Targets) != 3 {
		t.Fatalf("start %+v %v", got, err)
	}
	_, err = s.SetCampaignState(t.Context(), c.ID, []domain.CampaignStatus{domain.CampaignScheduled}, domain.CampaignRunning, 0, "")
	wantErr(t, "start twice", err, domain.ErrConflict)

	tg := got.Targets[0]
	tg.Status, tg.StationStatus, tg.SentAt = domain.TargetUpdating, "Downloading", at(2*time.Minute)
	if err := s.UpdateTarget(t.Context(), tg); err != nil {
		t.Fatal(err)
	}
	up, err := s.UpdatingTarget(t.Context(), "FW-A")
	if err != nil || up.ID != tg.ID || up.StationStatus != "Downloading" {
		t.Fatalf("updating target %+v %v", up, err)
	}
	wantTime(t, "SentAt", up.SentAt, at(2*time.Minute))
	_, err = s.UpdatingTarget(t.Context(), "FW-B")
	wantErr(t, "no updating target", err, domain.ErrNotFound)
	if byID, err := s.CampaignTarget(t.Context(), tg.ID); err != nil || byID.StationID != "FW-A" {
		t.Fatalf("target by id %+v %v", byID, err)
	}
	tg.Status, tg.Error = domain.TargetFailed, "InstallationFailed"
	if err := s.UpdateTarget(t.Context(), tg); err != nil {
		t.Fatal(err)
	}
	// A decided target stays decided (a late report racing the timeout).
	late := tg
	late.Status, late.StationStatus = domain.TargetInstalled, "Installed"
	wantErr(t, "update a failed target", s.UpdateTarget(t.Context(), late), domain.ErrConflict)
	if got, _ := s.CampaignTarget(t.Context(), tg.ID); got.Status != domain.TargetFailed || got.Error != "InstallationFailed" {
		t.Errorf("a decided target changed: %+v", got)
	}
	err = s.UpdateTarget(t.Context(), domain.CampaignTarget{ID: 999999, Status: domain.TargetFailed})
	wantErr(t, "unknown target", err, domain.ErrNotFound)
	err = s.UpdateTarget(t.Context(), domain.CampaignTarget{ID: tg.ID, Status: "confused"})
	wantErr(t, "bad target status", err, domain.ErrInvalid)

	halted, err := s.SetCampaignState(t.Context(), c.ID, []domain.CampaignStatus{domain.CampaignRunning}, domain.CampaignHalted, 0, "wave 1: 1 of 2 failed")
	if err != nil || halted.Status != domain.CampaignHalted || halted.Reason != "wave 1: 1 of 2 failed" {
		t.Fatalf("halt %+v %v", halted, err)
	}
	cancelled, err := s.SetCampaignState(t.Context(), c.ID, nil, domain.CampaignCancelled, 0, "")
	if err != nil || cancelled.Status != domain.CampaignCancelled {
		t.Fatalf("cancel %+v %v", cancelled, err)
	}
	states := map[string]string{}
	for _, x := range cancelled.Targets {
		states[x.StationID] = x.Status
	}
	if states["FW-A"] != domain.TargetFailed || states["FW-B"] != domain.TargetCancelled || states["FW-C"] != domain.TargetCancelled {
		t.Errorf("targets after cancel %v", states)
	}
	_, err = s.Campaign(t.Context(), 999999)
	wantErr(t, "unknown campaign", err, domain.ErrNotFound)
	_, err = s.SetCampaignState(t.Context(), 999999, nil, domain.CampaignHalted, 0, "")
	wantErr(t, "unknown campaign state", err, domain.ErrNotFound)
}

func testCampaignInvalid(t *testing.T, s domain.Store) {
	mustCreate(t, s, "FW-I")
	for name, edit := range map[string]func(*domain.Campaign){
		"no url":        func(c *domain.Campaign) { c.FirmwareURL = "" },
		"waves not 100": func(c *domain.Campaign) { c.Waves = []int{10, 50} },
		"waves down":    func(c *domain.Campaign) { c.Waves = []int{50, 10, 100} },
		"threshold":     func(c *domain.Campaign) { c.FailureThreshold = 2 },
		"timeout":       func(c *domain.Campaign) { c.StationTimeout = 0 },
		"no stations":   func(c *domain.Campaign) { c.Targets = nil },
		"no start":      func(c *domain.Campaign) { c.StartAt = time.Time{} },
		"bad status":    func(c *domain.Campaign) { c.Status = "dreaming" },
	} {
		c := newCampaign("FW-I")
		edit(&c)
		_, err := s.CreateCampaign(t.Context(), c)
		wantErr(t, name, err, domain.ErrInvalid)
	}
	_, err := s.CreateCampaign(t.Context(), newCampaign("FW-I", "FW-NOPE"))
	wantErr(t, "unknown station", err, domain.ErrNotFound)
	_, err = s.CreateCampaign(t.Context(), newCampaign("FW-I", "FW-I"))
	wantErr(t, "station twice", err, domain.ErrConflict)
	if list, _, err := s.Campaigns(t.Context(), domain.Page{}); err != nil || len(list) != 0 {
		t.Errorf("a refused campaign left %d behind (%v)", len(list), err)
	}
}

func testCampaignsListAndActive(t *testing.T, s domain.Store) {
	mustCreate(t, s, "FW-L")
	var ids []int64
	for range 3 {
		c, err := s.CreateCampaign(t.Context(), newCampaign("FW-L"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if _, err := s.SetCampaignState(t.Context(), ids[1], nil, domain.CampaignCompleted, 0, ""); err != nil {
		t.Fatal(err)
	}
	page, next, err := s.Campaigns(t.Context(), domain.Page{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != ids[2] || next == "" {
		t.Fatalf("page 1 %+v %q %v", page, next, err)
	}
	page, next, err = s.Campaigns(t.Context(), domain.Page{Limit: 2, Cursor: next})
	if err != nil || len(page) != 1 || page[0].ID != ids[0] || next != "" {
		t.Fatalf("page 2 %+v %q %v", page, next, err)
	}
	active, err := s.ActiveCampaigns(t.Context())
	if err != nil || len(active) != 2 || active[0].ID != ids[0] || active[1].ID != ids[2] || len(active[0].Targets) != 1 {
		t.Fatalf("active %+v %v", active, err)
	}
}
