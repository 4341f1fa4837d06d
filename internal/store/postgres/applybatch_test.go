package postgres_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/postgres"
)

// TestApplyBatchDuplicatesAfterFailure sends many copies of one message at once (most of them
// land in the same batch) whose first runs fail: each failure leaves nothing, the first run that
// succeeds is the only one applied, and every later copy replays its answer.
func TestApplyBatchDuplicatesAfterFailure(t *testing.T) {
	s := open(t, postgres.Options{})
	defer s.Close()
	const copies, failures = 40, 5
	msg := domain.StationMessage{StationID: "CP-1", Action: "StartTransaction", Digest: "dup"}
	start := time.Unix(1_800_000_000, 0).UTC()
	var (
		runs    atomic.Int64
		mu      sync.Mutex
		fresh   int
		failed  int
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	for range copies {
		wg.Go(func() {
			answer, replayed, err := s.Apply(t.Context(), msg, func(tx domain.SessionTx) ([]byte, error) {
				sess, err := tx.NewSession(domain.Session{StationID: "CP-1", EVSEID: 1, ConnectorID: 1,
					Status: domain.SessionActive, StartedAt: start})
				if err != nil {
					return nil, err
				}
				if runs.Add(1) <= failures {
					return nil, errors.New("refused")
				}
				return fmt.Appendf(nil, `{"transactionId":%d}`, sess.ID), nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && err.Error() == "refused":
				failed++
			case err != nil:
				t.Errorf("Apply: %v", err)
			default:
				answers[string(answer)]++
				if !replayed {
					fresh++
				}
			}
		})
	}
	wg.Wait()
	if fresh != 1 || failed != failures || len(answers) != 1 || int(runs.Load()) != failures+1 {
		t.Errorf("fresh %d, failed %d, answers %v, runs %d; want 1, %d, one answer, %d",
			fresh, failed, answers, runs.Load(), failures, failures+1)
	}
	all, _, err := s.Sessions(t.Context(), domain.SessionFilter{}, domain.Page{})
	if err != nil || len(all) != 1 {
		t.Fatalf("Sessions: %d, %v; want one", len(all), err)
	}
	if want := fmt.Sprintf(`{"transactionId":%d}`, all[0].ID); answers[want] != copies-failures {
		t.Errorf("answers %v, want %d × %s", answers, copies-failures, want)
	}
}

// TestApplyBatchPanic: fn's panic reaches Apply's caller, leaves nothing, and takes no other
// message of its batch with it.
func TestApplyBatchPanic(t *testing.T) {
	s := open(t, postgres.Options{})
	defer s.Close()
	start := time.Unix(1_800_000_000, 0).UTC()
	newSession := func(station string) func(tx domain.SessionTx) ([]byte, error) {
		return func(tx domain.SessionTx) ([]byte, error) {
			_, err := tx.NewSession(domain.Session{StationID: station, EVSEID: 1, ConnectorID: 1,
				Status: domain.SessionActive, StartedAt: start})
			return []byte(`{}`), err
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			station := fmt.Sprintf("CP-%d", i)
			msg := domain.StationMessage{StationID: station, Action: "StartTransaction", Digest: "d"}
			if i%4 != 0 {
				if _, _, err := s.Apply(t.Context(), msg, newSession(station)); err != nil {
					t.Errorf("Apply: %v", err)
				}
				return
			}
			func() {
				defer func() {
					if r := recover(); r != "boom" {
						t.Errorf("recovered %v, want fn's panic", r)
					}
				}()
				_, _, _ = s.Apply(t.Context(), msg, func(tx domain.SessionTx) ([]byte, error) {
					if _, err := newSession(station)(tx); err != nil {
						return nil, err
					}
					panic("boom")
				})
			}()
			// Nothing was kept: the message applies afresh.
			if _, replayed, err := s.Apply(t.Context(), msg, newSession(station)); err != nil || replayed {
				t.Errorf("Apply after a panic: replayed %t, %v", replayed, err)
			}
		})
	}
	wg.Wait()
	all, _, err := s.Sessions(t.Context(), domain.SessionFilter{}, domain.Page{})
	if err != nil || len(all) != 20 {
		t.Errorf("Sessions: %d, %v; want 20", len(all), err)
	}
}

// TestApplyBatchDeadlockRetry makes two messages, run by two writers at once, lock two sessions
// in opposite orders. PostgreSQL fails one with a deadlock; that message is run again (fn
// included) after the other's batch, and both apply once.
func TestApplyBatchDeadlockRetry(t *testing.T) {
	s := open(t, postgres.Options{})
	defer s.Close()
	// Two stations of different writers (a pool of 8 connections has 2): by the FNV-1a hash of
	// the station id, as the store spreads them.
	writer := func(id string) uint32 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(id))
		return h.Sum32() % 2
	}
	a, b := "CP-A", ""
	for i := range 100 {
		if id := fmt.Sprintf("CP-B%d", i); writer(id) != writer(a) {
			b = id
			break
		}
	}
	start := time.Unix(1_800_000_000, 0).UTC()
	sessions := map[string]domain.Session{}
	for _, station := range []string{a, b} {
		_, _, err := s.Apply(t.Context(), domain.StationMessage{StationID: station, Action: "StartTransaction", Digest: "start"},
			func(tx domain.SessionTx) ([]byte, error) {
				sess, err := tx.NewSession(domain.Session{StationID: station, EVSEID: 1, ConnectorID: 1,
					Status: domain.SessionActive, StartedAt: start})
				sessions[station] = sess
				return nil, err
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	var (
		locked = map[string]chan struct{}{a: make(chan struct{}), b: make(chan struct{})}
		runs   = map[string]*atomic.Int64{a: {}, b: {}}
		wg     sync.WaitGroup
	)
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		own, other := pair[0], pair[1]
		wg.Go(func() {
			_, replayed, err := s.Apply(t.Context(), domain.StationMessage{StationID: own, Action: "MeterValues", Digest: "m"},
				func(tx domain.SessionTx) ([]byte, error) {
					run := runs[own].Add(1)
					for _, station := range []string{own, other} {
						sess, err := tx.SessionByTransaction(station, sessions[station].TransactionID)
						if err != nil {
							return nil, err
						}
						sess.EnergyWh++
						if err := tx.UpdateSession(sess); err != nil {
							return nil, err
						}
						if run == 1 && station == own {
							// The store may send the update with the next statement: read the
							// session again so that the update has run and holds the row's lock.
							if _, err := tx.SessionByTransaction(station, sessions[station].TransactionID); err != nil {
								return nil, err
							}
							// Hold this lock until the other message holds its own.
							close(locked[own])
							select {
							case <-locked[other]:
							case <-time.After(5 * time.Second):
								return nil, errors.New("the other message did not run alongside")
							}
						}
					}
					return []byte(`{}`), nil
				})
			if err != nil || replayed {
				t.Errorf("Apply of %s: replayed %t, %v", own, replayed, err)
			}
		})
	}
	wg.Wait()
	if total := runs[a].Load() + runs[b].Load(); total != 3 {
		t.Errorf("fn ran %d + %d times; want one of them run again after the deadlock", runs[a].Load(), runs[b].Load())
	}
	// Both committed. (Not necessarily energy 2 each: a session read without a lock and written
	// back is READ COMMITTED's lost update when two messages of different stations write it at
	// once, as with Apply unbatched.)
	for _, station := range []string{a, b} {
		all, _, err := s.Sessions(t.Context(), domain.SessionFilter{StationID: station}, domain.Page{})
		if err != nil || len(all) != 1 || all[0].EnergyWh < 1 {
			t.Errorf("sessions of %s: %+v, %v; want one with energy 1 or 2", station, all, err)
		}
	}
}

// TestApplyBatchSessionLookups: the batch reads its stations' active sessions ahead, and a
// message of a station that an earlier message of the same batch changed must still see that
// change. Many meter values for one session at once (most in one batch), each adding 1 Wh to
// what it reads: the session ends with exactly one Wh per message. A lookup of a completed
// session, of an EVSE without an active one, and of the latest of two active sessions on one
// EVSE answer as the database would.
func TestApplyBatchSessionLookups(t *testing.T) {
	s := open(t, postgres.Options{})
	defer s.Close()
	ctx := t.Context()
	start := time.Unix(1_800_000_000, 0).UTC()
	newSession := func(station string, evse int, tx string, at time.Time, status domain.SessionStatus) domain.Session {
		t.Helper()
		var out domain.Session
		_, _, err := s.Apply(ctx, domain.StationMessage{StationID: station, Action: "Start", Digest: tx}, func(stx domain.SessionTx) ([]byte, error) {
			var err error
			out, err = stx.NewSession(domain.Session{StationID: station, EVSEID: evse, ConnectorID: 1, TransactionID: tx,
				Status: status, StartedAt: at})
			return []byte(`{}`), err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	newSession("CP-L", 1, "T-1", start, domain.SessionActive)

	const messages = 60
	var wg sync.WaitGroup
	for i := range messages {
		wg.Go(func() {
			_, _, err := s.Apply(ctx, domain.StationMessage{StationID: "CP-L", Action: "MeterValues", Digest: fmt.Sprint(i)},
				func(tx domain.SessionTx) ([]byte, error) {
					sess, err := tx.SessionByTransaction("CP-L", "T-1")
					if err != nil {
						return nil, err
					}
					sess.EnergyWh++
					return []byte(`{}`), tx.UpdateSession(sess)
				})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	all, _, err := s.Sessions(ctx, domain.SessionFilter{StationID: "CP-L"}, domain.Page{})
	if err != nil || len(all) != 1 || all[0].EnergyWh != messages {
		t.Fatalf("sessions %+v, %v; want one with %d Wh", all, err, messages)
	}

	// A completed session, two active ones on EVSE 2 (the later one is the active session),
	// none on EVSE 3.
	newSession("CP-M", 1, "DONE", start, domain.SessionActive)
	_, _, err = s.Apply(ctx, domain.StationMessage{StationID: "CP-M", Action: "Stop", Digest: "DONE"}, func(tx domain.SessionTx) ([]byte, error) {
		sess, err := tx.SessionByTransaction("CP-M", "DONE")
		if err != nil {
			return nil, err
		}
		sess.Status, sess.StoppedAt = domain.SessionCompleted, start.Add(time.Minute)
		return []byte(`{}`), tx.UpdateSession(sess)
	})
	if err != nil {
		t.Fatal(err)
	}
	newSession("CP-M", 2, "OLD", start, domain.SessionActive)
	later := newSession("CP-M", 2, "NEW", start.Add(time.Hour), domain.SessionActive)
	_, _, err = s.Apply(ctx, domain.StationMessage{StationID: "CP-M", Action: "Look", Digest: "1"}, func(tx domain.SessionTx) ([]byte, error) {
		done, err := tx.SessionByTransaction("CP-M", "DONE")
		if err != nil || done.Status != domain.SessionCompleted {
			t.Errorf("completed session: %+v, %v", done, err)
		}
		active, err := tx.ActiveSessionOn("CP-M", 2)
		if err != nil || active.ID != later.ID {
			t.Errorf("active session on EVSE 2: %+v, %v; want %d", active, err, later.ID)
		}
		if _, err := tx.ActiveSessionOn("CP-M", 3); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("active session on EVSE 3: %v, want ErrNotFound", err)
		}
		if _, err := tx.SessionByTransaction("CP-M", "NONE"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("unknown transaction: %v, want ErrNotFound", err)
		}
		return []byte(`{}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestApplyBatchDeferredWriteChecked: a session update the store sends with a later round trip
// is still checked. Here the session goes (deleted by another connection) between the batch's
// read of it and the update: Apply fails, nothing of the message stays (no ledger row: a copy
// runs fn again), as if the update had run at once and found no row.
func TestApplyBatchDeferredWriteChecked(t *testing.T) {
	url := freshSchema(t, databaseURL(t))
	s, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(t.Context())
	start := time.Unix(1_800_000_000, 0).UTC()
	var sess domain.Session
	_, _, err = s.Apply(t.Context(), domain.StationMessage{StationID: "CP-D", Action: "Start", Digest: "s"}, func(tx domain.SessionTx) ([]byte, error) {
		var err error
		sess, err = tx.NewSession(domain.Session{StationID: "CP-D", EVSEID: 1, ConnectorID: 1, TransactionID: "T",
			Status: domain.SessionActive, StartedAt: start})
		return []byte(`{}`), err
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := domain.StationMessage{StationID: "CP-D", Action: "MeterValues", Digest: "m"}
	runs := 0
	_, _, err = s.Apply(t.Context(), msg, func(tx domain.SessionTx) ([]byte, error) {
		runs++
		got, err := tx.SessionByTransaction("CP-D", "T")
		if err != nil {
			return nil, err
		}
		got.EnergyWh = 5
		if err := tx.UpdateSession(got); err != nil {
			return nil, err
		}
		if _, err := other.Exec(t.Context(), `DELETE FROM sessions WHERE id = $1`, sess.ID); err != nil {
			return nil, err
		}
		return []byte(`{}`), nil
	})
	if err == nil || !strings.Contains(err.Error(), "the session changed or went meanwhile") {
		t.Fatalf("Apply: %v; want the failed deferred update's error", err)
	}
	_, replayed, err := s.Apply(t.Context(), msg, func(tx domain.SessionTx) ([]byte, error) {
		runs++
		return []byte(`{}`), nil
	})
	if err != nil || replayed || runs != 2 {
		t.Errorf("the copy: replayed %t, %v, fn runs %d; want a fresh run (the failed one left no ledger row)", replayed, err, runs)
	}
}
