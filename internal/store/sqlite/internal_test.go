package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/migration"
)

func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// holdWriter occupies the writer goroutine until the returned function is called, so that
// operations submitted meanwhile queue up and end in one batch.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, released := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(*sql.Tx) error {
			close(started)
			<-released
			return nil
		})
	}()
	<-started
	return func() {
		close(released)
		if err := <-done; err != nil {
			t.Errorf("holding operation: %v", err)
		}
	}
}

// waitQueued waits until n operations wait in the writer's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.commit.ops) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d operations queued, want %d", len(s.commit.ops), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func createStation(t *testing.T, s *Store, id string) {
	t.Helper()
	if err := s.CreateStation(t.Context(), domain.Station{ID: id, RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openTest(t, Options{})
	createStation(t, s, "CP-0")
	release := holdWriter(t, s)

	ids := []string{"CP-1", "CP-0", "CP-2", "CP-0", "CP-3"} // CP-0 exists: those two conflict
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			errs[i] = s.CreateStation(context.Background(), domain.Station{ID: id, Name: "new", RegistrationStatus: domain.RegistrationAccepted})
		})
	}
	panicked := make(chan error, 1)
	wg.Go(func() {
		panicked <- s.write(context.Background(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`UPDATE stations SET name = 'panic' WHERE id = 'CP-0'`); err != nil {
				return err
			}
			panic("boom")
		})
	})
	waitQueued(t, s, len(ids)+1)
	before := s.commit.batches.Load()
	release()
	wg.Wait()

	if got := s.commit.batches.Load() - before; got != 2 { // the holding one, then all queued
		t.Errorf("%d batches after the release, want 2", got)
	}
	for i, id := range ids {
		if id == "CP-0" {
			if !errors.Is(errs[i], domain.ErrConflict) {
				t.Errorf("create %s: %v, want conflict", id, errs[i])
			}
			var de *domain.Error
			if !errors.As(errs[i], &de) || de.Message != `station "CP-0" already exists` {
				t.Errorf("create %s: client message %v", id, de)
			}
		} else if errs[i] != nil {
			t.Errorf("create %s: %v (a failing neighbour spoiled it)", id, errs[i])
		}
	}
	if err := <-panicked; err == nil {
		t.Error("a panicking operation reported success")
	}
	if st, err := s.Station(t.Context(), "CP-0"); err != nil || st.Name != "" {
		t.Errorf("CP-0 after the failed operations: %+v %v; want it unchanged", st, err)
	}
	for _, id := range []string{"CP-1", "CP-2", "CP-3"} {
		if _, err := s.Station(t.Context(), id); err != nil {
			t.Errorf("Station(%s): %v", id, err)
		}
	}
	// The writer survived the panic.
	createStation(t, s, "CP-4")
}

func TestGroupCommitCancelBeforeStart(t *testing.T) {
	s := openTest(t, Options{})
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	var ran atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- s.write(ctx, func(*sql.Tx) error { ran.Store(true); return nil })
	}()
	waitQueued(t, s, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled write: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a canceled write waited for the writer")
	}
	release()
	createStation(t, s, "CP-1") // the writer has passed the dropped operation
	if ran.Load() {
		t.Error("an operation canceled before it started ran anyway")
	}
}

func TestGroupCommitStartedOperationWaitsForCommit(t *testing.T) {
	s := openTest(t, Options{})
	createStation(t, s, "CP-1")
	ctx, cancel := context.WithCancel(t.Context())
	err := s.write(ctx, func(tx *sql.Tx) error {
		cancel() // the caller gives up while its operation runs
		_, err := tx.Exec(`UPDATE stations SET name = 'done' WHERE id = 'CP-1'`)
		return err
	})
	if err != nil {
		t.Fatalf("started operation: %v, want its commit's result (nil)", err)
	}
	if st, _ := s.Station(t.Context(), "CP-1"); st.Name != "done" {
		t.Errorf("name %q: the started operation was not committed", st.Name)
	}
}

func TestCloseFlushesQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.AddAudit(context.Background(), domain.AuditEntry{Actor: "t", Action: "a", StationID: string(rune('A' + i%26))})
		}()
	}
	waitQueued(t, s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close must wait for the queue; give it a moment to (wrongly) finish early.
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while writes were queued", err)
	case <-time.After(20 * time.Millisecond):
	}
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("queued write: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.AddAudit(t.Context(), domain.AuditEntry{Action: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s, err = Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es, _, err := s.Audit(t.Context(), "", domain.Page{Limit: 500})
	if err != nil || len(es) != n {
		t.Errorf("after reopening: %d audit entries, %v; want %d", len(es), err, n)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "test.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		createStation(t, s, "CP-1")
		if _, err := s.Station(t.Context(), "CP-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPragmas(t *testing.T) {
	s := openTest(t, Options{})
	for _, db := range []struct {
		name string
		db   *sql.DB
		want map[string]int64
	}{
		{"writer", s.writer, map[string]int64{"foreign_keys": 1, "synchronous": 2, "busy_timeout": 10000, "query_only": 0,
			"wal_autocheckpoint": writerCheckpointPages}},
		{"checkpointer", s.checkpoint.db, map[string]int64{"busy_timeout": checkpointerBusy.Milliseconds(), "query_only": 0, "wal_autocheckpoint": 0}},
		{"reader", s.reader, map[string]int64{"foreign_keys": 1, "synchronous": 2, "busy_timeout": 10000, "query_only": 1}},
	} {
		for pragma, want := range db.want {
			var got int64
			if err := db.db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", db.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: %s = %d, want %d", db.name, pragma, got, want)
			}
		}
		var mode string
		if err := db.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("%s: journal_mode %q %v, want wal", db.name, mode, err)
		}
	}
	if _, err := s.reader.Exec(`DELETE FROM stations`); err == nil {
		t.Error("the reader pool can write")
	}
	if n := s.writer.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}

