package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/sqlite"
	"github.com/opencpo/opencpo/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		return open(t, sqlite.Options{Now: tickingClock()})
	})
}

// open opens a store on a new file in t's temporary directory. The caller closes it.
func open(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "opencpo.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
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

const crashEnv = "OPENCPO_SQLITE_CRASH_TEST_DB"

// TestHelperProcess is the child of TestKill9: it writes until it is killed. It does nothing in
// a normal run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		return
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// No Close, ever: the parent kills this process in the middle of the writes.
	if err := storetest.CrashWorkload(context.Background(), s, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestKill9 kills a writing process with SIGKILL and checks that every write it had
// acknowledged survived.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read acknowledgements until enough have come (or a deadline), then kill in mid-flight.
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
	case <-time.After(3 * time.Second):
	case <-done:
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-done // everything the child wrote before dying is in the pipe: read it all
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended by itself (%v) before it was killed; stderr:\n%s\nstdout:\n%s", err, stderr.String(), out.String())
	}

	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
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
