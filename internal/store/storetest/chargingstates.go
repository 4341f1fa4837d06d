package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var chargingStateTests = []suiteTest{
	{"ChargingStates", testChargingStates},
	{"ChargingStatesInvalid", testChargingStatesInvalid},
}

func addMarks(t *testing.T, s domain.Store, station string, marks ...domain.ChargingStateMark) {
	t.Helper()
	mustApply(t, s, freshMsg(station, "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.AddChargingStates(marks)
	})
}

func testChargingStates(t *testing.T, s domain.Store) {
	sess := newSession(t, s, active("CP-1", 1, at(0)))
	other := newSession(t, s, active("CP-1", 2, at(0)))
	mk := func(id int64, d time.Duration, state string) domain.ChargingStateMark {
		return domain.ChargingStateMark{SessionID: id, At: at(d), State: state}
	}
	// Out of order (an offline backlog), with a repeat in the same batch and in a later one.
	addMarks(t, s, "CP-1", mk(sess.ID, 10*time.Minute, "SuspendedEV"), mk(sess.ID, 0, "Charging"),
		mk(sess.ID, 10*time.Minute, "SuspendedEV"), mk(other.ID, time.Minute, "Charging"))
	addMarks(t, s, "CP-1", mk(sess.ID, 10*time.Minute, "SuspendedEV"), mk(sess.ID, 5*time.Minute, "SuspendedEVSE"))
	got, err := s.ChargingStates(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.ChargingStateMark{mk(sess.ID, 0, "Charging"), mk(sess.ID, 5*time.Minute, "SuspendedEVSE"),
		mk(sess.ID, 10*time.Minute, "SuspendedEV")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ChargingStates = %+v, want %+v", got, want)
	}
	if got, err := s.ChargingStates(t.Context(), other.ID+1000); err != nil || len(got) != 0 {
		t.Errorf("ChargingStates(unknown) = %+v, %v", got, err)
	}
}

func testChargingStatesInvalid(t *testing.T, s domain.Store) {
	sess := newSession(t, s, active("CP-1", 1, at(0)))
	for _, m := range []domain.ChargingStateMark{
		{SessionID: sess.ID, At: at(0)},
		{SessionID: sess.ID, State: "Charging"},
		{At: at(0), State: "Charging"},
	} {
		_, _, err := s.Apply(t.Context(), freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
			return nil, tx.AddChargingStates([]domain.ChargingStateMark{m})
		})
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("AddChargingStates(%+v) = %v, want ErrInvalid", m, err)
		}
	}
	_, _, err := s.Apply(t.Context(), freshMsg("CP-1", "TransactionEvent"), func(tx domain.SessionTx) ([]byte, error) {
		return nil, tx.AddChargingStates([]domain.ChargingStateMark{{SessionID: sess.ID + 1000, At: at(0), State: "Charging"}})
	})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("AddChargingStates(missing session) = %v, want ErrNotFound", err)
	}
}
