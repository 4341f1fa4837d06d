package api

import (
	"context"
	"errors"
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

// principal is who a bearer token stands for.
type principal struct {
	actor string
	role  domain.APIRole
}

// bootstrapActor is the audit actor of the --api-token.
const bootstrapActor = "api-token"

// authenticate checks the bearer token and the role the route needs on every route before
// anything else runs. It must run inside the ServeMux, which sets r.Pattern.
func (s *Server) authenticate(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.tokenPrincipal(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if need := requiredRole(r.Method, r.Pattern); !p.role.Allows(need) {
			s.renderError(w, r, domain.Errorf(domain.ErrForbidden, "this call needs the %s role; the token has %s", need, p.role))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, p.actor)))
	})
}

// operatorReads are reads that show more than a readonly token may see: the raw OCPP frames of a
// station carry idTokens.
var operatorReads = map[string]bool{
	"GET /api/v1/stations/{id}/messages": true,
}

// requiredRole is the role a route needs: managing API tokens needs admin, reads need readonly
// (a few need operator), every other call needs operator.
func requiredRole(method, pattern string) domain.APIRole {
	_, path, _ := strings.Cut(pattern, " ")
	switch {
	case path == "/api/v1/api-tokens" || strings.HasPrefix(path, "/api/v1/api-tokens/"):
		return domain.APIRoleAdmin
	case operatorReads[pattern]:
		return domain.APIRoleOperator
	case method == http.MethodGet || method == http.MethodHead:
		return domain.APIRoleReadonly
	case !strings.Contains(pattern, " "):
		// A pattern without a method (the catch-all that answers "no such route") serves
		// nothing but an error.
		return domain.APIRoleReadonly
	}
	return domain.APIRoleOperator
}

// tokenPrincipal resolves an Authorization header: the bootstrap token is admin; a managed
// token counts while it is neither revoked nor expired.
func (s *Server) tokenPrincipal(ctx context.Context, header string) (principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return principal{}, domain.ErrUnauthorized
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return principal{}, domain.ErrUnauthorized
	}
	digest := credential.TokenDigest(token)
	if s.cfg.BootstrapTokenDigest != "" && credential.EqualDigest(digest, s.cfg.BootstrapTokenDigest) {
		return principal{actor: bootstrapActor, role: domain.APIRoleAdmin}, nil
	}
	t, found, err := s.lookupToken(ctx, digest)
	if err != nil {
		return principal{}, err
	}
	now := s.now()
	if !found || !credential.EqualDigest(t.Digest, digest) || !t.ActiveAt(now) {
		return principal{}, domain.ErrUnauthorized
	}
	s.usage.used(t.ID, now)
	return principal{actor: "token:" + t.Name, role: t.Role}, nil
}

// lookupToken finds a managed token by digest, through the cache.
func (s *Server) lookupToken(ctx context.Context, digest string) (domain.APIToken, bool, error) {
	if t, found, ok := s.tokens.get(digest, s.now()); ok {
		return t, found, nil
	}
	t, err := s.store.APITokenByDigest(ctx, digest)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		s.tokens.put(digest, domain.APIToken{}, false, s.now())
		return domain.APIToken{}, false, nil
	case err != nil:
		return domain.APIToken{}, false, err
	}
	s.tokens.put(digest, t, true, s.now())
	return t, true, nil
}

// RequireToken wraps a handler outside the API (e.g. /metrics) with the same token check; any
// role may pass.
func (s *Server) RequireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.tokenPrincipal(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, p.actor)))
	})
}
