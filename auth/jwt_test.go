package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"folio/config"
)

// keys is a test's signing keys, and the files a configuration names
// their public halves by.
type keys struct {
	hs         []byte
	rsa        *rsa.PrivateKey
	ec         *ecdsa.PrivateKey
	other      *rsa.PrivateKey // a key the server does not know
	secretFile string
	rsaPEM     string
	ecPEM      string
	jwksFile   string
}

func newKeys(t testing.TB) *keys {
	t.Helper()
	dir := t.TempDir()
	k := &keys{hs: []byte("0123456789abcdef0123456789abcdef")}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pub := func(key any) []byte {
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	k.secretFile = write("hs256", append(k.hs, '\n'))
	k.rsaPEM = write("rsa.pem", pub(&k.rsa.PublicKey))
	k.ecPEM = write("ec.pem", pub(&k.ec.PublicKey))
	b64 := base64.RawURLEncoding.EncodeToString
	ecPoint, err := k.ec.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "use": "sig", "n": b64(k.rsa.N.Bytes()), "e": b64(big.NewInt(int64(k.rsa.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(ecPoint[1:33]), "y": b64(ecPoint[33:])},
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": "x", "e": "y"},
	}})
	k.jwksFile = write("jwks.json", jwks)
	return k
}

func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWT(t *testing.T) {
	k := newKeys(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "ann", "exp": now.Add(time.Hour).Unix(), "iss": "https://idp.example.org", "aud": "folio",
			"realm_access": map[string]any{"roles": []string{"staff", "curator"}}}
		for key, v := range extra {
			if v == nil {
				delete(c, key)
			} else {
				c[key] = v
			}
		}
		return c
	}
	conf := config.JWT{SecretFile: k.secretFile, PublicKeys: []string{k.rsaPEM, k.ecPEM}, Issuer: "https://idp.example.org", Audience: "folio", RolesClaim: "realm_access.roles"}
	j, err := newJWTs(conf, clock)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := newJWTs(config.JWT{JWKSFile: k.jwksFile, RolesClaim: "realm_access.roles"}, clock)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		j     *JWTs
		token string
		want  string // "" for valid; else part of the error
	}{
		{"HS256", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(nil)), ""},
		{"RS256 PEM", j, sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(nil)), ""},
		{"ES256 PEM", j, sign(t, jwt.SigningMethodES256, k.ec, "", claims(nil)), ""},
		{"RS256 JWKS by kid", jwks, sign(t, jwt.SigningMethodRS256, k.rsa, "r1", claims(nil)), ""},
		{"ES256 JWKS by kid", jwks, sign(t, jwt.SigningMethodES256, k.ec, "e1", claims(nil)), ""},
		{"JWKS unknown kid", jwks, sign(t, jwt.SigningMethodRS256, k.rsa, "r9", claims(nil)), "signature does not verify"},
		{"JWKS key of another kid", jwks, sign(t, jwt.SigningMethodRS256, k.rsa, "e1", claims(nil)), "signature does not verify"},
		{"HS256 not configured", jwks, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(nil)), "signature does not verify"},
		{"unknown RSA key", j, sign(t, jwt.SigningMethodRS256, k.other, "", claims(nil)), "signature does not verify"},
		{"HS256 with the public key as secret", j, sign(t, jwt.SigningMethodHS256, mustRead(t, k.rsaPEM), "", claims(nil)), "signature does not verify"},
		{"alg none", j, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil)), "signature does not verify"},
		{"expired", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"exp": now.Add(-time.Second).Unix()})), "expired"},
		{"no exp", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"exp": nil})), "no exp claim"},
		{"not yet", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"nbf": now.Add(time.Minute).Unix()})), "not valid yet"},
		{"wrong issuer", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"iss": "https://evil.example.org"})), "issuer"},
		{"wrong audience", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"aud": []string{"other"}})), "audience"},
		{"no subject", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"sub": nil})), `no "sub" claim`},
		{"roles not a list", j, sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"realm_access": map[string]any{"roles": 3}})), "neither a list"},
		{"malformed", j, "a.b.c", "malformed"},
		{"too long", j, strings.Repeat("a", maxJWT) + ".b.c", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.j.Verify(tt.token)
			if tt.want == "" {
				if err != nil || p.Subject != "ann" || strings.Join(p.Roles, ",") != "staff,curator" {
					t.Fatalf("Verify = %+v, %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), ErrInvalidToken.Error()) {
				t.Fatalf("Verify = %+v, %v; want an error containing %q", p, err, tt.want)
			}
		})
	}

	// A tampered signature, payload or header fails.
	good := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(nil))
	parts := strings.Split(good, ".")
	forged := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(jwt.MapClaims{"sub": "root"}))
	if _, err := j.Verify(parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]); err == nil {
		t.Error("a payload swapped under a signature verified")
	}
	// Roles as a space-separated string (OAuth's scope style).
	p, err := (&JWTs{secret: k.hs, parser: j.parser, subject: "sub", roles: []string{"scope"}}).Verify(
		sign(t, jwt.SigningMethodHS256, k.hs, "", claims(jwt.MapClaims{"scope": "read write"})))
	if err != nil || strings.Join(p.Roles, ",") != "read,write" {
		t.Errorf("scope roles = %+v, %v", p, err)
	}
}

func TestJWTConfigErrors(t *testing.T) {
	k := newKeys(t)
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("tooshort"), 0o600)
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"keys":[]}`), 0o600)
	for _, c := range []config.JWT{
		{},
		{SecretFile: short},
		{SecretFile: filepath.Join(dir, "missing")},
		{PublicKeys: []string{k.secretFile}},
		{JWKSFile: empty},
		{JWKSFile: k.rsaPEM},
	} {
		if _, err := NewJWTs(c); err == nil {
			t.Errorf("NewJWTs(%+v) succeeded", c)
		}
	}
}

func mustRead(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
