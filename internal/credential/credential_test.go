package credential

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery", StationParams())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "correct") {
		t.Fatalf("hash leaks the secret: %s", h)
	}
	for _, tc := range []struct {
		secret string
		want   bool
	}{{"correct horse battery", true}, {"correct horse batterx", false}, {"", false}} {
		ok, err := Verify(h, tc.secret)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.secret, ok, err, tc.want)
		}
	}
	h2, _ := Hash("correct horse battery", StationParams())
	if h2 == h {
		t.Error("two hashes of the same secret are equal: salt not random")
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, enc := range []string{"", "plain", "argon2id$v=19$m=1,t=1,p=1$@@$@@", "bcrypt$x$y$z$w",
		"argon2id$v=18$m=1,t=1,p=1$AAAA$AAAA", "argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA"} {
		if _, err := Verify(enc, "x"); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", enc)
		}
	}
}

func TestToken(t *testing.T) {
	a, _ := NewToken()
	b, _ := NewToken()
	if a == b || !strings.HasPrefix(a, "ocpo_") || len(a) < 40 {
		t.Fatalf("weak tokens %q %q", a, b)
	}
	if !EqualDigest(TokenDigest(a), TokenDigest(a)) || EqualDigest(TokenDigest(a), TokenDigest(b)) {
		t.Fatal("digest comparison wrong")
	}
}

func BenchmarkVerifyStation(b *testing.B) {
	h, _ := Hash("0123456789abcdef", StationParams())
	for b.Loop() {
		if ok, _ := Verify(h, "0123456789abcdef"); !ok {
			b.Fatal("mismatch")
		}
	}
}
