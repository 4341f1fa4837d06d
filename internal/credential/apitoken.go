package credential

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// NewAPIToken makes what a new managed API token needs: its id ("at_" and 16 hex digits), its
// secret (shown once to whoever creates it) and the digest of the secret (the only form kept).
// The REST API and the console both create tokens through it.
func NewAPIToken() (id, secret, digest string, err error) {
	if secret, err = NewToken(); err != nil {
		return "", "", "", err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", fmt.Errorf("credential: token id: %w", err)
	}
	return "at_" + hex.EncodeToString(b[:]), secret, TokenDigest(secret), nil
}
