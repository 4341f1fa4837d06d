package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

const consoleSessionColumns = `id_hash, email, csrf, created_at, last_seen_at, expires_at, flash_message, flash_error`

// CreateConsoleSession inserts a signed-in browser's session.
func (s *Store) CreateConsoleSession(ctx context.Context, cs domain.ConsoleSession) error {
	if err := cs.Validate(); err != nil {
		return fmt.Errorf("sqlite: create console session: %w", err)
	}
	if err := errors.Join(checkTime("creation time", cs.CreatedAt), checkTime("last use", cs.LastSeenAt),
		checkTime("expiry", cs.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: create console session: %w", err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO console_sessions (`+consoleSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			cs.IDHash, cs.Email, cs.CSRF, formatTime(cs.CreatedAt), formatTime(cs.LastSeenAt), formatTime(cs.ExpiresAt),
			cs.FlashMessage, cs.FlashError)
		if err != nil {
			return fmt.Errorf("sqlite: create console session: %w",
				mapErr(err, "the session exists", fmt.Sprintf("user %q not found", cs.Email)))
		}
		return nil
	})
}

// ConsoleSession returns one session by the hash of its id.
func (s *Store) ConsoleSession(ctx context.Context, idHash string) (domain.ConsoleSession, error) {
	cs, err := readOne(ctx, s, `SELECT `+consoleSessionColumns+` FROM console_sessions WHERE id_hash = ?`,
		scanConsoleSession, idHash)
	if err != nil {
		return domain.ConsoleSession{}, fmt.Errorf("sqlite: console session: %w", err)
	}
	return cs, nil
}

// TouchConsoleSession moves the last use forward and optionally clears the flash message.
func (s *Store) TouchConsoleSession(ctx context.Context, idHash string, lastSeen time.Time, clearFlash bool) error {
	if err := checkTime("last use", lastSeen); err != nil {
		return fmt.Errorf("sqlite: touch console session: %w", err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		// Text order is time order (fixed-width layout), so max() keeps the later time.
		res, err := tx.Exec(`UPDATE console_sessions SET last_seen_at = max(last_seen_at, ?1),
				flash_message = CASE WHEN ?2 THEN '' ELSE flash_message END,
				flash_error = CASE WHEN ?2 THEN 0 ELSE flash_error END
			WHERE id_hash = ?3`, formatTime(lastSeen), clearFlash, idHash)
		return consoleSessionChanged("touch", res, err)
	})
}

// SetConsoleFlash stores a message for the session's next page.
func (s *Store) SetConsoleFlash(ctx context.Context, idHash, message string, isError bool) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE console_sessions SET flash_message = ?, flash_error = ? WHERE id_hash = ?`,
			message, isError, idHash)
		return consoleSessionChanged("set flash", res, err)
	})
}

func consoleSessionChanged(op string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s console session: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %s console session: %w", op, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: %s console session: %w", op, domain.Errorf(domain.ErrNotFound, "session not found"))
	}
	return nil
}

// DeleteConsoleSession removes one session.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM console_sessions WHERE id_hash = ?`, idHash); err != nil {
			return fmt.Errorf("sqlite: delete console session: %w", err)
		}
		return nil
	})
}

// DeleteUserConsoleSessions removes every session of a user.
func (s *Store) DeleteUserConsoleSessions(ctx context.Context, email string) (int, error) {
	return writeValue(ctx, s, func(tx *sql.Tx) (int, error) {
		return deletedRows(tx.Exec(`DELETE FROM console_sessions WHERE email = ?`, email))
	})
}

// PruneConsoleSessions removes expired and idle sessions.
func (s *Store) PruneConsoleSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	if err := errors.Join(checkTime("now", now), checkTime("idle limit", idleSince)); err != nil {
		return 0, fmt.Errorf("sqlite: prune console sessions: %w", err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (int, error) {
		return deletedRows(tx.Exec(`DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at < ?`,
			formatTime(now), formatTime(idleSince)))
	})
}

