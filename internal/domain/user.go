package domain

import (
	"context"
	"net/mail"
	"strings"
	"time"
)

// Role is what a console user may do. Every role sees everything; they differ in what they may
// change.
type Role string

const (
	// RoleAdmin also manages console users.
	RoleAdmin Role = "admin"
	// RoleOperator acts on stations, sessions and tokens.
	RoleOperator Role = "operator"
	// RoleReadOnly sees, never changes.
	RoleReadOnly Role = "readonly"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleOperator, RoleReadOnly:
		return true
	}
	return false
}

// CanOperate reports whether the role may act on stations, sessions and tokens.
func (r Role) CanOperate() bool { return r == RoleAdmin || r == RoleOperator }

// CanAdminister reports whether the role may manage users.
func (r Role) CanAdminister() bool { return r == RoleAdmin }

// MinPasswordLen is the shortest console password accepted (NIST SP 800-63B asks for at least 8;
// operators run a whole network from the console, so we ask for more).
const MinPasswordLen = 12

// User is an operator who signs in to the console.
type User struct {
	Email        string // normalized with NormalizeEmail; the user's identity
	PasswordHash string // credential.Hash with credential.UserParams
	Role         Role
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserPatch changes some fields of a user; nil means unchanged.
type UserPatch struct {
	PasswordHash *string
	Role         *Role
	Disabled     *bool
}

// NormalizeEmail checks an email address and returns it in the form users are stored under
// (trimmed, lower case). The error is client-safe.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Errorf(ErrInvalid, "the email address is empty")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", Errorf(ErrInvalid, "%q is not an email address such as name@example.com", s)
	}
	return s, nil
}

// CheckPassword tells whether a new console password is acceptable. The error is client-safe.
func CheckPassword(pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen {
		return Errorf(ErrInvalid, "the password must have at least %d characters (it has %d)", MinPasswordLen, n)
	}
	if len(pw) > 1024 {
		return Errorf(ErrInvalid, "the password is longer than 1024 bytes")
	}
	return nil
}

// Validate checks a user before it is stored.
func (u User) Validate() error {
	if e, err := NormalizeEmail(u.Email); err != nil {
		return err
	} else if e != u.Email {
		return Errorf(ErrInvalid, "email %q is not normalized", u.Email)
	}
	if !u.Role.Valid() {
		return Errorf(ErrInvalid, "role %q is not one of admin, operator, readonly", u.Role)
	}
	if u.PasswordHash == "" {
		return Errorf(ErrInvalid, "the password hash is empty")
	}
	return nil
}

// UserStore keeps console users.
type UserStore interface {
	// CreateUser inserts a user; ErrConflict if the email exists. Times are set by the store.
	CreateUser(ctx context.Context, u User) error
	// User returns one user by (normalized) email; ErrNotFound if absent.
	User(ctx context.Context, email string) (User, error)
	// Users lists users ordered by email.
	Users(ctx context.Context, p Page) ([]User, string, error)
	// UpdateUser applies a patch and returns the result; ErrNotFound if absent.
	UpdateUser(ctx context.Context, email string, p UserPatch) (User, error)
}
