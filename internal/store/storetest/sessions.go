package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// The Apply functions of these tests run inside the store's write transaction, possibly on a
// goroutine of the store's own (SQLite's writer): they must never call t.Fatal or t.FailNow,
// only return errors that the test checks after Apply returned.

var sessionTests = []suiteTest{
	{"ApplyExactlyOnce", testApplyExactlyOnce},
	{"ApplyConcurrentDuplicates", testApplyConcurrentDuplicates},
	{"ApplyErrorLeavesNothing", testApplyErrorLeavesNothing},
	{"ApplyHandledErrorKeepsTransaction", testApplyHandledErrorKeepsTransaction},
	{"ApplyInvalidAndCanceled", testApplyInvalidAndCanceled},
	{"ApplyTokenAndEvent", testApplyTokenAndEvent},
	{"NewSessionConcurrentIDs", testNewSessionConcurrentIDs},
	{"TransactionIDDefault", testTransactionIDDefault},
	{"SessionRoundTrip", testSessionRoundTrip},
	{"ActiveSessionOn", testActiveSessionOn},
	{"UpdateSessionErrors", testUpdateSessionErrors},
	{"AddSamplesSkipsDuplicates", testAddSamplesSkipsDuplicates},
	{"MeterSamplesPaging", testMeterSamplesPaging},
	{"SessionsFilterAndPaging", testSessionsFilterAndPaging},
	{"StaleSessions", testStaleSessions},
	{"CloseStale", testCloseStale},
	{"SessionsSurviveDeleteStation", testSessionsSurviveDeleteStation},
}

func ptr[T any](v T) *T { return &v }

// digest is what a CSMS keys a message by: the hex SHA-256 of its payload.
func digest(payload string) string {
	sum := sha256.Sum256([]byte(payload))
	return hex.EncodeToString(sum[:])
}

// freshMsg is a message never seen before.
func freshMsg(station, action string) domain.StationMessage {
	return domain.StationMessage{StationID: station, Action: action, Digest: digest(rand.Text())}
}

func mustApply(t *testing.T, s domain.Store, msg domain.StationMessage, fn func(tx domain.SessionTx) ([]byte, error)) ([]byte, bool) {
	t.Helper()
	answer, replayed, err := s.Apply(t.Context(), msg, fn)
	if err != nil {
		t.Fatalf("Apply(%s %s): %v", msg.StationID, msg.Action, err)
	}
	return answer, replayed
}

// newSession stores sess through Apply and returns it as NewSession did.
func newSession(t *testing.T, s domain.Store, sess domain.Session) domain.Session {
	t.Helper()
	var out domain.Session
	mustApply(t, s, freshMsg(sess.StationID, "StartTransaction"), func(tx domain.SessionTx) ([]byte, error) {
		var err error
		out, err = tx.NewSession(sess)
		return []byte(`{}`), err
	})
	if out.ID <= 0 {
		t.Fatalf("NewSession returned id %d", out.ID)
	}
	return out
}

func updateSession(t *testing.T, s domain.Store, sess domain.Session) {
	t.Helper()
	mustApply(t, s, freshMsg(sess.StationID, "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.UpdateSession(sess)
	})
}

func addSamples(t *testing.T, s domain.Store, station string, samples ...domain.MeterSample) {
	t.Helper()
	mustApply(t, s, freshMsg(station, "MeterValues"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.AddSamples(samples)
	})
}

func mustSession(t *testing.T, s domain.Store, id int64) domain.Session {
	t.Helper()
	sess, err := s.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%d): %v", id, err)
	}
	return sess
}

// active is a minimal active session as a StartTransaction would open it.
func active(station string, evse int, started time.Time) domain.Session {
	return domain.Session{StationID: station, EVSEID: evse, ConnectorID: 1, IDToken: "TOKEN-1", IDTokenType: "ISO14443",
		AuthStatus: domain.TokenAccepted, Status: domain.SessionActive, StartedAt: started,
		LastEventAt: started, LastStationAt: started, CreatedAt: started, UpdatedAt: started}
}

// wantSession compares two sessions field by field; times must be equal instants in UTC.
func wantSession(t *testing.T, what string, got, want domain.Session) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gt, ok := gf.(time.Time); ok {
			wt := wf.(time.Time)
			if !gt.Equal(wt) || (!gt.IsZero() && gt.Location() != time.UTC) {
				t.Errorf("%s.%s = %v, want %v in UTC", what, name, gt, wt)
			}
			continue
		}
		if !reflect.DeepEqual(gf, wf) {
			t.Errorf("%s.%s = %s, want %s", what, name, show(gf), show(wf))
		}
	}
}

func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "nil"
		}
		return fmt.Sprintf("&%v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v)
}

func ids(sessions []domain.Session) []int64 {
	out := make([]int64, len(sessions))
	for i, s := range sessions {
		out[i] = s.ID
	}
	return out
}

