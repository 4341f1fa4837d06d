package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const tokenColumns = `uid, type, status, expires_at, group_id, created_at, updated_at`

// CreateToken inserts t. CreatedAt and UpdatedAt are set by the store.
func (s *Store) CreateToken(ctx context.Context, t domain.Token) error {
	if err := validateToken(t); err != nil {
		return fmt.Errorf("postgres: create token %q: %w", t.UID, err)
	}
	now := pgTime(s.now())
	_, err := s.exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.UID, t.Type, string(t.Status), nullTime(t.ExpiresAt), t.GroupID, now, now)
	if err != nil {
		return fmt.Errorf("postgres: create token %q: %w", t.UID,
			mapErr(err, fmt.Sprintf("token %q already exists", t.UID), ""))
	}
	return nil
}

func validateToken(t domain.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return checkTime("expiry", t.ExpiresAt)
}

// Token returns one token.
func (s *Store) Token(ctx context.Context, uid string) (domain.Token, error) {
	if err := ctx.Err(); err != nil {
		return domain.Token{}, fmt.Errorf("postgres: token %q: %w", uid, err)
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE uid = $1`, uid), uid)
	if err != nil {
		return domain.Token{}, fmt.Errorf("postgres: token %q: %w", uid, mapErr(err, "", ""))
	}
	return t, nil
}

// Tokens lists a page of tokens ordered by uid (byte-wise).
func (s *Store) Tokens(ctx context.Context, p domain.Page) ([]domain.Token, string, error) {
	ts, next, err := pageByKey(ctx, s.pool, "token", `SELECT `+tokenColumns+` FROM tokens WHERE uid > $1 ORDER BY uid LIMIT $2`, p,
		func(r pgx.Row) (domain.Token, error) { return scanToken(r, "") }, func(t domain.Token) string { return t.UID })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: tokens: %w", err)
	}
	return ts, next, nil
}

// UpdateToken applies p and returns the token as stored afterwards.
func (s *Store) UpdateToken(ctx context.Context, uid string, p domain.TokenPatch) (domain.Token, error) {
	var (
		status    *string
		setExpiry bool
		expires   *time.Time // with setExpiry: nil clears
	)
	if p.Status != nil {
		if !p.Status.Valid() {
			return domain.Token{}, fmt.Errorf("postgres: update token %q: %w", uid,
				invalid("token status %q is not one of Accepted, Blocked, Expired, Invalid", *p.Status))
		}
		st := string(*p.Status)
		status = &st
	}
	if p.ExpiresAt != nil {
		setExpiry = true
		if !p.ExpiresAt.IsZero() {
			if err := checkTime("expiry", *p.ExpiresAt); err != nil {
				return domain.Token{}, fmt.Errorf("postgres: update token %q: %w", uid, err)
			}
			e := pgTime(*p.ExpiresAt)
			expires = &e
		}
	}
	if err := ctx.Err(); err != nil {
		return domain.Token{}, fmt.Errorf("postgres: update token %q: %w", uid, err)
	}
	// A NULL argument keeps the column; the expiry has its own flag, since NULL also clears it.
	t, err := scanToken(s.pool.QueryRow(ctx, `UPDATE tokens SET
			type = coalesce($1, type),
			status = coalesce($2, status),
			expires_at = CASE WHEN $3 THEN $4 ELSE expires_at END,
			group_id = coalesce($5, group_id),
			updated_at = $6
		WHERE uid = $7
		RETURNING `+tokenColumns, p.Type, status, setExpiry, expires, p.GroupID, pgTime(s.now()), uid), uid)
	if err != nil {
		return domain.Token{}, fmt.Errorf("postgres: update token %q: %w", uid, mapErr(err, "", ""))
	}
	return t, nil
}

// DeleteToken removes a token. Sessions keep the uid they were started with.
func (s *Store) DeleteToken(ctx context.Context, uid string) error {
	n, err := s.exec(ctx, `DELETE FROM tokens WHERE uid = $1`, uid)
	if err == nil && n == 0 {
		err = tokenNotFound(uid)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete token %q: %w", uid, err)
	}
	return nil
}

func tokenNotFound(uid string) error {
	return domain.Errorf(domain.ErrNotFound, "token %q not found", uid)
}

// scanToken reads one token row; uid names the token for the not-found error of a single-row
// query (pgx.ErrNoRows).
func scanToken(row pgx.Row, uid string) (domain.Token, error) {
	var (
		t       domain.Token
		status  string
		expires *time.Time
	)
	err := row.Scan(&t.UID, &t.Type, &status, &expires, &t.GroupID, &t.CreatedAt, &t.UpdatedAt)
	if isNoRows(err) {
		return domain.Token{}, tokenNotFound(uid)
	}
	if err != nil {
		return domain.Token{}, err
	}
	t.Status = domain.TokenStatus(status)
	t.ExpiresAt = fromNull(expires)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}
