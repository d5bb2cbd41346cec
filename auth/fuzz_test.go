package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"folio/config"
)

// FuzzTokens: whatever a client sends as an API token, Verify neither
// panics nor accepts anything but the token issued.
func FuzzTokens(f *testing.F) {
	s := OpenTokens(filepath.Join(f.TempDir(), "tokens"))
	issued, _, err := s.Create("ann", []string{"staff"}, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := s.Verify(token)
		switch {
		case token == issued:
			if err != nil || p.Subject != "ann" {
				t.Fatalf("the issued token: %+v, %v", p, err)
			}
		case err != ErrInvalidToken:
			t.Fatalf("Verify(%q) = %+v, %v", token, p, err)
		}
	})
}

// fuzzSecret signs the committed seed corpus's JWTs (HS256); the corpus's
// valid tokens expire in 2100, and the fuzz clock stands in 2026.
const fuzzSecret = "fuzz-secret-0123456789abcdef-0123456789"

// FuzzJWT: whatever a client sends as a JWT, Verify neither panics nor
// accepts a token that the secret did not sign, and every refusal is an
// invalid token.
func FuzzJWT(f *testing.F) {
	path := filepath.Join(f.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(fuzzSecret), 0o600); err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j, err := newJWTs(config.JWT{SecretFile: path, Audience: "folio"}, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sign(f, jwt.SigningMethodHS256, []byte(fuzzSecret), "", jwt.MapClaims{"sub": "ann", "aud": "folio", "exp": 4102444800, "roles": []string{"a"}}))
	f.Fuzz(func(t *testing.T, token string) {
		p, err := j.Verify(token)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify(%q): %v is not an invalid token", token, err)
			}
			return
		}
		// Accepted: the signature must be the secret's over the token's
		// first two parts, and the principal named.
		parts := strings.Split(token, ".")
		sig, serr := jwt.SigningMethodHS256.Sign(parts[0]+"."+parts[1], []byte(fuzzSecret))
		if serr != nil || p.Subject == "" || !jwtSigEqual(sig, parts[2]) {
			t.Fatalf("Verify(%q) accepted %+v", token, p)
		}
	})
}

func jwtSigEqual(sig []byte, part string) bool {
	want, err := jwt.NewParser().DecodeSegment(part)
	return err == nil && string(want) == string(sig)
}
