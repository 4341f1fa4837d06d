package domain

import (
	"context"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIRole is what a managed API token may do. The roles are ordered: each one may do everything
// the one below it may.
type APIRole string

// The API roles, from least to most allowed.
const (
	APIRoleReadonly APIRole = "readonly" // reads only
	APIRoleOperator APIRole = "operator" // everything except managing API tokens
	APIRoleAdmin    APIRole = "admin"    // everything
)

// Valid tells whether r is one of the defined roles.
func (r APIRole) Valid() bool { return r.rank() > 0 }

// Allows tells whether a token of role r may do what needs role need.
func (r APIRole) Allows(need APIRole) bool { return r.rank() >= need.rank() && r.rank() > 0 }

func (r APIRole) rank() int {
	switch r {
	case APIRoleReadonly:
		return 1
	case APIRoleOperator:
		return 2
	case APIRoleAdmin:
		return 3
	}
	return 0
}

// APIToken is a managed bearer token of the REST API. Only the digest of its secret is kept
// (credential.TokenDigest); the secret itself is shown once, when the token is created.
type APIToken struct {
	ID         string
	Name       string
	Role       APIRole
	Digest     string
	CreatedAt  time.Time
	CreatedBy  string    // the actor that created it
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never; updated at most about once a minute
	RevokedAt  time.Time // zero: active
}

// ActiveAt tells whether the token authenticates at t: not revoked and not expired.
func (t APIToken) ActiveAt(at time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt))
}

// Validate checks an API token before it is stored.
func (t APIToken) Validate() error {
	switch {
	case t.ID == "":
		return Errorf(ErrInvalid, "the API token id is empty")
	case t.Name == "":
		return Errorf(ErrInvalid, "the API token name is empty")
	case !t.Role.Valid():
		return Errorf(ErrInvalid, "role %q is not one of admin, operator, readonly", t.Role)
	case t.Digest == "":
		return Errorf(ErrInvalid, "the API token digest is empty")
	}
	return nil
}

// APITokenStore keeps the managed API tokens.
type APITokenStore interface {
	// CreateAPIToken inserts t (CreatedAt set by the caller); ErrConflict if the id, the name or
	// the digest exists.
	CreateAPIToken(ctx context.Context, t APIToken) error
	// APITokenByDigest returns the token with that digest, revoked or not; ErrNotFound if none.
	APITokenByDigest(ctx context.Context, digest string) (APIToken, error)
	// APITokens lists tokens ordered by id, revoked ones included.
	APITokens(ctx context.Context, p Page) ([]APIToken, string, error)
	// RevokeAPIToken marks a token revoked at at (a token revoked before keeps its first time)
	// and returns it; ErrNotFound if absent.
	RevokeAPIToken(ctx context.Context, id string, at time.Time) (APIToken, error)
	// TouchAPITokens moves the last-used time of each token forward (never backwards); unknown
	// ids are ignored.
	TouchAPITokens(ctx context.Context, used map[string]time.Time) error
}

// MaxAPITokenName bounds an API token's name.
const MaxAPITokenName = 64

// ValidateAPITokenName checks the name given to a new API token: 1 to MaxAPITokenName bytes of
// UTF-8 without control characters.
func ValidateAPITokenName(name string) error {
	ok := name != "" && len(name) <= MaxAPITokenName && utf8.ValidString(name)
	for _, r := range name {
		ok = ok && !unicode.IsControl(r)
	}
	if !ok {
		return Errorf(ErrInvalid, "name must be 1 to %d characters without control characters", MaxAPITokenName)
	}
	return nil
}
