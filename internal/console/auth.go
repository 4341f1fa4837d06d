package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// cookieName is the session cookie. It holds a random id; the server keeps only its SHA-256.
const cookieName = "opencpo_session"

// session is one signed-in browser, as read from the database (domain.ConsoleSession): a restart
// signs nobody out, and every node of a cluster accepts the same cookie.
type session struct {
	email string
	csrf  string // synchronizer token for every state-changing request
	flash flash  // a message for the next page (after a redirect)
}

type flash struct {
	Message string
	Error   bool
}

// touchEvery is how stale the stored last use may get before a request moves it: at most one
// write a minute per session, at the price of an idle timeout that is a minute coarse.
const touchEvery = time.Minute

// pruneEvery spaces the deletion of expired sessions (done at sign-in, where rows are added).
const pruneEvery = 5 * time.Minute

// sessionStore keeps console sessions in the database under the SHA-256 of their id.
type sessionStore struct {
	db          domain.ConsoleSessionStore
	now         func() time.Time
	idle, maxAg time.Duration
	mu          sync.Mutex
	lastPrune   time.Time
}

func newSessionStore(db domain.ConsoleSessionStore, now func() time.Time, idle, maxAge time.Duration) *sessionStore {
	return &sessionStore{db: db, now: now, idle: idle, maxAg: maxAge}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session for email and returns the cookie value (the only copy of the id).
func (st *sessionStore) create(ctx context.Context, email string) (string, error) {
	now := st.now().UTC().Truncate(time.Microsecond)
	st.prune(ctx, now)
	id := randomToken()
	err := st.db.CreateConsoleSession(ctx, domain.ConsoleSession{IDHash: hashID(id), Email: email, CSRF: randomToken(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(st.maxAg)})
	if err != nil {
		return "", err
	}
	return id, nil
}

// prune deletes the sessions past their idle or absolute timeout, at most every pruneEvery.
func (st *sessionStore) prune(ctx context.Context, now time.Time) {
	st.mu.Lock()
	due := now.Sub(st.lastPrune) >= pruneEvery
	if due {
		st.lastPrune = now
	}
	st.mu.Unlock()
	if due {
		_, _ = st.db.PruneConsoleSessions(ctx, now, now.Add(-st.idle)) // retried at the next sign-in
	}
}

// live reads the session of a cookie value and tells whether it is within both timeouts; an
// expired one is deleted. nil and no error: no such session.
func (st *sessionStore) live(ctx context.Context, id string) (*domain.ConsoleSession, error) {
	if id == "" || len(id) > 256 {
		return nil, nil
	}
	cs, err := st.db.ConsoleSession(ctx, hashID(id))
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := st.now()
	if now.Sub(cs.LastSeenAt) > st.idle || !now.Before(cs.ExpiresAt) {
		_ = st.db.DeleteConsoleSession(ctx, cs.IDHash)
		return nil, nil
	}
	return &cs, nil
}

// get returns the live session of a cookie value and moves its idle timer; nil if none.
func (st *sessionStore) get(ctx context.Context, id string) (*session, string, error) {
	cs, err := st.live(ctx, id)
	if cs == nil || err != nil {
		return nil, "", err
	}
	if now := st.now(); now.Sub(cs.LastSeenAt) >= touchEvery {
		if err := st.db.TouchConsoleSession(ctx, cs.IDHash, now.UTC().Truncate(time.Microsecond), false); err != nil {
			return nil, "", err
		}
	}
	return &session{email: cs.Email, csrf: cs.CSRF, flash: flash{Message: cs.FlashMessage, Error: cs.FlashError}}, cs.IDHash, nil
}

// alive reports whether the session of a cookie value is still valid, without counting this as
// a use (an open event stream must not keep an unattended session alive).
func (st *sessionStore) alive(ctx context.Context, id string) bool {
	cs, err := st.live(ctx, id)
	return cs != nil && err == nil
}

func (st *sessionStore) delete(ctx context.Context, key string) error {
	return st.db.DeleteConsoleSession(context.WithoutCancel(ctx), key)
}

// deleteUser ends every session of a user (disabled, or password reset).
func (st *sessionStore) deleteUser(ctx context.Context, email string) error {
	_, err := st.db.DeleteUserConsoleSessions(context.WithoutCancel(ctx), email)
	return err
}

func (st *sessionStore) setFlash(ctx context.Context, key string, f flash) error {
	return st.db.SetConsoleFlash(context.WithoutCancel(ctx), key, f.Message, f.Error)
}

// clearFlash drops the flash message once a page showed it.
func (st *sessionStore) clearFlash(ctx context.Context, key string) error {
	return st.db.TouchConsoleSession(context.WithoutCancel(ctx), key, st.now().UTC().Truncate(time.Microsecond), true)
}

// throttle slows down password guessing: after maxFails failed sign-ins for one email (or
// maxFailsIP from one address) within window, further attempts are refused until the window
// of the first failure has passed. The counts are in the database (hashed keys), so every node
// of a cluster counts the same guesses.
type throttle struct {
	db        domain.LoginThrottleStore
	now       func() time.Time
	mu        sync.Mutex
	lastPrune time.Time
}

const (
	throttleWindow = 15 * time.Minute
	maxFails       = 5
	maxFailsIP     = 20
)

func newThrottle(db domain.LoginThrottleStore, now func() time.Time) *throttle {
	return &throttle{db: db, now: now}
}

func (t *throttle) limitOf(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return maxFailsIP
	}
	return maxFails
}

// blocked reports whether any of keys is locked out, and until when.
func (t *throttle) blocked(ctx context.Context, keys ...string) (bool, time.Time, error) {
	hashes := make([]string, len(keys))
	for i, k := range keys {
		hashes[i] = hashID(k)
	}
	counts, err := t.db.LoginFailures(ctx, hashes, t.now().UTC(), throttleWindow)
	if err != nil {
		return false, time.Time{}, err
	}
	for i, k := range keys {
		if f, ok := counts[hashes[i]]; ok && f.Failures >= t.limitOf(k) {
			return true, f.First.Add(throttleWindow), nil
		}
	}
	return false, time.Time{}, nil
}

// fail counts a failed sign-in for every key; stale counts are pruned now and then.
func (t *throttle) fail(ctx context.Context, keys ...string) error {
	now := t.now().UTC().Truncate(time.Microsecond)
	hashes := make([]string, len(keys))
	for i, k := range keys {
		hashes[i] = hashID(k)
	}
	t.mu.Lock()
	prune := now.Sub(t.lastPrune) >= pruneEvery
	if prune {
		t.lastPrune = now
	}
	t.mu.Unlock()
	if prune {
		_, _ = t.db.PruneLoginFailures(ctx, now, throttleWindow) // retried at a later failure
	}
	return t.db.AddLoginFailures(context.WithoutCancel(ctx), hashes, now, throttleWindow)
}

func (t *throttle) succeed(ctx context.Context, key string) error {
	return t.db.ClearLoginFailures(context.WithoutCancel(ctx), hashID(key))
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isTLS reports whether the browser reached us over TLS (directly or through a proxy that says
// so); the session cookie is then marked Secure.
func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: cookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isTLS(r)}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// who is the signed-in user of a request.
type who struct {
	user    domain.User
	sessKey string
	csrf    string
	flash   flash // the message waiting for the next page, if any
}

type whoKey struct{}

func whoOf(ctx context.Context) who {
	w, _ := ctx.Value(whoKey{}).(who)
	return w
}

// wantsHTML tells a page request (answered with a redirect to sign-in) from a script's request
// (answered with 401).
func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("X-Requested-With") != "" || r.Header.Get("X-Live") != "" {
		return false
	}
	a := r.Header.Get("Accept")
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}

// sameOrigin rejects cross-site form posts that carry an Origin header from elsewhere; browsers
// send Origin on every POST. It backs up the CSRF token (and guards the sign-in form, which has
// no session yet).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// authorize wraps a handler with the checks every console route needs: a live session of an
// enabled user, the role the route asks for and, on state-changing requests, the same origin and
// the session's CSRF token.
func (s *Server) authorize(need need, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			sess *session
			key  string
			err  error
		)
		if c, cerr := r.Cookie(cookieName); cerr == nil {
			if sess, key, err = s.sessions.get(r.Context(), c.Value); err != nil {
				s.renderError(w, r, fmt.Errorf("console: read session: %w", err))
				return
			}
		}
		var user domain.User
		if sess != nil {
			u, err := s.store.User(r.Context(), sess.email)
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				s.renderError(w, r, fmt.Errorf("console: read user: %w", err))
				return
			}
			if err != nil || u.Disabled {
				// Deleted or disabled since sign-in: the session ends here, on every node.
				_ = s.sessions.delete(r.Context(), key)
				sess = nil
			} else {
				user = u
			}
		}
		if sess == nil {
			if wantsHTML(r) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if !sameOrigin(r) {
				http.Error(w, "cross-site request refused", http.StatusForbidden)
				return
			}
			token := r.Header.Get("X-CSRF-Token")
			if token == "" {
				token = r.PostFormValue("csrf") // parses multipart forms too
			}
			if subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) != 1 {
				http.Error(w, "the form has expired or did not come from this console: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		if !need.allows(user.Role) {
			s.renderError(w, r, domain.Errorf(domain.ErrForbidden, "your role (%s) may not do this", user.Role))
			return
		}
		ctx := context.WithValue(r.Context(), whoKey{}, who{user: user, sessKey: key, csrf: sess.csrf, flash: sess.flash})
		if err := h(w, r.WithContext(ctx)); err != nil {
			s.renderError(w, r.WithContext(ctx), err)
		}
	})
}

// maxBody bounds every form post (the largest is a token CSV import).
const maxBody = 2 << 20

// need is the least role a route asks for.
type need int

const (
	needSignedIn need = iota // any role, read-only included
	needOperator
	needAdmin
)

func (n need) allows(r domain.Role) bool {
	switch n {
	case needSignedIn:
		return r.Valid()
	case needOperator:
		return r.CanOperate()
	case needAdmin:
		return r.CanAdminister()
	}
	return false
}

// Flash stores a message for the next page the user sees.
func (s *Server) setFlash(r *http.Request, msg string, isErr bool) {
	if err := s.sessions.setFlash(r.Context(), whoOf(r.Context()).sessKey, flash{Message: msg, Error: isErr}); err != nil {
		s.log.ErrorContext(r.Context(), "console: flash message lost", "err", err)
	}
}