func testApplyExactlyOnce(t *testing.T, s domain.Store) {
	ctx := t.Context()
	msg := domain.StationMessage{StationID: "CP-1", Action: "StartTransaction", Digest: digest(`{"connectorId":1}`)}
	runs := 0
	start := func(tx domain.SessionTx) ([]byte, error) {
		runs++
		sess, err := tx.NewSession(active("CP-1", 1, at(0)))
		if err != nil {
			return nil, err
		}
		return fmt.Appendf(nil, `{"transactionId":%d}`, sess.ID), nil
	}
	first, replayed := mustApply(t, s, msg, start)
	if replayed || runs != 1 {
		t.Fatalf("first Apply: replayed %t, fn ran %d times; want false, once", replayed, runs)
	}
	again, replayed := mustApply(t, s, msg, start)
	if !replayed || runs != 1 {
		t.Errorf("second Apply: replayed %t, fn ran %d times; want true, once", replayed, runs)
	}
	if string(again) != string(first) {
		t.Errorf("replayed answer %q, want the first one %q", again, first)
	}
	all, _, err := s.Sessions(ctx, domain.SessionFilter{}, domain.Page{})
	if err != nil || len(all) != 1 {
		t.Fatalf("Sessions after a replay: %d, %v; want exactly one", len(all), err)
	}
	if want := fmt.Sprintf(`{"transactionId":%d}`, all[0].ID); string(first) != want {
		t.Errorf("answer %s, want %s", first, want)
	}

	// The same payload from another station, or as another action, is another message.
	for _, other := range []domain.StationMessage{
		{StationID: "CP-2", Action: msg.Action, Digest: msg.Digest},
		{StationID: msg.StationID, Action: "MeterValues", Digest: msg.Digest},
		{StationID: msg.StationID, Action: msg.Action, Digest: digest(`{"connectorId":2}`)},
	} {
		ran := false
		answer, replayed := mustApply(t, s, other, func(domain.SessionTx) ([]byte, error) {
			ran = true
			return []byte(`"other"`), nil
		})
		if !ran || replayed || string(answer) != `"other"` {
			t.Errorf("Apply(%+v): ran %t, replayed %t, answer %q; want a fresh run", other, ran, replayed, answer)
		}
	}

	// An empty answer is an answer too.
	quiet := freshMsg("CP-1", "StatusNotification")
	for i := range 2 {
		answer, replayed := mustApply(t, s, quiet, func(domain.SessionTx) ([]byte, error) { return nil, nil })
		if len(answer) != 0 || replayed != (i == 1) {
			t.Errorf("empty answer, Apply %d: %q, replayed %t", i, answer, replayed)
		}
	}
}

// testApplyConcurrentDuplicates sends one message many times at once, as a station retrying
// over a flaky link (or two connections of one station) might: it is applied once.
func testApplyConcurrentDuplicates(t *testing.T, s domain.Store) {
	const n = 20
	msg := freshMsg("CP-1", "StartTransaction")
	var (
		mu      sync.Mutex
		runs    int
		fresh   int
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			answer, replayed, err := s.Apply(t.Context(), msg, func(tx domain.SessionTx) ([]byte, error) {
				mu.Lock()
				runs++
				mu.Unlock()
				sess, err := tx.NewSession(active("CP-1", 1, at(0)))
				return fmt.Appendf(nil, `{"transactionId":%d}`, sess.ID), err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("Apply: %v", err)
				return
			}
			answers[string(answer)]++
			if !replayed {
				fresh++
			}
		})
	}
	wg.Wait()
	if runs != 1 || fresh != 1 || len(answers) != 1 {
		t.Errorf("%d concurrent copies of one message: fn ran %d times, %d not replayed, answers %v; want 1, 1, one answer",
			n, runs, fresh, answers)
	}
	all, _, err := s.Sessions(t.Context(), domain.SessionFilter{}, domain.Page{})
	if err != nil || len(all) != 1 {
		t.Errorf("Sessions: %d, %v; want one", len(all), err)
	}
}

// callError stands for the OCPP CallError a CSMS handler returns from inside Apply.
type callError struct{ code string }

func (e *callError) Error() string { return "call error " + e.code }

func testApplyErrorLeavesNothing(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	msg := freshMsg("CP-1", "StopTransaction")
	for _, fnErr := range []error{
		&callError{code: "PropertyConstraintViolation"},
		domain.Errorf(domain.ErrConflict, "no way"),
		fmt.Errorf("wrapped: %w", &callError{code: "InternalError"}),
	} {
		answer, replayed, err := s.Apply(ctx, msg, func(tx domain.SessionTx) ([]byte, error) {
			sess, err := tx.NewSession(active("CP-1", 1, at(0)))
			if err != nil {
				return nil, err
			}
			sess.EnergyWh = 42
			if err := tx.UpdateSession(sess); err != nil {
				return nil, err
			}
			if err := tx.AddSamples([]domain.MeterSample{{SessionID: sess.ID, StationID: "CP-1", EVSEID: 1, At: at(0),
				Measurand: "Energy.Active.Import.Register", Unit: "Wh", Value: 1}}); err != nil {
				return nil, err
			}
			if err := tx.AddStationEvent(domain.StationEvent{StationID: "CP-1", Kind: "UnknownTransaction", At: at(0)}); err != nil {
				return nil, err
			}
			return []byte(`{"never":"stored"}`), fnErr
		})
		if err != fnErr && !errors.Is(err, fnErr) {
			t.Errorf("Apply returned %v, want fn's error %v", err, fnErr)
		}
		var ce *callError
		var de *domain.Error
		if errors.As(fnErr, &ce) && (!errors.As(err, &ce) || ce.code == "") {
			t.Errorf("errors.As finds no *callError in %v", err)
		}
		if errors.As(fnErr, &de) && (!errors.As(err, &de) || de.Message != "no way" || !errors.Is(err, domain.ErrConflict)) {
			t.Errorf("errors.As finds no *domain.Error of kind conflict in %v", err)
		}
		if answer != nil || replayed {
			t.Errorf("failed Apply returned answer %q, replayed %t", answer, replayed)
		}
	}
	if all, _, err := s.Sessions(ctx, domain.SessionFilter{}, domain.Page{}); err != nil || len(all) != 0 {
		t.Errorf("failed Applies left sessions %v (%v)", ids(all), err)
	}
	if evs, _, err := s.StationEvents(ctx, "CP-1", domain.Page{}); err != nil || len(evs) != 0 {
		t.Errorf("failed Applies left station events %v (%v)", evs, err)
	}
	// No ledger row either: the message is applied when it comes again.
	ran := false
	answer, replayed := mustApply(t, s, msg, func(tx domain.SessionTx) ([]byte, error) {
		ran = true
		_, err := tx.NewSession(active("CP-1", 1, at(0)))
		return []byte(`"ok"`), err
	})
	if !ran || replayed || string(answer) != `"ok"` {
		t.Errorf("Apply after failures: ran %t, replayed %t, answer %q; want a fresh run", ran, replayed, answer)
	}
	all, _, err := s.Sessions(ctx, domain.SessionFilter{}, domain.Page{})
	if err != nil || len(all) != 1 {
		t.Fatalf("Sessions: %v, %v; want one", ids(all), err)
	}
	if all[0].EnergyWh != 0 {
		t.Errorf("a failed Apply's update survived: energy %v", all[0].EnergyWh)
	}
	if ms, _, err := s.MeterSamples(ctx, all[0].ID, domain.Page{}); err != nil || len(ms) != 0 {
		t.Errorf("samples %v (%v); want none", ms, err)
	}
}

