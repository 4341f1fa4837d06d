package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

type actorKey struct{}

// actorOf returns who made the request, for the audit log.
func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return a
	}
	return "unknown"
}

// authenticate checks the bearer token on every route before anything else runs.
func (s *Server) authenticate(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.tokenActor(r.Header.Get("Authorization"))
		if !ok {
			s.renderError(w, r, domain.ErrUnauthorized)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
	})
}

// tokenActor resolves an Authorization header to the actor it stands for.
func (s *Server) tokenActor(header string) (string, bool) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || s.cfg.BootstrapTokenDigest == "" {
		return "", false
	}
	if credential.EqualDigest(credential.TokenDigest(token), s.cfg.BootstrapTokenDigest) {
		return "api-token", true
	}
	return "", false
}

// RequireToken wraps a handler outside the API (e.g. /metrics) with the same token check.
func (s *Server) RequireToken(h http.Handler) http.Handler {
	return s.authenticate(h.ServeHTTP)
}
