package csms

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/store/sqlite"
)

// slowConnects is the real SQLite store with connection records held back until release is
// closed, to show that Connected does not wait for them and that the records keep their order.
type slowConnects struct {
	domain.Store
	release chan struct{}
	mu      sync.Mutex
	order   []string
}

func (s *slowConnects) SetConnected(ctx context.Context, id string, connected bool, v string, at time.Time) error {
	if connected {
		<-s.release
	}
	err := s.Store.SetConnected(ctx, id, connected, v, at)
	s.mu.Lock()
	s.order = append(s.order, map[bool]string{true: "connected " + v, false: "disconnected"}[connected])
	s.mu.Unlock()
	return err
}

// storeWithStation opens a SQLite store in t's temporary folder holding one accepted station,
// CP-1, and closes it when t ends.
func storeWithStation(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "opencpo.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.CreateStation(t.Context(), domain.Station{ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConnectionRecordInBackground(t *testing.T) {
	ctx := context.Background()
	db := storeWithStation(t)
	store := &slowConnects{Store: db, release: make(chan struct{})}
	s := New(Config{}, store)

	returned := make(chan struct{})
	go func() {
		s.Connected(ctx, "CP-1", ocpp.V16)
		s.Connected(ctx, "CP-1", ocpp.V201) // a newer connection replaced the first
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Connected waits for the connection record")
	}

	disconnected := make(chan struct{})
	go func() {
		s.Disconnected(ctx, "CP-1", ocpp.V201)
		close(disconnected)
	}()
	select {
	case <-disconnected:
		t.Fatal("Disconnected did not wait for the pending connection records")
	case <-time.After(100 * time.Millisecond):
	}
	close(store.release)
	<-disconnected

	store.mu.Lock()
	got := store.order
	store.mu.Unlock()
	want := []string{"connected 1.6", "connected 2.0.1", "disconnected"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("records written %q, want %q", got, want)
	}
	st, err := db.Station(ctx, "CP-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Connected || st.OCPPVersion != "2.0.1" {
		t.Errorf("station connected=%v version=%q, want false and 2.0.1", st.Connected, st.OCPPVersion)
	}
	s.mu.Lock()
	n := len(s.connecting)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d pending connection records left", n)
	}
}

// countedReads is the real SQLite store counting the station reads the service makes.
type countedReads struct {
	domain.Store
	mu    sync.Mutex
	reads int
}

func (s *countedReads) StationRecord(ctx context.Context, id string) (domain.Station, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.Store.StationRecord(ctx, id)
}

func (s *countedReads) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// A connection's admission reads the station; its BootNotification right after uses that read
// instead of reading again, unless the read is older than bootFreshness or an operator changed
// the station since.
func TestBootUsesTheAdmissionRead(t *testing.T) {
	ctx := context.Background()
	db := storeWithStation(t)
	store := &countedReads{Store: db}
	var mu sync.Mutex
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := New(Config{Now: clock}, store)
	boot := func() {
		t.Helper()
		if _, err := s.HandleCall(ctx, "CP-1", ocpp.V16, "BootNotification",
			[]byte(`{"chargePointVendor":"V","chargePointModel":"M"}`)); err != nil {
			t.Fatalf("BootNotification: %v", err)
		}
	}

	if err := s.Admit(ctx, "CP-1", "", "", false); err != nil {
		t.Fatal(err)
	}
	boot()
	if got := store.count(); got != 1 {
		t.Fatalf("admission and boot read the station %d times, want 1", got)
	}

	// The end of the station's previous connection, processed after the admission of the
	// next one, leaves that admission's read for the boot.
	if err := s.Admit(ctx, "CP-1", "", "", false); err != nil {
		t.Fatal(err)
	}
	s.Disconnected(ctx, "CP-1", ocpp.V16)
	boot()
	if got := store.count(); got != 1 {
		t.Fatalf("a boot after a late disconnection made %d reads in all, want 1", got)
	}

	advance(bootFreshness)
	boot()
	if got := store.count(); got != 2 {
		t.Fatalf("a boot %s after the last read made %d reads in all, want 2", bootFreshness, got)
	}

	s.StationChanged(ctx, "CP-1")
	boot()
	if got := store.count(); got != 3 {
		t.Fatalf("a boot after an operator's change made %d reads in all, want 3", got)
	}
}

// TestConnectionRecordWritersBounded connects more stations than there are record writers
// while the store holds every record back: the writers stay within their bound, the rest wait
// in the queue, and every record is written once the store lets them through.
func TestConnectionRecordWritersBounded(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "opencpo.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	const stations = maxRecordWriters + 88
	for i := range stations {
		if err := db.CreateStation(ctx, domain.Station{ID: fmt.Sprintf("CP-%d", i), RegistrationStatus: domain.RegistrationAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	store := &slowConnects{Store: db, release: make(chan struct{})}
	s := New(Config{}, store)
	for i := range stations {
		s.Connected(ctx, fmt.Sprintf("CP-%d", i), ocpp.V16)
	}
	s.mu.Lock()
	writers, queued := s.recordWriters, len(s.records)
	s.mu.Unlock()
	if writers != maxRecordWriters || queued+writers < stations {
		t.Fatalf("%d writers and %d queued records for %d stations, want %d writers and the rest queued",
			writers, queued, stations, maxRecordWriters)
	}
	close(store.release)
	for i := range stations {
		s.Disconnected(ctx, fmt.Sprintf("CP-%d", i), ocpp.V16) // waits for the station's record
	}
	store.mu.Lock()
	connected := 0
	for _, r := range store.order {
		if r == "connected 1.6" {
			connected++
		}
	}
	store.mu.Unlock()
	if connected != stations {
		t.Errorf("%d connection records written, want %d", connected, stations)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		writers, queued = s.recordWriters, len(s.records)
		s.mu.Unlock()
		if writers == 0 && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d record writers and %d queued records left after every record was written", writers, queued)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