// testApplyHandledErrorKeepsTransaction: a store error that fn handles (a conflict, a missing
// row) leaves the transaction usable, and everything fn did around it commits.
func testApplyHandledErrorKeepsTransaction(t *testing.T, s domain.Store) {
	first := newSession(t, s, func() domain.Session { x := active("CP-1", 1, at(0)); x.TransactionID = "T-1"; return x }())
	var second domain.Session
	mustApply(t, s, freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		dup := active("CP-1", 2, at(time.Minute))
		dup.TransactionID = "T-1"
		if _, err := tx.NewSession(dup); !errors.Is(err, domain.ErrConflict) {
			return nil, fmt.Errorf("NewSession with a taken transaction id: %v, want a conflict", err)
		}
		if err := tx.UpdateSession(domain.Session{ID: first.ID + 1000, StationID: "CP-1", TransactionID: "X",
			Status: domain.SessionActive, StartedAt: at(0)}); !errors.Is(err, domain.ErrNotFound) {
			return nil, fmt.Errorf("UpdateSession of a missing session: %v, want not found", err)
		}
		if err := tx.AddSamples([]domain.MeterSample{{SessionID: first.ID + 1000, StationID: "CP-1", EVSEID: 1, At: at(0),
			Measurand: "Energy.Active.Import.Register", Value: 1}}); err == nil {
			return nil, errors.New("AddSamples for a missing session succeeded")
		}
		if _, err := tx.Token("nobody"); !errors.Is(err, domain.ErrNotFound) {
			return nil, fmt.Errorf("Token(nobody): %v, want not found", err)
		}
		got, err := tx.SessionByTransaction("CP-1", "T-1")
		if err != nil {
			return nil, fmt.Errorf("SessionByTransaction after errors: %w", err)
		}
		got.EnergyWh = 7
		if err := tx.UpdateSession(got); err != nil {
			return nil, err
		}
		dup.TransactionID = "T-2"
		second, err = tx.NewSession(dup)
		return nil, err
	})
	if got := mustSession(t, s, first.ID); got.EnergyWh != 7 {
		t.Errorf("update after handled errors lost: energy %v, want 7", got.EnergyWh)
	}
	if got := mustSession(t, s, second.ID); got.TransactionID != "T-2" {
		t.Errorf("session created after handled errors: %+v", got)
	}
}

