package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{" Ops@Example.COM ": "ops@example.com", "a.b+c@x.io": "a.b+c@x.io"} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ops", "ops@", "@example.com", "Ops <ops@example.com>", "ops@localhost", "a b@example.com", strings.Repeat("a", 250) + "@example.com"} {
		if _, err := NormalizeEmail(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeEmail(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	if err := CheckPassword("elevenchars"); !errors.Is(err, ErrInvalid) {
		t.Errorf("11 characters accepted: %v", err)
	}
	if err := CheckPassword("twelve chars"); err != nil {
		t.Errorf("12 characters refused: %v", err)
	}
	if err := CheckPassword(strings.Repeat("x", 1025)); !errors.Is(err, ErrInvalid) {
		t.Errorf("1025 bytes accepted: %v", err)
	}
}
