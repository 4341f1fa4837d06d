package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/migration"
)

func newTestSession(t *testing.T, s *Store, station string) domain.Session {
	t.Helper()
	var sess domain.Session
	_, _, err := s.Apply(t.Context(), domain.StationMessage{StationID: station, Action: "StartTransaction",
		Digest: fmt.Sprintf("start-%d", time.Now().UnixNano())}, func(tx domain.SessionTx) ([]byte, error) {
		var err error
		sess, err = tx.NewSession(domain.Session{StationID: station, EVSEID: 1, ConnectorID: 1,
			Status: domain.SessionActive, StartedAt: time.Unix(1_800_000_000, 0)})
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// The session id is the 1.6 transactionId a station may still hold: deleting the newest session
// (an operator's repair in the sqlite3 shell) must not make its id come round again.
func TestSessionIDsNeverReused(t *testing.T) {
	s := openTest(t, Options{})
	newTestSession(t, s, "CP-1")
	last := newTestSession(t, s, "CP-1")
	err := s.write(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM sessions WHERE id = ?`, last.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if next := newTestSession(t, s, "CP-1"); next.ID <= last.ID {
		t.Errorf("after deleting session %d the next one got id %d", last.ID, next.ID)
	}
}

func TestSessionTxUnusableAfterApply(t *testing.T) {
	s := openTest(t, Options{})
	var kept domain.SessionTx
	if _, _, err := s.Apply(t.Context(), domain.StationMessage{StationID: "CP-1", Action: "A", Digest: "d"},
		func(tx domain.SessionTx) ([]byte, error) {
			kept = tx
			return nil, nil
		}); err != nil {
		t.Fatal(err)
	}
	_, err := kept.NewSession(domain.Session{StationID: "CP-1", Status: domain.SessionActive, StartedAt: time.Unix(1, 0)})
	if !errors.Is(err, errTxDone) {
		t.Errorf("NewSession on a SessionTx kept past its Apply: %v, want errTxDone", err)
	}
	if err := kept.AddSamples(nil); !errors.Is(err, errTxDone) {
		t.Errorf("AddSamples on a SessionTx kept past its Apply: %v, want errTxDone", err)
	}
}

// Before Migrate has prepared them (Open with NoMigrate), the hot statements run unprepared.
func TestApplyUnprepared(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ms, err := migration.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), s.writer, ms, s.now, s.log); err != nil { // migrates without preparing
		t.Fatal(err)
	}
	if s.stmts.Load() != nil {
		t.Fatal("statements prepared without Migrate")
	}
	sess := newTestSession(t, s, "CP-1")
	answer, replayed, err := s.Apply(t.Context(), domain.StationMessage{StationID: "CP-1", Action: "MeterValues", Digest: "m1"},
		func(tx domain.SessionTx) ([]byte, error) {
			got, err := tx.SessionByTransaction("CP-1", sess.TransactionID)
			if err != nil {
				return nil, err
			}
			if err := tx.AddSamples([]domain.MeterSample{{SessionID: got.ID, StationID: "CP-1", EVSEID: 1,
				At: time.Unix(1_800_000_060, 0), Measurand: "Energy.Active.Import.Register", Value: 10}}); err != nil {
				return nil, err
			}
			got.EnergyWh = 10
			return []byte(`{}`), tx.UpdateSession(got)
		})
	if err != nil || replayed || string(answer) != `{}` {
		t.Fatalf("unprepared Apply: %q %t %v", answer, replayed, err)
	}
	if got, err := s.Session(t.Context(), sess.ID); err != nil || got.EnergyWh != 10 {
		t.Errorf("session after unprepared Apply: %+v, %v", got, err)
	}
	if err := s.Migrate(t.Context()); err != nil || s.stmts.Load() == nil {
		t.Errorf("Migrate did not prepare the statements: %v", err)
	}
}

func TestPruneStationMessages(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	// Many old rows, written directly: pruning must go through them in several chunks.
	const old = 2*pruneChunk + 17
	err := s.write(t.Context(), func(tx *sql.Tx) error {
		for i := range old {
			if _, err := tx.Exec(`INSERT INTO station_messages (station_id, action, digest, answer, at) VALUES (?, ?, ?, ?, ?)`,
				"CP-1", "MeterValues", fmt.Sprintf("old-%d", i), []byte(`{}`), formatTime(now.Add(-48*time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(digest string) (ran bool) {
		t.Helper()
		if _, _, err := s.Apply(t.Context(), domain.StationMessage{StationID: "CP-1", Action: "MeterValues", Digest: digest},
			func(domain.SessionTx) ([]byte, error) {
				ran = true
				return []byte(`{}`), nil
			}); err != nil {
			t.Fatal(err)
		}
		return ran
	}
	apply("recent")
	n, err := s.PruneStationMessages(t.Context(), now.Add(-24*time.Hour))
	if err != nil || n != old {
		t.Fatalf("PruneStationMessages = %d, %v; want %d", n, err, old)
	}
	if apply("recent") {
		t.Error("a message newer than the cutoff was pruned")
	}
	if !apply("old-3") {
		t.Error("a pruned message was still answered from the ledger")
	}
}

// The queries of the hot path and of the lists must use their indexes: a full scan of sessions
// or meter samples would grow with the history of the whole network.
func TestQueryPlans(t *testing.T) {
	s := openTest(t, Options{})
	for name, q := range map[string]struct {
		sql  string
		args []any
		want string
	}{
		"ledger":              {stmtText[qMessageGet], []any{"CP", "A", "d"}, "PRIMARY KEY"},
		"by transaction":      {stmtText[qSessionByTransaction], []any{"CP", "1"}, "sqlite_autoindex_sessions_1"},
		"active on":           {stmtText[qSessionActiveOn], []any{"CP", 1}, "sessions_active_on"},
		"hot update":          {stmtText[qSessionUpdateHot], make([]any, 26), "INTEGER PRIMARY KEY"},
		"stale":               {`SELECT id FROM sessions WHERE status = 'active' AND last_event_at < ? ORDER BY last_event_at, id LIMIT 5`, []any{"x"}, "sessions_by_status"},
		"sessions of station": {`SELECT id FROM sessions WHERE id < ? AND station_id = ? ORDER BY id DESC LIMIT 5`, []any{1 << 62, "CP"}, "sessions_by_station"},
		"sessions of token":   {`SELECT id FROM sessions WHERE id < ? AND id_token = ? ORDER BY id DESC LIMIT 5`, []any{1 << 62, "T"}, "sessions_by_token"},
		"sessions of remote":  {`SELECT id FROM sessions WHERE id < ? AND remote_start_id = ? ORDER BY id DESC LIMIT 5`, []any{1 << 62, 3}, "sessions_by_remote_start"},
		"samples of session": {`SELECT id FROM meter_samples WHERE session_id = ? AND (at, id) > (?, ?) ORDER BY at, id LIMIT 5`,
			[]any{1, "", 0}, "meter_samples_by_session"},
		"prune": {`SELECT station_id, action, digest FROM station_messages WHERE at < ? ORDER BY at LIMIT 5`, []any{"x"}, "station_messages_by_time"},
	} {
		var plan []string
		err := s.read(t.Context(), func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					return err
				}
				plan = append(plan, detail)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, q.want) || strings.Contains(all, "USE TEMP B-TREE") {
			t.Errorf("%s: plan %q, want it to use %s without sorting", name, all, q.want)
		}
	}
}