func testApplyInvalidAndCanceled(t *testing.T, s domain.Store) {
	ran := false
	fn := func(tx domain.SessionTx) ([]byte, error) {
		ran = true
		_, err := tx.NewSession(active("CP-1", 1, at(0)))
		return nil, err
	}
	for name, msg := range map[string]domain.StationMessage{
		"no digest":  {StationID: "CP-1", Action: "StartTransaction"},
		"no station": {Action: "StartTransaction", Digest: digest("x")},
		"no action":  {StationID: "CP-1", Digest: digest("x")},
	} {
		_, _, err := s.Apply(t.Context(), msg, fn)
		wantErr(t, "Apply with "+name, err, domain.ErrInvalid)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.Apply(ctx, freshMsg("CP-1", "StartTransaction"), fn)
	wantErr(t, "Apply with a canceled context", err, context.Canceled)
	if ran {
		t.Error("fn ran for a refused Apply")
	}
	if all, _, err := s.Sessions(t.Context(), domain.SessionFilter{}, domain.Page{}); err != nil || len(all) != 0 {
		t.Errorf("refused Applies left sessions %v (%v)", ids(all), err)
	}

	// Invalid sessions are refused inside the transaction, as ErrInvalid.
	for name, sess := range map[string]domain.Session{
		"no station":    func() domain.Session { x := active("", 1, at(0)); return x }(),
		"no status":     func() domain.Session { x := active("CP-1", 1, at(0)); x.Status = ""; return x }(),
		"bad status":    func() domain.Session { x := active("CP-1", 1, at(0)); x.Status = "paused"; return x }(),
		"no start":      func() domain.Session { x := active("CP-1", 1, at(0)); x.StartedAt = time.Time{}; return x }(),
		"negative EVSE": func() domain.Session { x := active("CP-1", -1, at(0)); return x }(),
	} {
		_, _, err := s.Apply(t.Context(), freshMsg("CP-1", "StartTransaction"), func(tx domain.SessionTx) ([]byte, error) {
			_, err := tx.NewSession(sess)
			return nil, err
		})
		wantErr(t, "NewSession with "+name, err, domain.ErrInvalid)
	}
}

func testApplyTokenAndEvent(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	tok := domain.Token{UID: "T1", Type: "ISO14443", Status: domain.TokenAccepted, ExpiresAt: at(time.Hour), GroupID: "G"}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	var (
		got     domain.Token
		missing error
	)
	detail := []byte(`{"transactionId":77,"meterStop":1000}`)
	mustApply(t, s, freshMsg("CP-1", "StopTransaction"), func(tx domain.SessionTx) ([]byte, error) {
		var err error
		if got, err = tx.Token("T1"); err != nil {
			return nil, err
		}
		_, missing = tx.Token("T404")
		return nil, tx.AddStationEvent(domain.StationEvent{StationID: "CP-1", Kind: "UnknownTransaction",
			Type: "StopTransaction", At: at(time.Second), Detail: detail})
	})
	sameToken(t, "Token inside Apply", got, tok)
	wantErr(t, "Token(T404) inside Apply", missing, domain.ErrNotFound)
	evs, _, err := s.StationEvents(ctx, "CP-1", domain.Page{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("StationEvents: %v, %v; want the one added inside Apply", evs, err)
	}
	if e := evs[0]; e.Kind != "UnknownTransaction" || e.Type != "StopTransaction" {
		t.Errorf("event = %+v", e)
	}
	wantTime(t, "event At", evs[0].At, at(time.Second))
	wantJSON(t, "event Detail", evs[0].Detail, detail)

	// An event of an unknown station fails the Apply with not found.
	_, _, err = s.Apply(ctx, freshMsg("CP-404", "StopTransaction"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.AddStationEvent(domain.StationEvent{StationID: "CP-404", Kind: "UnknownTransaction", At: at(0)})
	})
	wantErr(t, "AddStationEvent of an unknown station", err, domain.ErrNotFound)
}

// testNewSessionConcurrentIDs: sessions opened at once from many connections get distinct ids,
// increasing in the order each caller opened them.
func testNewSessionConcurrentIDs(t *testing.T, s domain.Store) {
	const (
		workers = 50
		each    = 4
	)
	got := make([][]domain.Session, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			station := fmt.Sprintf("CP-%d", w%5)
			for i := range each {
				var sess domain.Session
				_, _, err := s.Apply(t.Context(), freshMsg(station, "StartTransaction"), func(tx domain.SessionTx) ([]byte, error) {
					var err error
					sess, err = tx.NewSession(active(station, w+1, at(time.Duration(i)*time.Second)))
					return fmt.Appendf(nil, `{"transactionId":%d}`, sess.ID), err
				})
				if err != nil {
					t.Errorf("worker %d: Apply: %v", w, err)
					return
				}
				got[w] = append(got[w], sess)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[int64]bool{}
	var maxID int64
	for w, list := range got {
		for i, sess := range list {
			if sess.ID <= 0 || seen[sess.ID] {
				t.Errorf("worker %d session %d has id %d: zero or given twice", w, i, sess.ID)
			}
			seen[sess.ID] = true
			maxID = max(maxID, sess.ID)
			if i > 0 && sess.ID <= list[i-1].ID {
				t.Errorf("worker %d: ids %d then %d do not increase", w, list[i-1].ID, sess.ID)
			}
			if sess.TransactionID != strconv.FormatInt(sess.ID, 10) {
				t.Errorf("session %d has transaction id %q", sess.ID, sess.TransactionID)
			}
		}
	}
	all, _, err := s.Sessions(t.Context(), domain.SessionFilter{}, domain.Page{Limit: 500})
	if err != nil || len(all) != workers*each {
		t.Fatalf("Sessions: %d, %v; want %d", len(all), err, workers*each)
	}
	for _, sess := range all {
		if !seen[sess.ID] {
			t.Errorf("stored session %d was never returned by NewSession", sess.ID)
		}
	}
	if next := newSession(t, s, active("CP-0", 1, at(time.Hour))); next.ID <= maxID {
		t.Errorf("a later session got id %d, not above the highest so far, %d", next.ID, maxID)
	}
}

func testTransactionIDDefault(t *testing.T, s domain.Store) {
	ctx := t.Context()
	v16 := newSession(t, s, active("CP-1", 1, at(0)))
	if v16.TransactionID != strconv.FormatInt(v16.ID, 10) {
		t.Errorf("1.6 session %d got transaction id %q, want its id", v16.ID, v16.TransactionID)
	}
	wantSession(t, "Session() of the 1.6 session", mustSession(t, s, v16.ID), v16)

	v201 := active("CP-1", 2, at(0))
	v201.TransactionID = "f0e1d2c3-0000-4000-8000-000000000001"
	stored := newSession(t, s, v201)
	if stored.TransactionID != v201.TransactionID || stored.ID <= v16.ID {
		t.Errorf("2.0.1 session = id %d, transaction %q; want a new id and the station's transaction id", stored.ID, stored.TransactionID)
	}

	// The same transaction id on another station is another transaction; on the same, a conflict.
	other := v201
	other.StationID = "CP-2"
	newSession(t, s, other)
	_, _, err := s.Apply(ctx, freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		_, err := tx.NewSession(v201)
		return nil, err
	})
	wantErr(t, "NewSession with a taken transaction id", err, domain.ErrConflict)

	var found []domain.Session
	mustApply(t, s, freshMsg("CP-1", "StopTransaction"), func(tx domain.SessionTx) ([]byte, error) {
		for _, q := range []struct{ station, tx string }{
			{"CP-1", v16.TransactionID}, {"CP-1", v201.TransactionID}, {"CP-2", v201.TransactionID},
		} {
			sess, err := tx.SessionByTransaction(q.station, q.tx)
			if err != nil {
				return nil, err
			}
			found = append(found, sess)
		}
		for _, q := range []struct{ station, tx string }{{"CP-2", v16.TransactionID}, {"CP-1", "nope"}, {"CP-3", v201.TransactionID}} {
			if _, err := tx.SessionByTransaction(q.station, q.tx); !errors.Is(err, domain.ErrNotFound) {
				return nil, fmt.Errorf("SessionByTransaction(%s, %s): %v, want not found", q.station, q.tx, err)
			}
		}
		return nil, nil
	})
	if len(found) != 3 || found[0].ID != v16.ID || found[1].ID != stored.ID || found[2].StationID != "CP-2" {
		t.Errorf("SessionByTransaction found %v", ids(found))
	}
	wantSession(t, "SessionByTransaction", found[1], mustSession(t, s, stored.ID))
}

func testSessionRoundTrip(t *testing.T, s domain.Store) {
	cet := time.FixedZone("CET", 3600)
	in := domain.Session{
		StationID: "CP-1", EVSEID: 2, ConnectorID: 3, TransactionID: "TX-1",
		IDToken: "04A1B2", IDTokenType: "ISO14443", AuthStatus: domain.TokenAccepted, Status: domain.SessionActive,
		StartedAt:    at(0).In(cet),
		MeterStartWh: ptr(1000.5), MeterStartAt: at(0), MeterStopWh: ptr(0.0), MeterLastWh: ptr(1500.25),
		MeterLastAt: at(time.Minute), EnergyWh: 499.75, StopReason: "", RemoteStartID: ptr(0), ReservationID: ptr(-7),
		ChargingState: "Charging", LastSeqNo: ptr(12), LastEventAt: at(2 * time.Minute), LastStationAt: at(time.Minute),
		Flag: "superseded", CreatedAt: at(3 * time.Minute), UpdatedAt: at(4 * time.Minute),
	}
	out := newSession(t, s, in)
	want := in
	want.ID = out.ID
	want.StartedAt = want.StartedAt.UTC()
	wantSession(t, "NewSession result", out, want)
	wantSession(t, "Session()", mustSession(t, s, out.ID), want)

	// Every field changes, set pointers become nil and nil ones set.
	upd := domain.Session{
		ID: out.ID, StationID: "CP-1", EVSEID: 4, ConnectorID: 1, TransactionID: "TX-1b",
		IDToken: "APP-9", IDTokenType: "Central", AuthStatus: domain.TokenBlocked, Status: domain.SessionCompleted,
		StartedAt: at(-time.Hour), StoppedAt: at(time.Hour).In(cet),
		MeterStartWh: nil, MeterStopWh: ptr(2000.0), MeterLastWh: nil, EnergyWh: 0,
		StopReason: "EVDisconnected", RemoteStartID: nil, ReservationID: nil, ChargingState: "Idle", LastSeqNo: nil,
		LastEventAt: at(5 * time.Minute), LastStationAt: time.Time{}, Flag: "",
		CreatedAt: at(3 * time.Minute), UpdatedAt: at(6 * time.Minute),
	}
	updateSession(t, s, upd)
	want = upd
	want.StoppedAt = want.StoppedAt.UTC()
	wantSession(t, "Session() after update", mustSession(t, s, out.ID), want)

	// And back: the zero values of optional fields stay distinct from absent ones.
	back := want
	back.MeterStartWh, back.MeterStartAt, back.MeterLastWh, back.MeterLastAt = ptr(0.0), at(0), ptr(-1.5), at(time.Second)
	back.RemoteStartID, back.ReservationID, back.LastSeqNo = ptr(1), ptr(0), ptr(0)
	back.StoppedAt, back.Status, back.LastStationAt = time.Time{}, domain.SessionActive, at(time.Second)
	updateSession(t, s, back)
	wantSession(t, "Session() after second update", mustSession(t, s, out.ID), back)

	// Updates as meter values and state changes make them: the identity (station, EVSE,
	// transaction, token, remote start, status, start) stays, everything else moves, twice over
	// so that each optional field goes both from nil to a value and back.
	for i, change := range []func(x *domain.Session){
		func(x *domain.Session) {
			x.ConnectorID, x.IDTokenType, x.AuthStatus = 2, "KeyCode", domain.TokenExpired
			x.StoppedAt, x.MeterStartWh, x.MeterStartAt = at(2*time.Hour), nil, time.Time{}
			x.MeterStopWh, x.MeterLastWh, x.MeterLastAt = ptr(3000.0), nil, time.Time{}
			x.EnergyWh, x.StopReason, x.ReservationID, x.ChargingState = 123.25, "Remote", nil, "SuspendedEV"
			x.LastSeqNo, x.LastEventAt, x.LastStationAt = nil, at(7*time.Minute), time.Time{}
			x.Flag, x.UpdatedAt = "stale", at(8*time.Minute)
		},
		func(x *domain.Session) {
			x.ConnectorID, x.IDTokenType, x.AuthStatus = 1, "ISO15693", domain.TokenAccepted
			x.StoppedAt, x.MeterStartWh, x.MeterStartAt = time.Time{}, ptr(5.0), at(time.Second)
			x.MeterStopWh, x.MeterLastWh, x.MeterLastAt = nil, ptr(50.0), at(9*time.Minute)
			x.EnergyWh, x.StopReason, x.ReservationID, x.ChargingState = 45, "", ptr(3), "Charging"
			x.LastSeqNo, x.LastEventAt, x.LastStationAt = ptr(99), at(9*time.Minute), at(9*time.Minute)
			x.Flag, x.UpdatedAt = "", at(10*time.Minute)
		},
	} {
		next := mustSession(t, s, out.ID)
		change(&next)
		updateSession(t, s, next)
		wantSession(t, fmt.Sprintf("Session() after reading update %d", i), mustSession(t, s, out.ID), next)
	}
}

func testActiveSessionOn(t *testing.T, s domain.Store) {
	find := func(station string, evse int) (domain.Session, error) {
		var sess domain.Session
		var ferr error
		mustApply(t, s, freshMsg(station, "MeterValues"), func(tx domain.SessionTx) ([]byte, error) {
			sess, ferr = tx.ActiveSessionOn(station, evse)
			return nil, nil
		})
		return sess, ferr
	}
	_, err := find("CP-1", 1)
	wantErr(t, "ActiveSessionOn with no sessions", err, domain.ErrNotFound)

	s1 := newSession(t, s, active("CP-1", 1, at(0)))
	done := active("CP-1", 1, at(2*time.Minute))
	done.Status, done.StoppedAt = domain.SessionCompleted, at(3*time.Minute)
	newSession(t, s, done)
	newSession(t, s, active("CP-1", 2, at(5*time.Minute)))
	newSession(t, s, active("CP-2", 1, at(5*time.Minute)))
	got, err := find("CP-1", 1)
	if err != nil || got.ID != s1.ID {
		t.Fatalf("ActiveSessionOn(CP-1, 1) = %d, %v; want %d", got.ID, err, s1.ID)
	}
	wantSession(t, "ActiveSessionOn", got, mustSession(t, s, s1.ID))

	// Two active sessions (a stop went missing): the one started last, whatever the insert order.
	newer := newSession(t, s, active("CP-1", 1, at(time.Minute)))
	newSession(t, s, active("CP-1", 1, at(30*time.Second)))
	if got, err := find("CP-1", 1); err != nil || got.ID != newer.ID {
		t.Errorf("ActiveSessionOn with two active = %d, %v; want the later started %d", got.ID, err, newer.ID)
	}
	_, err = find("CP-1", 3)
	wantErr(t, "ActiveSessionOn of an EVSE without sessions", err, domain.ErrNotFound)
	_, err = find("CP-3", 1)
	wantErr(t, "ActiveSessionOn of another station", err, domain.ErrNotFound)
}

func testUpdateSessionErrors(t *testing.T, s domain.Store) {
	a := newSession(t, s, func() domain.Session { x := active("CP-1", 1, at(0)); x.TransactionID = "A"; return x }())
	b := newSession(t, s, func() domain.Session { x := active("CP-1", 2, at(0)); x.TransactionID = "B"; return x }())
	missing := a
	missing.ID = b.ID + 100
	_, _, err := s.Apply(t.Context(), freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.UpdateSession(missing)
	})
	wantErr(t, "UpdateSession of a missing session", err, domain.ErrNotFound)

	clash := b
	clash.TransactionID = "A"
	_, _, err = s.Apply(t.Context(), freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.UpdateSession(clash)
	})
	wantErr(t, "UpdateSession to a taken transaction id", err, domain.ErrConflict)

	bad := b
	bad.Status = "paused"
	_, _, err = s.Apply(t.Context(), freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.UpdateSession(bad)
	})
	wantErr(t, "UpdateSession with a bad status", err, domain.ErrInvalid)
	wantSession(t, "session after refused updates", mustSession(t, s, b.ID), b)
}

