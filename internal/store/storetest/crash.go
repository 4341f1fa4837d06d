package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// The two halves of a kill -9 test. A store's test re-executes its test binary; the child opens
// the store and runs CrashWorkload, which writes from many goroutines and prints one line to w
// for every write that returned without error. The parent kills the child with SIGKILL at an
// arbitrary moment, reopens the store and calls CheckAcknowledged with all the child printed:
// every acknowledged write must be there. Acknowledged Applies (sessions started, meter values)
// are checked by sending the same message again: the ledger must answer it as the first time
// without running fn, and the message's effects must be in the store.

const (
	crashStations = 8
	crashWorkers  = 32
	ackPrefix     = "ack "
)

// CrashWorkload writes to an empty store until ctx is done or a write fails, printing an
// acknowledgement line per successful write. Each line is a single Write, so that it reaches a
// pipe whole or not at all.
func CrashWorkload(ctx context.Context, s domain.Store, w io.Writer) error {
	var mu sync.Mutex
	ack := func(format string, args ...any) error {
		line := fmt.Sprintf(ackPrefix+format+"\n", args...)
		mu.Lock()
		defer mu.Unlock()
		_, err := io.WriteString(w, line)
		return err
	}
	for i := range crashStations {
		id := fmt.Sprintf("CRASH-%d", i)
		if err := s.CreateStation(ctx, domain.Station{ID: id, RegistrationStatus: domain.RegistrationAccepted}); err != nil {
			return err
		}
		if err := ack("station %s", id); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, crashWorkers)
	for g := range crashWorkers {
		wg.Go(func() {
			station := fmt.Sprintf("CRASH-%d", g%crashStations)
			evse := g/crashStations + 1 // each worker owns one connector
			var session domain.Session  // the worker's charging session, once started
			for i := 1; ctx.Err() == nil; i++ {
				ts := base.Add(time.Duration(i) * time.Millisecond)
				var err error
				switch i % 4 {
				case 3:
					msg := domain.StationMessage{StationID: station, Action: "StartTransaction", Digest: digest(fmt.Sprintf("w%d m%d", g, i))}
					var answer []byte
					if session.ID == 0 {
						var started domain.Session
						answer, _, err = s.Apply(ctx, msg, func(tx domain.SessionTx) ([]byte, error) {
							var err error
							started, err = tx.NewSession(active(station, evse, ts))
							return fmt.Appendf(nil, `{"transactionId":%d}`, started.ID), err
						})
						if err == nil {
							session = started
						}
					} else {
						msg.Action = "MeterValues"
						answer, _, err = s.Apply(ctx, msg, func(tx domain.SessionTx) ([]byte, error) {
							return crashMeterValue(tx, station, session.TransactionID, ts, float64(i))
						})
					}
					if err == nil {
						err = ack("apply %s %s %s %s", msg.StationID, msg.Action, msg.Digest, answer)
					}
				case 0:
					if err = s.UpdateStatus(ctx, domain.StatusUpdate{StationID: station, EVSEID: evse, ConnectorID: 1,
						Status: domain.ConnectorOccupied, OCPPStatus: "Charging", At: ts}); err == nil {
						err = ack("status %s %d %d", station, evse, ts.UnixMicro())
					}
				case 1:
					if err = s.TouchStation(ctx, station, ts); err == nil {
						err = ack("touch %s %d", station, ts.UnixMicro())
					}
				case 2:
					if err = s.AddAudit(ctx, domain.AuditEntry{At: ts, Actor: fmt.Sprintf("w%d", g), StationID: station,
						Action: fmt.Sprintf("a%d", i), Request: []byte(`{}`)}); err == nil {
						err = ack("audit w%d a%d", g, i)
					}
				}
				if err != nil && ctx.Err() == nil {
					errs <- fmt.Errorf("worker %d: %w", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// crashMeterValue is a MeterValues message's work: one sample, the session's energy moved to wh.
func crashMeterValue(tx domain.SessionTx, station, transactionID string, at time.Time, wh float64) ([]byte, error) {
	sess, err := tx.SessionByTransaction(station, transactionID)
	if err != nil {
		return nil, err
	}
	if err := tx.AddSamples([]domain.MeterSample{{SessionID: sess.ID, StationID: station, EVSEID: sess.EVSEID, At: at,
		Measurand: "Energy.Active.Import.Register", Location: "Outlet", Context: "Sample.Periodic", Unit: "Wh", Value: wh}}); err != nil {
		return nil, err
	}
	sess.EnergyWh, sess.MeterLastWh, sess.MeterLastAt, sess.LastEventAt, sess.UpdatedAt = wh, &wh, at, at, at
	if err := tx.UpdateSession(sess); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{"session":%d,"wh":%d}`, sess.ID, int64(wh)), nil
}

// CheckAcknowledged checks that every write acknowledged in out (what CrashWorkload printed, up
// to the kill; other lines are ignored, as is a last line cut short) is in s, and returns how many
// acknowledgements it checked.
func CheckAcknowledged(t *testing.T, s domain.Store, out string) int {
	t.Helper()
	ctx := t.Context()
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[:i+1]
	} else {
		out = ""
	}
	var (
		n        int
		stations = map[string]domain.Station{}
		audit    map[string]bool
	)
	meters := map[int64]*meterAcks{}
	station := func(id string) domain.Station {
		st, ok := stations[id]
		if !ok {
			var err error
			if st, err = s.Station(ctx, id); err != nil {
				t.Fatalf("acknowledged station %s: %v", id, err)
			}
			stations[id] = st
		}
		return st
	}
	micros := func(s string) time.Time {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("bad acknowledgement time %q", s)
		}
		return time.UnixMicro(v)
	}
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), ackPrefix)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		n++
		switch {
		case len(f) == 2 && f[0] == "station":
			station(f[1])
		case len(f) == 4 && f[0] == "status":
			evse, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("bad acknowledgement %q", line)
			}
			want := micros(f[3])
			found := false
			for _, e := range station(f[1]).EVSEs {
				if e.ID == evse && len(e.Connectors) > 0 {
					found = true
					if got := e.Connectors[0].UpdatedAt; got.Before(want) {
						t.Errorf("acknowledged status of %s EVSE %d at %v lost: stored %v", f[1], evse, want, got)
					}
				}
			}
			if !found {
				t.Errorf("acknowledged status of %s EVSE %d lost: no such EVSE", f[1], evse)
			}
		case len(f) == 3 && f[0] == "touch":
			if got, want := station(f[1]).LastSeenAt, micros(f[2]); got.Before(want) {
				t.Errorf("acknowledged touch of %s at %v lost: last seen %v", f[1], want, got)
			}
		case len(f) == 5 && f[0] == "apply":
			checkApplied(t, s, domain.StationMessage{StationID: f[1], Action: f[2], Digest: f[3]}, f[4], meters)
		case len(f) == 3 && f[0] == "audit":
			if audit == nil {
				audit = allAudit(t, s)
			}
			if !audit[f[1]+" "+f[2]] {
				t.Errorf("acknowledged audit entry %s %s lost", f[1], f[2])
			}
		default:
			t.Fatalf("unknown acknowledgement %q", line)
		}
	}
	for id, m := range meters {
		sess, err := s.Session(ctx, id)
		if err != nil {
			t.Errorf("session %d of acknowledged meter values: %v", id, err)
			continue
		}
		if sess.EnergyWh < m.maxWh {
			t.Errorf("session %d: energy %v Wh, but a meter value moving it to %v Wh was acknowledged", id, sess.EnergyWh, m.maxWh)
		}
		samples := 0
		for cursor := ""; ; {
			ms, next, err := s.MeterSamples(ctx, id, domain.Page{Limit: 500, Cursor: cursor})
			if err != nil {
				t.Fatalf("MeterSamples(%d): %v", id, err)
			}
			samples += len(ms)
			if cursor = next; next == "" {
				break
			}
		}
		if samples < m.count {
			t.Errorf("session %d has %d samples, %d meter values were acknowledged", id, samples, m.count)
		}
	}
	return n
}

type meterAcks struct {
	count int
	maxWh float64
}

var errNotApplied = errors.New("acknowledged message not in the ledger: applied again")

// checkApplied replays an acknowledged message: the ledger must answer it as the first time,
// without running fn. Its effects are checked too: a started session exists; meter values are
// tallied into meters for the caller to check.
func checkApplied(t *testing.T, s domain.Store, msg domain.StationMessage, want string, meters map[int64]*meterAcks) {
	t.Helper()
	answer, replayed, err := s.Apply(t.Context(), msg, func(domain.SessionTx) ([]byte, error) { return nil, errNotApplied })
	if err != nil || !replayed || string(answer) != want {
		t.Errorf("acknowledged %s %s %s: replay gave %q, replayed %t, %v; want %q from the ledger",
			msg.StationID, msg.Action, msg.Digest, answer, replayed, err, want)
		return
	}
	var a struct {
		TransactionID int64   `json:"transactionId"`
		Session       int64   `json:"session"`
		Wh            float64 `json:"wh"`
	}
	if err := json.Unmarshal([]byte(want), &a); err != nil {
		t.Fatalf("acknowledged answer %q: %v", want, err)
	}
	if a.TransactionID != 0 {
		if sess, err := s.Session(t.Context(), a.TransactionID); err != nil || sess.StationID != msg.StationID {
			t.Errorf("acknowledged session %d: %+v, %v", a.TransactionID, sess, err)
		}
		return
	}
	m := meters[a.Session]
	if m == nil {
		m = &meterAcks{}
		meters[a.Session] = m
	}
	m.count++
	m.maxWh = max(m.maxWh, a.Wh)
}

func allAudit(t *testing.T, s domain.Store) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	cursor := ""
	for {
		es, next, err := s.Audit(t.Context(), "", domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		for _, e := range es {
			seen[e.Actor+" "+e.Action] = true
		}
		if next == "" {
			return seen
		}
		cursor = next
	}
}
