package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

type apiTokensData struct {
	Items []apiTokenRow
	More  bool
	Form  *form
	Roles []domain.APIRole
	// Secret is the new token's secret, shown on the answer to its creation only.
	Secret, SecretName string
}

type apiTokenRow struct {
	domain.APIToken
	Active bool
}

var apiRoles = []domain.APIRole{domain.APIRoleReadonly, domain.APIRoleOperator, domain.APIRoleAdmin}

func (s *Server) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	return s.renderAPITokens(w, r, http.StatusOK, nil, "", "")
}

func (s *Server) renderAPITokens(w http.ResponseWriter, r *http.Request, status int, f *form, secret, name string) error {
	d := apiTokensData{Form: f, Roles: apiRoles, Secret: secret, SecretName: name}
	if d.Form == nil {
		d.Form = &form{Errors: map[string]string{}}
	}
	now := s.now()
	cursor := ""
	for {
		items, next, err := s.store.APITokens(r.Context(), domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, t := range items {
			if len(d.Items) == maxListed {
				d.More = true
				break
			}
			d.Items = append(d.Items, apiTokenRow{APIToken: t, Active: t.ActiveAt(now)})
		}
		if next == "" || d.More {
			break
		}
		cursor = next
	}
	if secret != "" {
		// The secret must not stay in any cache on the way.
		w.Header().Set("Cache-Control", "no-store")
	}
	return s.render(w, r, status, "apitokens", "API tokens", "apitokens", d)
}

// createAPIToken creates a managed API token and shows its secret once, on this answer (never
// again: only its digest is kept).
func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r)
	now := s.now().UTC()
	name := strings.TrimSpace(f.Get("name"))
	if err := domain.ValidateAPITokenName(name); err != nil {
		f.fail("name", messageOf(err))
	}
	role := domain.APIRole(f.Get("role"))
	if !role.Valid() {
		f.fail("role", "choose admin, operator or readonly")
	}
	var expires time.Time
	if e := strings.TrimSpace(f.Get("expiresAt")); e != "" {
		d, err := time.Parse("2006-01-02", e)
		switch {
		case err != nil:
			f.fail("expiresAt", "enter a date as YYYY-MM-DD")
		case !d.After(now):
			f.fail("expiresAt", "the expiry must be in the future")
		default:
			expires = d
		}
	}
	actor := whoOf(ctx).user.Email
	t := domain.APIToken{Name: name, Role: role, CreatedAt: now, CreatedBy: actor, ExpiresAt: expires}
	var secret string
	if f.ok() {
		var err error
		if t.ID, secret, t.Digest, err = credential.NewAPIToken(); err != nil {
			return err
		}
		if err := s.store.CreateAPIToken(ctx, t); err != nil {
			if !errorsIs(err, domain.ErrConflict) && !errorsIs(err, domain.ErrInvalid) {
				return err
			}
			if errorsIs(err, domain.ErrConflict) {
				f.fail("name", "an API token named "+name+" exists already")
			} else {
				f.fail("name", messageOf(err))
			}
		}
	}
	if !f.ok() {
		return s.renderAPITokens(w, r, http.StatusBadRequest, f, "", "")
	}
	a := map[string]any{"id": t.ID, "name": t.Name, "role": t.Role}
	if !expires.IsZero() {
		a["expiresAt"] = expires
	}
	s.audit(ctx, actor, "", "CreateAPIToken", a)
	// Shown here, on the answer to the POST, and nowhere else: a redirect would have to carry
	// the secret in the session or the URL.
	return s.renderAPITokens(w, r, http.StatusCreated, nil, secret, t.Name)
}

func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.store.RevokeAPIToken(ctx, r.PathValue("id"), s.now().UTC())
	if err != nil {
		return err
	}
	if s.cfg.APITokenRevoked != nil {
		s.cfg.APITokenRevoked(t.ID)
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "RevokeAPIToken", map[string]string{"id": t.ID, "name": t.Name})
	s.setFlash(r, "API token "+t.Name+" revoked.", false)
	return redirect(w, r, "/api-tokens")
}