func sample(session int64, station string, evse int, t time.Time, measurand string, value float64) domain.MeterSample {
	return domain.MeterSample{SessionID: session, StationID: station, EVSEID: evse, At: t, Measurand: measurand,
		Location: "Outlet", Context: "Sample.Periodic", Unit: "Wh", Value: value}
}

func allSamples(t *testing.T, s domain.Store, session int64, limit int) []domain.MeterSample {
	t.Helper()
	var all []domain.MeterSample
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("paging does not end")
		}
		ms, next, err := s.MeterSamples(t.Context(), session, domain.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("MeterSamples(%d) page %d: %v", session, page, err)
		}
		if len(ms) > max(limit, 1) && limit > 0 {
			t.Fatalf("page of %d, limit %d", len(ms), limit)
		}
		all = append(all, ms...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func wantSamples(t *testing.T, what string, got, want []domain.MeterSample) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d samples, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		wantTime(t, fmt.Sprintf("%s[%d].At", what, i), g.At, w.At)
		g.At = w.At
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
		}
	}
}

func testAddSamplesSkipsDuplicates(t *testing.T, s domain.Store) {
	const energy = "Energy.Active.Import.Register"
	sess := newSession(t, s, active("CP-1", 1, at(0)))
	id := sess.ID
	a := sample(id, "CP-1", 1, at(time.Minute), energy, 100)
	a.Signed = []byte("OCMF|{\"FV\":\"1.0\"}|{\"SA\":\"ECDSA-secp256r1-SHA256\",\"SD\":\"3045...\"}")
	b := sample(id, "CP-1", 1, at(time.Minute), "Power.Active.Import", 7400)
	b.Unit = "W"
	c := sample(id, "CP-1", 1, at(2*time.Minute), energy, 200)
	aAgain := a
	aAgain.Value, aAgain.Signed = 999, nil // same key, other value: still a duplicate
	addSamples(t, s, "CP-1", a, b, aAgain, c)
	wantSamples(t, "after first batch", allSamples(t, s, id, 0), []domain.MeterSample{a, b, c})

	phase := b
	phase.Phase, phase.Value = "L1", 2466
	loc := c
	loc.Location = "Inlet"
	ctxt := c
	ctxt.Context = "Transaction.End"
	unit := c
	unit.Unit, unit.Value = "kWh", 0.2 // the unit is no part of the key
	otherEVSE := c
	otherEVSE.EVSEID = 2
	otherStation := c
	otherStation.StationID = "CP-2"
	loose := sample(0, "CP-1", 1, at(3*time.Minute), energy, 300) // no session
	addSamples(t, s, "CP-1", c, phase, loc, ctxt, unit, otherEVSE, otherStation, loose)
	wantSamples(t, "after second batch", allSamples(t, s, id, 0), []domain.MeterSample{a, b, phase, c, loc, ctxt, otherEVSE, otherStation})

	// A sample without session is stored but listed under none; then attributed, it is a duplicate.
	attributed := loose
	attributed.SessionID = id
	addSamples(t, s, "CP-1", attributed)
	wantSamples(t, "after a duplicate of a loose sample", allSamples(t, s, id, 0), []domain.MeterSample{a, b, phase, c, loc, ctxt, otherEVSE, otherStation})

	// Nothing to add is no error.
	addSamples(t, s, "CP-1")
	mustApply(t, s, freshMsg("CP-1", "MeterValues"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.AddSamples(nil)
	})
	// An invalid sample fails the whole call.
	_, _, err := s.Apply(t.Context(), freshMsg("CP-1", "MeterValues"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.AddSamples([]domain.MeterSample{sample(id, "CP-1", 1, at(time.Hour), energy, 1), {SessionID: id, EVSEID: 1, At: at(time.Hour)}})
	})
	wantErr(t, "AddSamples with a sample without station", err, domain.ErrInvalid)
	if got := allSamples(t, s, id, 0); len(got) != 8 {
		t.Errorf("a refused AddSamples stored samples: %d, want 8", len(got))
	}

	// A long message (many measurands and phases); a failure anywhere in it keeps none of it,
	// even when fn goes on.
	other := newSession(t, s, active("CP-1", 2, at(0)))
	var long []domain.MeterSample
	for i := range 20 {
		long = append(long, sample(other.ID, "CP-1", 2, at(time.Hour), fmt.Sprintf("M%02d", i), float64(i)))
	}
	long = append(long, long[3]) // a duplicate within the message
	broken := append(slices.Clone(long), sample(other.ID+1000, "CP-1", 2, at(2*time.Hour), energy, 1))
	var brokenErr error
	mustApply(t, s, freshMsg("CP-1", "MeterValues"), func(tx domain.SessionTx) ([]byte, error) {
		brokenErr = tx.AddSamples(broken)
		return nil, tx.AddSamples(long[:1])
	})
	if brokenErr == nil {
		t.Error("AddSamples with a sample of a missing session succeeded")
	}
	wantSamples(t, "after a failed long AddSamples", allSamples(t, s, other.ID, 0), long[:1])
	addSamples(t, s, "CP-1", long...)
	wantSamples(t, "after a long AddSamples", allSamples(t, s, other.ID, 0), long[:20])
}

func testMeterSamplesPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	sess := newSession(t, s, active("CP-1", 1, at(0)))
	other := newSession(t, s, active("CP-1", 2, at(0)))
	empty := newSession(t, s, active("CP-1", 3, at(0)))
	var in []domain.MeterSample
	// Out of time order, in several messages; three share a time.
	for i, sec := range []int{50, 10, 30, 30, 20, 60, 30, 40, 0} {
		m := sample(sess.ID, "CP-1", 1, at(time.Duration(sec)*time.Second), fmt.Sprintf("M%d", i), float64(i))
		in = append(in, m)
		addSamples(t, s, "CP-1", m, sample(other.ID, "CP-1", 2, m.At, m.Measurand, -1))
	}
	want := slices.Clone(in)
	slices.SortStableFunc(want, func(a, b domain.MeterSample) int { return a.At.Compare(b.At) }) // equal times: insertion order
	for _, limit := range []int{1, 2, 4, 100} {
		wantSamples(t, fmt.Sprintf("limit %d", limit), allSamples(t, s, sess.ID, limit), want)
	}
	ms, next, err := s.MeterSamples(ctx, sess.ID, domain.Page{Limit: 9})
	if err != nil || len(ms) != 9 || next != "" {
		t.Errorf("an exactly full page: %d, next %q, %v; want 9 and no cursor", len(ms), next, err)
	}
	ms, next, err = s.MeterSamples(ctx, empty.ID, domain.Page{})
	if err != nil || len(ms) != 0 || next != "" {
		t.Errorf("samples of a session without any: %v %q %v", ms, next, err)
	}
	_, _, err = s.MeterSamples(ctx, sess.ID, domain.Page{Cursor: "not a cursor!"})
	wantErr(t, "MeterSamples with a bad cursor", err, domain.ErrInvalid)
	_, _, err = s.MeterSamples(ctx, empty.ID+100, domain.Page{})
	wantErr(t, "MeterSamples of a missing session", err, domain.ErrNotFound)
}

func testSessionsFilterAndPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	var all []domain.Session
	for i := range 12 {
		sess := active([]string{"CP-1", "CP-2", "CP-3"}[i%3], 1+i%2, at(time.Duration(i)*time.Minute))
		sess.IDToken = []string{"TA", "TB"}[i%2]
		if i%4 == 0 {
			sess.RemoteStartID = ptr(i / 4) // 0, 1, 2
		}
		if i%5 == 1 {
			sess.Status, sess.StoppedAt = domain.SessionCompleted, at(time.Hour)
		}
		all = append(all, newSession(t, s, sess))
	}
	if id, err := s.Session(ctx, all[len(all)-1].ID+1); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Session of a missing id: %v, %v", id.ID, err)
	}
	filters := []domain.SessionFilter{
		{},
		{StationID: "CP-1"},
		{StationID: "CP-404"},
		{Status: domain.SessionActive},
		{Status: domain.SessionCompleted},
		{IDToken: "TB"},
		{RemoteStartID: ptr(0)},
		{RemoteStartID: ptr(2)},
		{StationID: "CP-2", IDToken: "TB"},
		{StationID: "CP-2", Status: domain.SessionActive, IDToken: "TA"},
		{StationID: "CP-1", Status: domain.SessionActive, IDToken: "TA", RemoteStartID: ptr(1)},
	}
	for _, f := range filters {
		var want []int64
		for i := len(all) - 1; i >= 0; i-- { // newest first
			x := all[i]
			if (f.StationID == "" || x.StationID == f.StationID) && (f.Status == "" || x.Status == f.Status) &&
				(f.IDToken == "" || x.IDToken == f.IDToken) &&
				(f.RemoteStartID == nil || (x.RemoteStartID != nil && *x.RemoteStartID == *f.RemoteStartID)) {
				want = append(want, x.ID)
			}
		}
		for _, limit := range []int{1, 3, 0} {
			var got []domain.Session
			cursor := ""
			for page := 0; ; page++ {
				if page > len(all) {
					t.Fatalf("%+v: paging does not end", f)
				}
				items, next, err := s.Sessions(ctx, f, domain.Page{Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatalf("Sessions(%+v, limit %d): %v", f, limit, err)
				}
				if limit > 0 && len(items) > limit {
					t.Fatalf("page of %d, limit %d", len(items), limit)
				}
				got = append(got, items...)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(ids(got), want) {
				t.Errorf("Sessions(%s, limit %d) = %v, want %v", showFilter(f), limit, ids(got), want)
			}
			for _, g := range got {
				if one := mustSession(t, s, g.ID); !reflect.DeepEqual(one, g) {
					t.Errorf("list item %+v differs from Session() %+v", g, one)
				}
			}
		}
	}
	_, _, err := s.Sessions(ctx, domain.SessionFilter{}, domain.Page{Cursor: "not a cursor!"})
	wantErr(t, "Sessions with a bad cursor", err, domain.ErrInvalid)
	_, _, err = s.Sessions(ctx, domain.SessionFilter{Status: "paused"}, domain.Page{})
	wantErr(t, "Sessions with an unknown status", err, domain.ErrInvalid)
}

func showFilter(f domain.SessionFilter) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{station %q status %q token %q remote ", f.StationID, f.Status, f.IDToken)
	if f.RemoteStartID == nil {
		b.WriteString("nil}")
	} else {
		fmt.Fprintf(&b, "%d}", *f.RemoteStartID)
	}
	return b.String()
}

func testStaleSessions(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mk := func(lastEvent time.Duration, status domain.SessionStatus) domain.Session {
		sess := active("CP-1", 1, at(-5*time.Hour))
		sess.Status, sess.LastEventAt = status, at(lastEvent)
		if status == domain.SessionCompleted {
			sess.StoppedAt = at(-4 * time.Hour)
		}
		return newSession(t, s, sess)
	}
	h2 := mk(-2*time.Hour, domain.SessionActive)
	h3 := mk(-3*time.Hour, domain.SessionActive)
	mk(-4*time.Hour, domain.SessionCompleted)
	h1 := mk(-time.Hour, domain.SessionActive)
	mk(0, domain.SessionActive)
	edge := mk(-30*time.Minute, domain.SessionActive) // exactly at the cutoff: not stale

	cutoff := at(-30 * time.Minute)
	for limit, want := range map[int][]int64{0: {h3.ID, h2.ID, h1.ID}, 2: {h3.ID, h2.ID}, 500: {h3.ID, h2.ID, h1.ID}} {
		got, err := s.StaleSessions(ctx, cutoff, limit)
		if err != nil {
			t.Fatalf("StaleSessions: %v", err)
		}
		if !slices.Equal(ids(got), want) {
			t.Errorf("StaleSessions(limit %d) = %v, want %v (oldest news first)", limit, ids(got), want)
		}
		if len(got) > 0 {
			wantSession(t, "stale session", got[0], mustSession(t, s, got[0].ID))
		}
	}
	got, err := s.StaleSessions(ctx, at(time.Hour), 100)
	if err != nil || len(got) != 5 || !slices.Contains(ids(got), edge.ID) {
		t.Errorf("StaleSessions with a later cutoff = %v, %v; want all 5 active", ids(got), err)
	}
}

func testCloseStale(t *testing.T, s domain.Store) {
	ctx := t.Context()
	tmpl := active("CP-1", 1, at(-5*time.Hour))
	tmpl.LastEventAt = at(-2 * time.Hour)
	withReadings := tmpl
	withReadings.MeterStartWh, withReadings.MeterLastWh, withReadings.EnergyWh = ptr(1000.0), ptr(1800.0), 800
	withReadings.MeterStartAt, withReadings.MeterLastAt = at(-5*time.Hour), at(-2*time.Hour)
	a := newSession(t, s, withReadings)
	b := newSession(t, s, tmpl) // no readings at all
	news := newSession(t, s, tmpl)
	cutoff := at(-time.Hour)

	if err := s.CloseStale(ctx, a.ID, cutoff, at(-2*time.Hour), "stale"); err != nil {
		t.Fatalf("CloseStale: %v", err)
	}
	got := mustSession(t, s, a.ID)
	want := a
	want.Status, want.StoppedAt, want.Flag, want.MeterStopWh = domain.SessionCompleted, at(-2*time.Hour), "stale", ptr(1800.0)
	want.UpdatedAt = got.UpdatedAt
	wantSession(t, "closed session", got, want)
	wantStamped(t, "UpdatedAt of the closed session", got.UpdatedAt)

	if err := s.CloseStale(ctx, b.ID, cutoff, at(-2*time.Hour), "stale"); err != nil {
		t.Fatalf("CloseStale without readings: %v", err)
	}
	if got := mustSession(t, s, b.ID); got.MeterStopWh != nil || got.Status != domain.SessionCompleted {
		t.Errorf("closed session without readings: stop reading %s, status %s; want nil, completed", show(got.MeterStopWh), got.Status)
	}

	// Already closed: a conflict, and the first close stands.
	wantErr(t, "second CloseStale", s.CloseStale(ctx, a.ID, cutoff, at(0), "other"), domain.ErrConflict)
	if got := mustSession(t, s, a.ID); got.Flag != "stale" || !got.StoppedAt.Equal(at(-2*time.Hour)) {
		t.Errorf("a refused CloseStale changed the session: flag %q, stopped %v", got.Flag, got.StoppedAt)
	}

	// News arrived after the sweep listed the session: a conflict, the session stays active.
	n := news
	n.LastEventAt = at(0)
	updateSession(t, s, n)
	wantErr(t, "CloseStale of a session with news", s.CloseStale(ctx, news.ID, cutoff, at(-2*time.Hour), "stale"), domain.ErrConflict)
	if got := mustSession(t, s, news.ID); got.Status != domain.SessionActive || !got.StoppedAt.IsZero() || got.Flag != "" {
		t.Errorf("a refused CloseStale changed the session: %+v", got)
	}
	wantErr(t, "CloseStale of a missing session", s.CloseStale(ctx, news.ID+100, cutoff, at(0), "stale"), domain.ErrNotFound)

	if stale, err := s.StaleSessions(ctx, cutoff, 100); err != nil || len(stale) != 0 {
		t.Errorf("StaleSessions after closing: %v, %v; want none", ids(stale), err)
	}
}

func testSessionsSurviveDeleteStation(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustCreate(t, s, "CP-1")
	sess := active("CP-1", 1, at(0))
	sess.TransactionID = "T-1"
	sess = newSession(t, s, sess)
	m := sample(sess.ID, "CP-1", 1, at(time.Minute), "Energy.Active.Import.Register", 5)
	addSamples(t, s, "CP-1", m)
	if err := s.DeleteStation(ctx, "CP-1"); err != nil {
		t.Fatal(err)
	}
	wantSession(t, "session of a deleted station", mustSession(t, s, sess.ID), sess)
	list, _, err := s.Sessions(ctx, domain.SessionFilter{StationID: "CP-1"}, domain.Page{})
	if err != nil || len(list) != 1 {
		t.Errorf("Sessions of a deleted station: %v, %v", ids(list), err)
	}
	wantSamples(t, "samples of a deleted station", allSamples(t, s, sess.ID, 0), []domain.MeterSample{m})

	// A late stop from the deleted (or re-created) station still finds its transaction.
	var found domain.Session
	mustApply(t, s, freshMsg("CP-1", "StopTransaction"), func(tx domain.SessionTx) ([]byte, error) {
		var err error
		found, err = tx.SessionByTransaction("CP-1", "T-1")
		return nil, err
	})
	if found.ID != sess.ID {
		t.Errorf("SessionByTransaction after delete = %d, want %d", found.ID, sess.ID)
	}
}
