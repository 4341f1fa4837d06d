package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

const apiTokenColumns = `id, name, role, digest, created_at, created_by, expires_at, last_used_at, revoked_at`

// CreateAPIToken inserts t.
func (s *Store) CreateAPIToken(ctx context.Context, t domain.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("sqlite: create API token: %w", err)
	}
	if err := errors.Join(checkTime("creation time", t.CreatedAt), checkTime("expiry", t.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: create API token: %w", err)
	}
	created := formatTime(s.stamp(t.CreatedAt))
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, string(t.Role), t.Digest, created, t.CreatedBy, nullTime(t.ExpiresAt),
			nullTime(t.LastUsedAt), nullTime(t.RevokedAt))
		if err != nil {
			return fmt.Errorf("sqlite: create API token %q: %w", t.Name,
				mapErr(err, fmt.Sprintf("an API token named %q exists", t.Name), ""))
		}
		return nil
	})
}

// APITokenByDigest returns the token with that digest.
func (s *Store) APITokenByDigest(ctx context.Context, digest string) (domain.APIToken, error) {
	t, err := readOne(ctx, s, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE digest = ?`, scanAPIToken, digest)
	if err != nil {
		return domain.APIToken{}, fmt.Errorf("sqlite: API token by digest: %w", err)
	}
	return t, nil
}

// APITokens lists a page of tokens ordered by id.
func (s *Store) APITokens(ctx context.Context, p domain.Page) ([]domain.APIToken, string, error) {
	items, next, err := pageByKey(ctx, s, "apitoken", `SELECT `+apiTokenColumns+` FROM api_tokens WHERE id > ? ORDER BY id LIMIT ?`, p,
		func(r scanner) (domain.APIToken, error) { return scanAPIToken(r) }, func(t domain.APIToken) string { return t.ID })
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: API tokens: %w", err)
	}
	return items, next, nil
}

// RevokeAPIToken marks a token revoked; a second revocation keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) (domain.APIToken, error) {
	revoked := formatTime(s.stamp(at))
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.APIToken, error) {
		t, err := scanAPIToken(tx.QueryRow(`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?)
			WHERE id = ? RETURNING `+apiTokenColumns, revoked, id))
		if err != nil {
			return domain.APIToken{}, fmt.Errorf("sqlite: revoke API token %q: %w", id, err)
		}
		return t, nil
	})
}

// TouchAPITokens moves last-used times forward.
func (s *Store) TouchAPITokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			if err := checkTime("last use", at); err != nil {
				return fmt.Errorf("sqlite: touch API tokens: %w", err)
			}
			// Text order is time order (fixed-width layout), so max() keeps the later time.
			if _, err := tx.Exec(`UPDATE api_tokens SET last_used_at = max(coalesce(last_used_at, ''), ?1)
				WHERE id = ?2`, formatTime(at), id); err != nil {
				return fmt.Errorf("sqlite: touch API tokens: %w", err)
			}
		}
		return nil
	})
}

func scanAPIToken(row scanner) (domain.APIToken, error) {
	var (
		t                         domain.APIToken
		role, created             string
		expires, lastUsed, revoke sql.NullString
	)
	err := row.Scan(&t.ID, &t.Name, &role, &t.Digest, &created, &t.CreatedBy, &expires, &lastUsed, &revoke)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.APIToken{}, domain.Errorf(domain.ErrNotFound, "API token not found")
	}
	if err != nil {
		return domain.APIToken{}, err
	}
	t.Role = domain.APIRole(role)
	var errs [4]error
	t.CreatedAt, errs[0] = parseTime(created)
	t.ExpiresAt, errs[1] = parseNullTime(expires)
	t.LastUsedAt, errs[2] = parseNullTime(lastUsed)
	t.RevokedAt, errs[3] = parseNullTime(revoke)
	if err := errors.Join(errs[:]...); err != nil {
		return domain.APIToken{}, err
	}
	return t, nil
}
