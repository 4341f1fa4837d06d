package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

var tokenTests = []suiteTest{
	{"TokenCRUD", testTokenCRUD},
	{"TokenConflictAndNotFound", testTokenConflictAndNotFound},
	{"TokenInvalid", testTokenInvalid},
	{"TokensPaging", testTokensPaging},
	{"UpdateTokenPatch", testUpdateTokenPatch},
}

func mustToken(t *testing.T, s domain.Store, uid string) domain.Token {
	t.Helper()
	tok, err := s.Token(t.Context(), uid)
	if err != nil {
		t.Fatalf("Token(%q): %v", uid, err)
	}
	return tok
}

// sameToken compares everything but the store-set times.
func sameToken(t *testing.T, what string, got, want domain.Token) {
	t.Helper()
	if got.UID != want.UID || got.Type != want.Type || got.Status != want.Status || got.GroupID != want.GroupID {
		t.Errorf("%s = %+v, want the fields of %+v", what, got, want)
	}
	if want.ExpiresAt.IsZero() {
		if !got.ExpiresAt.IsZero() {
			t.Errorf("%s.ExpiresAt = %v, want none", what, got.ExpiresAt)
		}
	} else {
		wantTime(t, what+".ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	}
	wantStamped(t, what+".CreatedAt", got.CreatedAt)
	wantStamped(t, what+".UpdatedAt", got.UpdatedAt)
}

func testTokenCRUD(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := domain.Token{UID: "04A1B2C3D4", Type: "ISO14443", Status: domain.TokenAccepted,
		ExpiresAt: at(24 * time.Hour).In(time.FixedZone("CET", 3600)), GroupID: "FLEET-1"}
	if err := s.CreateToken(ctx, in); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if err := s.CreateToken(ctx, domain.Token{UID: "other", Type: "Central", Status: domain.TokenBlocked}); err != nil {
		t.Fatalf("CreateToken(other): %v", err)
	}
	got := mustToken(t, s, in.UID)
	sameToken(t, "Token", got, in)
	if got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, got.CreatedAt)
	}
	if other := mustToken(t, s, "other"); !other.ExpiresAt.IsZero() {
		t.Errorf("token created without expiry has ExpiresAt %v", other.ExpiresAt)
	}

	if err := s.DeleteToken(ctx, in.UID); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	_, err := s.Token(ctx, in.UID)
	wantErr(t, "Token after delete", err, domain.ErrNotFound)
	wantErr(t, "second DeleteToken", s.DeleteToken(ctx, in.UID), domain.ErrNotFound)
	mustToken(t, s, "other") // the neighbour stays

	// The uid is free again.
	if err := s.CreateToken(ctx, domain.Token{UID: in.UID, Status: domain.TokenBlocked}); err != nil {
		t.Fatalf("CreateToken after delete: %v", err)
	}
	if got := mustToken(t, s, in.UID); got.Status != domain.TokenBlocked || got.GroupID != "" || !got.ExpiresAt.IsZero() {
		t.Errorf("recreated token = %+v", got)
	}
}

func testTokenConflictAndNotFound(t *testing.T, s domain.Store) {
	ctx := t.Context()
	if err := s.CreateToken(ctx, domain.Token{UID: "T1", Type: "ISO14443", Status: domain.TokenAccepted}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateToken(ctx, domain.Token{UID: "T1", Type: "KeyCode", Status: domain.TokenBlocked})
	wantErr(t, "second CreateToken", err, domain.ErrConflict)
	if got := mustToken(t, s, "T1"); got.Type != "ISO14443" || got.Status != domain.TokenAccepted {
		t.Errorf("a conflicting create changed the token: %+v", got)
	}
	// Ids are compared exactly: case matters.
	if err := s.CreateToken(ctx, domain.Token{UID: "t1", Status: domain.TokenAccepted}); err != nil {
		t.Errorf("CreateToken(t1) next to T1: %v", err)
	}

	_, err = s.Token(ctx, "T404")
	wantErr(t, "Token", err, domain.ErrNotFound)
	status := domain.TokenBlocked
	_, err = s.UpdateToken(ctx, "T404", domain.TokenPatch{Status: &status})
	wantErr(t, "UpdateToken", err, domain.ErrNotFound)
	wantErr(t, "DeleteToken", s.DeleteToken(ctx, "T404"), domain.ErrNotFound)
}

func testTokenInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for name, tok := range map[string]domain.Token{
		"empty uid":      {Status: domain.TokenAccepted},
		"no status":      {UID: "T1"},
		"unknown status": {UID: "T1", Status: "Maybe"},
	} {
		wantErr(t, "CreateToken with "+name, s.CreateToken(ctx, tok), domain.ErrInvalid)
	}
	if err := s.CreateToken(ctx, domain.Token{UID: "T1", Status: domain.TokenAccepted}); err != nil {
		t.Fatal(err)
	}
	bad := domain.TokenStatus("Maybe")
	_, err := s.UpdateToken(ctx, "T1", domain.TokenPatch{Status: &bad})
	wantErr(t, "UpdateToken with a bad status", err, domain.ErrInvalid)
	if got := mustToken(t, s, "T1"); got.Status != domain.TokenAccepted {
		t.Errorf("a refused patch changed the token: %+v", got)
	}
	_, _, err = s.Tokens(ctx, domain.Page{Cursor: "not a cursor!"})
	wantErr(t, "Tokens with a bad cursor", err, domain.ErrInvalid)
}

func testTokensPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	uids := []string{"B-2", "a-1", "04AB", "Z", "_x", "b-10", "B-10"}
	for i, uid := range uids {
		if err := s.CreateToken(ctx, domain.Token{UID: uid, Type: "ISO14443", Status: domain.TokenAccepted,
			GroupID: fmt.Sprintf("g%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(uids)
	slices.Sort(want)
	for _, limit := range []int{1, 2, 3, 7, 0} {
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			if page > len(uids) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			items, next, err := s.Tokens(ctx, domain.Page{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatalf("Tokens(limit %d, page %d): %v", limit, page, err)
			}
			if limit > 0 && len(items) > limit {
				t.Fatalf("page of %d, limit %d", len(items), limit)
			}
			for _, tok := range items {
				got = append(got, tok.UID)
				if i := slices.Index(uids, tok.UID); tok.GroupID != fmt.Sprintf("g%d", i) {
					t.Errorf("token %s in list has group %q", tok.UID, tok.GroupID)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: tokens over all pages = %v, want %v", limit, got, want)
		}
	}
	items, next, err := s.Tokens(ctx, domain.Page{Limit: 7})
	if err != nil || len(items) != 7 || next != "" {
		t.Errorf("an exactly full last page: %d items, next %q, %v; want 7 and no cursor", len(items), next, err)
	}
}

func testUpdateTokenPatch(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := domain.Token{UID: "T1", Type: "ISO14443", Status: domain.TokenAccepted, ExpiresAt: at(time.Hour), GroupID: "G1"}
	if err := s.CreateToken(ctx, in); err != nil {
		t.Fatal(err)
	}
	before := mustToken(t, s, "T1")

	// An empty patch changes nothing but the update time.
	got, err := s.UpdateToken(ctx, "T1", domain.TokenPatch{})
	if err != nil {
		t.Fatalf("empty patch: %v", err)
	}
	sameToken(t, "after an empty patch", got, in)

	status, typ, group := domain.TokenBlocked, "KeyCode", ""
	later := at(48 * time.Hour)
	got, err = s.UpdateToken(ctx, "T1", domain.TokenPatch{Status: &status, Type: &typ, GroupID: &group, ExpiresAt: &later})
	if err != nil {
		t.Fatalf("UpdateToken: %v", err)
	}
	want := domain.Token{UID: "T1", Type: "KeyCode", Status: domain.TokenBlocked, ExpiresAt: later}
	sameToken(t, "UpdateToken result", got, want)
	sameToken(t, "Token after update", mustToken(t, s, "T1"), want)
	wantTime(t, "CreatedAt after update", got.CreatedAt, before.CreatedAt)
	if got.UpdatedAt.Before(before.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v, before %v", got.UpdatedAt, before.UpdatedAt)
	}

	// A non-nil zero expiry removes it; nil keeps it.
	var never time.Time
	got, err = s.UpdateToken(ctx, "T1", domain.TokenPatch{ExpiresAt: &never})
	if err != nil {
		t.Fatalf("clearing the expiry: %v", err)
	}
	want.ExpiresAt = time.Time{}
	sameToken(t, "after clearing the expiry", got, want)
	sameToken(t, "Token after clearing the expiry", mustToken(t, s, "T1"), want)
	if _, err := s.UpdateToken(ctx, "T1", domain.TokenPatch{ExpiresAt: &later}); err != nil {
		t.Fatal(err)
	}
	status = domain.TokenAccepted
	got, err = s.UpdateToken(ctx, "T1", domain.TokenPatch{Status: &status})
	if err != nil {
		t.Fatal(err)
	}
	want.ExpiresAt, want.Status = later, domain.TokenAccepted
	sameToken(t, "after a patch without expiry", got, want)
}
