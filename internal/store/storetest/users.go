package storetest

import (
	"errors"
	"testing"

	"github.com/opencpo/opencpo/internal/domain"
)

var userTests = []suiteTest{
	{"UserCRUD", testUserCRUD},
	{"UserConflictAndNotFound", testUserConflictAndNotFound},
	{"UserInvalid", testUserInvalid},
	{"UsersPaging", testUsersPaging},
}

func testUserCRUD(t *testing.T, s domain.Store) {
	ctx := t.Context()
	in := domain.User{Email: "ops@example.com", PasswordHash: "argon2id$x", Role: domain.RoleOperator}
	if err := s.CreateUser(ctx, in); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.User(ctx, in.Email)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if got.Email != in.Email || got.PasswordHash != in.PasswordHash || got.Role != in.Role || got.Disabled {
		t.Errorf("User = %+v, want the fields of %+v", got, in)
	}
	wantStamped(t, "CreatedAt", got.CreatedAt)
	wantStamped(t, "UpdatedAt", got.UpdatedAt)

	admin, disabled, hash := domain.RoleAdmin, true, "argon2id$y"
	up, err := s.UpdateUser(ctx, in.Email, domain.UserPatch{Role: &admin})
	if err != nil {
		t.Fatalf("UpdateUser(role): %v", err)
	}
	if up.Role != domain.RoleAdmin || up.PasswordHash != in.PasswordHash || up.Disabled {
		t.Errorf("after role change = %+v", up)
	}
	up, err = s.UpdateUser(ctx, in.Email, domain.UserPatch{Disabled: &disabled, PasswordHash: &hash})
	if err != nil {
		t.Fatalf("UpdateUser(disable): %v", err)
	}
	if up.Role != domain.RoleAdmin || up.PasswordHash != hash || !up.Disabled {
		t.Errorf("after disable = %+v", up)
	}
	if up.UpdatedAt.Before(got.UpdatedAt) {
		t.Errorf("UpdatedAt went backwards: %v < %v", up.UpdatedAt, got.UpdatedAt)
	}
	again, err := s.User(ctx, in.Email)
	if err != nil || again.Role != domain.RoleAdmin || !again.Disabled || again.PasswordHash != hash {
		t.Errorf("User after updates = %+v, %v", again, err)
	}
	enabled := false
	if up, err = s.UpdateUser(ctx, in.Email, domain.UserPatch{Disabled: &enabled}); err != nil || up.Disabled {
		t.Errorf("re-enable = %+v, %v", up, err)
	}
}

func testUserConflictAndNotFound(t *testing.T, s domain.Store) {
	ctx := t.Context()
	u := domain.User{Email: "a@example.com", PasswordHash: "h", Role: domain.RoleReadOnly}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.CreateUser(ctx, u); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("second CreateUser = %v, want ErrConflict", err)
	}
	if _, err := s.User(ctx, "nobody@example.com"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("User(nobody) = %v, want ErrNotFound", err)
	}
	role := domain.RoleAdmin
	if _, err := s.UpdateUser(ctx, "nobody@example.com", domain.UserPatch{Role: &role}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("UpdateUser(nobody) = %v, want ErrNotFound", err)
	}
}

func testUserInvalid(t *testing.T, s domain.Store) {
	ctx := t.Context()
	for _, u := range []domain.User{
		{Email: "", PasswordHash: "h", Role: domain.RoleAdmin},
		{Email: "not-an-email", PasswordHash: "h", Role: domain.RoleAdmin},
		{Email: "Upper@Example.com", PasswordHash: "h", Role: domain.RoleAdmin},
		{Email: "b@example.com", PasswordHash: "h", Role: "root"},
		{Email: "b@example.com", PasswordHash: "", Role: domain.RoleAdmin},
	} {
		if err := s.CreateUser(ctx, u); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateUser(%+v) = %v, want ErrInvalid", u, err)
		}
	}
	if err := s.CreateUser(ctx, domain.User{Email: "b@example.com", PasswordHash: "h", Role: domain.RoleAdmin}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	bad, empty := domain.Role("root"), ""
	if _, err := s.UpdateUser(ctx, "b@example.com", domain.UserPatch{Role: &bad}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("UpdateUser(bad role) = %v, want ErrInvalid", err)
	}
	if _, err := s.UpdateUser(ctx, "b@example.com", domain.UserPatch{PasswordHash: &empty}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("UpdateUser(empty hash) = %v, want ErrInvalid", err)
	}
}

func testUsersPaging(t *testing.T, s domain.Store) {
	ctx := t.Context()
	emails := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}
	for _, e := range []string{"c@example.com", "a@example.com", "e@example.com", "b@example.com", "d@example.com"} {
		if err := s.CreateUser(ctx, domain.User{Email: e, PasswordHash: "h", Role: domain.RoleReadOnly}); err != nil {
			t.Fatalf("CreateUser(%s): %v", e, err)
		}
	}
	var got []string
	cursor := ""
	for range 10 {
		items, next, err := s.Users(ctx, domain.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("Users: %v", err)
		}
		for _, u := range items {
			got = append(got, u.Email)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != len(emails) {
		t.Fatalf("Users paged = %v, want %v", got, emails)
	}
	for i := range emails {
		if got[i] != emails[i] {
			t.Fatalf("Users paged = %v, want %v", got, emails)
		}
	}
	if _, _, err := s.Users(ctx, domain.Page{Cursor: "garbage"}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("Users(bad cursor) = %v, want ErrInvalid", err)
	}
}
