package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opencpo/opencpo/internal/console"
	"github.com/opencpo/opencpo/web"
)

const consolePassword = "correct horse battery staple"

// consoleServer is a real serve with console users created through `opencpo user add`.
type consoleServer struct {
	*testServer
	db string
}

func startConsole(t *testing.T, mutate func(*serveConfig)) *consoleServer {
	t.Helper()
	db := filepath.Join(t.TempDir(), "console.db")
	for _, u := range []struct{ email, role string }{
		{"admin@example.com", "admin"}, {"ops@example.com", "operator"}, {"viewer@example.com", "readonly"},
	} {
		addUser(t, db, u.email, u.role, consolePassword+"\n", 0)
	}
	ts := startServer(t, func(c *serveConfig) {
		c.DB = db
		if mutate != nil {
			mutate(c)
		}
	})
	return &consoleServer{testServer: ts, db: db}
}

// addUser runs `opencpo user add` and checks its exit code; it returns stderr.
func addUser(t *testing.T, db, email, role, stdin string, wantCode int) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"user", "add", email, "--role", role, "--db", db},
		func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	if code != wantCode {
		t.Fatalf("user add %s --role %s = exit %d (stderr %q), want %d", email, role, code, errOut.String(), wantCode)
	}
	return errOut.String()
}

func TestUserAddCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	addUser(t, db, "First.Admin@Example.com", "admin", consolePassword+"\n", 0)
	for _, c := range []struct {
		email, role, stdin, want string
	}{
		{"not-an-email", "admin", consolePassword + "\n", "not an email address"},
		{"b@example.com", "root", consolePassword + "\n", "--role must be admin, operator or readonly"},
		{"b@example.com", "operator", "short\n", "at least 12 characters"},
		{"b@example.com", "operator", "", "no password on standard input"},
		{"first.admin@example.com", "readonly", consolePassword + "\n", "already exists"},
	} {
		if got := addUser(t, db, c.email, c.role, c.stdin, 1); !strings.Contains(got, c.want) {
			t.Errorf("user add %s --role %s: stderr %q, want it to say %q", c.email, c.role, got, c.want)
		}
	}
}

// client is a browser-like HTTP client: a cookie jar, no automatic redirects.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (cs *consoleServer) base() string { return "http://" + cs.addr }

