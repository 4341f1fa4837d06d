package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

type usersData struct {
	Items []domain.User
	Form  *form
	Roles []domain.Role
}

var roles = []domain.Role{domain.RoleAdmin, domain.RoleOperator, domain.RoleReadOnly}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	return s.renderUsers(w, r, http.StatusOK, nil)
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	d := usersData{Form: f, Roles: roles}
	if d.Form == nil {
		d.Form = &form{Errors: map[string]string{}}
	}
	cursor := ""
	for len(d.Items) < maxListed {
		items, next, err := s.store.Users(r.Context(), domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		d.Items = append(d.Items, items...)
		if next == "" {
			break
		}
		cursor = next
	}
	return s.render(w, r, status, "users", "Users", "users", d)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r)
	email, err := domain.NormalizeEmail(f.Get("email"))
	if err != nil {
		f.fail("email", messageOf(err))
	}
	role := domain.Role(f.Get("role"))
	if !role.Valid() {
		f.fail("role", "choose admin, operator or read-only")
	}
	password := f.Get("password")
	if err := domain.CheckPassword(password); err != nil {
		f.fail("password", messageOf(err))
	}
	if f.ok() {
		hash, err := credential.Hash(password, credential.UserParams())
		if err != nil {
			return err
		}
		err = s.store.CreateUser(ctx, domain.User{Email: email, PasswordHash: hash, Role: role})
		switch {
		case errors.Is(err, domain.ErrConflict):
			f.fail("email", "a user "+email+" already exists")
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		f.Values.Del("password") // never echo a password back into the page
		return s.renderUsers(w, r, http.StatusBadRequest, f)
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "CreateUser", map[string]any{"email": email, "role": role})
	s.setFlash(r, fmt.Sprintf("User %s (%s) created.", email, role), false)
	return redirect(w, r, "/users")
}

// updateUser changes a user's role or enables / disables the account. Admins cannot demote or
// disable themselves, so that a console always keeps an admin who can undo a mistake.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email := r.PathValue("email")
	me := whoOf(ctx).user.Email
	var (
		patch  domain.UserPatch
		change map[string]any
	)
	if v := r.PostFormValue("role"); v != "" {
		role := domain.Role(v)
		if !role.Valid() {
			return domain.Errorf(domain.ErrInvalid, "choose admin, operator or read-only")
		}
		if email == me && role != domain.RoleAdmin {
			return domain.Errorf(domain.ErrConflict, "you cannot take the admin role from yourself; ask another admin")
		}
		patch.Role, change = &role, map[string]any{"email": email, "role": role}
	}
	switch r.PostFormValue("disabled") {
	case "true", "false":
		disabled := r.PostFormValue("disabled") == "true"
		if email == me && disabled {
			return domain.Errorf(domain.ErrConflict, "you cannot disable your own account")
		}
		patch.Disabled = &disabled
		if change == nil {
			change = map[string]any{"email": email}
		}
		change["disabled"] = disabled
	case "":
	default:
		return domain.Errorf(domain.ErrInvalid, "disabled must be true or false")
	}
	if change == nil {
		return domain.Errorf(domain.ErrInvalid, "nothing to change")
	}
	u, err := s.store.UpdateUser(ctx, email, patch)
	if err != nil {
		return err
	}
	if u.Disabled {
		// Signed out at once, on every node (authorize would also refuse the next request).
		if err := s.sessions.deleteUser(ctx, u.Email); err != nil {
			return err
		}
	}
	s.audit(ctx, me, "", "UpdateUser", change)
	state := "enabled"
	if u.Disabled {
		state = "disabled"
	}
	s.setFlash(r, fmt.Sprintf("User %s: %s, %s.", u.Email, u.Role, state), false)
	return redirect(w, r, "/users")
}
