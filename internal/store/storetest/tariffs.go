package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var tariffTests = []suiteTest{
	{"TariffCRUD", testTariffCRUD},
	{"TariffsPaging", testTariffsPaging},
	{"StationPricing", testStationPricing},
	{"TariffInUseCannotGo", testTariffInUseCannotGo},
	{"TariffAssignments", testTariffAssignments},
	{"PinSessionTariffFirstWins", testPinSessionTariffFirstWins},
	{"CDRInsertOnceAndFilter", testCDRInsertOnceAndFilter},
}

const tariffBody = `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.25,"step_size":1}]}]}`

func mustPutTariff(t *testing.T, s domain.Store, id, body string) bool {
	t.Helper()
	created, err := s.PutTariff(t.Context(), domain.Tariff{ID: id, Body: []byte(body)})
	if err != nil {
		t.Fatalf("PutTariff(%q): %v", id, err)
	}
	return created
}

func testTariffCRUD(t *testing.T, s domain.Store) {
	ctx := t.Context()
	if !mustPutTariff(t, s, "T1", tariffBody) {
		t.Error("first PutTariff: created = false")
	}
	other := `{"currency":"EUR","elements":[{"price_components":[{"type":"FLAT","price":1,"step_size":0}]}]}`
	if mustPutTariff(t, s, "T1", other) {
		t.Error("second PutTariff: created = true")
	}
	got, err := s.Tariff(ctx, "T1")
	if err != nil {
		t.Fatalf("Tariff: %v", err)
	}
	wantJSON(t, "Tariff.Body", got.Body, []byte(other))
	wantStamped(t, "Tariff.UpdatedAt", got.UpdatedAt)
	_, err = s.PutTariff(ctx, domain.Tariff{ID: "bad", Body: []byte(`{"currency":`)})
	wantErr(t, "PutTariff(bad JSON)", err, domain.ErrInvalid)
	_, err = s.PutTariff(ctx, domain.Tariff{Body: []byte(tariffBody)})
	wantErr(t, "PutTariff(no id)", err, domain.ErrInvalid)
	if err := s.DeleteTariff(ctx, "T1"); err != nil {
		t.Fatalf("DeleteTariff: %v", err)
	}
	_, err = s.Tariff(ctx, "T1")
	wantErr(t, "Tariff after delete", err, domain.ErrNotFound)
	wantErr(t, "DeleteTariff twice", s.DeleteTariff(ctx, "T1"), domain.ErrNotFound)
}

func testTariffsPaging(t *testing.T, s domain.Store) {
	for i := range 5 {
		mustPutTariff(t, s, fmt.Sprintf("T%d", i), tariffBody)
	}
	var ids []string
	cursor := ""
	for range 4 {
		items, next, err := s.Tariffs(t.Context(), domain.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("Tariffs: %v", err)
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(ids) != "[T0 T1 T2 T3 T4]" {
		t.Errorf("paged ids %v", ids)
	}
	_, _, err := s.Tariffs(t.Context(), domain.Page{Cursor: "nonsense"})
	wantErr(t, "Tariffs(bad cursor)", err, domain.ErrInvalid)
}

func testStationPricing(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	p, err := s.StationPricing(ctx, "CP-1")
	if err != nil || p.TariffID != "" || p.TimeZone != "" {
		t.Fatalf("StationPricing before = %+v, %v", p, err)
	}
	mustPutTariff(t, s, "T1", tariffBody)
	if err := s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TariffID: "T1", TimeZone: "Europe/Amsterdam"}); err != nil {
		t.Fatalf("SetStationPricing: %v", err)
	}
	p, err = s.StationPricing(ctx, "CP-1")
	if err != nil || p.TariffID != "T1" || p.TimeZone != "Europe/Amsterdam" {
		t.Errorf("StationPricing = %+v, %v", p, err)
	}
	wantErr(t, "SetStationPricing(unknown tariff)",
		s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TariffID: "nope"}), domain.ErrNotFound)
	wantErr(t, "SetStationPricing(unknown station)",
		s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-9", TariffID: "T1"}), domain.ErrNotFound)
	if err := s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TimeZone: "UTC"}); err != nil {
		t.Fatalf("SetStationPricing(clear): %v", err)
	}
	if p, _ = s.StationPricing(ctx, "CP-1"); p.TariffID != "" || p.TimeZone != "UTC" {
		t.Errorf("after clearing: %+v", p)
	}
	// Deleting the station takes its pricing with it.
	if err := s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TariffID: "T1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStation(ctx, "CP-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTariff(ctx, "T1"); err != nil {
		t.Errorf("DeleteTariff after its station went: %v", err)
	}
}

