package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var fieldOpsTests = []suiteTest{
	{"ReservationLifecycle", testReservationLifecycle},
	{"ReservationsListAndDue", testReservationsListAndDue},
	{"ReservationInvalid", testReservationInvalid},
	{"LogRequestLifecycle", testLogRequestLifecycle},
	{"LogRequestsListAndLatest", testLogRequestsListAndLatest},
	{"Secret", testSecret},
}

func newReservation(station string, evse int, expires time.Time) domain.Reservation {
	return domain.Reservation{StationID: station, EVSEID: evse, IDToken: "TAG-1", IDTokenType: "ISO14443",
		ExpiresAt: expires, Status: domain.ReservationRequested, Actor: "test"}
}

func mustReserve(t *testing.T, s domain.Store, r domain.Reservation) domain.Reservation {
	t.Helper()
	out, err := s.CreateReservation(t.Context(), r)
	if err != nil {
		t.Fatalf("CreateReservation: %v", err)
	}
	return out
}

func testReservationLifecycle(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-R")
	r := mustReserve(t, s, newReservation("CP-R", 1, at(time.Hour)))
	if r.ID <= 0 || r.Status != domain.ReservationRequested || r.IDToken != "TAG-1" || r.IDTokenType != "ISO14443" || r.EVSEID != 1 || r.Actor != "test" {
		t.Fatalf("created %+v", r)
	}
	wantTime(t, "ExpiresAt", r.ExpiresAt, at(time.Hour))
	wantStamped(t, "CreatedAt", r.CreatedAt)
	r2 := mustReserve(t, s, newReservation("CP-R", 0, at(time.Hour)))
	if r2.ID <= r.ID {
		t.Errorf("second id %d not above %d", r2.ID, r.ID)
	}
	got, err := s.SetReservationStatus(t.Context(), r.ID, []domain.ReservationStatus{domain.ReservationRequested},
		domain.ReservationActive, "Accepted", "")
	if err != nil || got.Status != domain.ReservationActive || got.StationStatus != "Accepted" {
		t.Fatalf("activate: %+v %v", got, err)
	}
	// A move from a state it is not in is refused and changes nothing.
	_, err = s.SetReservationStatus(t.Context(), r.ID, []domain.ReservationStatus{domain.ReservationRequested},
		domain.ReservationRejected, "Occupied", "")
	wantErr(t, "reject an active reservation", err, domain.ErrConflict)
	if got, _ = s.Reservation(t.Context(), r.ID); got.Status != domain.ReservationActive {
		t.Errorf("after refused move: %+v", got)
	}
	got, err = s.SetReservationStatus(t.Context(), r.ID, nil, domain.ReservationUsed, "", "TX-9")
	if err != nil || got.Status != domain.ReservationUsed || got.TransactionID != "TX-9" || got.StationStatus != "Accepted" {
		t.Fatalf("use: %+v %v", got, err)
	}
	read, err := s.Reservation(t.Context(), r.ID)
	if err != nil || read.Status != domain.ReservationUsed || read.TransactionID != "TX-9" {
		t.Fatalf("read back %+v %v", read, err)
	}
	_, err = s.Reservation(t.Context(), 999999)
	wantErr(t, "unknown reservation", err, domain.ErrNotFound)
	_, err = s.SetReservationStatus(t.Context(), 999999, nil, domain.ReservationExpired, "", "")
	wantErr(t, "set status of unknown reservation", err, domain.ErrNotFound)
	_, err = s.SetReservationStatus(t.Context(), r.ID, nil, "gone", "", "")
	wantErr(t, "unknown status", err, domain.ErrInvalid)
	// Reservations go with their station.
	if err := s.DeleteStation(t.Context(), "CP-R"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Reservation(t.Context(), r2.ID)
	wantErr(t, "reservation of a deleted station", err, domain.ErrNotFound)
}

func testReservationsListAndDue(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-A")
	mustCreate(t, s, "CP-B")
	var ids []int64
	for i := range 5 {
		station := "CP-A"
		if i%2 == 1 {
			station = "CP-B"
		}
		ids = append(ids, mustReserve(t, s, newReservation(station, 1, at(time.Duration(i)*time.Minute))).ID)
	}
	if _, err := s.SetReservationStatus(t.Context(), ids[1], nil, domain.ReservationActive, "Accepted", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetReservationStatus(t.Context(), ids[0], nil, domain.ReservationCancelled, "", ""); err != nil {
		t.Fatal(err)
	}
	var all []int64
	cursor := ""
	for {
		page, next, err := s.Reservations(t.Context(), domain.ReservationFilter{}, domain.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			all = append(all, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 || all[0] != ids[4] || all[4] != ids[0] {
		t.Errorf("all pages newest first = %v, ids %v", all, ids)
	}
	b, _, err := s.Reservations(t.Context(), domain.ReservationFilter{StationID: "CP-B"}, domain.Page{})
	if err != nil || len(b) != 2 || b[0].StationID != "CP-B" {
		t.Errorf("CP-B: %+v %v", b, err)
	}
	act, _, err := s.Reservations(t.Context(), domain.ReservationFilter{Status: domain.ReservationActive}, domain.Page{})
	if err != nil || len(act) != 1 || act[0].ID != ids[1] {
		t.Errorf("active: %+v %v", act, err)
	}
	_, _, err = s.Reservations(t.Context(), domain.ReservationFilter{}, domain.Page{Cursor: "nonsense"})
	wantErr(t, "bad cursor", err, domain.ErrInvalid)
	// Due at 2 minutes: ids[1] (active, 1 min) and ids[2] (requested, 2 min); ids[0] is cancelled.
	due, err := s.DueReservations(t.Context(), at(2*time.Minute), 10)
	if err != nil || len(due) != 2 || due[0].ID != ids[1] || due[1].ID != ids[2] {
		t.Errorf("due = %+v %v", due, err)
	}
}

func testReservationInvalid(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-I")
	for name, r := range map[string]domain.Reservation{
		"no token":      {StationID: "CP-I", EVSEID: 1, ExpiresAt: at(0), Status: domain.ReservationRequested},
		"no expiry":     {StationID: "CP-I", EVSEID: 1, IDToken: "T", Status: domain.ReservationRequested},
		"negative evse": {StationID: "CP-I", EVSEID: -1, IDToken: "T", ExpiresAt: at(0), Status: domain.ReservationRequested},
		"bad status":    {StationID: "CP-I", EVSEID: 1, IDToken: "T", ExpiresAt: at(0), Status: "maybe"},
	} {
		_, err := s.CreateReservation(t.Context(), r)
		wantErr(t, name, err, domain.ErrInvalid)
	}
	_, err := s.CreateReservation(t.Context(), newReservation("NOPE", 1, at(0)))
	wantErr(t, "unknown station", err, domain.ErrNotFound)
}

func newLogRequest(station string, typ domain.LogType, upload string) domain.LogRequest {
	return domain.LogRequest{StationID: station, Type: typ, From: at(-time.Hour), Status: domain.LogRequested,
		UploadID: upload, UploadExpiresAt: at(time.Hour), Actor: "test"}
}

func testLogRequestLifecycle(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-L")
	l, err := s.CreateLogRequest(t.Context(), newLogRequest("CP-L", domain.LogDiagnostics, "up-1"))
	if err != nil {
		t.Fatal(err)
	}
	if l.ID <= 0 || l.Status != domain.LogRequested || l.UploadID != "up-1" || !l.To.IsZero() || !l.ReceivedAt.IsZero() {
		t.Fatalf("created %+v", l)
	}
	wantTime(t, "From", l.From, at(-time.Hour))
	wantTime(t, "UploadExpiresAt", l.UploadExpiresAt, at(time.Hour))
	_, err = s.CreateLogRequest(t.Context(), newLogRequest("CP-L", domain.LogDiagnostics, "up-1"))
	wantErr(t, "same upload id", err, domain.ErrConflict)
	if l, err = s.SetLogStatus(t.Context(), l.ID, "Uploading"); err != nil || l.Status != "Uploading" {
		t.Fatalf("status: %+v %v", l, err)
	}
	got, err := s.FinishUpload(t.Context(), "up-1", "diag.log", "logs/1-diag.log", 1234, at(time.Minute))
	if err != nil || got.Status != domain.LogReceived || got.FileName != "diag.log" || got.FilePath != "logs/1-diag.log" || got.FileSize != 1234 {
		t.Fatalf("finish: %+v %v", got, err)
	}
	wantTime(t, "ReceivedAt", got.ReceivedAt, at(time.Minute))
	_, err = s.FinishUpload(t.Context(), "up-1", "again.log", "x", 1, at(2*time.Minute))
	wantErr(t, "second upload", err, domain.ErrConflict)
	_, err = s.FinishUpload(t.Context(), "up-none", "x.log", "x", 1, at(0))
	wantErr(t, "unknown slot", err, domain.ErrNotFound)
	// A status after the file arrived does not hide it.
	if got, err = s.SetLogStatus(t.Context(), l.ID, "Uploaded"); err != nil || got.Status != domain.LogReceived {
		t.Errorf("status after receipt: %+v %v", got, err)
	}
	byUp, err := s.LogRequestByUpload(t.Context(), "up-1")
	if err != nil || byUp.ID != l.ID || byUp.FileName != "diag.log" {
		t.Errorf("by upload %+v %v", byUp, err)
	}
	_, err = s.LogRequest(t.Context(), 987654)
	wantErr(t, "unknown log request", err, domain.ErrNotFound)
	_, err = s.SetLogStatus(t.Context(), 987654, "Uploading")
	wantErr(t, "status of unknown request", err, domain.ErrNotFound)
	_, err = s.CreateLogRequest(t.Context(), newLogRequest("CP-L", "kernel", "up-2"))
	wantErr(t, "bad type", err, domain.ErrInvalid)
	_, err = s.CreateLogRequest(t.Context(), newLogRequest("NOPE", domain.LogSecurity, "up-3"))
	wantErr(t, "unknown station", err, domain.ErrNotFound)
}

func testLogRequestsListAndLatest(t *testing.T, s domain.Store) {
	mustCreate(t, s, "CP-M")
	mustCreate(t, s, "CP-N")
	var ids []int64
	for i, typ := range []domain.LogType{domain.LogDiagnostics, domain.LogSecurity, domain.LogDiagnostics} {
		l, err := s.CreateLogRequest(t.Context(), newLogRequest("CP-M", typ, "m-"+string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	if _, err := s.CreateLogRequest(t.Context(), newLogRequest("CP-N", domain.LogDiagnostics, "n-a")); err != nil {
		t.Fatal(err)
	}
	page, next, err := s.LogRequests(t.Context(), "CP-M", domain.Page{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != ids[2] || next == "" {
		t.Fatalf("first page %+v %q %v", page, next, err)
	}
	page, next, err = s.LogRequests(t.Context(), "CP-M", domain.Page{Limit: 2, Cursor: next})
	if err != nil || len(page) != 1 || page[0].ID != ids[0] || next != "" {
		t.Fatalf("second page %+v %q %v", page, next, err)
	}
	latest, err := s.LatestLogRequest(t.Context(), "CP-M", domain.LogDiagnostics)
	if err != nil || latest.ID != ids[2] {
		t.Errorf("latest diagnostics %+v %v", latest, err)
	}
	latest, err = s.LatestLogRequest(t.Context(), "CP-M", domain.LogSecurity)
	if err != nil || latest.ID != ids[1] {
		t.Errorf("latest security %+v %v", latest, err)
	}
	_, err = s.LatestLogRequest(t.Context(), "CP-N", domain.LogSecurity)
	wantErr(t, "no security request", err, domain.ErrNotFound)
}

func testSecret(t *testing.T, s domain.Store) {
	first, err := s.Secret(t.Context(), "upload", []byte("first-candidate"))
	if err != nil || !bytes.Equal(first, []byte("first-candidate")) {
		t.Fatalf("first %q %v", first, err)
	}
	again, err := s.Secret(t.Context(), "upload", []byte("second-candidate"))
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("a second call must keep the stored secret: %q %v", again, err)
	}
	_, err = s.Secret(t.Context(), "", []byte("x"))
	wantErr(t, "no name", err, domain.ErrInvalid)
}
