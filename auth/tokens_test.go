package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite.folio-tokens")
	s := OpenTokens(path)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	secret, tok, err := s.Create("ann", []string{"staff", "curator"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != tokenLen || tok.Expires != now.Add(time.Hour) {
		t.Fatalf("token %q, %+v", secret, tok)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret[len(TokenPrefix):]) {
		t.Fatal("the file holds the token itself")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if _, _, err := s.Create("ann", nil, 0); err == nil {
		t.Fatal("a second token named ann")
	}
	bob, _, err := s.Create("bob", nil, 0)
	if err != nil {
		t.Fatal(err)
	}

	p, err := s.Verify(secret)
	if err != nil || p.Subject != "ann" || strings.Join(p.Roles, ",") != "staff,curator" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "folio_", secret[:len(secret)-1], secret + "A", secret[:len(secret)-1] + flip(secret[len(secret)-1]), strings.Replace(secret, "folio_", "folia_", 1)} {
		if _, err := s.Verify(bad); err != ErrInvalidToken {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}

	// Expiry, revocation and new tokens count once the file is read again.
	now = now.Add(time.Hour)
	if _, err := s.Verify(secret); err != ErrInvalidToken {
		t.Errorf("expired token: %v", err)
	}
	other := OpenTokens(path)
	if err := other.Revoke("bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(bob); err != nil {
		t.Errorf("revoked before a second passed: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := s.Verify(bob); err != ErrInvalidToken {
		t.Errorf("revoked token: %v", err)
	}
	if err := other.Revoke("bob"); err == nil {
		t.Error("revoked twice")
	}
	ts, err := s.List()
	if err != nil || len(ts) != 1 || ts[0].Name != "ann" {
		t.Fatalf("List = %+v, %v", ts, err)
	}

	// A file others may read is refused, not used.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	os.Chtimes(path, now, now)
	if _, err := s.Verify(secret); err == nil || err == ErrInvalidToken || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable file: %v", err)
	}
}

// flip returns another base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestTokenNames(t *testing.T) {
	s := OpenTokens(filepath.Join(t.TempDir(), "t"))
	for _, name := range []string{"", " ann", "a\nb", strings.Repeat("x", 201)} {
		if _, _, err := s.Create(name, nil, 0); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	if _, _, err := s.Create("ann", []string{" staff"}, 0); err == nil {
		t.Error("a role with spaces")
	}
}

func TestAuthenticatorWithout(t *testing.T) {
	var a *Authenticator
	for _, cred := range []string{"folio_x", "a.b.c", "x"} {
		if _, err := a.Authenticate(cred); err == nil {
			t.Errorf("nil authenticator took %q", cred)
		}
		if _, err := (&Authenticator{}).Authenticate(cred); err == nil {
			t.Errorf("empty authenticator took %q", cred)
		}
	}
}