// TestBackgroundCheckpoint: with the writer's own checkpoints far away (writerCheckpointPages),
// committed pages still reach the database file within a few seconds, and Close leaves an
// empty WAL.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	time.Sleep(checkpointEvery + 500*time.Millisecond) // the migrations' pages land first
	before := size(path)
	for i := range 2000 {
		createStation(t, s, fmt.Sprintf("CP-%04d", i))
	}
	deadline := time.Now().Add(3 * checkpointEvery)
	for size(path) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes %s after 2,000 stations were committed", before, 3*checkpointEvery)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL is %d bytes after Close, want none", fi.Size())
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag%20", "open cpo?.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	createStation(t, s, "CP-1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(t.Context(), path, Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.reader.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'stations'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("NoMigrate created tables (%d, %v)", n, err)
	}
	for range 2 { // idempotent
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	createStation(t, s, "CP-1")
	ms, err := migration.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	var appliedAt string
	if err := s.reader.QueryRow(`SELECT count(*), max(version), max(applied_at) FROM schema_migrations`).Scan(&n, &version, &appliedAt); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || version != len(ms) {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", n, version, len(ms))
	}
	if _, err := parseTime(appliedAt); err != nil {
		t.Errorf("applied_at: %v", err)
	}
	// A database touched by a newer binary is refused, not "downgraded".
	if _, err := s.writer.Exec(`INSERT INTO schema_migrations VALUES (?, 'future', ?)`, len(ms)+1, formatTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(t.Context(), path, Options{}); err == nil {
		s.Close()
		t.Error("Open accepted a database with an unknown migration")
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	ms, err := migration.Load(migrationFiles)
	if err != nil || len(ms) == 0 {
		t.Fatalf("embedded migrations: %d, %v", len(ms), err)
	}
}

func TestTimeEncodingKeepsOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prev := time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	for range 10000 {
		next := prev.Add(time.Duration(r.Int64N(int64(1000 * time.Hour))))
		if next.Year() > 9999 {
			break
		}
		a, b := formatTime(prev), formatTime(next.In(time.FixedZone("X", -7*3600)))
		if len(a) != len(b) || (a >= b) != !prev.Before(next) {
			t.Fatalf("order lost: %s vs %s", a, b)
		}
		back, err := parseTime(b)
		if err != nil || !back.Equal(next) || back.Location() != time.UTC {
			t.Fatalf("round trip of %v: %v %v", next, back, err)
		}
		prev = next
	}
	if err := checkTime("t", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("year 10000: %v", err)
	}
}

func TestStoreClock(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	createStation(t, s, "CP-1")
	if err := s.UpdateStatus(t.Context(), domain.StatusUpdate{StationID: "CP-1", EVSEID: 1, ConnectorID: 1, Status: domain.ConnectorAvailable}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchStation(t.Context(), "CP-1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Station(t.Context(), "CP-1")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]time.Time{
		"CreatedAt": st.CreatedAt, "UpdatedAt": st.UpdatedAt, "LastSeenAt": st.LastSeenAt,
		"connector UpdatedAt": st.EVSEs[0].Connectors[0].UpdatedAt,
	} {
		if !got.Equal(now) {
			t.Errorf("%s = %v, want the injected %v", name, got, now)
		}
	}
}

func TestStationLevelStatusIsKept(t *testing.T) {
	s := openTest(t, Options{})
	createStation(t, s, "CP-1")
	for _, u := range []domain.StatusUpdate{
		{StationID: "CP-1", Status: domain.ConnectorFaulted, OCPPStatus: "Faulted", ErrorCode: "PowerMeterFailure", At: time.Unix(200, 0)},
		{StationID: "CP-1", Status: domain.ConnectorAvailable, OCPPStatus: "Available", ErrorCode: "NoError", At: time.Unix(100, 0)},
	} {
		if err := s.UpdateStatus(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	var status, errorCode string
	if err := s.reader.QueryRow(`SELECT status, error_code FROM stations WHERE id = 'CP-1'`).Scan(&status, &errorCode); err != nil {
		t.Fatal(err)
	}
	if status != "Faulted" || errorCode != "PowerMeterFailure" {
		t.Errorf("station-level status %s/%s, want the newer Faulted/PowerMeterFailure", status, errorCode)
	}
}

// TestCheckpointerRestartsWAL: under a constant stream of writes, with reads going on, the
// checkpointer's RESTART pass starts the WAL over, well before the writer's own bound
// (writerCheckpointPages), and the WAL file, which SQLite reuses from its start after a
// restart, stays small.
// TestCheckpointerRestartsWAL writes and reads without a pause, as a busy server does, and
// wants the checkpointer to start the WAL over again and again, so that the WAL file stays
// short. The checkpointer ticks every 100 ms and restarts from 1,024 frames, so that the WAL it
// finds is at most a few hundred frames past that however fast this machine's disk is, and
// reaches it within seconds under the race detector too.
func TestCheckpointerRestartsWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	const restartAt = 1024
	s, err := Open(t.Context(), path, Options{checkpointEvery: 100 * time.Millisecond, restartFrames: restartAt})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	createStation(t, s, "CP-READ")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	wg.Go(func() { // reads all along, as the message path does
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = s.StationRecord(context.Background(), "CP-READ")
		}
	})
	limit := int64(4*restartAt) * (4096 + 24)
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; s.checkpoint.restarts.Load() < 3; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d RESTART checkpoints in 60 s of writes, want 3", s.checkpoint.restarts.Load())
		}
		createStation(t, s, fmt.Sprintf("CP-%06d", i))
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > limit {
			t.Fatalf("WAL file %d MiB after %d RESTART checkpoints: not started over in time",
				fi.Size()>>20, s.checkpoint.restarts.Load())
		}
	}
}
