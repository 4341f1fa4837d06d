package csms

import (
	"context"
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

func TestConnectionRecordInBackground(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "opencpo.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateStation(ctx, domain.Station{ID: "CP-1", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
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
