package storetest

import (
	"reflect"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
)

var remoteOpsTests = []suiteTest{
	{"StationConfigReplaceAndUpsert", testStationConfig},
	{"StationConfigInvalid", testStationConfigInvalid},
	{"ConfigTemplates", testConfigTemplates},
	{"LocalList", testLocalList},
}

func testStationConfig(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CFG-1")
	if items, err := s.StationConfig(ctx, "CFG-1"); err != nil || len(items) != 0 {
		t.Fatalf("StationConfig before any report = %v, %v; want none", items, err)
	}
	detail := []byte(`{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}`)
	full := []domain.ConfigItem{
		{Key: "OCPPCommCtrlr/HeartbeatInterval", Value: "300", Detail: detail, UpdatedAt: at(0)},
		{Key: "AuthCtrlr/Enabled", Value: "true", ReadOnly: true, UpdatedAt: at(0)},
		{Key: "Old/Key", Value: "x", UpdatedAt: at(0)},
	}
	if err := s.ReplaceStationConfig(ctx, "CFG-1", full); err != nil {
		t.Fatal(err)
	}
	// A second full report replaces: Old/Key goes.
	if err := s.ReplaceStationConfig(ctx, "CFG-1", full[:2]); err != nil {
		t.Fatal(err)
	}
	// A set changes one value and keeps the detail it does not carry.
	if err := s.UpsertStationConfig(ctx, "CFG-1", []domain.ConfigItem{
		{Key: "OCPPCommCtrlr/HeartbeatInterval", Value: "60", UpdatedAt: at(1e9)},
		{Key: "New/Key", Value: "y", UpdatedAt: at(1e9)},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.StationConfig(ctx, "CFG-1")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range got {
		keys = append(keys, it.Key)
	}
	if !reflect.DeepEqual(keys, []string{"AuthCtrlr/Enabled", "New/Key", "OCPPCommCtrlr/HeartbeatInterval"}) {
		t.Fatalf("keys %v", keys)
	}
	if !got[0].ReadOnly || got[0].Value != "true" || got[0].Detail != nil {
		t.Errorf("AuthCtrlr/Enabled = %+v", got[0])
	}
	hb := got[2]
	if hb.Value != "60" || hb.ReadOnly {
		t.Errorf("heartbeat item %+v", hb)
	}
	wantJSON(t, "kept detail", hb.Detail, detail)
	wantTime(t, "updated", hb.UpdatedAt, at(1e9))
	// Other stations see nothing of it; unknown stations are not found.
	mustCreate(t, s, "CFG-2")
	if items, _ := s.StationConfig(ctx, "CFG-2"); len(items) != 0 {
		t.Errorf("CFG-2 config %v", items)
	}
	_, err = s.StationConfig(ctx, "NOPE")
	wantErr(t, "StationConfig(unknown)", err, domain.ErrNotFound)
	wantErr(t, "Replace(unknown)", s.ReplaceStationConfig(ctx, "NOPE", full), domain.ErrNotFound)
	wantErr(t, "Upsert(unknown)", s.UpsertStationConfig(ctx, "NOPE", full), domain.ErrNotFound)
	// Deleting the station deletes its configuration.
	if err := s.DeleteStation(ctx, "CFG-1"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "CFG-1")
	if items, _ := s.StationConfig(ctx, "CFG-1"); len(items) != 0 {
		t.Errorf("configuration outlived its station: %v", items)
	}
}

func testStationConfigInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CFG-1")
	for _, items := range [][]domain.ConfigItem{
		{{Key: ""}},
		{{Key: "a\x00b"}},
		{{Key: "k", Value: "\xff"}},
		{{Key: "k", Detail: []byte("{not json")}},
	} {
		wantErr(t, "Upsert invalid", s.UpsertStationConfig(ctx, "CFG-1", items), domain.ErrInvalid)
	}
}

func testConfigTemplates(t *testing.T, s domain.Store) {
	ctx := t.Context()
	tpl := domain.ConfigTemplate{ID: "acme-x1", Vendor: "Acme", Model: "X1", Values: map[string]string{"HeartbeatInterval": "60", "MeterValueSampleInterval": "30"}}
	created, err := s.PutConfigTemplate(ctx, tpl)
	if err != nil || !created {
		t.Fatalf("PutConfigTemplate = %v, %v; want created", created, err)
	}
	tpl.Values = map[string]string{"HeartbeatInterval": "120"}
	created, err = s.PutConfigTemplate(ctx, tpl)
	if err != nil || created {
		t.Fatalf("PutConfigTemplate again = %v, %v; want replaced", created, err)
	}
	if _, err := s.PutConfigTemplate(ctx, domain.ConfigTemplate{ID: "b", Vendor: "B", Model: "M", Values: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConfigTemplate(ctx, "acme-x1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Vendor != "Acme" || got.Model != "X1" || !reflect.DeepEqual(got.Values, tpl.Values) {
		t.Errorf("template %+v", got)
	}
	wantStamped(t, "created", got.CreatedAt)
	if got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("updated %v before created %v", got.UpdatedAt, got.CreatedAt)
	}
	all, err := s.ConfigTemplates(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "acme-x1" || all[1].ID != "b" {
		t.Fatalf("ConfigTemplates = %+v, %v", all, err)
	}
	if err := s.DeleteConfigTemplate(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete again", s.DeleteConfigTemplate(ctx, "b"), domain.ErrNotFound)
	_, err = s.ConfigTemplate(ctx, "b")
	wantErr(t, "get deleted", err, domain.ErrNotFound)
	for _, bad := range []domain.ConfigTemplate{
		{ID: "", Vendor: "A", Model: "M", Values: map[string]string{"k": "v"}},
		{ID: "x y", Vendor: "A", Model: "M", Values: map[string]string{"k": "v"}},
		{ID: "x", Vendor: "", Model: "M", Values: map[string]string{"k": "v"}},
		{ID: "x", Vendor: "A", Model: "M"},
		{ID: "x", Vendor: "A", Model: "M", Values: map[string]string{"k": "\x00"}},
	} {
		_, err := s.PutConfigTemplate(ctx, bad)
		wantErr(t, "put invalid template", err, domain.ErrInvalid)
	}
}

func testLocalList(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "LL-1")
	_, err := s.LocalList(ctx, "LL-1")
	wantErr(t, "LocalList before any", err, domain.ErrNotFound)
	l := domain.LocalList{StationID: "LL-1", Version: 1, UpdateType: "Full", SentAt: at(0), Entries: []domain.LocalListEntry{
		{IDToken: "A1", Type: "ISO14443", Status: "Accepted", ExpiresAt: at(3600e9), GroupID: "G"},
		{IDToken: "B2", Type: "ISO14443", Status: "Blocked"},
	}}
	if err := s.SaveLocalList(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.Version, l.UpdateType, l.SentAt = 2, "Differential", at(1e9)
	l.Entries = l.Entries[:1]
	if err := s.SaveLocalList(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := s.LocalList(ctx, "LL-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.UpdateType != "Differential" || len(got.Entries) != 1 || got.Entries[0].IDToken != "A1" ||
		got.Entries[0].GroupID != "G" || got.Entries[0].Status != "Accepted" {
		t.Fatalf("LocalList = %+v", got)
	}
	wantTime(t, "expiry", got.Entries[0].ExpiresAt.UTC(), at(3600e9))
	wantTime(t, "sent", got.SentAt, at(1e9))
	wantErr(t, "save for unknown station", s.SaveLocalList(ctx, domain.LocalList{StationID: "NOPE", Version: 1, UpdateType: "Full"}), domain.ErrNotFound)
	wantErr(t, "save invalid", s.SaveLocalList(ctx, domain.LocalList{StationID: "LL-1", Version: -1, UpdateType: "Full"}), domain.ErrInvalid)
	wantErr(t, "save invalid type", s.SaveLocalList(ctx, domain.LocalList{StationID: "LL-1", Version: 1, UpdateType: "Partial"}), domain.ErrInvalid)
	if err := s.DeleteStation(ctx, "LL-1"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "LL-1")
	_, err = s.LocalList(ctx, "LL-1")
	wantErr(t, "list outlived its station", err, domain.ErrNotFound)
}
