package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const userColumns = `email, password_hash, role, disabled, created_at, updated_at`

// CreateUser inserts u. CreatedAt and UpdatedAt are set by the store.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	now := pgTime(s.now())
	_, err := s.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.Email, u.PasswordHash, string(u.Role), u.Disabled, now, now)
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", mapErr(err, fmt.Sprintf("user %q already exists", u.Email), ""))
	}
	return nil
}

// User returns one user.
func (s *Store) User(ctx context.Context, email string) (domain.User, error) {
	if err := ctx.Err(); err != nil {
		return domain.User{}, fmt.Errorf("postgres: user: %w", err)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email), email)
	if err != nil {
		return domain.User{}, fmt.Errorf("postgres: user: %w", mapErr(err, "", ""))
	}
	return u, nil
}

// Users lists a page of users ordered by email (byte-wise).
func (s *Store) Users(ctx context.Context, p domain.Page) ([]domain.User, string, error) {
	us, next, err := pageByKey(ctx, s.pool, "user", `SELECT `+userColumns+` FROM users WHERE email > $1 ORDER BY email LIMIT $2`, p,
		func(r pgx.Row) (domain.User, error) { return scanUser(r, "") }, func(u domain.User) string { return u.Email })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: users: %w", err)
	}
	return us, next, nil
}

// UpdateUser applies p and returns the user as stored afterwards.
func (s *Store) UpdateUser(ctx context.Context, email string, p domain.UserPatch) (domain.User, error) {
	var role *string
	if p.Role != nil {
		if !p.Role.Valid() {
			return domain.User{}, fmt.Errorf("postgres: update user: %w",
				invalid("role %q is not one of admin, operator, readonly", *p.Role))
		}
		r := string(*p.Role)
		role = &r
	}
	if p.PasswordHash != nil && *p.PasswordHash == "" {
		return domain.User{}, fmt.Errorf("postgres: update user: %w", invalid("the password hash is empty"))
	}
	if err := ctx.Err(); err != nil {
		return domain.User{}, fmt.Errorf("postgres: update user: %w", err)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users SET
			password_hash = coalesce($1, password_hash),
			role = coalesce($2, role),
			disabled = coalesce($3, disabled),
			updated_at = $4
		WHERE email = $5
		RETURNING `+userColumns, p.PasswordHash, role, p.Disabled, pgTime(s.now()), email), email)
	if err != nil {
		return domain.User{}, fmt.Errorf("postgres: update user: %w", mapErr(err, "", ""))
	}
	return u, nil
}

func userNotFound(email string) error {
	return domain.Errorf(domain.ErrNotFound, "user %q not found", email)
}

func scanUser(row pgx.Row, email string) (domain.User, error) {
	var (
		u    domain.User
		role string
	)
	err := row.Scan(&u.Email, &u.PasswordHash, &role, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	if isNoRows(err) {
		return domain.User{}, userNotFound(email)
	}
	if err != nil {
		return domain.User{}, err
	}
	u.Role = domain.Role(role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}