func testTariffInUseCannotGo(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	mustPutTariff(t, s, "T1", tariffBody)
	mustPutTariff(t, s, "T2", tariffBody)
	if err := s.SetStationPricing(ctx, domain.StationPricing{StationID: "CP-1", TariffID: "T1"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteTariff(used by station)", s.DeleteTariff(ctx, "T1"), domain.ErrConflict)
	a, err := s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T2"})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteTariff(used by assignment)", s.DeleteTariff(ctx, "T2"), domain.ErrConflict)
	if err := s.DeleteTariffAssignment(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTariff(ctx, "T2"); err != nil {
		t.Errorf("DeleteTariff after the assignment went: %v", err)
	}
}

func testTariffAssignments(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	mustCreate(t, s, "CP-2")
	mustPutTariff(t, s, "T1", tariffBody)
	all, err := s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T1", GroupID: "FLEET"})
	if err != nil {
		t.Fatal(err)
	}
	from, to := at(time.Hour), at(48*time.Hour)
	evse, err := s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T1", StationID: "CP-1", EVSEID: 2,
		ValidFrom: from.In(time.FixedZone("X", 7200)), ValidTo: to})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T1", StationID: "CP-2"}); err != nil {
		t.Fatal(err)
	}
	if all.ID <= 0 || evse.ID <= all.ID {
		t.Errorf("ids %d, %d", all.ID, evse.ID)
	}
	list, _, err := s.TariffAssignments(ctx, "CP-1", domain.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != all.ID || list[0].StationID != "" || list[0].GroupID != "FLEET" ||
		list[1].StationID != "CP-1" || list[1].EVSEID != 2 {
		t.Fatalf("TariffAssignments(CP-1) = %+v", list)
	}
	wantTime(t, "ValidFrom", list[1].ValidFrom, from)
	wantTime(t, "ValidTo", list[1].ValidTo, to)
	if !list[0].ValidFrom.IsZero() || !list[0].ValidTo.IsZero() {
		t.Errorf("unbounded assignment came back with %v–%v", list[0].ValidFrom, list[0].ValidTo)
	}
	if every, _, _ := s.TariffAssignments(ctx, "", domain.Page{}); len(every) != 3 {
		t.Errorf("TariffAssignments(all) = %d items", len(every))
	}
	page, next, err := s.TariffAssignments(ctx, "", domain.Page{Limit: 2})
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page %d, %q, %v", len(page), next, err)
	}
	if rest, next2, _ := s.TariffAssignments(ctx, "", domain.Page{Limit: 2, Cursor: next}); len(rest) != 1 || next2 != "" {
		t.Errorf("second page %d items, next %q", len(rest), next2)
	}
	_, err = s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "nope"})
	wantErr(t, "AddTariffAssignment(unknown tariff)", err, domain.ErrNotFound)
	_, err = s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T1", StationID: "CP-9"})
	wantErr(t, "AddTariffAssignment(unknown station)", err, domain.ErrNotFound)
	_, err = s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T1", EVSEID: 1})
	wantErr(t, "AddTariffAssignment(EVSE without station)", err, domain.ErrInvalid)
	_, err = s.AddTariffAssignment(ctx, domain.TariffAssignment{TariffID: "T1", ValidFrom: to, ValidTo: from})
	wantErr(t, "AddTariffAssignment(validTo before validFrom)", err, domain.ErrInvalid)
	// A deleted station's assignments go with it.
	if err := s.DeleteStation(ctx, "CP-1"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteTariffAssignment(gone with station)", s.DeleteTariffAssignment(ctx, evse.ID), domain.ErrNotFound)
}

