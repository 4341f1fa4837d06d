package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/postgres"
	"github.com/opencpo/opencpo/internal/store/storetest"
)

// testURLEnv names the database the tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Each test works in a schema of its
// own, created for it and dropped after it.
const testURLEnv = "OPENCPO_TEST_POSTGRES"

// databaseURL returns the test database's URL, or skips t when there is none (fails it in CI,
// where PostgreSQL must be there).
func databaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(testURLEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL store tests (.ci/run sets it)", testURLEnv)
		}
		t.Skipf("PostgreSQL store tests skipped: set %s to a database URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", testURLEnv)
	}
	return u
}

// freshSchema creates an empty schema for t and returns base with search_path set to it. The
// schema is dropped when t ends (after the stores opened in it closed: cleanups run last first).
func freshSchema(t testing.TB, base string) string {
	t.Helper()
	schema := "test_" + strings.ToLower(rand.Text())
	admin(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", testURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func admin(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, plainURL(base))
	if err != nil {
		t.Fatalf("connect to %s: %v", postgres.Redact(base), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// plainURL is u without pgxpool's own parameters (pool_max_conns, …), which mean nothing to a
// single connection.
func plainURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// open opens a store in a new schema. The caller closes it.
func open(t testing.TB, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), freshSchema(t, databaseURL(t)), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	databaseURL(t)
	storetest.Run(t, func(t *testing.T) domain.Store {
		return open(t, postgres.Options{Now: tickingClock()})
	})
}

// tickingClock is a deterministic clock that moves one millisecond per reading.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

// TestMigrateConcurrently starts several stores on one empty schema at once, as the nodes of a
// cluster do: the advisory lock lets one migrate, the others find the work done.
func TestMigrateConcurrently(t *testing.T) {
	u := freshSchema(t, databaseURL(t))
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), u, postgres.Options{})
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := postgres.Open(t.Context(), u, postgres.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Errorf("Migrate of a migrated schema: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), plainURL(u))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n, latest int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &latest); err != nil {
		t.Fatal(err)
	}
	if n != latest || n < 2 {
		t.Errorf("schema_migrations has %d rows up to version %d; want each version once", n, latest)
	}
	// A database a newer binary migrated is refused.
	if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations VALUES (999, 'future', now())`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err == nil || !strings.Contains(err.Error(), "newer OpenCPO") {
		t.Errorf("Migrate of a newer schema: %v, want a refusal", err)
	}
}

func TestNoMigrate(t *testing.T) {
	s := open(t, postgres.Options{NoMigrate: true})
	defer s.Close()
	_, err := s.Station(t.Context(), "CP-1")
	if err == nil {
		t.Fatal("Station on an unmigrated schema succeeded")
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Station(t.Context(), "CP-1"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Station after Migrate: %v, want not found", err)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for _, u := range []string{
		"postgres://opencpo:s3cret-pw@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
		"postgres://opencpo@127.0.0.1:1/none?sslmode=disable&password=s3cret-pw&connect_timeout=1",
		"postgres://opencpo:s3cret-pw@127.0.0.1:1/none?sslmode=bogus",
	} {
		_, err := postgres.Open(ctx, u, postgres.Options{})
		if err == nil {
			t.Fatalf("Open(%s) succeeded", postgres.Redact(u))
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
	if got := postgres.Redact("postgres://u:pw@h/db?password=pw2"); strings.Contains(got, "pw@") || strings.Contains(got, "pw2") {
		t.Errorf("Redact = %q", got)
	}
}

// TestInvalidText: text PostgreSQL cannot store (NUL, invalid UTF-8) is invalid input, and
// inside Apply it neither fails the reads nor aborts the transaction.
func TestInvalidText(t *testing.T) {
	s := open(t, postgres.Options{})
	defer s.Close()
	ctx := t.Context()
	err := s.CreateStation(ctx, domain.Station{ID: "CP\x00", RegistrationStatus: domain.RegistrationAccepted})
	if !isKind(err, domain.ErrInvalid) {
		t.Errorf("CreateStation with NUL: %v, want invalid", err)
	}
	if err := s.CreateStation(ctx, domain.Station{ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Apply(ctx, domain.StationMessage{StationID: "CP-1", Action: "MeterValues", Digest: "d1"}, func(tx domain.SessionTx) ([]byte, error) {
		if _, err := tx.Token("bad\xff"); !isKind(err, domain.ErrNotFound) {
			return nil, err
		}
		if _, err := tx.SessionByTransaction("CP-1", "x\x00"); !isKind(err, domain.ErrNotFound) {
			return nil, err
		}
		if err := tx.AddStationEvent(domain.StationEvent{StationID: "CP-1", Kind: "K\x00"}); !isKind(err, domain.ErrInvalid) {
			return nil, err
		}
		return []byte(`{}`), tx.AddStationEvent(domain.StationEvent{StationID: "CP-1", Kind: "K", Detail: []byte(`"\u0000"`)})
	})
	if !isKind(err, domain.ErrInvalid) {
		t.Errorf("Apply: %v, want the invalid event's error", err)
	}
}

func isKind(err, kind error) bool {
	var de *domain.Error
	return err != nil && errorsIs(err, kind) && errorsAs(err, &de)
}

const crashEnv = "OPENCPO_POSTGRES_CRASH_TEST_URL"

// TestHelperProcess is the child of TestKill9: it writes until it is killed. It does nothing in
// a normal run.
func TestHelperProcess(t *testing.T) {
	u := os.Getenv(crashEnv)
	if u == "" {
		return
	}
	s, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// No Close, ever: the parent kills this process in the middle of the writes.
	if err := storetest.CrashWorkload(context.Background(), s, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestKill9 kills a writing process with SIGKILL and checks that every write it had
// acknowledged is in the database. (The server survives, so this checks that the store
// acknowledges only committed writes; PostgreSQL's own crash safety is its business.)
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	u := freshSchema(t, databaseURL(t))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+u)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		out  bytes.Buffer // written by the reader goroutine until done is closed
		done = make(chan struct{})
		many = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		acks := 0
		for {
			n, err := stdout.Read(buf)
			out.Write(buf[:n])
			before := acks
			acks += bytes.Count(buf[:n], []byte("\n"))
			if before < 3000 && acks >= 3000 {
				close(many)
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-many:
	case <-time.After(5 * time.Second):
	case <-done:
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-done
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended by itself (%v) before it was killed; stderr:\n%s\nstdout:\n%s", err, stderr.String(), out.String())
	}

	s, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	n := storetest.CheckAcknowledged(t, s, out.String())
	if n < 100 {
		t.Errorf("only %d writes acknowledged before the kill; the test proves little", n)
	}
	t.Logf("%d acknowledged writes survived kill -9", n)
}
