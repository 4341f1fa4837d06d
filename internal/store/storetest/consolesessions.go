package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var consoleSessionTests = []suiteTest{
	{"ConsoleSessionLifecycle", testConsoleSessionLifecycle},
	{"ConsoleSessionInvalid", testConsoleSessionInvalid},
	{"ConsoleSessionPrune", testConsoleSessionPrune},
	{"ConsoleSessionsOfUser", testConsoleSessionsOfUser},
	{"LoginFailures", testLoginFailures},
}

func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func mustUser(t *testing.T, s domain.Store, email string) {
	t.Helper()
	if err := s.CreateUser(t.Context(), domain.User{Email: email, PasswordHash: "argon2id$x", Role: domain.RoleOperator}); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
}

func consoleSession(id, email string, created time.Time) domain.ConsoleSession {
	return domain.ConsoleSession{IDHash: sessionHash(id), Email: email, CSRF: strings.Repeat("c", 43) + id,
		CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(12 * time.Hour)}
}

func mustConsoleSession(t *testing.T, s domain.Store, cs domain.ConsoleSession) {
	t.Helper()
	if err := s.CreateConsoleSession(t.Context(), cs); err != nil {
		t.Fatalf("CreateConsoleSession: %v", err)
	}
}

func testConsoleSessionLifecycle(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustUser(t, s, "ops@example.com")
	in := consoleSession("one", "ops@example.com", at(0))
	mustConsoleSession(t, s, in)
	wantErr(t, "second session with the same hash", s.CreateConsoleSession(ctx, in), domain.ErrConflict)

	got, err := s.ConsoleSession(ctx, in.IDHash)
	if err != nil {
		t.Fatalf("ConsoleSession: %v", err)
	}
	if got.IDHash != in.IDHash || got.Email != in.Email || got.CSRF != in.CSRF || got.FlashMessage != "" || got.FlashError {
		t.Errorf("ConsoleSession = %+v, want the fields of %+v", got, in)
	}
	wantTime(t, "CreatedAt", got.CreatedAt, in.CreatedAt)
	wantTime(t, "LastSeenAt", got.LastSeenAt, in.LastSeenAt)
	wantTime(t, "ExpiresAt", got.ExpiresAt, in.ExpiresAt)

	// The flash survives a touch that does not clear it, and goes with one that does.
	if err := s.SetConsoleFlash(ctx, in.IDHash, "Location saved.", true); err != nil {
		t.Fatalf("SetConsoleFlash: %v", err)
	}
	if err := s.TouchConsoleSession(ctx, in.IDHash, at(5*time.Minute), false); err != nil {
		t.Fatalf("TouchConsoleSession: %v", err)
	}
	got, _ = s.ConsoleSession(ctx, in.IDHash)
	if got.FlashMessage != "Location saved." || !got.FlashError {
		t.Errorf("flash after a touch = %q %v", got.FlashMessage, got.FlashError)
	}
	wantTime(t, "LastSeenAt after touch", got.LastSeenAt, at(5*time.Minute))
	// A late writer (another node) never moves the last use back.
	if err := s.TouchConsoleSession(ctx, in.IDHash, at(2*time.Minute), true); err != nil {
		t.Fatalf("TouchConsoleSession(earlier): %v", err)
	}
	got, _ = s.ConsoleSession(ctx, in.IDHash)
	wantTime(t, "LastSeenAt after an earlier touch", got.LastSeenAt, at(5*time.Minute))
	if got.FlashMessage != "" || got.FlashError {
		t.Errorf("flash after clearing = %q %v", got.FlashMessage, got.FlashError)
	}

	if err := s.DeleteConsoleSession(ctx, in.IDHash); err != nil {
		t.Fatalf("DeleteConsoleSession: %v", err)
	}
	_, err = s.ConsoleSession(ctx, in.IDHash)
	wantErr(t, "session after sign-out", err, domain.ErrNotFound)
	if err := s.DeleteConsoleSession(ctx, in.IDHash); err != nil {
		t.Errorf("second DeleteConsoleSession: %v", err)
	}
	wantErr(t, "touch a deleted session", s.TouchConsoleSession(ctx, in.IDHash, at(time.Hour), false), domain.ErrNotFound)
	wantErr(t, "flash on a deleted session", s.SetConsoleFlash(ctx, in.IDHash, "x", false), domain.ErrNotFound)
}

func testConsoleSessionInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustUser(t, s, "ops@example.com")
	wantErr(t, "session of an unknown user",
		s.CreateConsoleSession(ctx, consoleSession("x", "nobody@example.com", at(0))), domain.ErrNotFound)
	for name, mutate := range map[string]func(*domain.ConsoleSession){
		"raw id instead of a hash": func(cs *domain.ConsoleSession) { cs.IDHash = "raw-session-id" },
		"upper-case hash":          func(cs *domain.ConsoleSession) { cs.IDHash = strings.ToUpper(cs.IDHash) },
		"no user":                  func(cs *domain.ConsoleSession) { cs.Email = "" },
		"short CSRF token":         func(cs *domain.ConsoleSession) { cs.CSRF = "abc" },
		"no expiry":                func(cs *domain.ConsoleSession) { cs.ExpiresAt = time.Time{} },
		"expires before start":     func(cs *domain.ConsoleSession) { cs.ExpiresAt = cs.CreatedAt.Add(-time.Second) },
	} {
		cs := consoleSession("y", "ops@example.com", at(0))
		mutate(&cs)
		wantErr(t, name, s.CreateConsoleSession(ctx, cs), domain.ErrInvalid)
	}
	_, err := s.ConsoleSession(ctx, sessionHash("never"))
	wantErr(t, "unknown session", err, domain.ErrNotFound)
}

