package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/opencpo/opencpo/internal/domain"
)

const tokenColumns = `uid, type, status, expires_at, group_id, created_at, updated_at`

// CreateToken inserts t. CreatedAt and UpdatedAt are set by the store.
func (s *Store) CreateToken(ctx context.Context, t domain.Token) error {
	if err := validateToken(t); err != nil {
		return fmt.Errorf("sqlite: create token %q: %w", t.UID, err)
	}
	now := formatTime(s.now())
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.UID, t.Type, string(t.Status), nullTime(t.ExpiresAt), t.GroupID, now, now)
		if err != nil {
			return fmt.Errorf("sqlite: create token %q: %w", t.UID,
				mapErr(err, fmt.Sprintf("token %q already exists", t.UID), ""))
		}
		return nil
	})
}

func validateToken(t domain.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return checkTime("expiry", t.ExpiresAt)
}

// Token returns one token.
func (s *Store) Token(ctx context.Context, uid string) (domain.Token, error) {
	t, err := readOne(ctx, s, `SELECT `+tokenColumns+` FROM tokens WHERE uid = ?`,
		func(r scanner) (domain.Token, error) { return scanToken(r, uid) }, uid)
	if err != nil {
		return domain.Token{}, fmt.Errorf("sqlite: token %q: %w", uid, err)
	}
	return t, nil
}

// Tokens lists a page of tokens ordered by uid.
func (s *Store) Tokens(ctx context.Context, p domain.Page) ([]domain.Token, string, error) {
	items, next, err := pageByKey(ctx, s, "token", `SELECT `+tokenColumns+` FROM tokens WHERE uid > ? ORDER BY uid LIMIT ?`, p,
		func(r scanner) (domain.Token, error) { return scanToken(r, "") }, func(t domain.Token) string { return t.UID })
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: tokens: %w", err)
	}
	return items, next, nil
}

// UpdateToken applies p and returns the token as stored afterwards.
func (s *Store) UpdateToken(ctx context.Context, uid string, p domain.TokenPatch) (domain.Token, error) {
	var (
		status  *string
		expires any // nil: unchanged; "": clear; else the new time
	)
	if p.Status != nil {
		if !p.Status.Valid() {
			return domain.Token{}, fmt.Errorf("sqlite: update token %q: %w", uid,
				invalid("token status %q is not one of Accepted, Blocked, Expired, Invalid", *p.Status))
		}
		st := string(*p.Status)
		status = &st
	}
	if p.ExpiresAt != nil {
		expires = ""
		if !p.ExpiresAt.IsZero() {
			if err := checkTime("expiry", *p.ExpiresAt); err != nil {
				return domain.Token{}, fmt.Errorf("sqlite: update token %q: %w", uid, err)
			}
			expires = formatTime(*p.ExpiresAt)
		}
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Token, error) {
		// A nil argument keeps the column; the empty string clears the expiry.
		t, err := scanToken(tx.QueryRow(`UPDATE tokens SET
				type = coalesce(?1, type),
				status = coalesce(?2, status),
				expires_at = CASE WHEN ?3 IS NULL THEN expires_at ELSE nullif(?3, '') END,
				group_id = coalesce(?4, group_id),
				updated_at = ?5
			WHERE uid = ?6
			RETURNING `+tokenColumns, p.Type, status, expires, p.GroupID, now, uid), uid)
		if err != nil {
			return domain.Token{}, fmt.Errorf("sqlite: update token %q: %w", uid, err)
		}
		return t, nil
	})
}

// DeleteToken removes a token. Sessions keep the uid they were started with.
func (s *Store) DeleteToken(ctx context.Context, uid string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.Exec(`DELETE FROM tokens WHERE uid = ?`, uid))
		if err == nil && n == 0 {
			err = tokenNotFound(uid)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete token %q: %w", uid, err)
		}
		return nil
	})
}

func tokenNotFound(uid string) error {
	return domain.Errorf(domain.ErrNotFound, "token %q not found", uid)
}

type scanner interface{ Scan(dest ...any) error }

// scanToken reads one token row; uid names the token for the not-found error of a single-row
// query (sql.ErrNoRows).
func scanToken(row scanner, uid string) (domain.Token, error) {
	var (
		t                    domain.Token
		status               string
		expires              sql.NullString
		createdAt, updatedAt string
	)
	err := row.Scan(&t.UID, &t.Type, &status, &expires, &t.GroupID, &createdAt, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Token{}, tokenNotFound(uid)
	}
	if err != nil {
		return domain.Token{}, err
	}
	t.Status = domain.TokenStatus(status)
	var err1, err2, err3 error
	t.ExpiresAt, err1 = parseNullTime(expires)
	t.CreatedAt, err2 = parseTime(createdAt)
	t.UpdatedAt, err3 = parseTime(updatedAt)
	if err := errors.Join(err1, err2, err3); err != nil {
		return domain.Token{}, err
	}
	return t, nil
}
