package api

import (
	"strings"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// TestRequiredRole covers every route: token management is admin's, reads are readonly's except
// the message log, everything else is operator's.
func TestRequiredRole(t *testing.T) {
	s := &Server{}
	for _, rt := range s.routeTable() {
		want := domain.APIRoleOperator
		switch {
		case strings.HasPrefix(rt.path, "/api/v1/api-tokens"):
			want = domain.APIRoleAdmin
		case rt.path == "/api/v1/stations/{id}/messages":
			want = domain.APIRoleOperator
		case rt.method == "GET":
			want = domain.APIRoleReadonly
		}
		if got := requiredRole(rt.method, rt.method+" "+rt.path); got != want {
			t.Errorf("%s %s needs %s, want %s", rt.method, rt.path, got, want)
		}
	}
	if got := requiredRole("POST", "/api/v1/"); got != domain.APIRoleReadonly {
		t.Errorf("catch-all needs %s", got)
	}
	if got := requiredRole("HEAD", "GET /api/v1/stations"); got != domain.APIRoleReadonly {
		t.Errorf("HEAD needs %s", got)
	}
}

func TestRoleAllows(t *testing.T) {
	roles := []domain.APIRole{domain.APIRoleReadonly, domain.APIRoleOperator, domain.APIRoleAdmin}
	for i, have := range roles {
		for j, need := range roles {
			if got := have.Allows(need); got != (i >= j) {
				t.Errorf("%s.Allows(%s) = %v", have, need, got)
			}
		}
	}
	if domain.APIRole("root").Allows(domain.APIRoleReadonly) || domain.APIRole("").Valid() {
		t.Error("an unknown role is allowed something")
	}
}

func TestTokenCache(t *testing.T) {
	c := newTokenCache(10*time.Second, 3)
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tok := domain.APIToken{ID: "at_1", Name: "a", Role: domain.APIRoleAdmin, Digest: "d1"}
	c.put("d1", tok, true, t0)
	c.put("d2", domain.APIToken{}, false, t0)
	if got, found, ok := c.get("d1", t0.Add(9*time.Second)); !ok || !found || got.ID != "at_1" {
		t.Errorf("fresh hit = %v %v %v", got, found, ok)
	}
	if _, found, ok := c.get("d2", t0.Add(time.Second)); !ok || found {
		t.Errorf("cached miss = found %v ok %v", found, ok)
	}
	if _, _, ok := c.get("d1", t0.Add(10*time.Second)); ok {
		t.Error("stale entry served")
	}
	if _, _, ok := c.get("d1", t0.Add(-time.Second)); ok {
		t.Error("entry from the future served (clock stepped back)")
	}
	c.forget("at_1")
	if _, _, ok := c.get("d1", t0); ok {
		t.Error("forgotten token served")
	}
	for i, d := range []string{"a", "b", "c", "d"} {
		c.put(d, domain.APIToken{}, false, t0.Add(time.Duration(i)))
	}
	if n := len(c.entries); n > 3 {
		t.Errorf("cache holds %d entries, max 3", n)
	}
}

func TestTokenUsage(t *testing.T) {
	var u tokenUsage
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	u.used("a", t0.Add(time.Second))
	u.used("a", t0) // older: kept the newer
	u.used("b", t0)
	got := u.take()
	if len(got) != 2 || !got["a"].Equal(t0.Add(time.Second)) {
		t.Errorf("take = %v", got)
	}
	if got := u.take(); len(got) != 0 {
		t.Errorf("second take = %v", got)
	}
}
