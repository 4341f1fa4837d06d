package api

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/sqlite"
)

// testClock is a settable clock for the servers under test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRevocationAcrossServers: two API servers on one database (two processes in production).
// The one that revokes refuses the token at once; the other within its cache TTL.
func TestRevocationAcrossServers(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	clock := &testClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	cfg := Config{Now: clock.now, TokenCacheTTL: 10 * time.Second}
	a := httptest.NewServer(New(cfg, store, nil).Handler())
	defer a.Close()
	b := httptest.NewServer(New(cfg, store, nil).Handler())
	defer b.Close()

	secret, _ := credential.NewToken()
	tok := domain.APIToken{ID: "at_1", Name: "shared", Role: domain.APIRoleAdmin, Digest: credential.TokenDigest(secret), CreatedAt: clock.now()}
	if err := store.CreateAPIToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	call := func(srv *httptest.Server, method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := call(a, "GET", "/api/v1/api-tokens"), call(b, "GET", "/api/v1/api-tokens"); a != 200 || b != 200 {
		t.Fatalf("before revocation: %d %d", a, b)
	}
	if got := call(a, "DELETE", "/api/v1/api-tokens/at_1"); got != http.StatusNoContent {
		t.Fatalf("revoke: %d", got)
	}
	if got := call(a, "GET", "/api/v1/api-tokens"); got != http.StatusUnauthorized {
		t.Errorf("revoking server: %d, want 401 at once", got)
	}
	if got := call(b, "GET", "/api/v1/api-tokens"); got != http.StatusOK {
		t.Errorf("other server within the TTL: %d (its cache still holds the token)", got)
	}
	clock.add(10 * time.Second)
	if got := call(b, "GET", "/api/v1/api-tokens"); got != http.StatusUnauthorized {
		t.Errorf("other server after the TTL: %d, want 401", got)
	}
}
