package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestConsoleSessionSurvivesRestart signs in, restarts serve on the same database and goes on
// with the same cookie and CSRF token; sign-out and a role change act on the stored session.
func TestConsoleSessionSurvivesRestart(t *testing.T) {
	cs := startConsole(t, nil)
	admin, atoken := cs.signIn(t, "admin@example.com")
	ops, otoken := cs.signIn(t, "ops@example.com")
	// A flash message set before the restart is shown after it.
	if resp, _ := cs.post(t, ops, "/tokens", url.Values{"csrf": {otoken}, "uid": {"RESTART1"}, "type": {"ISO14443"}, "status": {"Accepted"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create token = %d", resp.StatusCode)
	}
	cs.stop()

	again := &consoleServer{testServer: startServer(t, func(c *serveConfig) { c.DB = cs.db }), db: cs.db}
	status, body := again.get(t, ops, "/tokens")
	if status != http.StatusOK || !strings.Contains(body, "RESTART1") {
		t.Fatalf("GET /tokens after the restart = %d; want the page, still signed in", status)
	}
	if !strings.Contains(body, `class="flash`) {
		t.Errorf("the flash message set before the restart is not shown after it")
	}
	if m := csrfField.FindStringSubmatch(body); m == nil || m[1] != otoken {
		t.Errorf("the CSRF token changed with the restart")
	}
	// The old CSRF token still works for a change…
	if resp, _ := again.post(t, ops, "/tokens", url.Values{"csrf": {otoken}, "uid": {"RESTART2"}, "type": {"ISO14443"}, "status": {"Accepted"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST with the CSRF token of before the restart = %d, want 303", resp.StatusCode)
	}
	// …and an admin's role change applies to the operator's very next request.
	if resp, _ := again.post(t, admin, "/users/ops@example.com", url.Values{"csrf": {atoken}, "role": {"readonly"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("demote operator = %d", resp.StatusCode)
	}
	if resp, _ := again.post(t, ops, "/tokens", url.Values{"csrf": {otoken}, "uid": {"RESTART3"}, "type": {"ISO14443"}, "status": {"Accepted"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST by the demoted user = %d, want 403", resp.StatusCode)
	}
	// Sign-out deletes the stored session: the cookie is dead for this server and the next.
	cookie := sessionCookie(t, ops, again.base())
	if resp, _ := again.post(t, ops, "/logout", url.Values{"csrf": {otoken}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	again.stop()
	third := &consoleServer{testServer: startServer(t, func(c *serveConfig) { c.DB = cs.db }), db: cs.db}
	if status, _ := third.get(t, withCookie(t, third.base(), cookie), "/"); status != http.StatusSeeOther {
		t.Errorf("signed-out cookie after a restart = %d, want a redirect to sign-in", status)
	}
	if status, _ := third.get(t, admin, "/"); status != http.StatusOK {
		t.Errorf("the admin's session after two restarts = %d, want 200", status)
	}
}

// TestConsoleSessionAcrossNodes signs in on node A of a cluster and uses the cookie on node B
// (two serve processes, one PostgreSQL database), as a load balancer would; the sign-in throttle
// counts across the nodes too.
func TestConsoleSessionAcrossNodes(t *testing.T) {
	cl := newTestCluster(t)
	addUser(t, cl.db, "admin@example.com", "admin", consolePassword+"\n", 0)
	a := &consoleServer{testServer: cl.node("a")}
	b := &consoleServer{testServer: cl.node("b")}
	c, token := a.signIn(t, "admin@example.com")
	status, body := b.get(t, c, "/")
	if status != http.StatusOK {
		t.Fatalf("node B with node A's cookie = %d, want 200", status)
	}
	if m := csrfField.FindStringSubmatch(body); m == nil || m[1] != token {
		t.Errorf("node B shows another CSRF token")
	}
	if resp, _ := b.post(t, c, "/tokens", url.Values{"csrf": {token}, "uid": {"NODEB1"}, "type": {"ISO14443"}, "status": {"Accepted"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a change on node B with node A's session = %d, want 303", resp.StatusCode)
	}
	// Its flash message was stored by B and is shown by A.
	if _, body := a.get(t, c, "/tokens"); !strings.Contains(body, "NODEB1") || !strings.Contains(body, `class="flash`) {
		t.Errorf("node A does not show the token and message of node B's change")
	}
	cookie := sessionCookie(t, c, a.base())
	if resp, _ := b.post(t, c, "/logout", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on node B = %d", resp.StatusCode)
	}
	if status, _ := a.get(t, withCookie(t, a.base(), cookie), "/"); status != http.StatusSeeOther {
		t.Errorf("node A after sign-out on node B = %d, want a redirect to sign-in", status)
	}
	// Failed sign-ins count on every node: five on A lock the account on B too.
	addUser(t, cl.db, "ops@example.com", "operator", consolePassword+"\n", 0)
	for i := range 5 {
		if resp := a.login(t, newClient(t), "ops@example.com", "wrong password "+string(rune('a'+i))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password #%d on node A = %d", i+1, resp.StatusCode)
		}
	}
	if resp := b.login(t, newClient(t), "ops@example.com", consolePassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in on node B after 5 failures on node A = %d, want 429", resp.StatusCode)
	}
}

func sessionCookie(t *testing.T, c *http.Client, base string) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "opencpo_session" {
			return ck
		}
	}
	t.Fatal("no session cookie in the jar")
	return nil
}

// withCookie is a fresh client that replays one cookie (as an attacker holding a copy would).
func withCookie(t *testing.T, base string, ck *http.Cookie) *http.Client {
	t.Helper()
	c := newClient(t)
	u, _ := url.Parse(base)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value}})
	return c
}
