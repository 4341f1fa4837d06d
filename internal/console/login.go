package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
)

type loginData struct {
	Email, Next, Error string
}

// safeNext keeps the post-sign-in redirect on this site (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if err := s.render(w, r, http.StatusOK, "login", "Sign in", "", loginData{Next: safeNext(r.URL.Query().Get("next"))}); err != nil {
		s.renderError(w, r, err)
	}
}

// login checks the password (throttled per email and per client address) and starts a new
// session; a failure says only that the email or password is wrong.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	data := loginData{Email: email, Next: safeNext(r.PostFormValue("next"))}
	fail := func(status int, msg string) {
		data.Error = msg
		if err := s.render(w, r, status, "login", "Sign in", "", data); err != nil {
			s.renderError(w, r, err)
		}
	}
	keyEmail, keyIP := "email:"+email, "ip:"+clientIP(r)
	locked, until, err := s.throttle.blocked(r.Context(), keyEmail, keyIP)
	if err != nil {
		s.log.ErrorContext(r.Context(), "console: sign-in throttle", "err", err)
		fail(http.StatusServiceUnavailable, "Signing in failed on the server side. Try again in a moment.")
		return
	}
	if locked {
		w.Header().Set("Retry-After", fmt.Sprint(int(until.Sub(s.now()).Seconds())+1))
		fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait a few minutes, then try again.")
		return
	}
	if email == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your email address and your password.")
		return
	}
	u, err := s.store.User(r.Context(), email)
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash
	}
	ok, verr := credential.Verify(hash, password)
	if err != nil || verr != nil || !ok || u.Disabled {
		if err != nil && !isNotFound(err) {
			s.log.ErrorContext(r.Context(), "console: sign-in lookup", "err", err)
		}
		if err := s.throttle.fail(r.Context(), keyEmail, keyIP); err != nil {
			s.log.ErrorContext(r.Context(), "console: count failed sign-in", "err", err)
		}
		fail(http.StatusUnauthorized, "The email address or the password is wrong, or the account is disabled.")
		return
	}
	if err := s.throttle.succeed(r.Context(), keyEmail); err != nil {
		s.log.ErrorContext(r.Context(), "console: clear failed sign-ins", "err", err)
	}
	// Drop a session this browser may already have: a fresh id at every sign-in (no fixation).
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		_ = s.sessions.delete(r.Context(), hashID(c.Value))
	}
	id, err := s.sessions.create(r.Context(), u.Email)
	if err != nil {
		s.log.ErrorContext(r.Context(), "console: start session", "err", err)
		fail(http.StatusServiceUnavailable, "Signing in failed on the server side. Try again in a moment.")
		return
	}
	setSessionCookie(w, r, id, s.cfg.MaxAge)
	s.log.InfoContext(r.Context(), "console: signed in", "user", u.Email)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.delete(r.Context(), whoOf(r.Context()).sessKey); err != nil {
		return fmt.Errorf("console: sign out: %w", err)
	}
	setSessionCookie(w, r, "", 0)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func isNotFound(err error) bool {
	return err != nil && errorsIs(err, domain.ErrNotFound)
}
