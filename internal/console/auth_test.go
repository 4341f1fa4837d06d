package console

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/sqlite"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// openStore is a real SQLite store in the test's directory.
func openStore(t *testing.T, now func() time.Time) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "console.db"), sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestSessionExpiry(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	db := openStore(t, c.now)
	for _, e := range []string{"a@example.com", "x@example.com", "y@example.com"} {
		if err := db.CreateUser(ctx, domain.User{Email: e, PasswordHash: "argon2id$x", Role: domain.RoleOperator}); err != nil {
			t.Fatal(err)
		}
	}
	st := newSessionStore(db, c.now, 30*time.Minute, 12*time.Hour)
	mustCreate := func(email string) string {
		id, err := st.create(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	get := func(id string) *session {
		s, _, err := st.get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	id := mustCreate("a@example.com")
	if _, err := db.ConsoleSession(ctx, id); err == nil {
		t.Fatal("the session id itself is stored; only its hash may be")
	}
	if _, err := db.ConsoleSession(ctx, hashID(id)); err != nil {
		t.Fatalf("the session is not stored under the hash of its id: %v", err)
	}
	// Used every 20 minutes, it lives until the absolute limit.
	for i := 0; i < 35; i++ {
		c.t = c.t.Add(20 * time.Minute)
		if get(id) == nil {
			t.Fatalf("session ended after %d uses within the idle timeout", i)
		}
	}
	c.t = c.t.Add(25 * time.Minute) // 12h05m after sign-in, 25 minutes after the last use
	if get(id) != nil {
		t.Error("session outlived its absolute lifetime")
	}
	if _, err := db.ConsoleSession(ctx, hashID(id)); err == nil {
		t.Error("the expired session's row is left")
	}
	id = mustCreate("a@example.com")
	c.t = c.t.Add(31 * time.Minute)
	if st.alive(ctx, id) || get(id) != nil {
		t.Error("session outlived its idle timeout")
	}
	if get("made-up") != nil || get("") != nil {
		t.Error("an unknown id found a session")
	}
	a, b := mustCreate("x@example.com"), mustCreate("y@example.com")
	if err := st.deleteUser(ctx, "x@example.com"); err != nil {
		t.Fatal(err)
	}
	if get(a) != nil {
		t.Error("deleteUser left a session")
	}
	if get(b) == nil {
		t.Error("deleteUser ended another user's session")
	}
	// A second server on the same database (a restart, or another node) knows the session, its
	// CSRF token and its flash message.
	if err := st.setFlash(ctx, hashID(b), flash{Message: "Saved.", Error: false}); err != nil {
		t.Fatal(err)
	}
	other := newSessionStore(db, c.now, 30*time.Minute, 12*time.Hour)
	s1, s2 := get(b), func() *session { s, _, _ := other.get(ctx, b); return s }()
	if s2 == nil || s2.csrf != s1.csrf || s2.email != "y@example.com" || s2.flash.Message != "Saved." {
		t.Errorf("the other server sees %+v, want %+v", s2, s1)
	}
	// Pruning at sign-in removes sessions nobody will use again.
	idle := mustCreate("y@example.com")
	c.t = c.t.Add(time.Hour)
	mustCreate("y@example.com")
	if _, err := db.ConsoleSession(ctx, hashID(idle)); err == nil {
		t.Error("an idle session survived the pruning at the next sign-in")
	}
}

func TestThrottle(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	db := openStore(t, c.now)
	th := newThrottle(db, c.now)
	blocked := func(keys ...string) (bool, time.Time) {
		t.Helper()
		locked, until, err := th.blocked(ctx, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return locked, until
	}
	fail := func(keys ...string) {
		t.Helper()
		if err := th.fail(ctx, keys...); err != nil {
			t.Fatal(err)
		}
	}
	for range maxFails {
		if locked, _ := blocked("email:a", "ip:1"); locked {
			t.Fatal("locked before the limit")
		}
		fail("email:a", "ip:1")
	}
	if locked, until := blocked("email:a", "ip:1"); !locked || !until.Equal(c.t.Add(throttleWindow)) {
		t.Errorf("after %d failures: locked %v until %v", maxFails, locked, until)
	}
	// Another server on the same database sees the same counts (a cluster node).
	if locked, _, err := newThrottle(db, c.now).blocked(ctx, "email:a"); err != nil || !locked {
		t.Errorf("another node does not see the lock: %v %v", locked, err)
	}
	if locked, _ := blocked("email:b", "ip:1"); locked {
		t.Error("another email from the same address is locked before the address limit")
	}
	c.t = c.t.Add(throttleWindow + time.Second)
	if locked, _ := blocked("email:a", "ip:1"); locked {
		t.Error("still locked after the window")
	}
	for range maxFailsIP {
		fail("ip:2")
	}
	if locked, _ := blocked("email:new", "ip:2"); !locked {
		t.Error("an address guessing many emails is not locked")
	}
	// A success clears the email's count, not the address's.
	fail("email:c", "ip:3")
	if err := th.succeed(ctx, "email:c"); err != nil {
		t.Fatal(err)
	}
	counts, err := db.LoginFailures(ctx, []string{hashID("email:c"), hashID("ip:3")}, c.t, throttleWindow)
	if err != nil || len(counts) != 1 || counts[hashID("ip:3")].Failures != 1 {
		t.Errorf("after a success: %v %v", counts, err)
	}
	// Only hashes are stored.
	if _, err := db.LoginFailures(ctx, []string{"email:c"}, c.t, throttleWindow); err == nil {
		t.Error("the store accepts a raw key")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/stations?q=1": "/stations?q=1", "": "/", "https://evil.example": "/", "//evil.example": "/", "/\\evil.example": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNeed(t *testing.T) {
	for _, c := range []struct {
		n    need
		role domain.Role
		ok   bool
	}{
		{needSignedIn, domain.RoleReadOnly, true}, {needOperator, domain.RoleReadOnly, false},
		{needOperator, domain.RoleOperator, true}, {needAdmin, domain.RoleOperator, false},
		{needAdmin, domain.RoleAdmin, true}, {needOperator, domain.RoleAdmin, true}, {needSignedIn, "", false},
	} {
		if got := c.n.allows(c.role); got != c.ok {
			t.Errorf("need %d allows %q = %v, want %v", c.n, c.role, got, c.ok)
		}
	}
}

func TestChartSeries(t *testing.T) {
	at := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	s := chartSeries([]domain.MeterSample{
		{At: at, Measurand: "Energy.Active.Import.Register", Unit: "kWh", Value: 10},
		{At: at.Add(time.Minute), Measurand: "Energy.Active.Import.Register", Unit: "Wh", Value: 10500},
		{At: at.Add(time.Minute), Measurand: "Power.Active.Import", Phase: "L1", Unit: "W", Value: 3000},
		{At: at.Add(time.Minute), Measurand: "Power.Active.Import", Phase: "L2", Unit: "kW", Value: 3},
		{At: at.Add(2 * time.Minute), Measurand: "Power.Active.Import", Unit: "kW", Value: 7.5},
	})
	if len(s[0]) != 3 || *s[0][0] != float64(at.Unix()) {
		t.Fatalf("times = %v", s[0])
	}
	if s[1][0] != nil || *s[1][1] != 6000 || *s[1][2] != 7500 {
		t.Errorf("power = %v %v %v", s[1][0], s[1][1], s[1][2])
	}
	if *s[2][0] != 0 || *s[2][1] != 500 || s[2][2] != nil {
		t.Errorf("energy = %v %v %v", s[2][0], s[2][1], s[2][2])
	}
}
