// Package storetest is the conformance suite of domain.Store: the behaviour every store
// (SQLite, PostgreSQL, …) must show, written once and run against each of them with Run. A store
// that passes it can replace another without the rest of OpenCPO noticing.
//
// It also holds the two halves of a crash test (CrashWorkload, CheckAcknowledged) that a store's
// own tests wire to a child process killed with SIGKILL.
//
// It may import the domain package and the standard library (testing above all); never a store.
//
// Conventions the stores must meet and the suite relies on:
//   - Times the suite writes are whole microseconds (PostgreSQL keeps no more); stores return
//     every time in UTC.
//   - Ids are ordered byte-wise (Go string order; PostgreSQL needs COLLATE "C").
//   - JSON payloads are compared as JSON values, not bytes (jsonb may reformat them); nil stays nil.
//   - The store's own clock (created/updated times, "zero time means now") is whatever the opener
//     injected: the suite checks only that such times are set and do not go backwards.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// Run runs the whole suite. open must return a new, empty store for the test it is given; the
// suite closes it when the test ends (Close must therefore tolerate a second call if open also
// registers one). Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) domain.Store) {
	tests := []suiteTest{
		{"CreateAndGet", testCreateAndGet},
		{"CreateWithConnectors", testCreateWithConnectors},
		{"CreateConflict", testCreateConflict},
		{"CreateInvalid", testCreateInvalid},
		{"NotFound", testNotFound},
		{"StationsPaging", testStationsPaging},
		{"StationsPageSize", testStationsPageSize},
		{"StationsInvalidCursor", testStationsInvalidCursor},
		{"UpdateStation", testUpdateStation},
		{"DeleteStationCascades", testDeleteStationCascades},
		{"RecordBoot", testRecordBoot},
		{"SetConnected", testSetConnected},
		{"MarkAllDisconnected", testMarkAllDisconnected},
		{"TouchStation", testTouchStation},
		{"TouchStations", testTouchStations},
		{"UpdateStatusCreatesEVSEs", testUpdateStatusCreatesEVSEs},
		{"UpdateStatusOutOfOrder", testUpdateStatusOutOfOrder},
		{"UpdateStatusStationLevel", testUpdateStatusStationLevel},
		{"UpdateStatusInvalid", testUpdateStatusInvalid},
		{"ZeroTimeMeansNow", testZeroTimeMeansNow},
		{"TimesRoundTripInUTC", testTimesRoundTripInUTC},
		{"StationEvents", testStationEvents},
		{"StationEventsInvalid", testStationEventsInvalid},
		{"Audit", testAudit},
		{"AuditOutlivesStation", testAuditOutlivesStation},
		{"AuditInvalid", testAuditInvalid},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentWrites", testConcurrentWrites},
	}
	tests = append(tests, tokenTests...)
	tests = append(tests, sessionTests...)
	tests = append(tests, locationTests...)
	tests = append(tests, apiTokenTests...)
	tests = append(tests, nodeTests...)
	tests = append(tests, remoteOpsTests...)
	tests = append(tests, fieldOpsTests...)
	tests = append(tests, campaignTests...)
	tests = append(tests, tariffTests...)
	tests = append(tests, userTests...)
	tests = append(tests, consoleSessionTests...)
	tests = append(tests, chargingStateTests...)
	tests = append(tests, stationGroupTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

type suiteTest struct {
	name string
	fn   func(t *testing.T, s domain.Store)
}

// base is the suite's reference time: whole microseconds, UTC.
var base = time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func mustCreate(t *testing.T, s domain.Store, id string) {
	t.Helper()
	if err := s.CreateStation(t.Context(), domain.Station{ID: id, RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatalf("CreateStation(%q): %v", id, err)
	}
}

func mustGet(t *testing.T, s domain.Store, id string) domain.Station {
	t.Helper()
	st, err := s.Station(t.Context(), id)
	if err != nil {
		t.Fatalf("Station(%q): %v", id, err)
	}
	return st
}

func mustStatus(t *testing.T, s domain.Store, u domain.StatusUpdate) {
	t.Helper()
	if err := s.UpdateStatus(t.Context(), u); err != nil {
		t.Fatalf("UpdateStatus(%+v): %v", u, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one wrapping %q", what, err, target)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v (%v), want %v in UTC", what, got, got.Location(), want)
	}
}

// wantStamped checks a time the store set from its own clock.
func wantStamped(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.IsZero() || got.Location() != time.UTC {
		t.Errorf("%s = %v (%v), want a time set by the store, in UTC", what, got, got.Location())
	}
}

func wantJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s = %q, want %q", what, got, want)
		return
	}
	if want == nil {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s = %q: not JSON: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: test's own JSON %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// shape renders a station's EVSEs and connectors compactly for comparisons: "1:[1 2] 3:[1]".
func shape(st domain.Station) string {
	var b bytes.Buffer
	for i, e := range st.EVSEs {
		if i > 0 {
			b.WriteByte(' ')
		}
		ids := make([]int, len(e.Connectors))
		for j, c := range e.Connectors {
			ids[j] = c.ID
		}
		fmt.Fprintf(&b, "%d:%v", e.ID, ids)
	}
	return b.String()
}

func connector(t *testing.T, st domain.Station, evse, conn int) domain.Connector {
	t.Helper()
	for _, e := range st.EVSEs {
		if e.ID != evse {
			continue
		}
		for _, c := range e.Connectors {
			if c.ID == conn {
				return c
			}
		}
	}
	t.Fatalf("station %s has no connector %d/%d (has %s)", st.ID, evse, conn, shape(st))
	return domain.Connector{}
}

func testCreateAndGet(t *testing.T, s domain.Store) {
	in := domain.Station{
		ID:                 "CP-1",
		Name:               "Car park, level 2",
		PasswordHash:       "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		RegistrationStatus: domain.RegistrationPending,
		Vendor:             "ACME",
		Model:              "Wallbox 22",
		SerialNumber:       "SN-42",
		FirmwareVersion:    "1.2.3",
	}
	if err := s.CreateStation(t.Context(), in); err != nil {
		t.Fatalf("CreateStation: %v", err)
	}
	got := mustGet(t, s, "CP-1")
	if got.ID != in.ID || got.Name != in.Name || got.PasswordHash != in.PasswordHash ||
		got.RegistrationStatus != in.RegistrationStatus || got.Vendor != in.Vendor || got.Model != in.Model ||
		got.SerialNumber != in.SerialNumber || got.FirmwareVersion != in.FirmwareVersion {
		t.Errorf("Station = %+v, want the fields of %+v", got, in)
	}
	if got.Connected || got.OCPPVersion != "" || !got.LastSeenAt.IsZero() || len(got.EVSEs) != 0 {
		t.Errorf("new station: connected %t, version %q, last seen %v, EVSEs %s; want false, \"\", zero, none",
			got.Connected, got.OCPPVersion, got.LastSeenAt, shape(got))
	}
	wantStamped(t, "CreatedAt", got.CreatedAt)
	wantStamped(t, "UpdatedAt", got.UpdatedAt)
	if got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, got.CreatedAt)
	}
}

