// Package credential hashes and checks secrets: station passwords (OCPP security profiles 1 and
// 2), console passwords and API tokens. Secrets are never stored or logged in clear. It imports
// the standard library and golang.org/x/crypto.
package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// StationParams is cheap enough that a mass reconnect of thousands of stations after a restart
// stays within seconds, while still making an offline guess cost memory-hard work. Station
// passwords are machine secrets of at least 16 characters, so the margin comes mostly from
// their length.
func StationParams() Params { return Params{Memory: 4 * 1024, Time: 1, Threads: 1} }

// UserParams follows the OWASP baseline for interactive sign-in.
func UserParams() Params { return Params{Memory: 19 * 1024, Time: 2, Threads: 1} }

const saltLen = 16
const keyLen = 32

// Hash returns an encoded argon2id hash of secret: "argon2id$v=19$m=…,t=…,p=…$salt$key".
func Hash(secret string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("credential: salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// ErrMalformed means a stored hash could not be parsed.
var ErrMalformed = errors.New("credential: malformed hash")

// Verify reports whether secret matches the encoded hash. The comparison is constant-time.
func Verify(encoded, secret string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "argon2id" {
		return false, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[1], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[2], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return false, ErrMalformed
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[3])
	if err != nil {
		return false, ErrMalformed
	}
	want, err := enc.DecodeString(parts[4])
	if err != nil || len(want) == 0 {
		return false, ErrMalformed
	}
	got := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NewToken returns a random bearer token with 256 bits of entropy, prefixed so that it is easy
// to recognise in a secret scanner.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("credential: token: %w", err)
	}
	return "ocpo_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenDigest is how API tokens are stored and looked up: tokens are long random strings, so a
// plain SHA-256 is enough and keeps the check on every request cheap.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// EqualDigest compares two digests in constant time.
func EqualDigest(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
