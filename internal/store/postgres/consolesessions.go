package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const consoleSessionColumns = `id_hash, email, csrf, created_at, last_seen_at, expires_at, flash_message, flash_error`

// CreateConsoleSession inserts a signed-in browser's session.
func (s *Store) CreateConsoleSession(ctx context.Context, cs domain.ConsoleSession) error {
	if err := cs.Validate(); err != nil {
		return fmt.Errorf("postgres: create console session: %w", err)
	}
	_, err := s.exec(ctx, `INSERT INTO console_sessions (`+consoleSessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		cs.IDHash, cs.Email, cs.CSRF, pgTime(cs.CreatedAt), pgTime(cs.LastSeenAt), pgTime(cs.ExpiresAt),
		cs.FlashMessage, cs.FlashError)
	if err != nil {
		return fmt.Errorf("postgres: create console session: %w",
			mapErr(err, "the session exists", fmt.Sprintf("user %q not found", cs.Email)))
	}
	return nil
}

// ConsoleSession returns one session by the hash of its id.
func (s *Store) ConsoleSession(ctx context.Context, idHash string) (domain.ConsoleSession, error) {
	if err := ctx.Err(); err != nil {
		return domain.ConsoleSession{}, fmt.Errorf("postgres: console session: %w", err)
	}
	cs, err := scanConsoleSession(s.pool.QueryRow(ctx,
		`SELECT `+consoleSessionColumns+` FROM console_sessions WHERE id_hash = $1`, idHash))
	if err != nil {
		return domain.ConsoleSession{}, fmt.Errorf("postgres: console session: %w", mapErr(err, "", ""))
	}
	return cs, nil
}

// TouchConsoleSession moves the last use forward and optionally clears the flash message.
func (s *Store) TouchConsoleSession(ctx context.Context, idHash string, lastSeen time.Time, clearFlash bool) error {
	n, err := s.exec(ctx, `UPDATE console_sessions SET last_seen_at = greatest(last_seen_at, $1),
			flash_message = CASE WHEN $2 THEN '' ELSE flash_message END,
			flash_error = CASE WHEN $2 THEN false ELSE flash_error END
		WHERE id_hash = $3`, pgTime(lastSeen), clearFlash, idHash)
	return consoleSessionChanged("touch", n, err)
}

// SetConsoleFlash stores a message for the session's next page.
func (s *Store) SetConsoleFlash(ctx context.Context, idHash, message string, isError bool) error {
	n, err := s.exec(ctx, `UPDATE console_sessions SET flash_message = $1, flash_error = $2 WHERE id_hash = $3`,
		message, isError, idHash)
	return consoleSessionChanged("set flash", n, err)
}

func consoleSessionChanged(op string, n int64, err error) error {
	if err != nil {
		return fmt.Errorf("postgres: %s console session: %w", op, mapErr(err, "", ""))
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s console session: %w", op, domain.Errorf(domain.ErrNotFound, "session not found"))
	}
	return nil
}

// DeleteConsoleSession removes one session.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("postgres: delete console session: %w", err)
	}
	return nil
}

// DeleteUserConsoleSessions removes every session of a user.
func (s *Store) DeleteUserConsoleSessions(ctx context.Context, email string) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM console_sessions WHERE email = $1`, email)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete console sessions of a user: %w", err)
	}
	return int(n), nil
}

// PruneConsoleSessions removes expired and idle sessions.
func (s *Store) PruneConsoleSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at < $2`,
		pgTime(now), pgTime(idleSince))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune console sessions: %w", err)
	}
	return int(n), nil
}

func scanConsoleSession(row pgx.Row) (domain.ConsoleSession, error) {
	var cs domain.ConsoleSession
	err := row.Scan(&cs.IDHash, &cs.Email, &cs.CSRF, &cs.CreatedAt, &cs.LastSeenAt, &cs.ExpiresAt, &cs.FlashMessage, &cs.FlashError)
	if isNoRows(err) {
		return domain.ConsoleSession{}, domain.Errorf(domain.ErrNotFound, "session not found")
	}
	if err != nil {
		return domain.ConsoleSession{}, err
	}
	cs.CreatedAt, cs.LastSeenAt, cs.ExpiresAt = cs.CreatedAt.UTC(), cs.LastSeenAt.UTC(), cs.ExpiresAt.UTC()
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
	if err := checkKeyHashes(keyHashes); err != nil {
		return fmt.Errorf("postgres: add login failures: %w", err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, k := range keyHashes {
			// SET expressions read the row as it was, so both see the old first_at.
			if _, err := tx.Exec(ctx, `INSERT INTO login_failures (key_hash, failures, first_at) VALUES ($1, 1, $2)
				ON CONFLICT (key_hash) DO UPDATE SET
					failures = CASE WHEN login_failures.first_at < $3 THEN 1 ELSE login_failures.failures + 1 END,
					first_at = CASE WHEN login_failures.first_at < $3 THEN $2 ELSE login_failures.first_at END`,
				k, pgTime(now), pgTime(now.Add(-window))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: add login failures: %w", mapErr(err, "", ""))
	}
	return nil
}

// LoginFailures returns the counts within the window.
func (s *Store) LoginFailures(ctx context.Context, keyHashes []string, now time.Time, window time.Duration) (map[string]domain.LoginFailure, error) {
	if err := checkKeyHashes(keyHashes); err != nil {
		return nil, fmt.Errorf("postgres: login failures: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: login failures: %w", err)
	}
	out := map[string]domain.LoginFailure{}
	rows, _ := s.pool.Query(ctx, `SELECT key_hash, failures, first_at FROM login_failures
		WHERE key_hash = ANY($1) AND first_at >= $2`, keyHashes, pgTime(now.Add(-window)))
	defer rows.Close()
	for rows.Next() {
		var (
			k string
			f domain.LoginFailure
		)
		if err := rows.Scan(&k, &f.Failures, &f.First); err != nil {
			return nil, fmt.Errorf("postgres: login failures: %w", err)
		}
		f.First = f.First.UTC()
		out[k] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: login failures: %w", mapErr(err, "", ""))
	}
	return out, nil
}

// ClearLoginFailures forgets a key's count.
func (s *Store) ClearLoginFailures(ctx context.Context, keyHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM login_failures WHERE key_hash = $1`, keyHash); err != nil {
		return fmt.Errorf("postgres: clear login failures: %w", err)
	}
	return nil
}

// PruneLoginFailures removes the counts whose window has passed.
func (s *Store) PruneLoginFailures(ctx context.Context, now time.Time, window time.Duration) (int, error) {
	n, err := s.exec(ctx, `DELETE FROM login_failures WHERE first_at < $1`, pgTime(now.Add(-window)))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune login failures: %w", err)
	}
	return int(n), nil
}