func testCreateWithConnectors(t *testing.T, s domain.Store) {
	in := domain.Station{
		ID:                 "CP-1",
		RegistrationStatus: domain.RegistrationAccepted,
		Connected:          true,
		OCPPVersion:        domain.OCPP201,
		LastSeenAt:         at(time.Minute),
		EVSEs: []domain.EVSE{
			{ID: 1, Connectors: []domain.Connector{
				{ID: 1, Status: domain.ConnectorAvailable, OCPPStatus: "Available", ErrorCode: "NoError", UpdatedAt: at(0)},
				{ID: 2, Status: domain.ConnectorOccupied, OCPPStatus: "Occupied", ErrorCode: "NoError", UpdatedAt: at(time.Second)},
			}},
			{ID: 2, Connectors: []domain.Connector{
				{ID: 1, Status: domain.ConnectorFaulted, OCPPStatus: "Faulted", ErrorCode: "GroundFailure",
					Info: "RCD tripped", VendorErrorCode: "E42", UpdatedAt: at(2 * time.Second)},
			}},
		},
	}
	if err := s.CreateStation(t.Context(), in); err != nil {
		t.Fatalf("CreateStation: %v", err)
	}
	got := mustGet(t, s, "CP-1")
	if !got.Connected || got.OCPPVersion != domain.OCPP201 {
		t.Errorf("connected %t, version %q; want true, %q", got.Connected, got.OCPPVersion, domain.OCPP201)
	}
	wantTime(t, "LastSeenAt", got.LastSeenAt, in.LastSeenAt)
	if shape(got) != "1:[1 2] 2:[1]" {
		t.Fatalf("EVSEs = %s, want 1:[1 2] 2:[1]", shape(got))
	}
	// StationRecord: the same station, without its EVSEs.
	rec, err := s.StationRecord(t.Context(), "CP-1")
	if err != nil {
		t.Fatalf("StationRecord: %v", err)
	}
	if len(rec.EVSEs) != 0 {
		t.Errorf("StationRecord has EVSEs %s, want none", shape(rec))
	}
	rec.EVSEs = got.EVSEs
	if !reflect.DeepEqual(rec, got) {
		t.Errorf("StationRecord = %+v\nStation      = %+v", rec, got)
	}
	for _, e := range in.EVSEs {
		for _, want := range e.Connectors {
			c := connector(t, got, e.ID, want.ID)
			wantTime(t, "connector UpdatedAt", c.UpdatedAt, want.UpdatedAt)
			c.UpdatedAt = want.UpdatedAt
			if c != want {
				t.Errorf("connector %d/%d = %+v, want %+v", e.ID, want.ID, c, want)
			}
		}
	}
}

