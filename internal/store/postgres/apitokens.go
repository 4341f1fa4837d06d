package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const apiTokenColumns = `id, name, role, digest, created_at, created_by, expires_at, last_used_at, revoked_at`

// CreateAPIToken inserts t.
func (s *Store) CreateAPIToken(ctx context.Context, t domain.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("postgres: create API token: %w", err)
	}
	if err := errors.Join(checkTime("creation time", t.CreatedAt), checkTime("expiry", t.ExpiresAt)); err != nil {
		return fmt.Errorf("postgres: create API token: %w", err)
	}
	_, err := s.exec(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Name, string(t.Role), t.Digest, pgTime(s.stamp(t.CreatedAt)), t.CreatedBy, nullTime(t.ExpiresAt),
		nullTime(t.LastUsedAt), nullTime(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("postgres: create API token %q: %w", t.Name,
			mapErr(err, fmt.Sprintf("an API token named %q exists", t.Name), ""))
	}
	return nil
}

// APITokenByDigest returns the token with that digest.
func (s *Store) APITokenByDigest(ctx context.Context, digest string) (domain.APIToken, error) {
	if err := ctx.Err(); err != nil {
		return domain.APIToken{}, fmt.Errorf("postgres: API token by digest: %w", err)
	}
	t, err := scanAPIToken(s.pool.QueryRow(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE digest = $1`, digest))
	if err != nil {
		return domain.APIToken{}, fmt.Errorf("postgres: API token by digest: %w", mapErr(err, "", ""))
	}
	return t, nil
}

// APITokens lists a page of tokens ordered by id.
func (s *Store) APITokens(ctx context.Context, p domain.Page) ([]domain.APIToken, string, error) {
	ts, next, err := pageByKey(ctx, s.pool, "apitoken", `SELECT `+apiTokenColumns+` FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2`, p,
		func(r pgx.Row) (domain.APIToken, error) { return scanAPIToken(r) }, func(t domain.APIToken) string { return t.ID })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: API tokens: %w", err)
	}
	return ts, next, nil
}

// RevokeAPIToken marks a token revoked; a second revocation keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) (domain.APIToken, error) {
	if err := ctx.Err(); err != nil {
		return domain.APIToken{}, fmt.Errorf("postgres: revoke API token %q: %w", id, err)
	}
	t, err := scanAPIToken(s.pool.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1)
		WHERE id = $2 RETURNING `+apiTokenColumns, pgTime(s.stamp(at)), id))
	if err != nil {
		return domain.APIToken{}, fmt.Errorf("postgres: revoke API token %q: %w", id, mapErr(err, "", ""))
	}
	return t, nil
}

// TouchAPITokens moves last-used times forward.
func (s *Store) TouchAPITokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	times := make([]time.Time, 0, len(used))
	for id, at := range used {
		if err := checkTime("last use", at); err != nil {
			return fmt.Errorf("postgres: touch API tokens: %w", err)
		}
		ids = append(ids, id)
		times = append(times, pgTime(at))
	}
	_, err := s.exec(ctx, `UPDATE api_tokens t SET last_used_at = greatest(t.last_used_at, u.at)
		FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`, ids, times)
	if err != nil {
		return fmt.Errorf("postgres: touch API tokens: %w", mapErr(err, "", ""))
	}
	return nil
}

func scanAPIToken(row pgx.Row) (domain.APIToken, error) {
	var (
		t                          domain.APIToken
		role                       string
		expires, lastUsed, revoked *time.Time
	)
	err := row.Scan(&t.ID, &t.Name, &role, &t.Digest, &t.CreatedAt, &t.CreatedBy, &expires, &lastUsed, &revoked)
	if isNoRows(err) {
		return domain.APIToken{}, domain.Errorf(domain.ErrNotFound, "API token not found")
	}
	if err != nil {
		return domain.APIToken{}, err
	}
	t.Role = domain.APIRole(role)
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromNull(expires), fromNull(lastUsed), fromNull(revoked)
	return t, nil
}
