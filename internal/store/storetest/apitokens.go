package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var apiTokenTests = []suiteTest{
	{"APITokenCRUD", testAPITokenCRUD},
	{"APITokenNames", testAPITokenNames},
	{"APITokenInvalid", testAPITokenInvalid},
	{"APITokensPaging", testAPITokensPaging},
	{"TouchAPITokens", testTouchAPITokens},
}

func sampleAPIToken(id string) domain.APIToken {
	return domain.APIToken{ID: id, Name: "name-" + id, Role: domain.APIRoleOperator, Digest: "digest-" + id,
		CreatedAt: at(0), CreatedBy: "api-token", ExpiresAt: at(24 * time.Hour)}
}

func testAPITokenCRUD(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := sampleAPIToken("t1")
	if err := s.CreateAPIToken(ctx, in); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	forever := sampleAPIToken("t2")
	forever.ExpiresAt, forever.Role = time.Time{}, domain.APIRoleReadonly
	if err := s.CreateAPIToken(ctx, forever); err != nil {
		t.Fatalf("CreateAPIToken(t2): %v", err)
	}
	got, err := s.APITokenByDigest(ctx, in.Digest)
	if err != nil {
		t.Fatalf("APITokenByDigest: %v", err)
	}
	if got.ID != in.ID || got.Name != in.Name || got.Role != in.Role || got.Digest != in.Digest || got.CreatedBy != in.CreatedBy {
		t.Errorf("APITokenByDigest = %+v, want %+v", got, in)
	}
	wantTime(t, "CreatedAt", got.CreatedAt, in.CreatedAt)
	wantTime(t, "ExpiresAt", got.ExpiresAt, in.ExpiresAt)
	if !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() {
		t.Errorf("new token used %v, revoked %v", got.LastUsedAt, got.RevokedAt)
	}
	got2, _ := s.APITokenByDigest(ctx, forever.Digest)
	if !got2.ExpiresAt.IsZero() || got2.Role != domain.APIRoleReadonly {
		t.Errorf("token without expiry = %+v", got2)
	}
	_, err = s.APITokenByDigest(ctx, "no such digest")
	wantErr(t, "APITokenByDigest(unknown)", err, domain.ErrNotFound)

	revoked, err := s.RevokeAPIToken(ctx, "t1", at(time.Hour))
	if err != nil {
		t.Fatalf("RevokeAPIToken: %v", err)
	}
	wantTime(t, "RevokedAt", revoked.RevokedAt, at(time.Hour))
	again, err := s.RevokeAPIToken(ctx, "t1", at(2*time.Hour))
	if err != nil {
		t.Fatalf("RevokeAPIToken again: %v", err)
	}
	wantTime(t, "RevokedAt after a second revocation", again.RevokedAt, at(time.Hour))
	got, _ = s.APITokenByDigest(ctx, in.Digest)
	wantTime(t, "stored RevokedAt", got.RevokedAt, at(time.Hour))
	if got.ActiveAt(at(time.Minute)) {
		t.Error("a revoked token is active")
	}
	_, err = s.RevokeAPIToken(ctx, "nope", at(0))
	wantErr(t, "RevokeAPIToken(unknown)", err, domain.ErrNotFound)
}

func testAPITokenNames(t *testing.T, s domain.Store) {
	ctx := t.Context()
	a := sampleAPIToken("a")
	if err := s.CreateAPIToken(ctx, a); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	same := sampleAPIToken("b")
	same.Name = a.Name
	wantErr(t, "CreateAPIToken(same name)", s.CreateAPIToken(ctx, same), domain.ErrConflict)
	sameID := sampleAPIToken("a")
	sameID.Name, sameID.Digest = "other", "other"
	wantErr(t, "CreateAPIToken(same id)", s.CreateAPIToken(ctx, sameID), domain.ErrConflict)
	// A revoked token's name is free again.
	if _, err := s.RevokeAPIToken(ctx, "a", at(0)); err != nil {
		t.Fatalf("RevokeAPIToken: %v", err)
	}
	if err := s.CreateAPIToken(ctx, same); err != nil {
		t.Fatalf("CreateAPIToken(name of a revoked token): %v", err)
	}
}

func testAPITokenInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	bad := map[string]func(*domain.APIToken){
		"empty id":     func(x *domain.APIToken) { x.ID = "" },
		"empty name":   func(x *domain.APIToken) { x.Name = "" },
		"bad role":     func(x *domain.APIToken) { x.Role = "root" },
		"empty digest": func(x *domain.APIToken) { x.Digest = "" },
	}
	for name, mutate := range bad {
		tok := sampleAPIToken("x")
		mutate(&tok)
		wantErr(t, "CreateAPIToken("+name+")", s.CreateAPIToken(ctx, tok), domain.ErrInvalid)
	}
}

func testAPITokensPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for i := range 5 {
		if err := s.CreateAPIToken(ctx, sampleAPIToken(fmt.Sprintf("tok-%d", 4-i))); err != nil {
			t.Fatalf("CreateAPIToken: %v", err)
		}
	}
	var ids []string
	cursor := ""
	for range 5 {
		items, next, err := s.APITokens(ctx, domain.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("APITokens: %v", err)
		}
		for _, x := range items {
			ids = append(ids, x.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(ids) != "[tok-0 tok-1 tok-2 tok-3 tok-4]" {
		t.Errorf("paged ids = %v", ids)
	}
	_, _, err := s.APITokens(ctx, domain.Page{Limit: 2, Cursor: "???"})
	wantErr(t, "APITokens(bad cursor)", err, domain.ErrInvalid)
}

func testTouchAPITokens(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		if err := s.CreateAPIToken(ctx, sampleAPIToken(id)); err != nil {
			t.Fatalf("CreateAPIToken: %v", err)
		}
	}
	if err := s.TouchAPITokens(ctx, map[string]time.Time{"a": at(time.Hour), "b": at(time.Minute), "gone": at(0)}); err != nil {
		t.Fatalf("TouchAPITokens: %v", err)
	}
	if err := s.TouchAPITokens(ctx, map[string]time.Time{"a": at(time.Minute)}); err != nil { // older: ignored
		t.Fatalf("TouchAPITokens: %v", err)
	}
	if err := s.TouchAPITokens(ctx, nil); err != nil {
		t.Fatalf("TouchAPITokens(nil): %v", err)
	}
	a, _ := s.APITokenByDigest(ctx, "digest-a")
	b, _ := s.APITokenByDigest(ctx, "digest-b")
	wantTime(t, "a.LastUsedAt", a.LastUsedAt, at(time.Hour))
	wantTime(t, "b.LastUsedAt", b.LastUsedAt, at(time.Minute))
}
