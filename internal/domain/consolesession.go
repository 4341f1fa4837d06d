package domain

import (
	"context"
	"time"
)

// ConsoleSession is one signed-in browser of the console. It is stored in the database so that a
// restart does not sign anyone out and every node of a cluster accepts the same cookie. The
// cookie holds a random id; the store keeps only its SHA-256 (IDHash), so a copy of the database
// does not let anyone sign in.
type ConsoleSession struct {
	IDHash string // hex SHA-256 of the cookie value: 64 lower-case hex digits
	Email  string // the user (users.email); the row goes with the user
	// CSRF is the synchronizer token of the session's forms; random, not derived from the id.
	CSRF string
	// CreatedAt is the sign-in; ExpiresAt the absolute end (CreatedAt + the maximum age).
	// LastSeenAt is the last use, moved at most once a minute (the idle timeout counts from it).
	CreatedAt, LastSeenAt, ExpiresAt time.Time
	// Flash is a message for the next page the user sees (after a redirect).
	FlashMessage string
	FlashError   bool
}

// Validate checks a session before it is stored.
func (s ConsoleSession) Validate() error {
	if !ValidHash(s.IDHash) {
		return Errorf(ErrInvalid, "the session id hash must be 64 lower-case hex digits")
	}
	if s.Email == "" {
		return Errorf(ErrInvalid, "the session has no user")
	}
	if len(s.CSRF) < 32 {
		return Errorf(ErrInvalid, "the CSRF token is too short")
	}
	if s.CreatedAt.IsZero() || s.LastSeenAt.IsZero() || s.ExpiresAt.IsZero() {
		return Errorf(ErrInvalid, "the session's times must be set")
	}
	if !s.ExpiresAt.After(s.CreatedAt) {
		return Errorf(ErrInvalid, "the session expires before it starts")
	}
	return nil
}

// ConsoleSessionStore keeps console sessions.
type ConsoleSessionStore interface {
	// CreateConsoleSession inserts a session; ErrNotFound if the user does not exist, ErrConflict
	// if the hash does.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// ConsoleSession returns a session by the hash of its id; ErrNotFound if absent. It does not
	// check expiry: the caller knows its timeouts.
	ConsoleSession(ctx context.Context, idHash string) (ConsoleSession, error)
	// TouchConsoleSession moves the last use forward (never back) and, when clearFlash is set,
	// empties the flash message; ErrNotFound if absent.
	TouchConsoleSession(ctx context.Context, idHash string, lastSeen time.Time, clearFlash bool) error
	// SetConsoleFlash stores the message for the next page; ErrNotFound if absent.
	SetConsoleFlash(ctx context.Context, idHash, message string, isError bool) error
	// DeleteConsoleSession removes one session (sign-out); no error if it is already gone.
	DeleteConsoleSession(ctx context.Context, idHash string) error
	// DeleteUserConsoleSessions removes every session of a user and returns how many.
	DeleteUserConsoleSessions(ctx context.Context, email string) (int, error)
	// PruneConsoleSessions removes the sessions that expired at now or were last used before
	// idleSince, and returns how many.
	PruneConsoleSessions(ctx context.Context, now, idleSince time.Time) (int, error)
}

// LoginFailure is the count of failed console sign-ins for one key (an email or a client address,
// stored as a hash) since the first of them.
type LoginFailure struct {
	Failures int
	First    time.Time
}

// LoginThrottleStore counts failed console sign-ins in the database, so that every node of a
// cluster sees the same counts. Keys are given hashed (64 lower-case hex digits): the table holds
// neither the emails people typed nor their addresses.
type LoginThrottleStore interface {
	// AddLoginFailures counts one failure at now for each key; a count whose first failure is
	// older than window starts again at 1.
	AddLoginFailures(ctx context.Context, keyHashes []string, now time.Time, window time.Duration) error
	// LoginFailures returns the counts of the keys whose first failure is within window of now.
	LoginFailures(ctx context.Context, keyHashes []string, now time.Time, window time.Duration) (map[string]LoginFailure, error)
	// ClearLoginFailures forgets a key's count (a successful sign-in).
	ClearLoginFailures(ctx context.Context, keyHash string) error
	// PruneLoginFailures removes the counts whose first failure is older than window, and
	// returns how many.
	PruneLoginFailures(ctx context.Context, now time.Time, window time.Duration) (int, error)
}

// ValidHash reports whether s is a hex SHA-256 in lower case (how session ids and throttle keys
// are stored).
func ValidHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
