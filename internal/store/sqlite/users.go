package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/opencpo/opencpo/internal/domain"
)

const userColumns = `email, password_hash, role, disabled, created_at, updated_at`

// CreateUser inserts u. CreatedAt and UpdatedAt are set by the store.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	now := formatTime(s.now())
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			u.Email, u.PasswordHash, string(u.Role), u.Disabled, now, now)
		if err != nil {
			return fmt.Errorf("sqlite: create user: %w", mapErr(err, fmt.Sprintf("user %q already exists", u.Email), ""))
		}
		return nil
	})
}

// User returns one user.
func (s *Store) User(ctx context.Context, email string) (domain.User, error) {
	u, err := readOne(ctx, s, `SELECT `+userColumns+` FROM users WHERE email = ?`,
		func(r scanner) (domain.User, error) { return scanUser(r, email) }, email)
	if err != nil {
		return domain.User{}, fmt.Errorf("sqlite: user: %w", err)
	}
	return u, nil
}

// Users lists a page of users ordered by email.
func (s *Store) Users(ctx context.Context, p domain.Page) ([]domain.User, string, error) {
	items, next, err := pageByKey(ctx, s, "user", `SELECT `+userColumns+` FROM users WHERE email > ? ORDER BY email LIMIT ?`, p,
		func(r scanner) (domain.User, error) { return scanUser(r, "") }, func(u domain.User) string { return u.Email })
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: users: %w", err)
	}
	return items, next, nil
}

// UpdateUser applies p and returns the user as stored afterwards.
func (s *Store) UpdateUser(ctx context.Context, email string, p domain.UserPatch) (domain.User, error) {
	var role *string
	if p.Role != nil {
		if !p.Role.Valid() {
			return domain.User{}, fmt.Errorf("sqlite: update user: %w",
				invalid("role %q is not one of admin, operator, readonly", *p.Role))
		}
		r := string(*p.Role)
		role = &r
	}
	if p.PasswordHash != nil && *p.PasswordHash == "" {
		return domain.User{}, fmt.Errorf("sqlite: update user: %w", invalid("the password hash is empty"))
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.User, error) {
		u, err := scanUser(tx.QueryRow(`UPDATE users SET
				password_hash = coalesce(?1, password_hash),
				role = coalesce(?2, role),
				disabled = coalesce(?3, disabled),
				updated_at = ?4
			WHERE email = ?5
			RETURNING `+userColumns, p.PasswordHash, role, p.Disabled, now, email), email)
		if err != nil {
			return domain.User{}, fmt.Errorf("sqlite: update user: %w", err)
		}
		return u, nil
	})
}

func userNotFound(email string) error {
	return domain.Errorf(domain.ErrNotFound, "user %q not found", email)
}

func scanUser(row scanner, email string) (domain.User, error) {
	var (
		u                    domain.User
		role                 string
		createdAt, updatedAt string
	)
	err := row.Scan(&u.Email, &u.PasswordHash, &role, &u.Disabled, &createdAt, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.User{}, userNotFound(email)
	}
	if err != nil {
		return domain.User{}, err
	}
	u.Role = domain.Role(role)
	var err1, err2 error
	u.CreatedAt, err1 = parseTime(createdAt)
	u.UpdatedAt, err2 = parseTime(updatedAt)
	if err := errors.Join(err1, err2); err != nil {
		return domain.User{}, err
	}
	return u, nil
}
