package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// createAPIToken makes a managed token through the API and returns its id and secret.
func (ts *testServer) createAPIToken(name, role string) (id, secret string) {
	ts.t.Helper()
	out := ts.mustDo(http.StatusCreated, "POST", "/api/v1/api-tokens", map[string]any{"name": name, "role": role})
	return out["id"].(string), out["token"].(string)
}

func TestAPITokensLifecycle(t *testing.T) {
	ts := startServer(t, func(c *serveConfig) { c.tokenUsageEvery = 50 * time.Millisecond })

	for _, bad := range []any{
		map[string]any{"role": "operator"},
		map[string]any{"name": "", "role": "operator"},
		map[string]any{"name": strings.Repeat("n", 65), "role": "operator"},
		map[string]any{"name": "bad\nname", "role": "operator"},
		map[string]any{"name": "x"},
		map[string]any{"name": "x", "role": "root"},
		map[string]any{"name": "x", "role": "operator", "expiresAt": "2020-01-01T00:00:00Z"},
		map[string]any{"name": "x", "role": "operator", "expiresAt": "tomorrow"},
		map[string]any{"name": "x", "role": "operator", "secret": "mine"},
	} {
		status, body := ts.do("POST", "/api/v1/api-tokens", bad)
		if status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
			t.Errorf("POST api-tokens %v = %d %v; want 400", bad, status, body)
		}
	}

	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	created := ts.mustDo(http.StatusCreated, "POST", "/api/v1/api-tokens",
		map[string]any{"name": "billing export", "role": "operator", "expiresAt": expires})
	secret, _ := created["token"].(string)
	if !strings.HasPrefix(secret, "ocpo_") || len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	if created["name"] != "billing export" || created["role"] != "operator" || created["createdBy"] != "api-token" ||
		created["expiresAt"] != expires || created["lastUsedAt"] != nil || created["revokedAt"] != nil || created["active"] != true {
		t.Errorf("created %v", created)
	}
	id := created["id"].(string)
	ts.mustDo(http.StatusConflict, "POST", "/api/v1/api-tokens", map[string]any{"name": "billing export", "role": "readonly"})

	// The new token works, and is named in the audit log.
	ts.mustDoAs(secret, http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "TOK-CP"})
	audit := ts.mustDo(http.StatusOK, "GET", "/api/v1/audit?stationId=TOK-CP", nil)
	if e := audit["items"].([]any)[0].(map[string]any); e["actor"] != "token:billing export" || e["action"] != "CreateStation" {
		t.Errorf("audit entry %v", e)
	}

	// Listing never shows a secret; last use is recorded in the background.
	eventually(t, "lastUsedAt recorded", func() bool {
		for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/api-tokens", nil)["items"].([]any) {
			tok := it.(map[string]any)
			if _, ok := tok["token"]; ok {
				t.Fatalf("list shows a secret: %v", tok)
			}
			if tok["id"] == id && tok["lastUsedAt"] != nil {
				return true
			}
		}
		return false
	})

	// Revoke: 204, then the token is refused at once, stays listed as revoked, and the
	// revocation is audited.
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/api-tokens/"+id, nil)
	ts.mustDo(http.StatusNoContent, "DELETE", "/api/v1/api-tokens/"+id, nil) // again: no change
	ts.mustDo(http.StatusNotFound, "DELETE", "/api/v1/api-tokens/at_nope", nil)
	if status, body := ts.doToken(secret, "GET", "/api/v1/stations", nil); status != http.StatusUnauthorized || errorCode(body) != "unauthorized" {
		t.Errorf("revoked token: %d %v", status, body)
	}
	list := ts.mustDo(http.StatusOK, "GET", "/api/v1/api-tokens", nil)["items"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["revokedAt"] == nil || list[0].(map[string]any)["active"] != false {
		t.Errorf("list after revoke: %v", list)
	}
	actions := map[string]bool{}
	for _, it := range ts.mustDo(http.StatusOK, "GET", "/api/v1/audit", nil)["items"].([]any) {
		actions[it.(map[string]any)["action"].(string)] = true
	}
	if !actions["CreateAPIToken"] || !actions["RevokeAPIToken"] {
		t.Errorf("audit actions %v", actions)
	}
	// The name of a revoked token may be used again.
	ts.createAPIToken("billing export", "readonly")
}