func (cs *consoleServer) login(t *testing.T, c *http.Client, email, password string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(cs.base()+"/login", url.Values{"email": {email}, "password": {password}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in and returns the client and the session's CSRF token.
func (cs *consoleServer) signIn(t *testing.T, email string) (*http.Client, string) {
	t.Helper()
	c := newClient(t)
	if resp := cs.login(t, c, email, consolePassword); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in as %s: %d %s", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	status, body := cs.get(t, c, "/")
	m := csrfField.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("dashboard after sign-in: %d, csrf found: %v", status, m != nil)
	}
	return c, m[1]
}

func (cs *consoleServer) get(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(cs.base() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (cs *consoleServer) post(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(cs.base()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// consoleRoutes lists every guarded console route with its path parameters filled in.
func consoleRoutes(t *testing.T) []console.Route {
	t.Helper()
	ui, err := console.New(console.Config{Assets: web.FS}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("{$}", "", "{id}", "1", "{op}", "reset", "{uid}", "04A1B2C3", "{email}", "ops@example.com", "{action}", "cancel")
	var out []console.Route
	for _, r := range ui.Routes() {
		r.Path = fill.Replace(r.Path)
		out = append(out, r)
	}
	if len(out) < 15 {
		t.Fatalf("only %d console routes", len(out))
	}
	return out
}

func TestConsoleNeedsSignIn(t *testing.T) {
	cs := startConsole(t, nil)
	c := newClient(t)
	for _, r := range consoleRoutes(t) {
		switch r.Method {
		case "GET":
			resp, err := c.Get(cs.base() + r.Path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
				t.Errorf("GET %s without a session = %d → %q; want 303 to /login", r.Path, resp.StatusCode, loc)
			}
			// Scripts (live refresh, event stream) get 401 rather than a redirect.
			req, _ := http.NewRequest("GET", cs.base()+r.Path, nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s from a script without a session = %d, want 401", r.Path, resp.StatusCode)
			}
		default:
			resp, _ := cs.post(t, c, r.Path, url.Values{"csrf": {"x"}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s without a session = %d, want 401", r.Method, r.Path, resp.StatusCode)
			}
		}
	}
	// The sign-in page itself and the static files are open.
	if status, body := cs.get(t, c, "/login"); status != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Errorf("GET /login = %d", status)
	}
	if status, _ := cs.get(t, c, "/assets/console.css"); status != http.StatusOK {
		t.Errorf("GET /assets/console.css = %d", status)
	}
	// The API and health routes are untouched by the console.
	if status, _ := cs.get(t, c, "/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz = %d", status)
	}
	if status, _ := cs.get(t, c, "/api/v1/stations"); status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/stations without token = %d, want the API's 401", status)
	}
}

func TestConsoleCSRF(t *testing.T) {
	cs := startConsole(t, nil)
	c, token := cs.signIn(t, "admin@example.com")
	for _, r := range consoleRoutes(t) {
		if r.Method != "POST" {
			continue
		}
		for _, bad := range []url.Values{{}, {"csrf": {"wrong" + token}}} {
			resp, _ := cs.post(t, c, r.Path, bad)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q = %d, want 403", r.Path, bad.Get("csrf"), resp.StatusCode)
			}
		}
	}
	// A post from another site is refused even with the token.
	req, _ := http.NewRequest("POST", cs.base()+"/tokens", strings.NewReader(url.Values{"csrf": {token}, "uid": {"X1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST = %d, want 403", resp.StatusCode)
	}
	// Still signed in: the session survives refused posts.
	if status, _ := cs.get(t, c, "/tokens"); status != http.StatusOK {
		t.Errorf("GET /tokens after refused posts = %d", status)
	}
}

func TestConsoleRoles(t *testing.T) {
	cs := startConsole(t, nil)
	viewer, vtoken := cs.signIn(t, "viewer@example.com")
	for _, r := range consoleRoutes(t) {
		if r.Method != "POST" || r.Path == "/logout" {
			continue
		}
		resp, _ := cs.post(t, viewer, r.Path, url.Values{"csrf": {vtoken}, "status": {"Blocked"}, "role": {"admin"}, "uid": {"R1"}, "type": {"Soft"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("read-only POST %s = %d, want 403", r.Path, resp.StatusCode)
		}
	}
	// Read-only sees the pages but no action buttons, and not the users page.
	if status, body := cs.get(t, viewer, "/tokens"); status != http.StatusOK || strings.Contains(body, `method="post" action="/tokens"`) {
		t.Errorf("read-only /tokens = %d, shows the create form: %v", status, strings.Contains(body, `method="post" action="/tokens"`))
	}
	if status, _ := cs.get(t, viewer, "/users"); status != http.StatusForbidden {
		t.Errorf("read-only GET /users = %d, want 403", status)
	}
	ops, otoken := cs.signIn(t, "ops@example.com")
	if status, _ := cs.get(t, ops, "/users"); status != http.StatusForbidden {
		t.Errorf("operator GET /users = %d, want 403", status)
	}
	if resp, _ := cs.post(t, ops, "/users", url.Values{"csrf": {otoken}, "email": {"x@example.com"}, "role": {"admin"}, "password": {consolePassword}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("operator POST /users = %d, want 403", resp.StatusCode)
	}
	// An operator creates a token; it lands in the audit log under the operator's email.
	if resp, _ := cs.post(t, ops, "/tokens", url.Values{"csrf": {otoken}, "uid": {"CONSOLE1"}, "type": {"ISO14443"}, "status": {"Accepted"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator POST /tokens = %d", resp.StatusCode)
	}
	audit := cs.mustDo(200, "GET", "/api/v1/audit", nil)
	items, _ := audit["items"].([]any)
	if len(items) == 0 || items[0].(map[string]any)["actor"] != "ops@example.com" || items[0].(map[string]any)["action"] != "CreateToken" {
		t.Errorf("audit after console token creation = %v", items)
	}
	// A pending station is approved from its page; the dashboard lists it until then.
	cs.mustDo(201, "POST", "/api/v1/stations", map[string]any{"id": "PEND-1", "registrationStatus": "Pending"})
	if _, body := cs.get(t, ops, "/"); !strings.Contains(body, "PEND-1</a>: waiting for approval") {
		t.Errorf("dashboard does not list the pending station")
	}
	if _, body := cs.get(t, ops, "/stations/PEND-1"); !strings.Contains(body, "Approve") {
		t.Errorf("pending station page has no Approve button")
	}
	if resp, _ := cs.post(t, ops, "/stations/PEND-1/registration", url.Values{"csrf": {otoken}, "status": {"Accepted"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve = %d", resp.StatusCode)
	}
	if got := cs.mustDo(200, "GET", "/api/v1/stations/PEND-1", nil)["registrationStatus"]; got != "Accepted" {
		t.Errorf("after approval: %v", got)
	}
	if _, body := cs.get(t, ops, "/stations/PEND-1"); !strings.Contains(body, "Station PEND-1 is now Accepted.") {
		t.Errorf("no confirmation after approval")
	}

	// An admin disables the viewer: the viewer's session ends at once.
	admin, atoken := cs.signIn(t, "admin@example.com")
	if status, body := cs.get(t, admin, "/users"); status != 200 || !strings.Contains(body, "viewer@example.com") || !strings.Contains(body, "(you)") {
		t.Errorf("admin GET /users = %d", status)
	}
	if resp, body := cs.post(t, admin, "/users", url.Values{"csrf": {atoken}, "email": {"new@example"}, "role": {"operator"}, "password": {"short"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, `id="u-email-err"`) || !strings.Contains(body, `id="u-pw-err"`) || !strings.Contains(body, `value="new@example"`) || strings.Contains(body, `value="short"`) {
		t.Errorf("bad new user = %d; want errors next to email and password, the email kept, the password not echoed", resp.StatusCode)
	}
	if resp, _ := cs.post(t, admin, "/users/admin@example.com", url.Values{"csrf": {atoken}, "role": {"readonly"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("admin demoting themselves = %d, want 409", resp.StatusCode)
	}
	if resp, _ := cs.post(t, admin, "/users", url.Values{"csrf": {atoken}, "email": {"New@Example.com"}, "role": {"operator"}, "password": {consolePassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("admin creates a user = %d", resp.StatusCode)
	}
	if resp := cs.login(t, newClient(t), "new@example.com", consolePassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("new user signs in = %d", resp.StatusCode)
	}
	if resp, _ := cs.post(t, admin, "/users/viewer@example.com", url.Values{"csrf": {atoken}, "disabled": {"true"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable viewer = %d", resp.StatusCode)
	}
	if status, _ := cs.get(t, viewer, "/stations"); status != http.StatusSeeOther {
		t.Errorf("disabled user's page = %d, want a redirect to sign-in", status)
	}
	if resp := cs.login(t, newClient(t), "viewer@example.com", consolePassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user signs in: %d, want 401", resp.StatusCode)
	}
}

func TestConsoleSessionCookie(t *testing.T) {
	cs := startConsole(t, nil)
	c := newClient(t)
	resp := cs.login(t, c, "admin@example.com", consolePassword)
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "opencpo_session" {
			sc = ck
		}
	}
	if sc == nil {
		t.Fatalf("no session cookie; headers %v", resp.Header)
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure || len(sc.Value) < 40 || sc.MaxAge <= 0 {
		t.Errorf("cookie over plain HTTP = %+v; want HttpOnly, SameSite=Lax, Path=/, not Secure, a long random value", sc)
	}
	// Behind a TLS proxy the cookie is Secure.
	req, _ := http.NewRequest("POST", cs.base()+"/login", strings.NewReader(url.Values{"email": {"admin@example.com"}, "password": {consolePassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp2, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if got := resp2.Header.Get("Set-Cookie"); !strings.Contains(got, "Secure") || !strings.Contains(got, "HttpOnly") {
		t.Errorf("cookie over TLS = %q, want Secure", got)
	}
	// Sign-out ends the session on the server: the old cookie no longer works.
	status, body := cs.get(t, c, "/")
	token := csrfField.FindStringSubmatch(body)
	if status != 200 || token == nil {
		t.Fatalf("dashboard = %d", status)
	}
	if resp, _ := cs.post(t, c, "/logout", url.Values{"csrf": {token[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	replay := newClient(t)
	u, _ := url.Parse(cs.base())
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "opencpo_session", Value: sc.Value}})
	if status, _ := cs.get(t, replay, "/"); status != http.StatusSeeOther {
		t.Errorf("old cookie after sign-out = %d, want a redirect to sign-in", status)
	}
}

func TestConsoleLoginThrottled(t *testing.T) {
	cs := startConsole(t, nil)
	c := newClient(t)
	for i := range 5 {
		if resp := cs.login(t, c, "ops@example.com", "wrong password "+string(rune('a'+i))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password #%d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := cs.login(t, c, "ops@example.com", consolePassword); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("sign-in after 5 failures = %d (Retry-After %q), want 429 even with the right password", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Other accounts are not locked by it.
	if resp := cs.login(t, newClient(t), "admin@example.com", consolePassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another user's sign-in = %d, want 303", resp.StatusCode)
	}
	// An unknown email is refused exactly like a wrong password.
	if resp := cs.login(t, newClient(t), "nobody@example.com", consolePassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown email = %d, want 401", resp.StatusCode)
	}
}
