package csms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// tokenReader is what authorization needs: the store outside a transaction, or a SessionTx
// inside one.
type tokenReader func(uid string) (domain.Token, error)

// authorization is the outcome of checking a token.
type authorization struct {
	Token  domain.Token // zero when unknown
	Status domain.TokenStatus
}

// authorize decides how a token authorizes now: unknown uids are Invalid, Accepted tokens past
// their expiry are Expired.
func authorize(read tokenReader, uid string, now time.Time) (authorization, error) {
	tok, err := read(uid)
	if errors.Is(err, domain.ErrNotFound) {
		return authorization{Status: domain.TokenInvalid}, nil
	}
	if err != nil {
		return authorization{}, err
	}
	return authorization{Token: tok, Status: tok.StatusAt(now)}, nil
}

func (s *Service) storeTokens(ctx context.Context) tokenReader {
	return func(uid string) (domain.Token, error) { return s.store.Token(ctx, uid) }
}

// expiry is the token's expiry for the station's authorization cache, if it has one.
func (a authorization) expiry() *time.Time {
	if a.Token.ExpiresAt.IsZero() {
		return nil
	}
	t := a.Token.ExpiresAt.UTC()
	return &t
}

// messageOf identifies a station message for exactly-once handling.
func messageOf(c *stationCall) domain.StationMessage {
	sum := sha256.Sum256(c.Payload)
	return domain.StationMessage{StationID: c.Station.ID, Action: c.Action, Digest: hex.EncodeToString(sum[:])}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own generated types pass through here; they always marshal.
		panic(err)
	}
	return b
}
