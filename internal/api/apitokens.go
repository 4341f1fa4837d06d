package api

import (
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

type apiTokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"createdAt"`
	CreatedBy  string     `json:"createdBy"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	Active     bool       `json:"active"`
	// Token is the secret, present only in the answer to its creation.
	Token string `json:"token,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) apiTokenView(t domain.APIToken) apiTokenJSON {
	return apiTokenJSON{ID: t.ID, Name: t.Name, Role: string(t.Role), CreatedAt: t.CreatedAt.UTC(), CreatedBy: t.CreatedBy,
		LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: optTime(t.ExpiresAt), RevokedAt: optTime(t.RevokedAt),
		Active: t.ActiveAt(s.now())}
}

type createAPITokenRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	var req createAPITokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := domain.ValidateAPITokenName(req.Name); err != nil {
		return err
	}
	role := domain.APIRole(req.Role)
	if !role.Valid() {
		return domain.Errorf(domain.ErrInvalid, "role must be admin, operator or readonly")
	}
	now := s.now().UTC()
	t := domain.APIToken{Name: req.Name, Role: role, CreatedAt: now, CreatedBy: actorOf(r.Context())}
	if req.ExpiresAt != nil {
		if !req.ExpiresAt.After(now) {
			return domain.Errorf(domain.ErrInvalid, "expiresAt must be in the future")
		}
		t.ExpiresAt = req.ExpiresAt.UTC()
	}
	var secret string
	var err error
	if t.ID, secret, t.Digest, err = credential.NewAPIToken(); err != nil {
		return err
	}
	if err := s.store.CreateAPIToken(r.Context(), t); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "CreateAPIToken", map[string]any{"id": t.ID, "name": t.Name, "role": t.Role, "expiresAt": optTime(t.ExpiresAt)})
	out := s.apiTokenView(t)
	out.Token = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.APITokens(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[apiTokenJSON]{Items: make([]apiTokenJSON, 0, len(items)), NextCursor: next}
	for _, t := range items {
		out.Items = append(out.Items, s.apiTokenView(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeAPIToken revokes a token. It stays listed, with revokedAt, for the record; revoking it
// again changes nothing.
func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	t, err := s.store.RevokeAPIToken(r.Context(), id, s.now().UTC())
	if err != nil {
		return err
	}
	s.tokens.forget(t.ID)
	s.auditChange(r.Context(), "", "RevokeAPIToken", map[string]string{"id": t.ID, "name": t.Name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ForgetAPIToken drops a token from this server's cache of recent lookups, so that a revocation
// made elsewhere in the process (the console) applies to the next request at once.
func (s *Server) ForgetAPIToken(id string) { s.tokens.forget(id) }