func deletedRows(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete: %w", err)
	}
	return int(n), nil
}

func scanConsoleSession(row scanner) (domain.ConsoleSession, error) {
	var (
		cs                         domain.ConsoleSession
		created, lastSeen, expires string
	)
	err := row.Scan(&cs.IDHash, &cs.Email, &cs.CSRF, &created, &lastSeen, &expires, &cs.FlashMessage, &cs.FlashError)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ConsoleSession{}, domain.Errorf(domain.ErrNotFound, "session not found")
	}
	if err != nil {
		return domain.ConsoleSession{}, err
	}
	var errs [3]error
	cs.CreatedAt, errs[0] = parseTime(created)
	cs.LastSeenAt, errs[1] = parseTime(lastSeen)
	cs.ExpiresAt, errs[2] = parseTime(expires)
	if err := errors.Join(errs[:]...); err != nil {
		return domain.ConsoleSession{}, err
	}
	return cs, nil
}

func checkKeyHashes(keyHashes []string) error {
	for _, k := range keyHashes {
		if !domain.ValidHash(k) {
			return invalid("a throttle key must be a SHA-256 in lower-case hex")
		}
	}
	return nil
}

// AddLoginFailures counts one failed sign-in for each key.
func (s *Store) AddLoginFailures(ctx context.Context, keyHashes []string, now time.Time, window time.Duration) error {
	if err := errors.Join(checkKeyHashes(keyHashes), checkTime("now", now)); err != nil {
		return fmt.Errorf("sqlite: add login failures: %w", err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, k := range keyHashes {
			// SET expressions read the row as it was, so both see the old first_at.
			if _, err := tx.Exec(`INSERT INTO login_failures (key_hash, failures, first_at) VALUES (?1, 1, ?2)
				ON CONFLICT (key_hash) DO UPDATE SET
					failures = CASE WHEN first_at < ?3 THEN 1 ELSE failures + 1 END,
					first_at = CASE WHEN first_at < ?3 THEN ?2 ELSE first_at END`,
				k, formatTime(now), formatTime(now.Add(-window))); err != nil {
				return fmt.Errorf("sqlite: add login failures: %w", err)
			}
		}
		return nil
	})
}

// LoginFailures returns the counts within the window.
func (s *Store) LoginFailures(ctx context.Context, keyHashes []string, now time.Time, window time.Duration) (map[string]domain.LoginFailure, error) {
	if err := errors.Join(checkKeyHashes(keyHashes), checkTime("now", now)); err != nil {
		return nil, fmt.Errorf("sqlite: login failures: %w", err)
	}
	out := map[string]domain.LoginFailure{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		for _, k := range keyHashes {
			var (
				n     int
				first string
			)
			err := tx.QueryRowContext(ctx, `SELECT failures, first_at FROM login_failures WHERE key_hash = ? AND first_at >= ?`,
				k, formatTime(now.Add(-window))).Scan(&n, &first)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			t, err := parseTime(first)
			if err != nil {
				return err
			}
			out[k] = domain.LoginFailure{Failures: n, First: t}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: login failures: %w", err)
	}
	return out, nil
}

// ClearLoginFailures forgets a key's count.
func (s *Store) ClearLoginFailures(ctx context.Context, keyHash string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM login_failures WHERE key_hash = ?`, keyHash); err != nil {
			return fmt.Errorf("sqlite: clear login failures: %w", err)
		}
		return nil
	})
}

// PruneLoginFailures removes the counts whose window has passed.
func (s *Store) PruneLoginFailures(ctx context.Context, now time.Time, window time.Duration) (int, error) {
	if err := checkTime("now", now); err != nil {
		return 0, fmt.Errorf("sqlite: prune login failures: %w", err)
	}
	return writeValue(ctx, s, func(tx *sql.Tx) (int, error) {
		return deletedRows(tx.Exec(`DELETE FROM login_failures WHERE first_at < ?`, formatTime(now.Add(-window))))
	})
}