func testPinSessionTariffFirstWins(t *testing.T, s domain.Store) {
	ctx := t.Context()
	sess := newSession(t, s, domain.Session{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.SessionActive,
		StartedAt: at(0), LastEventAt: at(0)})
	_, err := s.SessionTariff(ctx, sess.ID)
	wantErr(t, "SessionTariff before pin", err, domain.ErrNotFound)
	first := domain.SessionTariff{SessionID: sess.ID, TariffID: "T1", Body: []byte(tariffBody), TimeZone: "Europe/Berlin", PinnedAt: at(time.Second)}
	got, err := s.PinSessionTariff(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.PinSessionTariff(ctx, domain.SessionTariff{SessionID: sess.ID, TariffID: "T2", Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []domain.SessionTariff{got, again} {
		if st.TariffID != "T1" || st.TimeZone != "Europe/Berlin" || string(st.Body) != tariffBody {
			t.Errorf("pinned %+v, want the first pin", st)
		}
		wantTime(t, "PinnedAt", st.PinnedAt, at(time.Second))
	}
	read, err := s.SessionTariff(ctx, sess.ID)
	if err != nil || read.TariffID != "T1" {
		t.Errorf("SessionTariff = %+v, %v", read, err)
	}
	none := newSession(t, s, domain.Session{StationID: "CP-1", EVSEID: 2, ConnectorID: 1, Status: domain.SessionActive,
		StartedAt: at(0), LastEventAt: at(0)})
	if st, err := s.PinSessionTariff(ctx, domain.SessionTariff{SessionID: none.ID}); err != nil || st.TariffID != "" || st.Body != nil {
		t.Errorf("pin of no tariff = %+v, %v", st, err)
	}
	_, err = s.PinSessionTariff(ctx, domain.SessionTariff{SessionID: 999999, TariffID: "T1", Body: []byte(tariffBody)})
	wantErr(t, "PinSessionTariff(unknown session)", err, domain.ErrNotFound)
}

func testCDRInsertOnceAndFilter(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mk := func(id string, session int64, station, token string, stop time.Duration) domain.CDR {
		return domain.CDR{ID: id, SessionID: session, StationID: station, EVSEID: 1, IDToken: token,
			StartedAt: at(stop - time.Hour), StoppedAt: at(stop), Currency: "EUR", TotalExclVat: "1.00", TotalInclVat: "1.21",
			EnergyWh: 1234.5, Body: []byte(`{"id":"` + id + `"}`)}
	}
	first, err := s.AddCDR(ctx, mk("C1", 1, "CP-1", "TOK-A", time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != "C1" || first.TotalInclVat != "1.21" || first.EnergyWh != 1234.5 || first.EVSEID != 1 {
		t.Errorf("AddCDR = %+v", first)
	}
	wantTime(t, "StoppedAt", first.StoppedAt, at(time.Hour))
	wantStamped(t, "CreatedAt", first.CreatedAt)
	// A second CDR for the same session changes nothing: the first is returned.
	changed := mk("C1b", 1, "CP-1", "TOK-A", time.Hour)
	changed.TotalExclVat = "99.00"
	again, err := s.AddCDR(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != "C1" || again.TotalExclVat != "1.00" {
		t.Errorf("second AddCDR = %+v, want the first, unchanged", again)
	}
	for i, c := range []domain.CDR{mk("C2", 2, "CP-1", "TOK-B", 2*time.Hour), mk("C3", 3, "CP-2", "TOK-A", 3*time.Hour)} {
		if _, err := s.AddCDR(ctx, c); err != nil {
			t.Fatalf("AddCDR %d: %v", i, err)
		}
	}
	_, err = s.AddCDR(ctx, mk("C1", 4, "CP-1", "TOK-A", time.Hour))
	wantErr(t, "AddCDR(duplicate id)", err, domain.ErrConflict)
	_, err = s.AddCDR(ctx, domain.CDR{ID: "x", SessionID: 5, StationID: "CP-1", StartedAt: at(0), StoppedAt: at(0)})
	wantErr(t, "AddCDR(no body)", err, domain.ErrInvalid)

	ids := func(f domain.CDRFilter, p domain.Page) string {
		t.Helper()
		items, _, err := s.CDRs(ctx, f, p)
		if err != nil {
			t.Fatalf("CDRs(%+v): %v", f, err)
		}
		var out []string
		for _, c := range items {
			out = append(out, c.ID)
		}
		return fmt.Sprint(out)
	}
	cases := []struct {
		f    domain.CDRFilter
		want string
	}{
		{domain.CDRFilter{}, "[C3 C2 C1]"},
		{domain.CDRFilter{StationID: "CP-1"}, "[C2 C1]"},
		{domain.CDRFilter{IDToken: "TOK-A"}, "[C3 C1]"},
		{domain.CDRFilter{From: at(2 * time.Hour)}, "[C3 C2]"},
		{domain.CDRFilter{To: at(2 * time.Hour)}, "[C1]"},
		{domain.CDRFilter{From: at(90 * time.Minute), To: at(150 * time.Minute), StationID: "CP-1"}, "[C2]"},
	}
	for _, c := range cases {
		if got := ids(c.f, domain.Page{}); got != c.want {
			t.Errorf("CDRs(%+v) = %s, want %s", c.f, got, c.want)
		}
	}
	items, next, err := s.CDRs(ctx, domain.CDRFilter{}, domain.Page{Limit: 2})
	if err != nil || len(items) != 2 || next == "" {
		t.Fatalf("first page: %d, %q, %v", len(items), next, err)
	}
	if got := ids(domain.CDRFilter{}, domain.Page{Limit: 2, Cursor: next}); got != "[C1]" {
		t.Errorf("second page %s", got)
	}
	one, err := s.CDR(ctx, 2)
	if err != nil || one.ID != "C2" || string(one.Body) != `{"id":"C2"}` {
		t.Errorf("CDR(2) = %+v, %v", one, err)
	}
	_, err = s.CDR(ctx, 77)
	wantErr(t, "CDR(none)", err, domain.ErrNotFound)
}
