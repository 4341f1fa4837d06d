package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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

// session is one signed-in browser. Sessions live in memory: a restart signs everyone out.
type session struct {
	email    string
	csrf     string // synchronizer token for every state-changing request
	created  time.Time
	lastSeen time.Time
	flash    flash // a message for the next page (after a redirect)
}

type flash struct {
	Message string
	Error   bool
}

type sessionStore struct {
	mu          sync.Mutex
	byHash      map[string]*session
	now         func() time.Time
	idle, maxAg time.Duration
}

func newSessionStore(now func() time.Time, idle, maxAge time.Duration) *sessionStore {
	return &sessionStore{byHash: map[string]*session{}, now: now, idle: idle, maxAg: maxAge}
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
func (st *sessionStore) create(email string) string {
	id := randomToken()
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pruneLocked(now)
	st.byHash[hashID(id)] = &session{email: email, csrf: randomToken(), created: now, lastSeen: now}
	return id
}

// get returns the live session of a cookie value and moves its idle timer; nil if none.
func (st *sessionStore) get(id string) (*session, string) {
	if id == "" {
		return nil, ""
	}
	key := hashID(id)
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.byHash[key]
	if s == nil {
		return nil, ""
	}
	if now.Sub(s.lastSeen) > st.idle || now.Sub(s.created) > st.maxAg {
		delete(st.byHash, key)
		return nil, ""
	}
	s.lastSeen = now
	return s, key
}

// alive reports whether the session of a cookie value is still valid, without counting this as
// a use (an open event stream must not keep an unattended session alive).
func (st *sessionStore) alive(id string) bool {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.byHash[hashID(id)]
	return s != nil && now.Sub(s.lastSeen) <= st.idle && now.Sub(s.created) <= st.maxAg
}

func (st *sessionStore) delete(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byHash, key)
}

// deleteUser ends every session of a user (disabled, or role taken away).
func (st *sessionStore) deleteUser(email string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, s := range st.byHash {
		if s.email == email {
			delete(st.byHash, k)
		}
	}
}

func (st *sessionStore) setFlash(key string, f flash) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.byHash[key]; s != nil {
		s.flash = f
	}
}

func (st *sessionStore) takeFlash(key string) flash {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.byHash[key]
	if s == nil {
		return flash{}
	}
	f := s.flash
	s.flash = flash{}
	return f
}

func (st *sessionStore) pruneLocked(now time.Time) {
	if len(st.byHash) < 1024 {
		return
	}
	for k, s := range st.byHash {
		if now.Sub(s.lastSeen) > st.idle || now.Sub(s.created) > st.maxAg {
			delete(st.byHash, k)
		}
	}
}

// throttle slows down password guessing: after maxFails failed sign-ins for one email (or
// maxFailsIP from one address) within window, further attempts are refused until the window
// of the first failure has passed.
type throttle struct {
	mu    sync.Mutex
	now   func() time.Time
	fails map[string]*failures
}

type failures struct {
	n     int
	first time.Time
}

const (
	throttleWindow = 15 * time.Minute
	maxFails       = 5
	maxFailsIP     = 20
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, fails: map[string]*failures{}}
}

func (t *throttle) limitOf(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return maxFailsIP
	}
	return maxFails
}

// blocked reports whether any of keys is locked out, and until when.
func (t *throttle) blocked(keys ...string) (bool, time.Time) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		f := t.fails[k]
		if f == nil {
			continue
		}
		if now.Sub(f.first) > throttleWindow {
			delete(t.fails, k)
			continue
		}
		if f.n >= t.limitOf(k) {
			return true, f.first.Add(throttleWindow)
		}
	}
	return false, time.Time{}
}

func (t *throttle) fail(keys ...string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 100_000 { // a flood of made-up emails must not grow memory without bound
		for k, f := range t.fails {
			if now.Sub(f.first) > throttleWindow {
				delete(t.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := t.fails[k]
		if f == nil || now.Sub(f.first) > throttleWindow {
			f = &failures{first: now}
			t.fails[k] = f
		}
		f.n++
	}
}

func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
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
		)
		if c, err := r.Cookie(cookieName); err == nil {
			sess, key = s.sessions.get(c.Value)
		}
		var user domain.User
		if sess != nil {
			u, err := s.store.User(r.Context(), sess.email)
			if err != nil || u.Disabled {
				s.sessions.delete(key)
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
		ctx := context.WithValue(r.Context(), whoKey{}, who{user: user, sessKey: key, csrf: sess.csrf})
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
	s.sessions.setFlash(whoOf(r.Context()).sessKey, flash{Message: msg, Error: isErr})
}