func TestAPITokenRoles(t *testing.T) {
	ts := startServer(t, nil)
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/stations", map[string]any{"id": "ROLE-CP"})
	ts.mustDo(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"uid": "CARD-1"})
	_, readonly := ts.createAPIToken("dashboard", "readonly")
	_, operator := ts.createAPIToken("ops", "operator")
	_, admin := ts.createAPIToken("root", "admin")

	type call struct {
		method, path string
		body         any
	}
	reads := []call{
		{"GET", "/api/v1/stations", nil}, {"GET", "/api/v1/stations/ROLE-CP", nil},
		{"GET", "/api/v1/tokens", nil}, {"GET", "/api/v1/sessions", nil}, {"GET", "/api/v1/audit", nil},
		{"GET", "/api/v1/locations", nil}, {"GET", "/api/v1/openapi.json", nil},
	}
	writes := []call{
		{"POST", "/api/v1/stations", map[string]any{"id": "RO-NEW"}},
		{"PATCH", "/api/v1/stations/ROLE-CP", map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/stations/ROLE-CP", nil},
		{"POST", "/api/v1/tokens", map[string]any{"uid": "CARD-2"}},
		{"PATCH", "/api/v1/tokens/CARD-1", map[string]any{"status": "Blocked"}},
		{"DELETE", "/api/v1/tokens/CARD-1", nil},
		{"POST", "/api/v1/stations/ROLE-CP/ocpp/Reset", map[string]any{"type": "Soft"}},
		{"POST", "/api/v1/locations", map[string]any{"name": "x"}},
		{"PATCH", "/api/v1/locations/L", map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/locations/L", nil},
	}
	tokenAdmin := []call{
		{"GET", "/api/v1/api-tokens", nil},
		{"POST", "/api/v1/api-tokens", map[string]any{"name": "sneaky", "role": "admin"}},
		{"DELETE", "/api/v1/api-tokens/at_x", nil},
	}
	forbidden := func(token string, c call) {
		t.Helper()
		status, body := ts.doToken(token, c.method, c.path, c.body)
		if status != http.StatusForbidden || errorCode(body) != "forbidden" || body["error"].(map[string]any)["message"] == "" {
			t.Errorf("%s %s = %d %v; want 403 forbidden", c.method, c.path, status, body)
		}
	}
	allowed := func(token string, c call) {
		t.Helper()
		if status, body := ts.doToken(token, c.method, c.path, c.body); status == http.StatusForbidden || status == http.StatusUnauthorized {
			t.Errorf("%s %s = %d %v; want it allowed", c.method, c.path, status, body)
		}
	}
	for _, c := range reads {
		allowed(readonly, c)
	}
	forbidden(readonly, call{"GET", "/api/v1/stations/ROLE-CP/messages", nil}) // frames hold idTokens
	for _, c := range writes {
		forbidden(readonly, c)
	}
	for _, c := range tokenAdmin {
		forbidden(readonly, c)
		forbidden(operator, c)
	}
	for _, c := range writes {
		allowed(operator, c)
	}
	allowed(operator, call{"GET", "/api/v1/stations/ROLE-CP/messages", nil})
	// Nothing the refused token calls tried happened.
	if n := len(ts.mustDo(http.StatusOK, "GET", "/api/v1/api-tokens", nil)["items"].([]any)); n != 3 {
		t.Errorf("%d API tokens after refused creations, want 3", n)
	}
	for _, c := range tokenAdmin {
		allowed(admin, c)
	}
	// Unknown routes still answer 404 to any valid token, and 401 without one.
	if status, _ := ts.doToken(readonly, "GET", "/api/v1/nothing-here", nil); status != http.StatusNotFound {
		t.Errorf("unknown route with a readonly token: %d", status)
	}
	if status, _ := ts.doToken("ocpo_not-a-token", "GET", "/api/v1/nothing-here", nil); status != http.StatusUnauthorized {
		t.Errorf("unknown route with a wrong token: %d", status)
	}
}

func TestAPITokenExpires(t *testing.T) {
	ts := startServer(t, nil)
	expires := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	out := ts.mustDo(http.StatusCreated, "POST", "/api/v1/api-tokens", map[string]any{"name": "short", "role": "readonly", "expiresAt": expires})
	secret := out["token"].(string)
	ts.mustDoAs(secret, http.StatusOK, "GET", "/api/v1/stations", nil) // valid, and now in the cache
	time.Sleep(time.Until(time.Now().Add(1600 * time.Millisecond)))
	if status, body := ts.doToken(secret, "GET", "/api/v1/stations", nil); status != http.StatusUnauthorized || errorCode(body) != "unauthorized" {
		t.Errorf("expired token: %d %v", status, body)
	}
}

// TestAPITokensWithoutBootstrap: managed tokens keep working when serve runs without
// --api-token (the bootstrap token is for setting up, not required forever).
func TestAPITokensWithoutBootstrap(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opencpo.db")
	ts := startServer(t, func(c *serveConfig) { c.DB = db })
	_, secret := ts.createAPIToken("keeper", "admin")
	ts.stop()
	ts2 := startServer(t, func(c *serveConfig) { c.DB, c.APIToken = db, "" })
	ts2.mustDoAs(secret, http.StatusOK, "GET", "/api/v1/api-tokens", nil)
	if status, _ := ts2.doToken(testToken, "GET", "/api/v1/stations", nil); status != http.StatusUnauthorized {
		t.Errorf("old bootstrap token after restart without it: %d", status)
	}
}

func (ts *testServer) mustDoAs(token string, want int, method, path string, body any) map[string]any {
	ts.t.Helper()
	status, out := ts.doToken(token, method, path, body)
	if status != want {
		ts.t.Fatalf("%s %s = %d %v; want %d", method, path, status, out, want)
	}
	return out
}