func testConsoleSessionPrune(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustUser(t, s, "ops@example.com")
	fresh := consoleSession("fresh", "ops@example.com", at(0))
	idle := consoleSession("idle", "ops@example.com", at(0))
	old := consoleSession("old", "ops@example.com", at(-11*time.Hour))
	for _, cs := range []domain.ConsoleSession{fresh, idle, old} {
		mustConsoleSession(t, s, cs)
	}
	if err := s.TouchConsoleSession(ctx, fresh.IDHash, at(time.Hour+50*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchConsoleSession(ctx, old.IDHash, at(time.Hour+50*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	// At 1h55: idle (last used at 0) is past a 30-minute idle timeout; old reached its 12 hours.
	now := at(time.Hour + 55*time.Minute)
	n, err := s.PruneConsoleSessions(ctx, now, now.Add(-30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneConsoleSessions = %d, %v; want 2", n, err)
	}
	if _, err := s.ConsoleSession(ctx, fresh.IDHash); err != nil {
		t.Errorf("the fresh session was pruned: %v", err)
	}
	for name, cs := range map[string]domain.ConsoleSession{"idle": idle, "expired": old} {
		_, err := s.ConsoleSession(ctx, cs.IDHash)
		wantErr(t, name+" session after prune", err, domain.ErrNotFound)
	}
}

func testConsoleSessionsOfUser(t *testing.T, s domain.Store) {
	ctx := t.Context()
	mustUser(t, s, "a@example.com")
	mustUser(t, s, "b@example.com")
	a1, a2, b := consoleSession("a1", "a@example.com", at(0)), consoleSession("a2", "a@example.com", at(0)),
		consoleSession("b", "b@example.com", at(0))
	for _, cs := range []domain.ConsoleSession{a1, a2, b} {
		mustConsoleSession(t, s, cs)
	}
	n, err := s.DeleteUserConsoleSessions(ctx, "a@example.com")
	if err != nil || n != 2 {
		t.Fatalf("DeleteUserConsoleSessions = %d, %v; want 2", n, err)
	}
	if _, err := s.ConsoleSession(ctx, a1.IDHash); err == nil {
		t.Error("a session of the signed-out user is left")
	}
	if _, err := s.ConsoleSession(ctx, b.IDHash); err != nil {
		t.Errorf("another user's session went too: %v", err)
	}
}

func testLoginFailures(t *testing.T, s domain.Store) {
	ctx := t.Context()
	const window = 15 * time.Minute
	email, ip, other := sessionHash("email:a@example.com"), sessionHash("ip:192.0.2.1"), sessionHash("email:b@example.com")
	for i := range 3 {
		if err := s.AddLoginFailures(ctx, []string{email, ip}, at(time.Duration(i)*time.Minute), window); err != nil {
			t.Fatalf("AddLoginFailures: %v", err)
		}
	}
	if err := s.AddLoginFailures(ctx, []string{other}, at(2*time.Minute), window); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoginFailures(ctx, []string{email, ip, other, sessionHash("never")}, at(3*time.Minute), window)
	if err != nil {
		t.Fatalf("LoginFailures: %v", err)
	}
	if len(got) != 3 || got[email].Failures != 3 || got[ip].Failures != 3 || got[other].Failures != 1 {
		t.Fatalf("LoginFailures = %v, want 3, 3 and 1", got)
	}
	wantTime(t, "first failure", got[email].First, at(0))
	// Outside the window a count no longer shows, and the next failure starts it again.
	if got, _ := s.LoginFailures(ctx, []string{email}, at(16*time.Minute), window); len(got) != 0 {
		t.Errorf("a count older than the window shows: %v", got)
	}
	if err := s.AddLoginFailures(ctx, []string{email}, at(16*time.Minute), window); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LoginFailures(ctx, []string{email}, at(16*time.Minute), window)
	if got[email].Failures != 1 {
		t.Errorf("after the window the count is %d, want 1", got[email].Failures)
	}
	wantTime(t, "restarted first failure", got[email].First, at(16*time.Minute))
	// A successful sign-in clears its key only.
	if err := s.ClearLoginFailures(ctx, email); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoginFailures(ctx, []string{email, ip}, at(10*time.Minute), window); len(got) != 1 || got[ip].Failures != 3 {
		t.Errorf("after clearing the email: %v, want the address's count only", got)
	}
	n, err := s.PruneLoginFailures(ctx, at(18*time.Minute), window)
	if err != nil || n != 2 {
		t.Errorf("PruneLoginFailures = %d, %v; want 2 (ip, other)", n, err)
	}
	wantErr(t, "a raw key", s.AddLoginFailures(ctx, []string{"email:a@example.com"}, at(0), window), domain.ErrInvalid)
}