func testCreateConflict(t *testing.T, s domain.Store) {
	if err := s.CreateStation(t.Context(), domain.Station{ID: "CP-1", Name: "first", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatalf("CreateStation: %v", err)
	}
	err := s.CreateStation(t.Context(), domain.Station{ID: "CP-1", Name: "second", RegistrationStatus: domain.RegistrationPending})
	wantErr(t, "second CreateStation", err, domain.ErrConflict)
	if got := mustGet(t, s, "CP-1"); got.Name != "first" || got.RegistrationStatus != domain.RegistrationAccepted {
		t.Errorf("after a conflict the station is %+v, want the first one unchanged", got)
	}
	// A failed write must not disturb the store: the next one works.
	mustCreate(t, s, "CP-2")
}

func testCreateInvalid(t *testing.T, s domain.Store) {
	for name, st := range map[string]domain.Station{
		"empty id":             {RegistrationStatus: domain.RegistrationAccepted},
		"no registration":      {ID: "CP-1"},
		"unknown registration": {ID: "CP-1", RegistrationStatus: "Maybe"},
		"evse 0": {ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted, EVSEs: []domain.EVSE{
			{ID: 0, Connectors: []domain.Connector{{ID: 1, Status: domain.ConnectorAvailable}}}}},
	} {
		wantErr(t, "CreateStation with "+name, s.CreateStation(t.Context(), st), domain.ErrInvalid)
	}
	items, _, err := s.Stations(t.Context(), domain.Page{})
	if err != nil || len(items) != 0 {
		t.Errorf("Stations after invalid creates = %d items, %v; want none", len(items), err)
	}
}

func testNotFound(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1") // a neighbour must not be touched or found
	name := "x"
	_, err := s.Station(ctx, "CP-404")
	wantErr(t, "Station", err, domain.ErrNotFound)
	_, err = s.StationRecord(ctx, "CP-404")
	wantErr(t, "StationRecord", err, domain.ErrNotFound)
	_, err = s.UpdateStation(ctx, "CP-404", domain.StationPatch{Name: &name})
	wantErr(t, "UpdateStation", err, domain.ErrNotFound)
	wantErr(t, "DeleteStation", s.DeleteStation(ctx, "CP-404"), domain.ErrNotFound)
	wantErr(t, "RecordBoot", s.RecordBoot(ctx, domain.BootInfo{StationID: "CP-404", Vendor: "v", Model: "m", At: at(0)}), domain.ErrNotFound)
	wantErr(t, "SetConnected(true)", s.SetConnected(ctx, "CP-404", true, domain.OCPP16, at(0)), domain.ErrNotFound)
	wantErr(t, "SetConnected(false)", s.SetConnected(ctx, "CP-404", false, "", at(0)), domain.ErrNotFound)
	wantErr(t, "TouchStation", s.TouchStation(ctx, "CP-404", at(0)), domain.ErrNotFound)
	wantErr(t, "UpdateStatus", s.UpdateStatus(ctx, domain.StatusUpdate{StationID: "CP-404", EVSEID: 1, ConnectorID: 1,
		Status: domain.ConnectorAvailable, At: at(0)}), domain.ErrNotFound)
	wantErr(t, "UpdateStatus of EVSE 0", s.UpdateStatus(ctx, domain.StatusUpdate{StationID: "CP-404",
		Status: domain.ConnectorAvailable, At: at(0)}), domain.ErrNotFound)
	wantErr(t, "AddStationEvent", s.AddStationEvent(ctx, domain.StationEvent{StationID: "CP-404", Kind: "SecurityEvent",
		Type: "ResetOrReboot", At: at(0)}), domain.ErrNotFound)
	_, _, err = s.StationEvents(ctx, "CP-404", domain.Page{})
	wantErr(t, "StationEvents", err, domain.ErrNotFound)

	got := mustGet(t, s, "CP-1")
	if got.Name != "" || got.Connected || !got.LastSeenAt.IsZero() || len(got.EVSEs) != 0 {
		t.Errorf("neighbour station changed: %+v", got)
	}
}

func testStationsPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	// Mixed case and lengths: the order is byte-wise.
	ids := []string{"CP-05", "b-1", "CP-01", "CP-10", "A.9", "CP-1", "cp-00", "_x"}
	for i, id := range ids {
		mustCreate(t, s, id)
		// Every other station gets connectors, so that EVSEs must be matched to their station.
		if i%2 == 0 {
			mustStatus(t, s, domain.StatusUpdate{StationID: id, EVSEID: i + 1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: at(0)})
			mustStatus(t, s, domain.StatusUpdate{StationID: id, EVSEID: 1, ConnectorID: 2, Status: domain.ConnectorAvailable, At: at(0)})
		}
	}
	want := slices.Clone(ids)
	slices.Sort(want)

	var got []string
	cursor := ""
	for page := 0; ; page++ {
		if page > len(ids) {
			t.Fatalf("paging does not end; got %v", got)
		}
		items, next, err := s.Stations(ctx, domain.Page{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("Stations(page %d): %v", page, err)
		}
		if len(items) > 3 {
			t.Fatalf("page %d has %d items, limit 3", page, len(items))
		}
		for _, st := range items {
			got = append(got, st.ID)
			i := slices.Index(ids, st.ID)
			wantShape := ""
			if i%2 == 0 {
				wantShape = fmt.Sprintf("1:[2] %d:[1]", i+1)
				if i == 0 {
					wantShape = "1:[1 2]"
				}
			}
			if shape(st) != wantShape {
				t.Errorf("station %s in list has EVSEs %s, want %q", st.ID, shape(st), wantShape)
			}
			if one := mustGet(t, s, st.ID); !reflect.DeepEqual(one, st) {
				t.Errorf("list item %+v differs from Station() %+v", st, one)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("stations over all pages = %v, want %v", got, want)
	}
}

func testStationsPageSize(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for i := range 6 {
		mustCreate(t, s, fmt.Sprintf("CP-%d", i))
	}
	// A last page that is exactly full says it is the last one.
	items, next, err := s.Stations(ctx, domain.Page{Limit: 3})
	if err != nil || len(items) != 3 || next == "" {
		t.Fatalf("first page: %d items, next %q, %v; want 3 and a cursor", len(items), next, err)
	}
	items, next, err = s.Stations(ctx, domain.Page{Limit: 3, Cursor: next})
	if err != nil || len(items) != 3 || next != "" {
		t.Errorf("second page: %d items, next %q, %v; want 3 and no cursor", len(items), next, err)
	}
	// Limit 0 means the default (100); an oversized limit is capped, not refused.
	for _, limit := range []int{0, -1, 10000} {
		items, next, err = s.Stations(ctx, domain.Page{Limit: limit})
		if err != nil || len(items) != 6 || next != "" {
			t.Errorf("limit %d: %d items, next %q, %v; want all 6", limit, len(items), next, err)
		}
	}
}

func testStationsInvalidCursor(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-1")
	_, _, err := s.Stations(t.Context(), domain.Page{Cursor: "not a cursor!"})
	wantErr(t, "Stations with a bad cursor", err, domain.ErrInvalid)
}

func testUpdateStation(t *testing.T, s domain.Store) {
	ctx := t.Context()
	if err := s.CreateStation(ctx, domain.Station{ID: "CP-1", Name: "old", PasswordHash: "h1",
		RegistrationStatus: domain.RegistrationPending}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, s, domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: at(0)})
	before := mustGet(t, s, "CP-1")

	name := "new"
	got, err := s.UpdateStation(ctx, "CP-1", domain.StationPatch{Name: &name})
	if err != nil {
		t.Fatalf("UpdateStation(name): %v", err)
	}
	if got.Name != "new" || got.PasswordHash != "h1" || got.RegistrationStatus != domain.RegistrationPending {
		t.Errorf("after name patch: %+v; want name new, the rest unchanged", got)
	}
	if shape(got) != "1:[1]" {
		t.Errorf("UpdateStation result has EVSEs %s, want 1:[1]", shape(got))
	}
	if got.UpdatedAt.Before(before.UpdatedAt) || !got.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("times after patch: created %v updated %v; before created %v updated %v",
			got.CreatedAt, got.UpdatedAt, before.CreatedAt, before.UpdatedAt)
	}
	if stored := mustGet(t, s, "CP-1"); !reflect.DeepEqual(stored, got) {
		t.Errorf("UpdateStation returned %+v, Station() says %+v", got, stored)
	}

	reg, hash := domain.RegistrationAccepted, ""
	got, err = s.UpdateStation(ctx, "CP-1", domain.StationPatch{RegistrationStatus: &reg, PasswordHash: &hash})
	if err != nil {
		t.Fatalf("UpdateStation(registration, password): %v", err)
	}
	if got.Name != "new" || got.PasswordHash != "" || got.RegistrationStatus != domain.RegistrationAccepted {
		t.Errorf("after second patch: %+v", got)
	}

	if _, err := s.UpdateStation(ctx, "CP-1", domain.StationPatch{}); err != nil {
		t.Errorf("empty patch: %v", err)
	}
	bad := domain.RegistrationStatus("Maybe")
	_, err = s.UpdateStation(ctx, "CP-1", domain.StationPatch{RegistrationStatus: &bad, Name: &hash})
	wantErr(t, "UpdateStation with a bad registration status", err, domain.ErrInvalid)
	if got := mustGet(t, s, "CP-1"); got.Name != "new" || got.RegistrationStatus != domain.RegistrationAccepted {
		t.Errorf("a refused patch changed the station: %+v", got)
	}
}

func testDeleteStationCascades(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	mustCreate(t, s, "CP-2")
	for _, id := range []string{"CP-1", "CP-2"} {
		mustStatus(t, s, domain.StatusUpdate{StationID: id, EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: at(0)})
		if err := s.AddStationEvent(ctx, domain.StationEvent{StationID: id, Kind: "SecurityEvent", Type: "StartupOfTheDevice", At: at(0)}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAudit(ctx, domain.AuditEntry{At: at(0), Actor: "admin", StationID: id, Action: "Reset", Request: []byte(`{"type":"Soft"}`), Response: []byte(`{"status":"Accepted"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteStation(ctx, "CP-1"); err != nil {
		t.Fatalf("DeleteStation: %v", err)
	}
	_, err := s.Station(ctx, "CP-1")
	wantErr(t, "Station after delete", err, domain.ErrNotFound)
	wantErr(t, "second DeleteStation", s.DeleteStation(ctx, "CP-1"), domain.ErrNotFound)

	// Recreated under the same id, the station starts empty: connectors and events went with it.
	mustCreate(t, s, "CP-1")
	if got := mustGet(t, s, "CP-1"); len(got.EVSEs) != 0 {
		t.Errorf("recreated station has EVSEs %s", shape(got))
	}
	evs, _, err := s.StationEvents(ctx, "CP-1", domain.Page{})
	if err != nil || len(evs) != 0 {
		t.Errorf("recreated station has events %v, %v", evs, err)
	}
	// The audit log keeps what happened to the deleted station.
	es, _, err := s.Audit(ctx, "CP-1", domain.Page{})
	if err != nil || len(es) != 1 {
		t.Errorf("audit of deleted station: %d entries, %v; want 1", len(es), err)
	}
	// The neighbour is untouched.
	if got := mustGet(t, s, "CP-2"); shape(got) != "1:[1]" {
		t.Errorf("neighbour EVSEs %s", shape(got))
	}
	evs, _, err = s.StationEvents(ctx, "CP-2", domain.Page{})
	if err != nil || len(evs) != 1 {
		t.Errorf("neighbour events %d, %v; want 1", len(evs), err)
	}
}

func testRecordBoot(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	before := mustGet(t, s, "CP-1")
	b := domain.BootInfo{StationID: "CP-1", Vendor: "ACME", Model: "W22", SerialNumber: "SN1",
		FirmwareVersion: "2.0", OCPPVersion: domain.OCPP16, At: at(time.Hour)}
	if err := s.RecordBoot(ctx, b); err != nil {
		t.Fatalf("RecordBoot: %v", err)
	}
	got := mustGet(t, s, "CP-1")
	if got.Vendor != "ACME" || got.Model != "W22" || got.SerialNumber != "SN1" || got.FirmwareVersion != "2.0" ||
		got.OCPPVersion != domain.OCPP16 {
		t.Errorf("after boot: %+v", got)
	}
	wantTime(t, "LastSeenAt", got.LastSeenAt, b.At)
	if got.UpdatedAt.Before(before.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, before.UpdatedAt)
	}

	// A later boot (new firmware) replaces the identity but never moves last-seen backwards.
	b.FirmwareVersion, b.OCPPVersion, b.At = "2.1", domain.OCPP201, at(time.Minute)
	if err := s.RecordBoot(ctx, b); err != nil {
		t.Fatalf("second RecordBoot: %v", err)
	}
	got = mustGet(t, s, "CP-1")
	if got.FirmwareVersion != "2.1" || got.OCPPVersion != domain.OCPP201 {
		t.Errorf("after second boot: firmware %q version %q", got.FirmwareVersion, got.OCPPVersion)
	}
	wantTime(t, "LastSeenAt after an older boot", got.LastSeenAt, at(time.Hour))
}

func testSetConnected(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	if err := s.SetConnected(ctx, "CP-1", true, domain.OCPP16, at(time.Minute)); err != nil {
		t.Fatalf("SetConnected(true): %v", err)
	}
	got := mustGet(t, s, "CP-1")
	if !got.Connected || got.OCPPVersion != domain.OCPP16 {
		t.Errorf("connected: %t %q, want true 1.6", got.Connected, got.OCPPVersion)
	}
	wantTime(t, "LastSeenAt", got.LastSeenAt, at(time.Minute))

	if err := s.SetConnected(ctx, "CP-1", false, "", at(2*time.Minute)); err != nil {
		t.Fatalf("SetConnected(false): %v", err)
	}
	got = mustGet(t, s, "CP-1")
	if got.Connected || got.OCPPVersion != domain.OCPP16 {
		t.Errorf("disconnected: %t %q, want false and the version kept (last one seen)", got.Connected, got.OCPPVersion)
	}

	// Reconnecting with another version; a connection time older than last-seen leaves it.
	if err := s.TouchStation(ctx, "CP-1", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConnected(ctx, "CP-1", true, domain.OCPP201, at(30*time.Minute)); err != nil {
		t.Fatalf("SetConnected(true, 2.0.1): %v", err)
	}
	got = mustGet(t, s, "CP-1")
	if !got.Connected || got.OCPPVersion != domain.OCPP201 {
		t.Errorf("reconnected: %t %q, want true 2.0.1", got.Connected, got.OCPPVersion)
	}
	wantTime(t, "LastSeenAt", got.LastSeenAt, at(time.Hour))
}

func testMarkAllDisconnected(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for i := range 3 {
		id := fmt.Sprintf("CP-%d", i)
		mustCreate(t, s, id)
		if i > 0 {
			if err := s.SetConnected(ctx, id, true, domain.OCPP16, at(0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.MarkAllDisconnected(ctx); err != nil {
		t.Fatalf("MarkAllDisconnected: %v", err)
	}
	items, _, err := s.Stations(ctx, domain.Page{})
	if err != nil || len(items) != 3 {
		t.Fatalf("Stations: %d, %v", len(items), err)
	}
	for _, st := range items {
		if st.Connected {
			t.Errorf("%s still connected", st.ID)
		}
		if st.ID != "CP-0" && st.OCPPVersion != domain.OCPP16 {
			t.Errorf("%s lost its OCPP version: %q", st.ID, st.OCPPVersion)
		}
	}
	if err := s.MarkAllDisconnected(ctx); err != nil {
		t.Errorf("MarkAllDisconnected with nothing connected: %v", err)
	}
}

func testTouchStation(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	steps := []struct {
		at, want time.Duration
	}{
		{10 * time.Second, 10 * time.Second},
		{5 * time.Second, 10 * time.Second}, // older: ignored
		{10 * time.Second, 10 * time.Second},
		{time.Minute + time.Microsecond, time.Minute + time.Microsecond},
	}
	for _, step := range steps {
		if err := s.TouchStation(ctx, "CP-1", at(step.at)); err != nil {
			t.Fatalf("TouchStation(%v): %v", step.at, err)
		}
		wantTime(t, fmt.Sprintf("LastSeenAt after touch at +%v", step.at), mustGet(t, s, "CP-1").LastSeenAt, at(step.want))
	}
}

func testTouchStations(t *testing.T, s domain.Store) {
	ctx := t.Context()
	if err := s.TouchStations(ctx, nil); err != nil {
		t.Fatalf("TouchStations(nil): %v", err)
	}
	// More stations than one write of the SQLite store takes, so that chunking is exercised.
	const n = 600
	seen := make(map[string]time.Time, n+1)
	for i := range n {
		id := fmt.Sprintf("CP-%03d", i)
		mustCreate(t, s, id)
		if err := s.TouchStation(ctx, id, at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Even stations move forward, odd ones get an older time, which must not win.
		if i%2 == 0 {
			seen[id] = at(2 * time.Minute)
		} else {
			seen[id] = at(30 * time.Second)
		}
	}
	seen["CP-GONE"] = at(time.Hour) // no such station: skipped
	if err := s.TouchStations(ctx, seen); err != nil {
		t.Fatalf("TouchStations: %v", err)
	}
	for _, i := range []int{0, 1, 298, 299, n - 2, n - 1} {
		want := at(time.Minute)
		if i%2 == 0 {
			want = at(2 * time.Minute)
		}
		id := fmt.Sprintf("CP-%03d", i)
		wantTime(t, "LastSeenAt of "+id, mustGet(t, s, id).LastSeenAt, want)
	}
	if _, err := s.Station(ctx, "CP-GONE"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("CP-GONE after TouchStations: %v, want not found", err)
	}
	bad := map[string]time.Time{"CP-000": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	wantErr(t, "TouchStations with a year-10000 time", s.TouchStations(ctx, bad), domain.ErrInvalid)
}

func testUpdateStatusCreatesEVSEs(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-1")
	// Arrival order is not id order.
	updates := []domain.StatusUpdate{
		{StationID: "CP-1", EVSEID: 3, ConnectorID: 1, Status: domain.ConnectorFaulted, OCPPStatus: "Faulted",
			ErrorCode: "GroundFailure", Info: "RCD", VendorErrorCode: "E42", At: at(1 * time.Second)},
		{StationID: "CP-1", EVSEID: 1, ConnectorID: 2, Status: domain.ConnectorOccupied, OCPPStatus: "Charging", ErrorCode: "NoError", At: at(2 * time.Second)},
		{StationID: "CP-1", EVSEID: 10, ConnectorID: 1, Status: domain.ConnectorUnavailable, OCPPStatus: "Unavailable", ErrorCode: "NoError", At: at(3 * time.Second)},
		{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable, OCPPStatus: "Available", ErrorCode: "NoError", At: at(4 * time.Second)},
		{StationID: "CP-1", EVSEID: 2, ConnectorID: 1, Status: domain.ConnectorReserved, OCPPStatus: "Reserved", ErrorCode: "NoError", At: at(5 * time.Second)},
	}
	for _, u := range updates {
		mustStatus(t, s, u)
	}
	got := mustGet(t, s, "CP-1")
	if shape(got) != "1:[1 2] 2:[1] 3:[1] 10:[1]" {
		t.Fatalf("EVSEs = %s, want 1:[1 2] 2:[1] 3:[1] 10:[1]", shape(got))
	}
	for _, u := range updates {
		c := connector(t, got, u.EVSEID, u.ConnectorID)
		want := domain.Connector{ID: u.ConnectorID, Status: u.Status, OCPPStatus: u.OCPPStatus, ErrorCode: u.ErrorCode,
			Info: u.Info, VendorErrorCode: u.VendorErrorCode, UpdatedAt: c.UpdatedAt}
		if c != want {
			t.Errorf("connector %d/%d = %+v, want %+v", u.EVSEID, u.ConnectorID, c, want)
		}
		wantTime(t, "connector UpdatedAt", c.UpdatedAt, u.At)
	}
}

func testUpdateStatusOutOfOrder(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-1")
	u := domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorOccupied,
		OCPPStatus: "Charging", ErrorCode: "NoError", At: at(time.Minute)}
	mustStatus(t, s, u)

	// Older report delivered late (queued while offline): ignored, but not an error.
	old := u
	old.Status, old.OCPPStatus, old.At = domain.ConnectorAvailable, "Available", at(time.Second)
	mustStatus(t, s, old)
	c := connector(t, mustGet(t, s, "CP-1"), 1, 1)
	if c.Status != domain.ConnectorOccupied || c.OCPPStatus != "Charging" {
		t.Errorf("an older report overwrote the status: %+v", c)
	}
	wantTime(t, "UpdatedAt", c.UpdatedAt, at(time.Minute))

	// Same timestamp (1.6 timestamps often have whole seconds): the later arrival wins.
	same := u
	same.Status, same.OCPPStatus = domain.ConnectorOccupied, "SuspendedEV"
	mustStatus(t, s, same)
	if c := connector(t, mustGet(t, s, "CP-1"), 1, 1); c.OCPPStatus != "SuspendedEV" {
		t.Errorf("a report with the same time did not apply: %+v", c)
	}

	newer := u
	newer.Status, newer.OCPPStatus, newer.ErrorCode, newer.At = domain.ConnectorFaulted, "Faulted", "OverCurrentFailure", at(time.Hour)
	mustStatus(t, s, newer)
	c = connector(t, mustGet(t, s, "CP-1"), 1, 1)
	if c.Status != domain.ConnectorFaulted || c.ErrorCode != "OverCurrentFailure" {
		t.Errorf("a newer report did not apply: %+v", c)
	}
	wantTime(t, "UpdatedAt", c.UpdatedAt, at(time.Hour))
}

func testUpdateStatusStationLevel(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	for _, u := range []domain.StatusUpdate{
		{StationID: "CP-1", EVSEID: 0, ConnectorID: 0, Status: domain.ConnectorFaulted, OCPPStatus: "Faulted", ErrorCode: "PowerMeterFailure", At: at(time.Minute)},
		{StationID: "CP-1", EVSEID: 0, ConnectorID: 0, Status: domain.ConnectorAvailable, OCPPStatus: "Available", ErrorCode: "NoError", At: at(time.Second)},
		{StationID: "CP-1", EVSEID: 0, ConnectorID: 0, Status: domain.ConnectorAvailable, OCPPStatus: "Available", ErrorCode: "NoError", At: at(time.Hour)},
	} {
		if err := s.UpdateStatus(ctx, u); err != nil {
			t.Fatalf("UpdateStatus of EVSE 0 at %v: %v", u.At, err)
		}
	}
	if got := mustGet(t, s, "CP-1"); len(got.EVSEs) != 0 {
		t.Errorf("EVSE 0 status created EVSEs %s", shape(got))
	}
	items, _, err := s.Stations(ctx, domain.Page{})
	if err != nil || len(items) != 1 || len(items[0].EVSEs) != 0 {
		t.Errorf("Stations after EVSE 0 status: %+v, %v", items, err)
	}
	mustStatus(t, s, domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: at(0)})
	if got := mustGet(t, s, "CP-1"); shape(got) != "1:[1]" {
		t.Errorf("EVSEs = %s, want 1:[1]", shape(got))
	}
}

func testUpdateStatusInvalid(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-1")
	for name, u := range map[string]domain.StatusUpdate{
		"negative evse":         {StationID: "CP-1", EVSEID: -1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: at(0)},
		"negative connector":    {StationID: "CP-1", EVSEID: 1, ConnectorID: -1, Status: domain.ConnectorAvailable, At: at(0)},
		"connector 0 of EVSE 1": {StationID: "CP-1", EVSEID: 1, ConnectorID: 0, Status: domain.ConnectorAvailable, At: at(0)},
		"no status":             {StationID: "CP-1", EVSEID: 1, ConnectorID: 1, At: at(0)},
	} {
		wantErr(t, "UpdateStatus with "+name, s.UpdateStatus(t.Context(), u), domain.ErrInvalid)
	}
	if got := mustGet(t, s, "CP-1"); len(got.EVSEs) != 0 {
		t.Errorf("invalid updates created EVSEs %s", shape(got))
	}
}

func testZeroTimeMeansNow(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	mustStatus(t, s, domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable})
	got := mustGet(t, s, "CP-1")
	wantStamped(t, "connector UpdatedAt of a status without time", connector(t, got, 1, 1).UpdatedAt)

	if err := s.TouchStation(ctx, "CP-1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	wantStamped(t, "LastSeenAt after a touch without time", mustGet(t, s, "CP-1").LastSeenAt)

	if err := s.AddStationEvent(ctx, domain.StationEvent{StationID: "CP-1", Kind: "LogStatus", Type: "Uploaded"}); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.StationEvents(ctx, "CP-1", domain.Page{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("StationEvents: %v, %v", evs, err)
	}
	wantStamped(t, "event At", evs[0].At)

	if err := s.AddAudit(ctx, domain.AuditEntry{Actor: "api", Action: "CreateStation", StationID: "CP-1"}); err != nil {
		t.Fatal(err)
	}
	es, _, err := s.Audit(ctx, "", domain.Page{})
	if err != nil || len(es) != 1 {
		t.Fatalf("Audit: %v, %v", es, err)
	}
	wantStamped(t, "audit At", es[0].At)
}

func testTimesRoundTripInUTC(t *testing.T, s domain.Store) {
	ctx := t.Context()
	zone := time.FixedZone("CET", 3600)
	local := base.Add(time.Minute).In(zone)
	mustCreate(t, s, "CP-1")
	mustStatus(t, s, domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: local})
	if err := s.TouchStation(ctx, "CP-1", local); err != nil {
		t.Fatal(err)
	}
	if err := s.AddStationEvent(ctx, domain.StationEvent{StationID: "CP-1", Kind: "SecurityEvent", Type: "X", At: local}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAudit(ctx, domain.AuditEntry{At: local, Actor: "a", Action: "Reset"}); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, "CP-1")
	wantTime(t, "LastSeenAt", got.LastSeenAt, local)
	wantTime(t, "connector UpdatedAt", connector(t, got, 1, 1).UpdatedAt, local)
	evs, _, err := s.StationEvents(ctx, "CP-1", domain.Page{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("StationEvents: %v %v", evs, err)
	}
	wantTime(t, "event At", evs[0].At, local)
	es, _, err := s.Audit(ctx, "", domain.Page{})
	if err != nil || len(es) != 1 {
		t.Fatalf("Audit: %v %v", es, err)
	}
	wantTime(t, "audit At", es[0].At, local)

	// A UTC time and the same instant in another zone compare as the same report time.
	mustStatus(t, s, domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorFaulted,
		At: local.Add(-time.Microsecond).UTC()})
	if c := connector(t, mustGet(t, s, "CP-1"), 1, 1); c.Status != domain.ConnectorAvailable {
		t.Errorf("an older report in UTC overwrote a newer one given in CET: %+v", c)
	}
}

func testStationEvents(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	mustCreate(t, s, "CP-2")
	evs, next, err := s.StationEvents(ctx, "CP-1", domain.Page{})
	if err != nil || len(evs) != 0 || next != "" {
		t.Fatalf("no events yet: %v %q %v", evs, next, err)
	}
	// Added out of time order; two share a time (then the later added is the newer).
	in := []domain.StationEvent{
		{StationID: "CP-1", Kind: "SecurityEvent", Type: "e0", At: at(2 * time.Second), Detail: []byte(`{"type":"e0","techInfo":"x"}`)},
		{StationID: "CP-1", Kind: "NotifyEvent", Type: "e1", At: at(5 * time.Second), Detail: []byte(`{"eventId": 1, "trigger": "Delta"}`)},
		{StationID: "CP-1", Kind: "FirmwareStatus", Type: "e2", At: at(1 * time.Second)},
		{StationID: "CP-1", Kind: "NotifyEvent", Type: "e3", At: at(5 * time.Second), Detail: []byte(`[1,2,3]`)},
		{StationID: "CP-1", Kind: "LogStatus", Type: "e4", At: at(4 * time.Second), Detail: []byte(`"Uploaded"`)},
		{StationID: "CP-1", Kind: "DiagnosticsStatus", Type: "e5", At: at(3 * time.Second), Detail: []byte(`{}`)},
		{StationID: "CP-1", Kind: "SecurityEvent", Type: "e6", At: at(6 * time.Second), Detail: []byte(`{"nested":{"a":[true,null]}}`)},
	}
	for i, e := range in {
		if err := s.AddStationEvent(ctx, e); err != nil {
			t.Fatalf("AddStationEvent %d: %v", i, err)
		}
		other := e
		other.StationID = "CP-2"
		other.Type = "other"
		if err := s.AddStationEvent(ctx, other); err != nil {
			t.Fatalf("AddStationEvent on CP-2: %v", err)
		}
	}
	wantOrder := []int{6, 3, 1, 4, 5, 0, 2}

	var got []domain.StationEvent
	cursor := ""
	for page := 0; ; page++ {
		if page > len(in) {
			t.Fatal("paging does not end")
		}
		evs, next, err := s.StationEvents(ctx, "CP-1", domain.Page{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("StationEvents page %d: %v", page, err)
		}
		if len(evs) > 3 {
			t.Fatalf("page %d has %d items", page, len(evs))
		}
		got = append(got, evs...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != len(wantOrder) {
		t.Fatalf("got %d events, want %d", len(got), len(wantOrder))
	}
	for i, w := range wantOrder {
		g, want := got[i], in[w]
		if g.StationID != "CP-1" || g.Kind != want.Kind || g.Type != want.Type {
			t.Errorf("event %d = %s/%s/%s, want %s/%s/%s", i, g.StationID, g.Kind, g.Type, want.StationID, want.Kind, want.Type)
		}
		wantTime(t, fmt.Sprintf("event %d At", i), g.At, want.At)
		wantJSON(t, fmt.Sprintf("event %d Detail", i), g.Detail, want.Detail)
	}
}

func testStationEventsInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	wantErr(t, "AddStationEvent with bad JSON", s.AddStationEvent(ctx, domain.StationEvent{StationID: "CP-1",
		Kind: "SecurityEvent", Type: "x", At: at(0), Detail: []byte(`{"unterminated`)}), domain.ErrInvalid)
	wantErr(t, "AddStationEvent without kind", s.AddStationEvent(ctx, domain.StationEvent{StationID: "CP-1",
		Type: "x", At: at(0)}), domain.ErrInvalid)
	_, _, err := s.StationEvents(ctx, "CP-1", domain.Page{Cursor: "not a cursor!"})
	wantErr(t, "StationEvents with a bad cursor", err, domain.ErrInvalid)
}

func testAudit(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	mustCreate(t, s, "CP-2")
	var in []domain.AuditEntry
	for i := range 7 {
		station := []string{"CP-1", "CP-2", ""}[i%3]
		e := domain.AuditEntry{At: at(time.Duration(i) * time.Second), Actor: "admin@example.com", StationID: station,
			Action: fmt.Sprintf("Action%d", i), Request: []byte(fmt.Sprintf(`{"n": %d}`, i))}
		if i%2 == 0 {
			e.Response = []byte(`{"status":"Accepted"}`)
		} else {
			e.Error = []byte(`{"code":"ocpp_call_error","message":"NotImplemented"}`)
		}
		if err := s.AddAudit(ctx, e); err != nil {
			t.Fatalf("AddAudit %d: %v", i, err)
		}
		in = append(in, e)
	}

	list := func(station string, limit int) []domain.AuditEntry {
		t.Helper()
		var all []domain.AuditEntry
		cursor := ""
		for page := 0; ; page++ {
			if page > len(in) {
				t.Fatal("paging does not end")
			}
			es, next, err := s.Audit(ctx, station, domain.Page{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatalf("Audit(%q) page %d: %v", station, page, err)
			}
			if len(es) > limit {
				t.Fatalf("page of %d, limit %d", len(es), limit)
			}
			all = append(all, es...)
			if next == "" {
				return all
			}
			cursor = next
		}
	}
	check := func(station string, got []domain.AuditEntry) {
		t.Helper()
		var want []domain.AuditEntry
		for i := len(in) - 1; i >= 0; i-- { // newest first
			if station == "" || in[i].StationID == station {
				want = append(want, in[i])
			}
		}
		if len(got) != len(want) {
			t.Fatalf("Audit(%q): %d entries, want %d", station, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Actor != w.Actor || g.StationID != w.StationID || g.Action != w.Action {
				t.Errorf("Audit(%q)[%d] = %s/%s/%s, want %s/%s/%s", station, i, g.Actor, g.StationID, g.Action, w.Actor, w.StationID, w.Action)
			}
			if g.ID == 0 || (i > 0 && g.ID >= got[i-1].ID) {
				t.Errorf("Audit(%q)[%d].ID = %d: ids must be set and decrease down the list", station, i, g.ID)
			}
			wantTime(t, "audit At", g.At, w.At)
			wantJSON(t, "Request", g.Request, w.Request)
			wantJSON(t, "Response", g.Response, w.Response)
			wantJSON(t, "Error", g.Error, w.Error)
		}
	}
	check("", list("", 2))
	check("", list("", 100))
	check("CP-1", list("CP-1", 2))
	check("CP-2", list("CP-2", 1))
	if es, next, err := s.Audit(ctx, "CP-404", domain.Page{}); err != nil || len(es) != 0 || next != "" {
		t.Errorf("Audit of a station without entries: %v %q %v; want empty", es, next, err)
	}
}

func testAuditOutlivesStation(t *testing.T, s domain.Store) {
	ctx := t.Context()
	// The entry may name a station that never existed (a refused create, for instance).
	if err := s.AddAudit(ctx, domain.AuditEntry{At: at(0), Actor: "api", StationID: "CP-404", Action: "CreateStation",
		Request: []byte(`{"id":"CP-404"}`), Error: []byte(`{"code":"invalid"}`)}); err != nil {
		t.Fatalf("AddAudit for an unknown station: %v", err)
	}
	es, _, err := s.Audit(ctx, "CP-404", domain.Page{})
	if err != nil || len(es) != 1 || es[0].Response != nil {
		t.Errorf("Audit: %+v, %v; want one entry without response", es, err)
	}
}

func testAuditInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for name, e := range map[string]domain.AuditEntry{
		"request":  {Action: "Reset", Request: []byte(`{`)},
		"response": {Action: "Reset", Request: []byte(`{}`), Response: []byte(`nope`)},
		"error":    {Action: "Reset", Request: []byte(`{}`), Error: []byte(`{"code":}`)},
	} {
		wantErr(t, "AddAudit with bad JSON in "+name, s.AddAudit(ctx, e), domain.ErrInvalid)
	}
	_, _, err := s.Audit(ctx, "", domain.Page{Cursor: "not a cursor!"})
	wantErr(t, "Audit with a bad cursor", err, domain.ErrInvalid)
	if es, _, err := s.Audit(ctx, "", domain.Page{}); err != nil || len(es) != 0 {
		t.Errorf("refused entries were stored: %v %v", es, err)
	}
}

func testCanceledContext(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	name := "changed"
	_, err := s.UpdateStation(ctx, "CP-1", domain.StationPatch{Name: &name})
	wantErr(t, "UpdateStation with a canceled context", err, context.Canceled)
	wantErr(t, "CreateStation with a canceled context", s.CreateStation(ctx, domain.Station{ID: "CP-2",
		RegistrationStatus: domain.RegistrationAccepted}), context.Canceled)
	wantErr(t, "UpdateStatus with a canceled context", s.UpdateStatus(ctx, domain.StatusUpdate{StationID: "CP-1",
		EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable, At: at(0)}), context.Canceled)
	_, err = s.Station(ctx, "CP-1")
	wantErr(t, "Station with a canceled context", err, context.Canceled)

	// None of the canceled writes happened.
	if got := mustGet(t, s, "CP-1"); got.Name != "" || len(got.EVSEs) != 0 {
		t.Errorf("a canceled write changed the station: %+v", got)
	}
	_, err = s.Station(t.Context(), "CP-2")
	wantErr(t, "Station created with a canceled context", err, domain.ErrNotFound)
}

// testConcurrentWrites hammers the store from many goroutines at once and checks that every
// acknowledged write is there: group commit must neither lose nor mix up anybody's change.
func testConcurrentWrites(t *testing.T, s domain.Store) {
	ctx := t.Context()
	const (
		stations   = 10
		workers    = 40
		iterations = 25
	)
	for i := range stations {
		mustCreate(t, s, fmt.Sprintf("CP-%02d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			station := fmt.Sprintf("CP-%02d", w%stations)
			evse := w/stations + 1
			for i := range iterations {
				ts := at(time.Duration(i) * time.Millisecond)
				if err := s.UpdateStatus(ctx, domain.StatusUpdate{StationID: station, EVSEID: evse, ConnectorID: 1,
					Status: domain.ConnectorOccupied, OCPPStatus: fmt.Sprintf("w%d-%d", w, i), At: ts}); err != nil {
					errs <- fmt.Errorf("worker %d: UpdateStatus: %w", w, err)
					return
				}
				if err := s.TouchStation(ctx, station, ts.Add(time.Duration(w)*time.Microsecond)); err != nil {
					errs <- fmt.Errorf("worker %d: TouchStation: %w", w, err)
					return
				}
				if err := s.AddAudit(ctx, domain.AuditEntry{At: ts, Actor: fmt.Sprintf("w%d", w), StationID: station,
					Action: fmt.Sprintf("a%d", i), Request: []byte(`{}`)}); err != nil {
					errs <- fmt.Errorf("worker %d: AddAudit: %w", w, err)
					return
				}
				// A failing write in the same batches must not take the others with it.
				if err := s.CreateStation(ctx, domain.Station{ID: station, RegistrationStatus: domain.RegistrationAccepted}); !errors.Is(err, domain.ErrConflict) {
					errs <- fmt.Errorf("worker %d: duplicate CreateStation: %v, want conflict", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	items, _, err := s.Stations(ctx, domain.Page{Limit: stations})
	if err != nil || len(items) != stations {
		t.Fatalf("Stations: %d, %v", len(items), err)
	}
	last := at(time.Duration(iterations-1) * time.Millisecond)
	for i, st := range items {
		if got, want := len(st.EVSEs), workers/stations; got != want {
			t.Errorf("%s has %d EVSEs, want %d", st.ID, got, want)
			continue
		}
		for _, e := range st.EVSEs {
			w := (e.ID-1)*stations + i
			c := e.Connectors[0]
			if want := fmt.Sprintf("w%d-%d", w, iterations-1); c.OCPPStatus != want {
				t.Errorf("%s EVSE %d status %q, want the last one written, %q", st.ID, e.ID, c.OCPPStatus, want)
			}
			wantTime(t, "connector UpdatedAt", c.UpdatedAt, last)
		}
		maxW := (workers/stations-1)*stations + i
		wantTime(t, st.ID+" LastSeenAt", st.LastSeenAt, last.Add(time.Duration(maxW)*time.Microsecond))
	}

	seen := map[string]bool{}
	cursor := ""
	for {
		es, next, err := s.Audit(ctx, "", domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		for _, e := range es {
			k := e.Actor + "/" + e.Action
			if seen[k] {
				t.Errorf("audit entry %s stored twice", k)
			}
			seen[k] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for w := range workers {
		for i := range iterations {
			if k := fmt.Sprintf("w%d/a%d", w, i); !seen[k] {
				t.Errorf("acknowledged audit entry %s missing", k)
			}
		}
	}
}
